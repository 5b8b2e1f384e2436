/**
 * Reviewer decisions: stored in <out>/review/decisions.jsonl, keyed by pair id, and applied to
 * passed pairs by one class, `ReviewApplier`, that both the export stage (a run over the same
 * corpus keeps the decisions) and `corpus-qa review apply` (re-export of the rows already
 * written) use, so the two give the same rows in the same order.
 */
import { ReviewDecision, type QaRow, type RejectedRow, type ReviewTally } from '../../schemas/index.js';
import { JsonLinesError, parseJsonLines } from '../../schemas/jsonLines.js';
import { wellFormed } from '../exportRows.js';
import { REVIEW_DECISIONS_FILE, storeFor } from '../storage.js';

export const DECISIONS_FILE = REVIEW_DECISIONS_FILE;

export class ReviewFileError extends Error {}

/** parseJsonLines, its line-numbered error as a ReviewFileError (what the review commands report). */
export function reviewJsonLines<T>(file: string, text: string, parse: (row: unknown) => T): T[] {
  try {
    return parseJsonLines(file, text, parse);
  } catch (err) {
    if (err instanceof JsonLinesError) throw new ReviewFileError(err.message);
    throw err;
  }
}

/** The stored decisions, or undefined when this output was never reviewed. */
export async function readDecisions(outDir: string): Promise<Map<string, ReviewDecision> | undefined> {
  const text = await storeFor(outDir).readText(REVIEW_DECISIONS_FILE);
  if (text === undefined) return undefined;
  const decisions = new Map<string, ReviewDecision>();
  for (const d of reviewJsonLines(DECISIONS_FILE, text, (r) => ReviewDecision.parse(r))) decisions.set(d.id, d);
  return decisions;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorted by pair id with fixed keys, so the same decisions always give the same bytes. */
export function decisionsText(decisions: Map<string, ReviewDecision>): string {
  return [...decisions.values()]
    .sort((a, b) => byCodeUnits(a.id, b.id))
    .map((d) => `${JSON.stringify(ReviewDecision.parse(d))}\n`)
    .join('');
}

export async function writeDecisions(outDir: string, decisions: Map<string, ReviewDecision>): Promise<void> {
  await storeFor(outDir).write(REVIEW_DECISIONS_FILE, decisionsText(decisions), true);
}

/** A pair a decision let through: its row (edited or not) and whether it was edited. */
export interface ReviewedPair {
  row: QaRow;
  edited: boolean;
}

export const REVIEWER_REJECTED_DETAIL = `dropped by a reviewer (${DECISIONS_FILE})`;

/**
 * Applies the decisions to passed pairs in output order. Dropped pairs are held back and written
 * after the validator's rejections, sorted by source then id: an order that both the export
 * stage and a re-export from the written files can produce.
 */
export class ReviewApplier {
  readonly tally: ReviewTally = { reviewed: 0, kept: 0, dropped: 0, edited: 0 };
  private readonly dropped: RejectedRow[] = [];

  constructor(private readonly decisions: Map<string, ReviewDecision>) {}

  /** The pair to write to its data file, or undefined when the reviewer dropped it. */
  passed(row: QaRow): ReviewedPair | undefined {
    const d = this.decisions.get(row.id);
    if (!d) return { row, edited: false };
    this.tally.reviewed++;
    if (d.decision === 'keep') {
      this.tally.kept++;
      return { row, edited: false };
    }
    if (d.decision === 'drop') {
      this.tally.dropped++;
      this.dropped.push({ ...row, reason: 'reviewer_rejected', reasons: ['reviewer_rejected'], detail: REVIEWER_REJECTED_DETAIL, duplicate_of: '' });
      return undefined;
    }
    this.tally.edited++;
    return {
      row: { ...row, question: wellFormed(d.question_edit || row.question), answer: wellFormed(d.answer_edit || row.answer) },
      edited: true,
    };
  }

  droppedRows(): RejectedRow[] {
    return [...this.dropped].sort((a, b) => byCodeUnits(a.source, b.source) || byCodeUnits(a.id, b.id));
  }
}

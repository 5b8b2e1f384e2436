/**
 * The review file a person edits in a spreadsheet (`corpus-qa review export`) and what is read
 * back from it (`corpus-qa review apply`). Columns are found by their header name, so a
 * spreadsheet that reorders or adds columns does no harm; only `id`, `decision`,
 * `question_edit` and `answer_edit` are read back.
 */
import type { QaRow, ReviewDecision } from '../../schemas/index.js';
import { CsvError, parseCsv, writeCsv } from './csv.js';
import { ReviewFileError } from './decisions.js';
import type { ReviewableOutput } from './output.js';

export const REVIEW_COLUMNS = [
  'id', 'decision', 'question', 'answer', 'question_edit', 'answer_edit', 'context', 'status', 'reason', 'split', 'source', 'chunk_id',
] as const;
const READ_BACK = ['id', 'decision', 'question_edit', 'answer_edit'] as const;

export interface ReviewCsvOptions {
  includeRejected: boolean;
  /** The chunk text around the pair, or '' when it cannot be recovered. */
  contextOf: (row: QaRow) => Promise<string>;
}

/**
 * Passed pairs first (data file order), then, with includeRejected, the rejected ones. Decisions
 * stored by an earlier review are filled in, so exporting and applying again changes nothing.
 */
export async function reviewCsv(output: ReviewableOutput, opts: ReviewCsvOptions): Promise<{ text: string; rows: number }> {
  const rows: string[][] = [];
  for (const p of output.passed) {
    const d = output.stored?.get(p.base.id);
    rows.push([
      p.base.id, d?.decision ?? '', p.base.question, p.base.answer, d?.question_edit ?? '', d?.answer_edit ?? '',
      await opts.contextOf(p.base), 'passed', '', p.split, p.base.source, p.base.chunk_id,
    ]);
  }
  if (opts.includeRejected) {
    for (const r of output.rejected) {
      const byReviewer = r.reason === 'reviewer_rejected';
      rows.push([
        r.id, byReviewer ? 'drop' : '', r.question, r.answer, '', '', await opts.contextOf(r), 'rejected', r.reason, '', r.source, r.chunk_id,
      ]);
    }
  }
  return { text: writeCsv([...REVIEW_COLUMNS], rows), rows: rows.length };
}

/** Spreadsheet line ends and stray control characters out of an edit; NUL and the like never reach a data file. */
function cleanEdit(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '').trim();
}

/**
 * The decisions after this review file: the stored ones, with each line of the file replacing
 * the decision on its pair. Throws ReviewFileError naming `<csvName>:<line>` for anything that
 * cannot be applied as written.
 */
export function decisionsFromCsv(csvName: string, text: string, output: ReviewableOutput): Map<string, ReviewDecision> {
  let records;
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvError) throw new ReviewFileError(`${csvName}: ${err.message}`);
    throw err;
  }
  const header = records.shift();
  if (!header) throw new ReviewFileError(`${csvName}: empty (no header line)`);
  const col = Object.fromEntries(READ_BACK.map((name) => [name, header.fields.findIndex((f) => f.trim().toLowerCase() === name)])) as Record<
    (typeof READ_BACK)[number],
    number
  >;
  for (const name of READ_BACK) {
    if (col[name] < 0) throw new ReviewFileError(`${csvName}:${header.line}: no "${name}" column in the header (columns: ${header.fields.join(', ')})`);
  }

  const passed = new Map(output.passed.map((p) => [p.base.id, p]));
  const rejected = new Map(output.rejected.map((r) => [r.id, r]));
  const decisions = new Map(output.stored ?? []);
  const seenOn = new Map<string, number>();
  for (const { line, fields } of records) {
    const at = `${csvName}:${line}`;
    const get = (name: (typeof READ_BACK)[number]) => fields[col[name]] ?? '';
    const id = get('id').trim();
    if (id === '') {
      if (fields.every((f) => f.trim() === '')) continue; // an empty row a spreadsheet left
      throw new ReviewFileError(`${at}: no pair id`);
    }
    const earlier = seenOn.get(id);
    if (earlier !== undefined) throw new ReviewFileError(`${at}: pair ${id} is also on line ${earlier}; give each pair one line`);
    seenOn.set(id, line);
    const raw = get('decision').trim().toLowerCase();
    const questionEdit = cleanEdit(get('question_edit'));
    const answerEdit = cleanEdit(get('answer_edit'));
    const hasEdit = questionEdit !== '' || answerEdit !== '';
    // An empty decision is keep, or edit when an edit was typed in (and the decision forgotten).
    const decision = raw === '' ? (hasEdit ? 'edit' : 'keep') : raw;
    if (decision !== 'keep' && decision !== 'drop' && decision !== 'edit') {
      throw new ReviewFileError(`${at}: decision "${get('decision')}" for pair ${id} is not keep, drop or edit (or empty, for keep)`);
    }

    const p = passed.get(id);
    if (!p) {
      const r = rejected.get(id);
      if (!r) throw new ReviewFileError(`${at}: pair ${id} is not in ${output.outDir} (neither a data file nor rejected/rejected.jsonl has it)`);
      // Rejected pairs are in the file for context; only leaving them as they are is possible.
      if (raw === '' && !hasEdit) continue;
      if (decision === 'drop') continue;
      if (r.reason === 'reviewer_rejected') {
        throw new ReviewFileError(
          `${at}: pair ${id} was dropped by an earlier review and cannot be taken back from its rejected row; delete its line from ` +
            'review/decisions.jsonl and run the same `corpus-qa run` command again with --fresh',
        );
      }
      throw new ReviewFileError(`${at}: pair ${id} was rejected by validation (${r.reason}); rejected pairs can only be left as they are (decision empty or drop)`);
    }
    if (decision === 'edit' && !hasEdit) throw new ReviewFileError(`${at}: decision edit for pair ${id}, but question_edit and answer_edit are both empty`);
    if (decision !== 'edit' && hasEdit) {
      throw new ReviewFileError(`${at}: decision ${decision} for pair ${id}, but question_edit or answer_edit is filled in; clear it or make the decision edit`);
    }
    decisions.set(id, {
      id,
      decision,
      question: p.base.question,
      answer: p.base.answer,
      question_edit: decision === 'edit' ? questionEdit : '',
      answer_edit: decision === 'edit' ? answerEdit : '',
    });
  }
  return decisions;
}

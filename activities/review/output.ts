/**
 * An output directory as a review sees it: stats.json's settings, every passed pair as it was
 * generated (a reviewer's earlier edit undone with the original text the decisions file keeps),
 * and the rejected pairs. Both `review export` and `review apply` start from this, so neither
 * needs the shards (removed after a run unless --keep-intermediate).
 */
import { OUTPUT_FILES, outputStore, splitPath } from '../storage.js';
import { z } from 'zod';
import {
  AlpacaRow,
  MessagesRow,
  OutputSettings,
  PromptCompletionRow,
  QaRow,
  RejectedRow,
  ReviewDecision,
  SplitSpec,
  StatsJson,
  TrainingFormat,
  trainingRowSchema,
} from '../../schemas/index.js';
import { DECISIONS_FILE, readDecisions, ReviewFileError, reviewJsonLines } from './decisions.js';

/** What of stats.json a review re-export needs besides StatsJson's counts. */
export const ReviewableStats = StatsJson.extend({
  input: z.looseObject({ inputDir: z.string(), globs: z.array(z.string()) }),
  settings: z.looseObject({
    generateQa: z.boolean(),
    format: TrainingFormat,
    splits: z.array(SplitSpec).min(1),
    chunkSize: z.number().int(),
    chunkOverlap: z.number().int(),
    maxPairsPerChunk: z.number().int(),
    license: z.string(),
    generatorId: z.string(),
    fileFormat: OutputSettings.shape.fileFormat,
  }),
});
export type ReviewableStats = z.infer<typeof ReviewableStats>;

export interface PassedEntry {
  split: string;
  /** The pair as generated (before any reviewer edit). */
  base: QaRow;
  /** The data file has it edited (by an earlier review). */
  edited: boolean;
}

export interface ReviewableOutput {
  outDir: string;
  stats: ReviewableStats;
  /** stats.json as written, in its key order (zod's parse puts the known keys first). */
  rawStats: Record<string, unknown>;
  passed: PassedEntry[];
  /** rejected/rejected.jsonl in file order: the validator's rejections, then the reviewer's drops. */
  rejected: RejectedRow[];
  /** The decisions stored by earlier reviews (undefined: never reviewed). */
  stored: Map<string, ReviewDecision> | undefined;
  /** The card's LLM line, carried over as is (a review changes nothing the LLM did). */
  llmLine: string | undefined;
}

/** Where a split's rows are: data/<split>.jsonl (the export's own name for it). */
export const splitFile = splitPath;

/** A passed row of any training format back to the plain QA row it was made from. */
export function qaRowOf(format: TrainingFormat, row: Record<string, unknown>): QaRow {
  const meta = QaRow.omit({ id: true, question: true, answer: true }).parse(row);
  const id = String(row.id);
  switch (format) {
    case 'qa':
      return QaRow.parse(row);
    case 'messages': {
      const m = MessagesRow.parse(row);
      return { id, question: m.messages[0].content, answer: m.messages[1].content, ...meta };
    }
    case 'alpaca': {
      const a = AlpacaRow.parse(row);
      return { id, question: a.instruction, answer: a.output, ...meta };
    }
    case 'prompt-completion': {
      const p = PromptCompletionRow.parse(row);
      return { id, question: p.prompt, answer: p.completion, ...meta };
    }
  }
}

export async function readReviewableOutput(outDir: string): Promise<ReviewableOutput> {
  const out = outputStore(outDir);
  const statsText = await out.readText(OUTPUT_FILES.stats);
  if (statsText === undefined) throw new ReviewFileError(`${out.pathOf(OUTPUT_FILES.stats)}: missing (is ${outDir} the --out of a finished run?)`);
  let stats: ReviewableStats;
  let rawStats: Record<string, unknown>;
  try {
    rawStats = JSON.parse(statsText) as Record<string, unknown>;
    stats = ReviewableStats.parse(rawStats);
  } catch (err) {
    const msg = err instanceof z.ZodError ? `${err.issues[0]!.path.join('.')}: ${err.issues[0]!.message}` : (err as Error).message;
    throw new ReviewFileError(`${OUTPUT_FILES.stats}: ${msg}`);
  }
  if (!stats.settings.generateQa) throw new ReviewFileError(`${outDir}: a run without --generate-qa has no pairs to review`);
  if (stats.settings.fileFormat === 'parquet') {
    throw new ReviewFileError(`${outDir}: review reads and rewrites JSON Lines output; run the review on a --file-format jsonl export of the same corpus (its decisions then apply to a later Parquet run)`);
  }
  const format = stats.settings.format;
  const reviewedBefore = stats.review !== undefined;
  const stored = await readDecisions(outDir);
  const rowSchema = trainingRowSchema(format, reviewedBefore);

  const passed: PassedEntry[] = [];
  for (const { name } of stats.settings.splits) {
    const rel = splitFile(name);
    const text = await out.readText(rel);
    if (text === undefined) continue; // a split with no rows has no file
    for (const [i, row] of reviewJsonLines(rel, text, (r) => rowSchema.parse(r)).entries()) {
      const current = qaRowOf(format, row);
      const edited = row.edited === true;
      let base = current;
      if (edited) {
        const d = stored?.get(current.id);
        if (!d) throw new ReviewFileError(`${rel}:${i + 1}: pair ${current.id} is edited but ${DECISIONS_FILE} has no decision for it (its original text is lost)`);
        base = { ...current, question: d.question, answer: d.answer };
      }
      passed.push({ split: name, base, edited });
    }
  }
  const rejectedText = await out.readText(OUTPUT_FILES.rejected);
  const rejected = rejectedText === undefined ? [] : reviewJsonLines(OUTPUT_FILES.rejected, rejectedText, (r) => RejectedRow.parse(r));
  const card = (await out.readText(OUTPUT_FILES.card)) ?? '';
  const llmLine = card.split('\n').find((l) => l.startsWith('LLM: '));
  return { outDir, stats, rawStats, passed, rejected, stored, llmLine };
}

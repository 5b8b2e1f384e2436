/**
 * `corpus-qa review export` and `corpus-qa review apply`: a person's review of the passed pairs,
 * through a CSV file a spreadsheet opens (see docs/review.md). Both read the output directory
 * only; neither needs a Temporal server.
 */
import { basename, resolve } from 'node:path';
import { localOutDir } from '../runOptions.js';
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { reviewLine } from '../../activities/datasetCard.js';
import { applyReview, type ApplyResult } from '../../activities/review/apply.js';
import { ChunkContext } from '../../activities/review/context.js';
import { DECISIONS_FILE, ReviewFileError } from '../../activities/review/decisions.js';
import { readReviewableOutput } from '../../activities/review/output.js';
import { decisionsFromCsv, reviewCsv } from '../../activities/review/reviewFile.js';
import { outputStore, writeFileAtomic } from '../../activities/storage.js';
import { outputSetProblem } from './verify.js';

export const DEFAULT_CONTEXT_CHARS = 1000;

async function reviewableOutput(outDir: string) {
  // A set mixed by an interrupted export would be reviewed (and re-exported) half old.
  const mixed = await outputSetProblem(outputStore(outDir));
  if (mixed) throw new ReviewFileError(mixed);
  return readReviewableOutput(outDir);
}

export interface ExportReviewOptions {
  to: string;
  includeRejected?: boolean;
  contextChars?: number;
}

export async function exportReview(outDir: string, opts: ExportReviewOptions): Promise<{ rows: number; missingContext: string[] }> {
  const output = await reviewableOutput(outDir);
  const { settings } = output.stats;
  const context = new ChunkContext(
    { inputDir: output.stats.input.inputDir, chunkSize: settings.chunkSize, chunkOverlap: settings.chunkOverlap },
    opts.contextChars ?? DEFAULT_CONTEXT_CHARS,
  );
  try {
    const csv = await reviewCsv(output, { includeRejected: opts.includeRejected ?? false, contextOf: (row) => context.of(row) });
    await writeFileAtomic(opts.to, csv.text, true);
    return { rows: csv.rows, missingContext: [...context.missing].sort() };
  } finally {
    await context.close();
  }
}

export async function applyReviewFile(outDir: string, csvPath: string): Promise<ApplyResult> {
  const output = await reviewableOutput(outDir);
  const text = await readFile(csvPath, 'utf8');
  return applyReview(output, decisionsFromCsv(basename(csvPath), text, output));
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
}

/** A review file error (bad CSV line, bad decisions file) is the user's to fix: exit 1 with it. */
async function reported(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!(err instanceof ReviewFileError)) throw err;
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  }
}

export function reviewCommand(): Command {
  const review = new Command('review').description('review the passed pairs in a spreadsheet: export a CSV, edit it, apply it (docs/review.md)');
  review
    .command('export')
    .description('write the passed pairs (and with --include-rejected the rejected ones) with their chunk text to a CSV file')
    .argument('<out>', 'output directory of a run with --generate-qa')
    .requiredOption('--to <csv>', 'the CSV file to write (UTF-8 with BOM, every field quoted, CRLF line ends)')
    .option('--include-rejected', 'also list the rejected pairs, for context (they stay rejected)')
    .option('--context-chars <n>', 'clip the chunk text to this many characters, around the answer', nonNegativeInt, DEFAULT_CONTEXT_CHARS)
    .action((out: string, flags: { to: string; includeRejected?: boolean; contextChars: number }) =>
      reported(async () => {
        const r = await exportReview(localOutDir(out, 'review export'), { to: resolve(flags.to), includeRejected: flags.includeRejected, contextChars: flags.contextChars });
        console.log(`Wrote ${r.rows} pairs to ${flags.to}. Fill in the decision column (keep, drop or edit, with question_edit / answer_edit), then run: corpus-qa review apply ${out} ${flags.to}`);
        if (r.missingContext.length) {
          console.error(`warning: no context for ${r.missingContext.length} documents (changed or gone since the run), e.g. ${r.missingContext.slice(0, 3).join(', ')}`);
        }
      }),
    );
  review
    .command('apply')
    .description(`apply a review CSV: store the decisions in <out>/${DECISIONS_FILE} and re-export data/, rejected/, stats.json and the card`)
    .argument('<out>', 'output directory of a run with --generate-qa')
    .argument('<csv>', 'the review file written by `review export`, after editing')
    .action((out: string, csv: string) =>
      reported(async () => {
        const r = await applyReviewFile(localOutDir(out, 'review apply'), resolve(csv));
        console.log(`Applied: ${reviewLine(r.tally)}; ${r.passed} pairs passed, ${r.rejected} rejected.`);
      }),
    );
  return review;
}

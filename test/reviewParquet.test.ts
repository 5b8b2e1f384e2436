/**
 * `corpus-qa review` works on JSON Lines output only: on a Parquet export (a real run through
 * the CLI on the real Temporal server) `review export` refuses with its message, exit 1, and
 * writes no CSV. The same run's "Wrote to" list keeps its row counts in one column.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFixtureCorpus } from './helpers/corpus.js';
import { tempDir } from './helpers/files.js';
import { temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'corpus-qa.mjs');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress() },
    timeout: 170_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('review on a Parquet export', () => {
  it('refuses `review export` with the reason and what to do, and writes no CSV', () => {
    const corpus = writeFixtureCorpus(tempDir('review-parquet-corpus'));
    const out = tempDir('review-parquet-out');
    const run = cli(['run', corpus.root, '--out', out, '--generate-qa', '--file-format', 'parquet', '--task-queue', uniqueTaskQueue()]);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(out, 'data', 'train-00000-of-00001.parquet'))).toBe(true);
    // The run's "Wrote to" list: the row counts line up however long the shard names are.
    const listed = run.stdout.split('\n').filter((l) => /^ {2}\S+\.parquet +\d+ rows?$/.test(l));
    expect(listed.length, run.stdout).toBeGreaterThanOrEqual(2);
    expect(new Set(listed.map((l) => l.search(/\d+ rows?$/))).size, run.stdout).toBe(1);

    const csvPath = join(tempDir('review-parquet-csv'), 'review.csv');
    const r = cli(['review', 'export', out, '--to', csvPath]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${out}: review reads and rewrites JSON Lines output; run the review on a --file-format jsonl export`);
    expect(existsSync(csvPath)).toBe(false);
  }, 240_000);
});

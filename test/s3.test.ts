/**
 * `--out s3://bucket/prefix` end to end, on a real S3-compatible server (SeaweedFS's weed,
 * test/helpers/s3Server.ts) and the test's real Temporal server:
 *   - two `corpus-qa worker` processes with their own scratch directories (they share only the
 *     Temporal server and the bucket) do a run whose data files, read back with the SDK, are
 *     byte-identical to a local run of the same corpus; the same command again finds it complete;
 *   - without TEMPORAL_ADDRESS, the embedded server keeps its database in a local state
 *     directory keyed by the URL, and the same command finds the run there again;
 *   - wrong credentials or an unreachable endpoint are one line naming the bucket, exit 2.
 * Skipped, with the reason, when weed is not built (scripts/setup-s3.sh).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, stopProcesses } from './helpers/cluster.js';
import { sha256File, tempDir } from './helpers/files.js';
import { describeCli, readProcessLog, startCorpusQa, waitForExit, type CliProcess } from './helpers/processes.js';
import { findWeed, startS3Server, type S3TestServer } from './helpers/s3Server.js';
import { runExport, temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const found = findWeed();
if (!found.ok) console.warn(`S3 run tests: skipped (${found.reason})`);

const CORPUS = join(import.meta.dirname, '..', 'samples', 'corpus');
const BUCKET = 'corpus';
/** The files a user loads: the same bytes wherever <out> is. */
const COMPARED = ['data/train.jsonl', 'rejected/rejected.jsonl', 'errors.jsonl', 'README.md'];
/** One document a batch, a few in flight, a little time each: both workers get some. */
const RUN_FLAGS = ['--generate-qa', '--batch-size', '1', '--concurrency', '4', '--no-progress'];

describe.skipIf(!found.ok)('--out s3://bucket/prefix on a real S3-compatible server (weed)', () => {
  let server: S3TestServer;
  let work: string;
  let reference: Record<string, string>;
  const started: CliProcess[] = [];

  beforeAll(async () => {
    work = tempDir('s3-run');
    server = await startS3Server((found as { weed: string }).weed);
    await server.createBucket(BUCKET);
    const local = join(work, 'local');
    await runExport({ inputDir: CORPUS, outDir: local, generateQa: true });
    reference = Object.fromEntries(COMPARED.filter((rel) => existsSync(join(local, rel))).map((rel) => [rel, sha256File(join(local, rel))]));
    expect(Object.keys(reference)).toContain('data/train.jsonl');
  }, 240_000);

  afterAll(async () => {
    await stopProcesses(started);
    await server?.stop();
  });

  async function bucketHashes(prefix: string): Promise<Record<string, string>> {
    const hashes: Record<string, string> = {};
    for (const rel of COMPARED) {
      const bytes = await server.get(BUCKET, `${prefix}/${rel}`);
      if (bytes) hashes[rel] = createHash('sha256').update(bytes).digest('hex');
    }
    return hashes;
  }

  it('two workers with their own scratch directories give the bytes of a local run; the same command again finds it complete', async () => {
    const taskQueue = uniqueTaskQueue();
    const logs = [join(work, 'worker-1.log'), join(work, 'worker-2.log')];
    const scratch = [join(work, 'scratch-1'), join(work, 'scratch-2')];
    const workers = await Promise.all(
      [0, 1].map((i) =>
        startWorker({
          address: temporalAddress(),
          taskQueue,
          concurrency: 2,
          env: { ...server.env, CORPUS_QA_SCRATCH_DIR: scratch[i], CORPUS_QA_TEST_DOC_DELAY_MS: '200', CORPUS_QA_TEST_PROCESS_LOG: logs[i] },
        }),
      ),
    );
    started.push(...workers);

    const args = ['run', CORPUS, '--out', `s3://${BUCKET}/a`, ...RUN_FLAGS, '--no-worker', '--task-queue', taskQueue];
    const env = { ...server.env, TEMPORAL_ADDRESS: temporalAddress() };
    const run = startCorpusQa(args, env);
    started.push(run);
    const exit = await waitForExit(run, 180_000);
    expect(exit.code, describeCli(run)).toBe(0);
    expect(run.stdout()).toMatch(/Wrote to s3:\/\/corpus\/a:/);

    expect(await bucketHashes('a')).toEqual(reference);
    // Each worker did part of the documents, and only the bucket connects them.
    for (const log of logs) expect(readProcessLog(log).length, log).toBeGreaterThan(0);
    const keys = await server.keys(BUCKET, 'a/');
    expect(keys).toContain('a/stats.json');
    expect(keys).toContain('a/.corpus-qa/last-run.json');
    // The manifest and shards are removed after the export, as in a local <out>.
    expect(keys.filter((k) => k.startsWith('a/.corpus-qa/shards/') || k.startsWith('a/.corpus-qa/manifests/'))).toEqual([]);
    // The export was staged in one worker's scratch directory and nothing is left there.
    const staged = scratch.filter((d) => existsSync(join(d, 'export')));
    expect(staged.length).toBe(1);
    const leftovers = readdirSync(join(staged[0]!, 'export'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(leftovers.map((e) => e.name)).toEqual([]);

    const again = startCorpusQa(args, env);
    started.push(again);
    const exit2 = await waitForExit(again, 120_000);
    expect(exit2.code, describeCli(again)).toBe(0);
    expect(again.stdout()).toMatch(/Already complete: outputs in s3:\/\/corpus\/a are untouched/);
    expect(await bucketHashes('a')).toEqual(reference);
  }, 400_000);

  it('without TEMPORAL_ADDRESS the embedded server lives in a local state directory keyed by the URL, found again by the same command', async () => {
    const stateRoot = join(work, 'state');
    const env = { ...server.env, TEMPORAL_ADDRESS: undefined, CORPUS_QA_STATE_DIR: stateRoot, CORPUS_QA_SCRATCH_DIR: join(work, 'scratch-embedded') };
    const args = ['run', CORPUS, '--out', `s3://${BUCKET}/b/`, '--generate-qa', '--no-progress'];
    const first = startCorpusQa(args, env);
    started.push(first);
    const exit = await waitForExit(first, 180_000);
    expect(exit.code, describeCli(first)).toBe(0);
    const said = first.stderr().match(/Run state of s3:\/\/corpus\/b on this machine: (\S+) \(CORPUS_QA_STATE_DIR moves it\)/);
    expect(said, describeCli(first)).not.toBeNull();
    const stateDir = said![1]!;
    expect(readdirSync(stateRoot)).toEqual([stateDir.slice(stateRoot.length + 1)]);
    expect(existsSync(join(stateDir, 'temporal.db'))).toBe(true);
    expect(await bucketHashes('b')).toEqual(reference);

    const again = startCorpusQa(args, env);
    started.push(again);
    const exit2 = await waitForExit(again, 180_000);
    expect(exit2.code, describeCli(again)).toBe(0);
    expect(again.stderr()).toContain(`(database ${join(stateDir, 'temporal.db')})`);
    expect(again.stdout()).toMatch(/Already complete: outputs in s3:\/\/corpus\/b are untouched/);
  }, 400_000);

  it('wrong credentials or an unreachable endpoint: one line naming the bucket, exit 2, nothing started', async () => {
    const stateRoot = join(work, 'state-bad');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ AWS_SECRET_ACCESS_KEY: 'not-the-secret' }, /^error: --out: s3:\/\/corpus\/c: bucket corpus cannot be used: access denied by the endpoint http:\/\/127\.0\.0\.1:\d+ .*check the credentials/m],
      [{ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' }, /^error: --out: s3:\/\/corpus\/c: bucket corpus cannot be used: cannot reach the endpoint http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/m],
    ];
    for (const [change, message] of cases) {
      const proc = startCorpusQa(['run', CORPUS, '--out', `s3://${BUCKET}/c`, '--generate-qa', '--no-progress'], {
        ...server.env,
        ...change,
        TEMPORAL_ADDRESS: undefined,
        CORPUS_QA_STATE_DIR: stateRoot,
      });
      started.push(proc);
      const exit = await waitForExit(proc, 60_000);
      expect(exit.code, describeCli(proc)).toBe(2);
      expect(proc.stderr()).toMatch(message);
      expect(proc.stderr()).not.toMatch(/^\s+at /m); // no stack trace
    }
    expect(existsSync(stateRoot)).toBe(false); // no server was started
    expect(await server.keys(BUCKET, 'c/')).toEqual([]);
  }, 180_000);
});

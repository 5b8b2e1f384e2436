/**
 * Cluster mode with real processes: two `corpus-qa worker` processes on the test's Temporal
 * server share one run started by `corpus-qa run --no-worker`. The output must be the same
 * bytes as a single-worker run of the same corpus, both workers must have done part of the work,
 * and SIGKILLing one of them mid-run must lose nothing: Temporal notices the dead worker's
 * activities (their heartbeat timeout) and the other worker retries them.
 */
import { Client, Connection } from '@temporalio/client';
import { existsSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeBenchCorpus } from './helpers/syntheticCorpus.js';
import { startWorker, stopProcesses } from './helpers/cluster.js';
import { readJsonl, sha256File, tempDir } from './helpers/files.js';
import { countShards, describeCli, startCorpusQa, readProcessLog, waitForExit, waitUntil, type CliProcess } from './helpers/processes.js';
import { runExport, temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const DOCUMENTS = 100;
const BATCH_SIZE = 2;
/** Activity slots per worker process. */
const WORKER_CONCURRENCY = 2;
/** The run's window (batches in flight): enough to keep both workers busy. */
const WINDOW = 4;
const DOC_DELAY_MS = 30;
const RUN_FLAGS = ['--generate-qa', '--batch-size', String(BATCH_SIZE), '--concurrency', String(WINDOW), '--no-progress'];
/** The files a user loads: they must be byte-identical whoever processed the documents. */
const COMPARED = ['data/train.jsonl', 'rejected/rejected.jsonl', 'errors.jsonl', 'README.md'];

let work: string;
let corpusRoot: string;
let sources: string[];
let reference: { hashes: Record<string, string>; counts: Record<string, unknown> };
const started: CliProcess[] = [];

function outcomeOf(out: string) {
  const hashes: Record<string, string> = {};
  for (const rel of COMPARED) if (existsSync(join(out, rel))) hashes[rel] = sha256File(join(out, rel));
  const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as Record<string, unknown>;
  return { hashes, counts: { documents: stats.documents, chunks: stats.chunks, pairs: stats.pairs, files: stats.files } };
}

/** Every document of the corpus, as the process log names them (path relative to the input). */
function corpusSources(root: string): string[] {
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

function workflowIdOf(out: string): string {
  return (JSON.parse(readFileSync(join(out, '.corpus-qa', 'last-run.json'), 'utf8')) as { workflowId: string }).workflowId;
}

async function twoWorkers(taskQueue: string, logs: [string, string]): Promise<[CliProcess, CliProcess]> {
  const workers = await Promise.all(
    logs.map((log) =>
      startWorker({
        address: temporalAddress(),
        taskQueue,
        concurrency: WORKER_CONCURRENCY,
        env: { CORPUS_QA_TEST_DOC_DELAY_MS: String(DOC_DELAY_MS), CORPUS_QA_TEST_PROCESS_LOG: log },
      }),
    ),
  );
  started.push(...workers);
  return workers as [CliProcess, CliProcess];
}

function startRun(out: string, taskQueue: string, extra: string[] = []): CliProcess {
  const proc = startCorpusQa(['run', corpusRoot, '--out', out, ...RUN_FLAGS, '--no-worker', '--task-queue', taskQueue, ...extra], {
    TEMPORAL_ADDRESS: temporalAddress(),
  });
  started.push(proc);
  return proc;
}

/** processBatch attempts as recorded in the history of every run of the chain. */
async function batchAttempts(workflowId: string): Promise<{ attempt: number; failure?: string }[]> {
  const connection = await Connection.connect({ address: temporalAddress() });
  try {
    const client = new Client({ connection });
    const out: { attempt: number; failure?: string }[] = [];
    const runs: string[] = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(wf.runId);
    for (const runId of runs) {
      const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      const scheduled = new Map<string, string>();
      for (const e of history.events ?? []) {
        const s = e.activityTaskScheduledEventAttributes;
        if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
        const st = e.activityTaskStartedEventAttributes;
        if (st && scheduled.get(String(st.scheduledEventId)) === 'processBatch') {
          out.push({ attempt: st.attempt ?? 1, failure: st.lastFailure?.message ?? undefined });
        }
      }
    }
    return out;
  } finally {
    await connection.close();
  }
}

beforeAll(async () => {
  work = tempDir('multi-worker');
  corpusRoot = join(work, 'corpus');
  writeBenchCorpus(corpusRoot, DOCUMENTS);
  // The single-worker reference: the in-process worker of the runner, same corpus and settings.
  const out = join(work, 'single');
  const { result } = await runExport({ inputDir: corpusRoot, outDir: out, generateQa: true, batchSize: BATCH_SIZE, concurrency: WINDOW });
  expect(result.documents).toBe(DOCUMENTS);
  reference = outcomeOf(out);
  expect(Object.keys(reference.hashes)).toEqual(expect.arrayContaining(['data/train.jsonl', 'README.md']));
  sources = corpusSources(corpusRoot);
  expect(sources).toHaveLength(DOCUMENTS);
  // Every document of the corpus gave pairs, so "nothing lost" is visible in the rows too.
  expect(new Set(readJsonl<{ source: string }>(join(out, 'data/train.jsonl')).map((r) => r.source)).size).toBe(DOCUMENTS);
}, 120_000);

afterEach(async () => {
  // Whatever a test left running (it failed half-way): no worker or run may outlive it.
  await stopProcesses(started.splice(0));
});

afterAll(async () => {
  await stopProcesses(started.splice(0));
});

describe('two worker processes share one run', () => {
  it('give the same bytes as one worker, and both do part of the work', async () => {
    const taskQueue = uniqueTaskQueue();
    const logs: [string, string] = [join(work, 'a1.log'), join(work, 'b1.log')];
    const [a, b] = await twoWorkers(taskQueue, logs);
    const out = join(work, 'two-workers');
    // Continue-as-new twice on the way, so the new runs' workflow tasks land on either worker too.
    const run = startRun(out, taskQueue, ['--continue-as-new-after', '40']);
    const exit = await waitForExit(run, 120_000);
    expect(exit.code, describeCli(run)).toBe(0);
    expect(run.stdout()).toMatch(new RegExp(`Done: ${DOCUMENTS} documents, ${DOCUMENTS} loaded`));

    expect(outcomeOf(out)).toEqual(reference);

    const byA = readProcessLog(logs[0]);
    const byB = readProcessLog(logs[1]);
    expect(byA.length, 'worker A processed documents').toBeGreaterThan(0);
    expect(byB.length, 'worker B processed documents').toBeGreaterThan(0);
    // Healthy workers: every document processed exactly once, by one of them.
    expect([...byA, ...byB].sort()).toEqual([...new Set([...byA, ...byB])].sort());
    expect(byA.length + byB.length).toBe(DOCUMENTS);
    expect([...new Set([...byA, ...byB])].sort()).toEqual(sources);
    console.log(`[multi-worker] worker A processed ${byA.length}, worker B ${byB.length} of ${DOCUMENTS} documents`);
    expect(a.exit, 'worker A still running').toBeUndefined();
    expect(b.exit, 'worker B still running').toBeUndefined();
  }, 150_000);

  it('lose nothing when one worker is SIGKILLed mid-run: the other finishes it, same bytes', async () => {
    const taskQueue = uniqueTaskQueue();
    const logs: [string, string] = [join(work, 'a2.log'), join(work, 'b2.log')];
    const [victim, survivor] = await twoWorkers(taskQueue, logs);
    const out = join(work, 'killed-worker');
    const run = startRun(out, taskQueue);
    const t0 = Date.now();

    // Kill when 30% of the shards exist and worker A has just started a document (its log grew
    // since the last look; the document then takes DOC_DELAY_MS): it dies holding live work.
    let victimSeen = 0;
    const shardsAtKill = await waitUntil('30% of the shards, with worker A mid-document', () => {
      const n = countShards(out);
      const seen = readProcessLog(logs[0]).length;
      const startedOne = seen > victimSeen;
      victimSeen = seen;
      return n >= DOCUMENTS * 0.3 && startedOne ? n : undefined;
    }, { proc: run, timeoutMs: 90_000, intervalMs: 2 });
    process.kill(victim.pid, 'SIGKILL');
    await victim.exited;
    const killedAfterMs = Date.now() - t0;
    const victimLog = readProcessLog(logs[0]);
    expect(victimLog.length, 'the killed worker had done part of the run').toBeGreaterThan(0);
    expect(shardsAtKill).toBeLessThan(DOCUMENTS * 0.6);

    // Temporal retries the dead worker's batches once their heartbeat timeout (30 s) passes.
    const exit = await waitForExit(run, 150_000);
    const totalMs = Date.now() - t0;
    expect(exit.code, describeCli(run)).toBe(0);
    expect(run.stdout()).toMatch(new RegExp(`Done: ${DOCUMENTS} documents, ${DOCUMENTS} loaded`));
    expect(survivor.exit, 'the surviving worker is still running').toBeUndefined();

    // Loses nothing: the same bytes, the same counts, every document processed by someone.
    expect(outcomeOf(out)).toEqual(reference);
    const bySurvivor = readProcessLog(logs[1]);
    const all = new Set([...victimLog, ...bySurvivor]);
    expect(all.size).toBe(DOCUMENTS);
    expect([...all].sort()).toEqual(sources);
    // Redone: only documents that were in the dead worker's hands (its slots × batch size).
    const redone = victimLog.filter((s) => bySurvivor.includes(s));
    expect(redone.length).toBeLessThanOrEqual(WORKER_CONCURRENCY * BATCH_SIZE);

    // The dead worker's batches really were retried by Temporal (attempt 2, after a heartbeat timeout).
    const attempts = await batchAttempts(workflowIdOf(out));
    const retried = attempts.filter((a) => a.attempt > 1);
    expect(retried.length, JSON.stringify(attempts.filter((a) => a.attempt > 1 || a.failure))).toBeGreaterThan(0);
    expect(retried.length).toBeLessThanOrEqual(WORKER_CONCURRENCY);
    for (const r of retried) expect(r.failure ?? '').toMatch(/heartbeat/i);
    console.log(
      `[multi-worker] killed worker A at ${shardsAtKill}/${DOCUMENTS} shards (${killedAfterMs} ms in); ` +
        `${retried.length} batch(es) retried on worker B, ${redone.length} document(s) redone; run finished ${totalMs} ms after start`,
    );
  }, 200_000);
});

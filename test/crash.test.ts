/**
 * Crash-proof resume: real `corpus-qa run` processes on their embedded Temporal dev server,
 * really killed (SIGKILL, no chance to clean up) at points chosen from the run's real progress
 * on disk, then the same command run again. The output must be the same bytes as an
 * uninterrupted run, no document may be processed again beyond the batches in flight at the
 * kill, a reader must never see a partial output file, and no process may outlive the test.
 */
import { Client, Connection } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeCrashCorpus, type CrashCorpus } from './helpers/crashCorpus.js';
import { sha256File, tempDir } from './helpers/files.js';
import {
  countShards,
  describeCli,
  exitOrKill,
  isAlive,
  killEverythingUnder,
  killHard,
  processesLeft, processesMentioning,
  readProcessLog,
  readServerRecord,
  startCli,
  waitForExit,
  waitUntil,
  waitUntilDead,
  type CliProcess,
} from './helpers/processes.js';

const DOCUMENTS = 120;
const BATCH_SIZE = 3;
const CONCURRENCY = 2;
/** Per-document delay in the interrupted runs (worker test hook), so kills land mid-run. */
const DOC_DELAY_MS = 40;
const CONTINUE_AS_NEW_AFTER = 24;
const FLAGS = ['--generate-qa', '--batch-size', String(BATCH_SIZE), '--concurrency', String(CONCURRENCY), '--no-progress'];
/** At most this many documents may be processed twice: the batches in flight at the kill. */
const REDO_BOUND = BATCH_SIZE * CONCURRENCY;

// Generous: no assertion here is about speed. A resume waits for Temporal to notice that the
// killed worker's activities are gone (their heartbeat timeout) before it retries them.
const REFERENCE_TIMEOUT_MS = 120_000;
const RESUME_TIMEOUT_MS = 240_000;
const SCENARIO_TIMEOUT_MS = 330_000;

interface Outcome {
  /** sha256 of every output file (relative path), the hidden state dir and stats.json aside. */
  hashes: Record<string, string>;
  /** The deterministic part of stats.json: counts, not durations or workflow ids. */
  counts: Record<string, unknown>;
}

interface Reference extends Outcome {
  processed: string[];
}

let work: string;
let corpus: CrashCorpus;
let reference: Reference;
const report: Record<string, unknown>[] = [];

function outputFiles(out: string): string[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(join(d, e.name));
      else files.push(relative(out, join(d, e.name)));
    }
  };
  walk(out);
  return files;
}

function outcomeOf(out: string): Outcome {
  const hashes: Record<string, string> = {};
  for (const rel of outputFiles(out)) if (rel !== 'stats.json') hashes[rel] = sha256File(join(out, rel));
  const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as Record<string, unknown>;
  const counts = { documents: stats.documents, chunks: stats.chunks, pairs: stats.pairs, files: stats.files };
  return { hashes, counts };
}

function runArgs(out: string, extra: string[] = []): string[] {
  return ['run', corpus.root, '--out', out, ...FLAGS, ...extra];
}

/**
 * Reads the final output paths over and over while runs are going: each read must find the
 * file absent or exactly the reference bytes (a complete JSON Lines file), never a partial one.
 * Also notes every embedded server pid it sees in server.json.
 */
class OutputWatcher {
  reads = 0;
  complete = 0;
  violations: string[] = [];
  serverPids = new Set<number>();
  /** Most dev servers seen running on this output's database at the same moment. */
  maxServersAtOnce = 0;
  private ticks = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: string) {}

  start(): this {
    this.timer = setInterval(() => this.check(), 15);
    return this;
  }

  check(): void {
    const rec = readServerRecord(this.out);
    if (rec) this.serverPids.add(rec.pid);
    if (this.ticks++ % 5 === 0) {
      const servers = processesMentioning(join(this.out, '.corpus-qa', 'temporal.db')).length;
      this.maxServersAtOnce = Math.max(this.maxServersAtOnce, servers);
    }
    for (const [rel, expected] of Object.entries(reference.hashes)) {
      if (!rel.endsWith('.jsonl')) continue;
      let text: string;
      try {
        text = readFileSync(join(this.out, rel), 'utf8');
      } catch {
        continue; // absent: fine
      }
      this.reads++;
      const problem = !text.endsWith('\n')
        ? 'does not end with a newline'
        : text.slice(0, -1).split('\n').some((l) => {
              try {
                JSON.parse(l);
                return false;
              } catch {
                return true;
              }
            })
          ? 'has a line that is not JSON'
          : sha256Text(text) !== expected
            ? 'differs from the reference'
            : undefined;
      if (problem) this.violations.push(`${rel} (${text.length} chars) ${problem}`);
      else this.complete++;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.check();
  }
}

function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

interface Scenario {
  name: string;
  dir: string;
  out: string;
  log: string;
  args: string[];
  watcher: OutputWatcher;
  startedAt: number;
  first: CliProcess;
}

const scenarios: Scenario[] = [];

function beginScenario(name: string, extraFlags: string[] = []): Scenario {
  const dir = join(work, name);
  const out = join(dir, 'out');
  const log = join(dir, 'processed.log');
  const args = runArgs(out, extraFlags);
  const watcher = new OutputWatcher(out).start();
  const startedAt = Date.now();
  const first = startCli(args, { CORPUS_QA_TEST_DOC_DELAY_MS: String(DOC_DELAY_MS), CORPUS_QA_TEST_PROCESS_LOG: log });
  const s = { name, dir, out, log, args, watcher, startedAt, first };
  scenarios.push(s);
  return s;
}

async function serverOf(s: Scenario) {
  return waitUntil('the embedded server to be recorded in server.json', () => readServerRecord(s.out), { proc: s.first });
}

function workflowIdOf(out: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(out, '.corpus-qa', 'last-run.json'), 'utf8')) as { workflowId: string }).workflowId;
  } catch {
    return undefined;
  }
}

async function withClient<T>(address: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address, connectTimeout: 5000 });
  try {
    return await fn(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

/** SIGKILL the CLI once `ready` holds; returns the shard count at the kill. */
async function killCliWhen(s: Scenario, what: string, ready: () => boolean): Promise<number> {
  await waitUntil(what, () => ready(), { proc: s.first });
  killHard(s.first.pid);
  await s.first.exited;
  return countShards(s.out);
}

/**
 * Run the same command again to completion (no delay hook) and check everything against the
 * reference run.
 */
async function resumeAndCheck(
  s: Scenario,
  killedAt: Record<string, unknown>,
  expectServer: { reusedPid?: number; deadPid?: number; workflowStarted?: boolean },
): Promise<void> {
  const processedBefore = readProcessLog(s.log);
  const resumeStart = Date.now();
  const second = startCli(s.args, { CORPUS_QA_TEST_PROCESS_LOG: s.log });
  const exit = await waitForExit(second, RESUME_TIMEOUT_MS);
  const resumeMs = Date.now() - resumeStart;
  s.watcher.stop();
  expect(exit.code, describeCli(second)).toBe(0);
  // The workflow was still running in the server's database: the command attaches to it.
  if (expectServer.workflowStarted !== false) expect(second.stderr(), describeCli(second)).toMatch(/Attached to running workflow/);

  // The embedded server: reused if it survived the kill, else a new one on the same database;
  // stopped in both cases when the run ended.
  if (expectServer.reusedPid !== undefined) {
    expect([...s.watcher.serverPids]).toEqual([expectServer.reusedPid]);
  }
  if (expectServer.deadPid !== undefined) {
    const others = [...s.watcher.serverPids].filter((p) => p !== expectServer.deadPid);
    expect(others.length, 'a new server was started on the same database').toBe(1);
  }
  for (const pid of s.watcher.serverPids) expect(await waitUntilDead(pid, 15_000), `server ${pid} stopped`).toBe(true);
  expect(existsSync(join(s.out, '.corpus-qa', 'server.json'))).toBe(false);
  // Nothing left running (the CLI ended and stopped its server), and never two servers on one
  // database at once.
  expect(processesMentioning(s.dir), 'processes left running').toEqual([]);
  expect(s.watcher.maxServersAtOnce, 'dev servers running on the same database at once').toBeLessThanOrEqual(1);

  // Same bytes out, and nothing else in the output tree (no temp file a killed export left).
  const got = outcomeOf(s.out);
  expect(Object.keys(got.hashes).sort()).toEqual(Object.keys(reference.hashes).sort());
  expect(got.hashes).toEqual(reference.hashes);
  expect(got.counts).toEqual(reference.counts);

  // A reader never saw a partial file, before or after the kill.
  expect(s.watcher.violations).toEqual([]);

  // Every document processed, and none twice beyond the batches in flight at the kill.
  const processed = readProcessLog(s.log);
  const distinct = new Set(processed);
  expect([...distinct].sort()).toEqual([...new Set(reference.processed)].sort());
  const redone = processed.length - distinct.size;
  expect(redone).toBeLessThanOrEqual(REDO_BOUND);

  report.push({
    scenario: s.name,
    ...killedAt,
    processedBeforeKill: processedBefore.length,
    processedOnResume: processed.length - processedBefore.length,
    redone,
    resumeSeconds: +(resumeMs / 1000).toFixed(1),
    scenarioSeconds: +((Date.now() - s.startedAt) / 1000).toFixed(1),
    completeReadsOfOutputs: s.watcher.complete,
  });
}

describe('crash-proof resume: SIGKILL, run the same command again, same bytes out', () => {
  beforeAll(async () => {
    work = tempDir('crash');
    // 8 large sparse files make discovery (which hashes them) last long enough to be hit.
    corpus = writeCrashCorpus(join(work, 'corpus'), { documents: DOCUMENTS, largeFiles: 8, largeFileMb: 40 });
    const out = join(work, 'reference', 'out');
    const log = join(work, 'reference', 'processed.log');
    const ref = startCli(runArgs(out), { CORPUS_QA_TEST_PROCESS_LOG: log });
    const exit = await waitForExit(ref, REFERENCE_TIMEOUT_MS);
    expect(exit.code, describeCli(ref)).toBe(0);
    reference = { ...outcomeOf(out), processed: readProcessLog(log) };
    expect(Object.keys(reference.hashes)).toEqual(expect.arrayContaining(['data/train.jsonl', 'rejected/rejected.jsonl', 'errors.jsonl']));
    expect(new Set(reference.processed).size).toBe(reference.processed.length);
    expect(await processesLeft(join(work, 'reference'))).toEqual([]);
  }, REFERENCE_TIMEOUT_MS + 30_000);

  afterEach(async () => {
    // Whatever happened, no process of ours survives the test (CLI runs and their servers).
    for (const s of scenarios.splice(0)) {
      s.watcher.stop();
      await killEverythingUnder(s.dir);
    }
  });

  afterAll(async () => {
    if (work) {
      const left = await killEverythingUnder(work);
      if (left.length) console.error('crash tests: had to kill leftover processes', left);
      rmSync(work, { recursive: true, force: true });
    }
    if (report.length) console.log(`crash scenarios:\n${report.map((r) => JSON.stringify(r)).join('\n')}`);
  });

  it('resumes after a kill during discovery', async () => {
    const s = beginScenario('discovery');
    const server = await serverOf(s);
    const workflowId = await waitUntil('the workflow to start', () => workflowIdOf(s.out), { proc: s.first });
    // Discovery's manifest only appears (renamed from its hidden folder of pages) at its end, so
    // ask the server: kill once the worker has picked up the discover activity.
    await withClient(server.address, (client) =>
      waitUntil(
        'the discover activity to be running',
        async () => {
          const d = await client.workflow.getHandle(workflowId).describe();
          // 2 = PENDING_ACTIVITY_STATE_STARTED
          return d.raw.pendingActivities?.some((a) => a.activityType?.name === 'discover' && a.state === 2) ?? false;
        },
        { proc: s.first, intervalMs: 5 },
      ),
    );
    killHard(s.first.pid);
    await s.first.exited;
    // It landed in discovery: no manifest in place yet, no shard.
    const manifests = join(s.out, '.corpus-qa', 'manifests');
    // Hidden (.pages-*) and .tmp- entries are a discovery still writing, not a manifest.
    const manifestDone = existsSync(manifests) && readdirSync(manifests).some((n) => !n.startsWith('.') && !n.includes('.tmp-'));
    expect(manifestDone, 'the kill landed before discovery wrote its manifest').toBe(false);
    expect(countShards(s.out)).toBe(0);
    expect(readProcessLog(s.log)).toEqual([]);
    expect(isAlive(server.pid), 'the detached server outlives the CLI').toBe(true);
    await resumeAndCheck(s, { killedAt: 'discover activity running', shardsAtKill: 0 }, { reusedPid: server.pid });
  }, SCENARIO_TIMEOUT_MS);

  it('resumes after a kill while the embedded server is starting up', async () => {
    const s = beginScenario('server-start-up');
    const db = join(s.out, '.corpus-qa', 'temporal.db');
    const starting = await waitUntil('the embedded server process', () => processesMentioning(db)[0], { proc: s.first, intervalMs: 5 });
    const recordedAtKill = readServerRecord(s.out) !== undefined;
    killHard(s.first.pid);
    await s.first.exited;
    expect(workflowIdOf(s.out), 'the kill landed before the workflow started').toBeUndefined();
    await resumeAndCheck(s, { killedAt: 'embedded server starting', serverRecordedAtKill: recordedAtKill, shardsAtKill: 0 }, { workflowStarted: false });
    // The server the killed run was starting did not outlive the test's runs either.
    expect(isAlive(starting.pid)).toBe(false);
  }, SCENARIO_TIMEOUT_MS);

  it('resumes after a kill mid-generation (about half of the documents done)', async () => {
    const s = beginScenario('mid-generation');
    const server = await serverOf(s);
    const half = Math.floor(corpus.files / 2);
    const shards = await killCliWhen(s, `${half} shards`, () => countShards(s.out) >= half);
    expect(shards).toBeLessThan(corpus.files);
    expect(isAlive(server.pid), 'the detached server outlives the CLI').toBe(true);
    await resumeAndCheck(s, { killedAt: `>= ${half} shards`, shardsAtKill: shards }, { reusedPid: server.pid });
  }, SCENARIO_TIMEOUT_MS);

  it('resumes after a kill right after a continue-as-new', async () => {
    const s = beginScenario('after-continue-as-new', ['--continue-as-new-after', String(CONTINUE_AS_NEW_AFTER)]);
    const server = await serverOf(s);
    // The first workflow run processes exactly CONTINUE_AS_NEW_AFTER documents (a multiple of
    // the batch size), so a shard past that count was written by the run it continued into.
    const threshold = CONTINUE_AS_NEW_AFTER + 2;
    const shards = await killCliWhen(s, `${threshold} shards`, () => countShards(s.out) >= threshold);
    expect(shards).toBeLessThan(CONTINUE_AS_NEW_AFTER + REDO_BOUND + 1);
    // The history of the run the kill hit says it was continued from an earlier run.
    const workflowId = workflowIdOf(s.out)!;
    const continuedFrom = await withClient(server.address, async (client) => {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      return history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    });
    expect(continuedFrom, 'the killed workflow run was a continue-as-new').toBeTruthy();
    await resumeAndCheck(s, { killedAt: `${threshold} shards, 2nd workflow run`, shardsAtKill: shards }, { reusedPid: server.pid });
    const stats = JSON.parse(readFileSync(join(s.out, 'stats.json'), 'utf8')) as { workflow: { runs: number } };
    expect(stats.workflow.runs).toBeGreaterThanOrEqual(Math.ceil(corpus.files / CONTINUE_AS_NEW_AFTER));
  }, SCENARIO_TIMEOUT_MS);

  it('resumes after a kill during export, and no reader ever sees a partial output file', async () => {
    const s = beginScenario('export');
    const server = await serverOf(s);
    await waitUntil('the output directory', () => existsSync(s.out), { proc: s.first });
    const seen = await killOnExporterTempFile(s);
    const finalsAtKill = Object.keys(reference.hashes).filter((rel) => existsSync(join(s.out, rel)));
    const tempsAtKill = tempFilesIn(s.out);
    expect(countShards(s.out)).toBe(new Set(reference.processed).size);
    expect(isAlive(server.pid), 'the detached server outlives the CLI').toBe(true);
    await resumeAndCheck(
      s,
      {
        killedAt: `exporter temp file ${seen}`,
        tempFilesLeftByKill: tempsAtKill,
        finalFilesPresentAtKill: finalsAtKill,
        shardsAtKill: countShards(s.out),
      },
      { reusedPid: server.pid },
    );
    // The whole tree, not just the listed files: a killed export leaves no temp file behind.
    expect(tempFilesIn(s.out)).toEqual([]);
  }, SCENARIO_TIMEOUT_MS);

  it('resumes on a new server over the same database after the server is killed mid-run', async () => {
    const s = beginScenario('server-kill');
    const server = await serverOf(s);
    const half = Math.floor(corpus.files / 2);
    await waitUntil(`${half} shards`, () => countShards(s.out) >= half, { proc: s.first });
    killHard(server.pid);
    const shards = countShards(s.out);
    expect(await waitUntilDead(server.pid, 10_000)).toBe(true);
    // Without its server the CLI fails or hangs; give it a few seconds, then kill it too.
    const exitedByItself = await exitOrKill(s.first, 5000);
    await resumeAndCheck(
      s,
      {
        killedAt: `server at >= ${half} shards`,
        shardsAtKill: shards,
        cliAfterServerKill: exitedByItself ? `exited ${JSON.stringify(s.first.exit)}` : 'hung, killed after 5 s',
      },
      { deadPid: server.pid },
    );
  }, SCENARIO_TIMEOUT_MS);
});

function tempFilesIn(out: string): string[] {
  return outputFiles(out).filter((rel) => rel.includes('.tmp-'));
}

/**
 * SIGKILL the CLI the moment an exporter's temp file shows up in the output tree (the exporter
 * writes every output to `<file>.tmp-*` and renames it into place). Watches with inotify, and
 * polls as a fallback. Returns the temp file seen.
 */
function killOnExporterTempFile(s: Scenario): Promise<string> {
  return new Promise((resolve, reject) => {
    const watchers = new Map<string, FSWatcher>();
    let done = false;
    const finish = (err: Error | undefined, seen?: string) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      for (const w of watchers.values()) w.close();
      if (err) reject(err);
      else void s.first.exited.then(() => resolve(seen!));
    };
    const look = () => {
      if (done) return;
      for (const dir of [s.out, join(s.out, 'data'), join(s.out, 'rejected')]) {
        let names: string[];
        try {
          names = readdirSync(dir);
        } catch {
          continue;
        }
        if (!watchers.has(dir)) {
          try {
            watchers.set(dir, watch(dir, look));
          } catch {
            // vanished
          }
        }
        const temp = names.find((n) => n.includes('.tmp-'));
        if (temp) {
          killHard(s.first.pid);
          finish(undefined, relative(s.out, join(dir, temp)));
          return;
        }
      }
      if (s.first.exit) finish(new Error(`corpus-qa ended before export began.\n${describeCli(s.first)}`));
    };
    const poll = setInterval(look, 5);
    setTimeout(() => finish(new Error(`export did not begin within 90 s.\n${describeCli(s.first)}`)), 90_000).unref();
    look();
  });
}

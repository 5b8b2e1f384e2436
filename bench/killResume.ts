/**
 * npx tsx bench/killResume.ts [--docs 1000] [--at 0.5] [--keep] [-- extra run flags...]
 *
 * What a crash costs. Generates a corpus of N documents and runs `corpus-qa run <corpus> --out
 * <out> --generate-qa` (embedded dev server, in-process worker, default settings) as real
 * processes: once uninterrupted; once SIGKILLed when a fraction of the documents have their
 * shard, then the same command again to completion. Prints one JSON report: wall time of both
 * processes together against the uninterrupted run, documents processed again on resume (from
 * the worker's CORPUS_QA_TEST_PROCESS_LOG) and what that and the restart cost in seconds.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  countShards,
  describeCli,
  killEverythingUnder,
  killHard,
  readProcessLog,
  sleep,
  startCli,
  waitForExit,
  type CliProcess,
} from '../test/helpers/processes.js';
import { writeBenchCorpus } from '../test/helpers/syntheticCorpus.js';

const { values, positionals } = parseArgs({
  options: {
    docs: { type: 'string', default: '1000' },
    at: { type: 'string', default: '0.5' },
    keep: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const documents = Number(values.docs);
const killAt = Number(values.at);
const extraFlags = positionals;
const work = mkdtempSync(join(tmpdir(), 'corpus-qa-killresume-'));
const corpusDir = join(work, 'corpus');
const RUN_TIMEOUT_MS = 30 * 60_000;

function args(out: string): string[] {
  return ['run', corpusDir, '--out', out, '--generate-qa', '--no-progress', ...extraFlags];
}

function sha256(path: string): string | null {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : null;
}

const OUTPUTS = ['data/train.jsonl', 'rejected/rejected.jsonl', 'errors.jsonl', 'README.md'];

async function completes(proc: CliProcess): Promise<void> {
  const exit = await waitForExit(proc, RUN_TIMEOUT_MS);
  if (exit.code !== 0) throw new Error(`corpus-qa failed\n${describeCli(proc)}`);
}

interface Stats {
  durationsMs: Record<string, number>;
  cacheHits?: number;
  workflow?: { runs: number };
}

function statsOf(out: string): Stats {
  return JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as Stats;
}

try {
  writeBenchCorpus(corpusDir, documents);

  // 1. Uninterrupted.
  const outA = join(work, 'uninterrupted');
  const logA = join(work, 'uninterrupted.log');
  let t = performance.now();
  await completes(startCli(args(outA), { CORPUS_QA_TEST_PROCESS_LOG: logA }));
  const uninterruptedSeconds = (performance.now() - t) / 1000;
  const statsA = statsOf(outA);

  // 2. Killed when `killAt` of the documents have their shard, then the same command again.
  const outB = join(work, 'killed');
  const logB = join(work, 'killed.log');
  const target = Math.ceil(documents * killAt);
  t = performance.now();
  const first = startCli(args(outB), { CORPUS_QA_TEST_PROCESS_LOG: logB });
  while (countShards(outB) < target) {
    if (first.exit) throw new Error(`the run ended before ${target} shards\n${describeCli(first)}`);
    await sleep(10);
  }
  killHard(first.pid);
  await first.exited;
  const firstSeconds = (performance.now() - t) / 1000;
  const shardsAtKill = countShards(outB);
  const processedBeforeKill = readProcessLog(logB).length;

  t = performance.now();
  const second = startCli(args(outB), { CORPUS_QA_TEST_PROCESS_LOG: logB });
  // When the resumed run processes its first document: restart + waiting for Temporal to give
  // up on the activities the killed worker held (their heartbeat timeout).
  let firstNewDocumentSeconds: number | null = null;
  let lastSeen = processedBeforeKill;
  void (async () => {
    while (!second.exit) {
      const n = readProcessLog(logB).length;
      if (n > lastSeen && firstNewDocumentSeconds === null) firstNewDocumentSeconds = (performance.now() - t) / 1000;
      lastSeen = n;
      await sleep(20);
    }
  })();
  await completes(second);
  const resumeSeconds = (performance.now() - t) / 1000;
  const statsB = statsOf(outB);

  const processed = readProcessLog(logB);
  const distinct = new Set(processed).size;
  const redone = processed.length - distinct;
  // What one document costs the worker (load + chunk + generate + validate), from the
  // uninterrupted run: the redone documents cost that much again.
  const d = statsA.durationsMs;
  const perDocumentMs = ((d.load ?? 0) + (d.chunk ?? 0) + (d.generate ?? 0) + (d.validate ?? 0)) / Math.max(1, readProcessLog(logA).length);
  const same = OUTPUTS.every((f) => sha256(join(outA, f)) === sha256(join(outB, f)));
  const interruptedTotal = firstSeconds + resumeSeconds;

  console.log(
    JSON.stringify(
      {
        documents,
        flags: args('<out>').slice(4),
        uninterrupted: { seconds: +uninterruptedSeconds.toFixed(2), workflowRuns: statsA.workflow?.runs ?? null },
        killed: {
          atShards: shardsAtKill,
          secondsBeforeKill: +firstSeconds.toFixed(2),
          processedBeforeKill,
          resumeSeconds: +resumeSeconds.toFixed(2),
          resumeSecondsToFirstNewDocument: firstNewDocumentSeconds === null ? null : +(firstNewDocumentSeconds as number).toFixed(2),
          processedOnResume: processed.length - processedBeforeKill,
          cacheHitsOnResume: statsB.cacheHits ?? null,
        },
        totalSecondsBothProcesses: +interruptedTotal.toFixed(2),
        overheadSeconds: +(interruptedTotal - uninterruptedSeconds).toFixed(2),
        overheadRatio: +(interruptedTotal / uninterruptedSeconds).toFixed(2),
        redoneDocuments: redone,
        redoneCostSeconds: +((redone * perDocumentMs) / 1000).toFixed(3),
        workerMsPerDocument: +perDocumentMs.toFixed(2),
        sameBytes: same,
      },
      null,
      2,
    ),
  );
} finally {
  await killEverythingUnder(work);
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}

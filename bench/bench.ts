/**
 * npm run bench -- [--docs N | --corpus DIR] [--fixed B] [--repeat R]
 *
 * Generates a corpus of N documents (or takes the real documents under DIR) and exports it: once calling the same activities in-process
 * (the baseline: what the work costs with no orchestration), once through Temporal on a real
 * dev server with an in-process worker (batches sized by work), and, unless --fixed 0, once more
 * through Temporal with --batch-size B (default 20: the old fixed batching), back to back so
 * the two batchings see the same machine. The baseline runs again after the Temporal run (warm,
 * as that run was) and the ratios are against the faster of its two runs. Each mode reports its
 * phases (discovery, processing, export). Prints one JSON report.
 *
 * --repeat R (default 1) adds R-1 rounds of a Temporal run then a baseline run, each Temporal
 * run compared with the faster baseline on either side of it: on a machine whose speed drifts
 * by a third from one minute to the next, the medians of the rounds' ratios are the numbers to
 * quote (`rounds`, `medianOfRounds`).
 */
import { Client, Connection } from '@temporalio/client';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { discoverCorpus } from '../activities/discover.js';
import { exportDataset } from '../activities/export.js';
import { processBatch } from '../activities/processBatch.js';
import { resolveRunInput, workflowIdFor } from '../client/runOptions.js';
import { runCorpusExport } from '../client/runner.js';
import { addCounters, emptyCounters, type BatchSummary } from '../schemas/index.js';
import { writeBenchCorpus } from '../test/helpers/syntheticCorpus.js';

if (process.argv.includes('--quality')) {
  await import('./quality.js'); // npm run bench -- --quality OUT_DIR: pair quality of an export (bench/quality.ts)
  process.exit(process.exitCode ?? 0);
}
if (process.argv.includes('--llm')) {
  await import('./llm.js'); // npm run bench -- --llm: LLM requests/s through Temporal (bench/llm.ts)
  process.exit(process.exitCode ?? 0);
}
if (process.argv.includes('--export-indexes')) {
  await import('./exportIndexes.js'); // npm run bench -- --export-indexes: the export's duplicate index at 1M documents' pairs (bench/exportIndexes.ts)
  process.exit(process.exitCode ?? 0);
}
if (process.argv.includes('--remove-tree')) {
  await import('./removeTree.js'); // npm run bench -- --remove-tree: deleting a big run's shards (bench/removeTree.ts)
  process.exit(process.exitCode ?? 0);
}
if (process.argv.includes('--isolation')) {
  await import('./isolation.js'); // npm run bench -- --isolation: issue 13's bad files among ordinary ones (bench/isolation.ts)
  process.exit(process.exitCode ?? 0);
}
const { values } = parseArgs({
  options: { docs: { type: 'string', default: '1000' }, corpus: { type: 'string' }, fixed: { type: 'string', default: '20' }, repeat: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false } },
});
/** Given: real documents, read where they are (their count and bytes come from discovery). */
const givenCorpus = values.corpus === undefined ? undefined : resolve(values.corpus);
const fixedBatchSize = Number(values.fixed);
/** The baseline's batching: in-process it costs nothing, so it stays what it always was. */
const BASELINE = { batchSize: 20, concurrency: 4 };
const work = mkdtempSync(join(tmpdir(), 'corpus-qa-bench-'));
const corpusDir = givenCorpus ?? join(work, 'corpus');
/** Filled in by the baseline's discovery. */
const corpus = { documents: 0, bytes: 0 };

function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Peak resident memory of another process (the dev server), from /proc. */
function peakRssOfPidMb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Seconds of each phase: discovery, processing (load to validation) and the export. */
interface Phases {
  discover: number;
  process: number;
  export: number;
}
const secondsOf = (ms: number) => +(ms / 1000).toFixed(2);

async function baseline(outDir: string): Promise<{ seconds: number; phases: Phases }> {
  const run = resolveRunInput({ inputDir: corpusDir, outDir, generateQa: true, ...BASELINE });
  const t0 = performance.now();
  const noop = () => undefined;
  const discovery = await discoverCorpus({ inputDir: run.inputDir, outDir, globs: [], maxFileBytes: run.settings.maxFileBytes }, noop);
  const discovered = performance.now();
  corpus.documents = discovery.documents;
  corpus.bytes = discovery.bytes;
  let counters = emptyCounters();
  const starts: number[] = [];
  for (let s = 0; s < discovery.documents; s += run.batchSize) starts.push(s);
  // Same window as the workflow: `window` batches in flight.
  let nextIdx = 0;
  const worker = async () => {
    while (nextIdx < starts.length) {
      const start = starts[nextIdx++]!;
      const summary: BatchSummary = await processBatch(
        { run, manifestKey: discovery.manifestKey, start, end: Math.min(discovery.documents, start + run.batchSize) },
        { heartbeat: noop },
      );
      counters = addCounters(counters, summary.counters);
    }
  };
  await Promise.all(Array.from({ length: run.window }, worker));
  const processed = performance.now();
  await exportDataset(
    {
      run,
      manifestKey: discovery.manifestKey,
      documents: discovery.documents,
      skipped: discovery.skipped,
      counters,
      durationsMs: { discover: 0, process: 0, total: 0 },
      workflow: { id: 'baseline', runId: 'baseline', firstRunId: 'baseline', runs: 1 },
    },
    { toolVersion: 'bench', sdkVersion: 'bench', serverVersion: 'none', heartbeat: noop },
  );
  const ended = performance.now();
  return { seconds: (ended - t0) / 1000, phases: { discover: secondsOf(discovered - t0), process: secondsOf(processed - discovered), export: secondsOf(ended - processed) } };
}

async function untilExited(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function throughTemporal(outDir: string, batchSize?: number) {
  let serverPid: number | undefined;
  let serverPeak: number | undefined;
  let address = '';
  let startedAt = 0;
  const t0 = performance.now();
  const { result } = await runCorpusExport(
    { inputDir: corpusDir, outDir, generateQa: true, batchSize },
    {
      onStarted: ({ server }) => {
        startedAt = performance.now();
        serverPid = server?.pid;
        address = server?.address ?? '';
      },
      // The server's peak memory must be read while it runs: sample it with every progress tick.
      onProgress: () => {
        if (serverPid) serverPeak = Math.max(serverPeak ?? 0, peakRssOfPidMb(serverPid) ?? 0);
      },
      progressIntervalMs: 500,
      // As the CLI does: the command is over when the run is, not when the server has stopped.
      stopServerInBackground: true,
    },
  );
  const endedAt = performance.now();
  const seconds = (endedAt - t0) / 1000;
  // From the workflow's start to its result: discovery, processing and the export.
  const workflowSeconds = (endedAt - startedAt) / 1000;
  // Reading the history below opens the same database: wait for the server to let it go.
  if (serverPid) await untilExited(serverPid);
  const stats = JSON.parse(readFileSync(join(outDir, 'stats.json'), 'utf8')) as {
    durationsMs: { discover: number; process: number; total: number };
    files: Record<string, { sha256: string }>;
  };
  const history = await historyEvents(outDir, resolveRunInput({ inputDir: corpusDir, outDir, generateQa: true, batchSize }));
  const report = {
    seconds: +seconds.toFixed(2),
    docsPerSecond: +(corpus.documents / seconds).toFixed(1),
    workflowSeconds: +workflowSeconds.toFixed(2),
    workflowDocsPerSecond: +(corpus.documents / workflowSeconds).toFixed(1),
    // What stats.json calls total: discovery and processing, before the export.
    beforeExportSeconds: +(stats.durationsMs.total / 1000).toFixed(2),
    // From the workflow's clock (stats.json); the export is what follows the total. Before
    // discovery: the command's start (server, bundle, worker) until the workflow began.
    phases: {
      beforeWorkflow: secondsOf(startedAt - t0),
      discover: secondsOf(stats.durationsMs.discover),
      process: secondsOf(stats.durationsMs.process),
      export: +(workflowSeconds - stats.durationsMs.total / 1000).toFixed(2),
    },
    historyEvents: history.events,
    workflowRuns: history.runs,
    maxEventsPerRun: history.maxPerRun,
    historyEventsPerDocument: +(history.events / corpus.documents).toFixed(3),
    batchSizes: history.batchSizes,
    activitySeconds: history.activitySeconds,
  };
  return { seconds, workflowSeconds, result, serverPeak, report, files: stats.files };
}

async function historyEvents(
  outDir: string,
  run: ReturnType<typeof resolveRunInput>,
): Promise<{ events: number; runs: number; maxPerRun: number; batchSizes: Record<string, number>; activitySeconds: Record<string, number> }> {
  // The run's server has stopped; start it again on the same database to read the histories.
  const { startEmbeddedServer } = await import('../client/server/devServer.js');
  const server = await startEmbeddedServer(outDir);
  try {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    let events = 0;
    let runs = 0;
    let maxPerRun = 0;
    /** Processing batches by size ("250": 38): what the sizing chose. */
    const batchSizes: Record<string, number> = {};
    /** Seconds from scheduled to completed, summed by activity type (processBatch: over all batches). */
    const activitySeconds: Record<string, number> = {};
    const scheduled = new Map<string, { type: string; at: number }>();
    const timeOf = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) => Number(e.eventTime?.seconds ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowIdFor(run)}'` })) {
      events += wf.historyLength;
      maxPerRun = Math.max(maxPerRun, wf.historyLength);
      runs++;
      for (const e of (await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory()).events ?? []) {
        const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
        if (type) scheduled.set(`${wf.runId}/${String(e.eventId)}`, { type, at: timeOf(e) });
        const doneId = e.activityTaskCompletedEventAttributes?.scheduledEventId;
        const began = doneId !== undefined && doneId !== null ? scheduled.get(`${wf.runId}/${String(doneId)}`) : undefined;
        if (began) activitySeconds[began.type] = +((activitySeconds[began.type] ?? 0) + timeOf(e) - began.at).toFixed(2);
        const a = e.activityTaskScheduledEventAttributes;
        if (a?.activityType?.name !== 'processBatch') continue;
        const { start, end } = JSON.parse(Buffer.from(a.input?.payloads?.[0]?.data ?? []).toString('utf8')) as { start: number; end: number };
        batchSizes[end - start] = (batchSizes[end - start] ?? 0) + 1;
      }
    }
    await connection.close();
    return { events, runs, maxPerRun, batchSizes, activitySeconds };
  } finally {
    await server.stop();
  }
}

if (!givenCorpus) writeBenchCorpus(corpusDir, Number(values.docs));
const firstBaseline = await baseline(join(work, 'out-baseline'));
const rssAfterBaseline = peakRssMb();
const t = await throughTemporal(join(work, 'out-temporal'));
const fixed = fixedBatchSize > 0 ? await throughTemporal(join(work, 'out-fixed'), fixedBatchSize) : undefined;
// The baseline again, now that the process is warm (JIT, file cache) as the Temporal runs were:
// the ratios are against the faster of the two, so running first does not flatter us.
const againBaseline = await baseline(join(work, 'out-baseline-again'));
const best = againBaseline.seconds < firstBaseline.seconds ? againBaseline : firstBaseline;
const baselineSeconds = best.seconds;
const ratios = (baseSeconds: number, run: { seconds: number; workflowSeconds: number }) => ({
  baselineSeconds: +baseSeconds.toFixed(2),
  temporalSeconds: +run.seconds.toFixed(2),
  workflowSeconds: +run.workflowSeconds.toFixed(2),
  temporalOverBaselineThroughput: +(baseSeconds / run.seconds).toFixed(3),
  workflowOverBaselineThroughput: +(baseSeconds / run.workflowSeconds).toFixed(3),
});
const rounds = [ratios(baselineSeconds, t)];
let lastBaselineSeconds = againBaseline.seconds;
for (let round = 2; round <= Number(values.repeat); round++) {
  const again = await throughTemporal(join(work, `out-temporal-${round}`));
  const after = await baseline(join(work, `out-baseline-${round}`));
  rounds.push(ratios(Math.min(lastBaselineSeconds, after.seconds), again));
  lastBaselineSeconds = after.seconds;
}
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return +(sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2).toFixed(3);
};
/** The data files the two batchings wrote (stats.json holds their sha256): the same, or which differ. */
const differingFiles = fixed
  ? [...new Set([...Object.keys(t.files), ...Object.keys(fixed.files)])].filter((f) => t.files[f]?.sha256 !== fixed.files[f]?.sha256)
  : undefined;
const { documents } = corpus;
const mbPerSecond = (seconds: number) => +(corpus.bytes / 1e6 / seconds).toFixed(2);
const report = {
  ...(givenCorpus ? { corpus: givenCorpus } : {}),
  documents,
  megabytes: +(corpus.bytes / 1e6).toFixed(2),
  pairsPassed: t.result.export.pairsPassed,
  baseline: {
    seconds: +baselineSeconds.toFixed(2),
    docsPerSecond: +(documents / baselineSeconds).toFixed(1),
    mbPerSecond: mbPerSecond(baselineSeconds),
    phases: best.phases,
    // Both runs: before the Temporal run (cold) and after it (warm); `seconds` is the faster.
    runsSeconds: [+firstBaseline.seconds.toFixed(2), +againBaseline.seconds.toFixed(2)],
  },
  temporal: { ...t.report, mbPerSecond: mbPerSecond(t.seconds), workflowMbPerSecond: mbPerSecond(t.workflowSeconds) },
  temporalOverBaselineThroughput: +(baselineSeconds / t.seconds).toFixed(3),
  workflowOverBaselineThroughput: +(baselineSeconds / t.workflowSeconds).toFixed(3),
  ...(fixed
    ? {
        fixedBatches: {
          batchSize: fixedBatchSize,
          ...fixed.report,
          temporalOverBaselineThroughput: +(baselineSeconds / fixed.seconds).toFixed(3),
          workflowOverBaselineThroughput: +(baselineSeconds / fixed.workflowSeconds).toFixed(3),
        },
        outputFilesDifferingFromFixed: differingFiles,
      }
    : {}),
  ...(rounds.length > 1
    ? {
        rounds,
        medianOfRounds: {
          temporalOverBaselineThroughput: median(rounds.map((r) => r.temporalOverBaselineThroughput)),
          workflowOverBaselineThroughput: median(rounds.map((r) => r.workflowOverBaselineThroughput)),
        },
      }
    : {}),
  peakRssMb: { benchProcessAfterBaseline: rssAfterBaseline, benchProcess: peakRssMb(), devServer: t.serverPeak ?? null },
  note: 'temporal.seconds is the whole command (dev server start, workflow bundling, run; the server stops in the background, as the CLI does); workflowSeconds is from the workflow start to its result, export included (beforeExportSeconds: the total of stats.json, which ends before the export); temporal uses the default batching (sized by work), fixedBatches --batch-size',
};
console.log(JSON.stringify(report, null, 2));
if (!values.keep) rmSync(work, { recursive: true, force: true });

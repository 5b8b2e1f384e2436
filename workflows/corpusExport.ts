/**
 * The corpus export as one durable process: discover, process the manifest in batches with a
 * bounded window in flight, export. The workflow holds only counters and a cursor; documents,
 * chunks and pairs live in storage, so history stays small whatever the corpus size, and the
 * run continues as new past a threshold so it never nears the history limits.
 */
import {
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { CorpusActivities } from '../activities/index.js';
import { addCounters, emptyCounters } from '../schemas/counters.js';
import type {
  BatchSummary,
  Counters,
  DiscoverySummary,
  DocumentFailure,
  Phase,
  Progress,
  ResolvedRunInput,
  RunResult,
} from '../schemas/index.js';

export const progressQuery = defineQuery<Progress>('progress');

/** What one run hands the next across continue-as-new: a cursor and counters, nothing big. */
export interface CarriedState {
  discovery: DiscoverySummary;
  cursor: number;
  counters: Counters;
  recentFailures: DocumentFailure[];
  runs: number;
  firstRunId: string;
  startedAtMs: number;
  discoverMs: number;
  processMs: number;
}

const { discover } = proxyActivities<CorpusActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 10 },
});

const { processBatch } = proxyActivities<CorpusActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 20 },
});

const { removeIntermediate } = proxyActivities<CorpusActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 5 },
});

const { exportDataset } = proxyActivities<CorpusActivities>({
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 10 },
});

const RECENT_FAILURES_KEPT = 10;

export async function corpusExportWorkflow(run: ResolvedRunInput, carried?: CarriedState): Promise<RunResult> {
  const info = workflowInfo();
  let phase: Phase = carried ? 'processing' : 'discovering';
  let discovery = carried?.discovery;
  let counters = carried?.counters ?? emptyCounters();
  let recentFailures = carried?.recentFailures ?? [];
  let inFlight = 0;
  const runs = (carried?.runs ?? 0) + 1;

  setHandler(progressQuery, () => ({
    phase,
    documents: discovery?.documents ?? 0,
    counters,
    inFlight,
    recentFailures,
    runsSoFar: runs,
  }));

  const startedAtMs = carried?.startedAtMs ?? Date.now();
  let discoverMs = carried?.discoverMs ?? 0;
  if (!discovery) {
    const t = Date.now();
    discovery = await discover(run);
    discoverMs = Date.now() - t;
    phase = 'processing';
  }
  const total = discovery.documents;
  const manifestKey = discovery.manifestKey;

  // Process batches with at most `window` in flight. Results may arrive out of order; counters
  // are sums, so order does not matter to them, and the export reads shards in manifest order.
  const processStart = Date.now();
  const runStartCursor = carried?.cursor ?? 0;
  let next = runStartCursor;
  let stopScheduling = false;
  let failFastHit: DocumentFailure | undefined;
  const pending = new Map<number, Promise<{ start: number; summary: BatchSummary }>>();

  // Only after this run did some work, so a run can never hand over without progress.
  const shouldContinueAsNew = () =>
    next > runStartCursor &&
    (next - runStartCursor >= run.continueAsNewAfter || workflowInfo().continueAsNewSuggested);

  while (next < total || pending.size > 0) {
    while (!stopScheduling && next < total && pending.size < run.window) {
      if (shouldContinueAsNew()) {
        stopScheduling = true;
        break;
      }
      const start = next;
      const end = Math.min(total, start + run.batchSize);
      pending.set(start, processBatch({ run, manifestKey, start, end }).then((summary) => ({ start, summary })));
      next = end;
    }
    inFlight = pending.size;
    if (pending.size === 0) break;
    const { start, summary } = await Promise.race(pending.values());
    pending.delete(start);
    inFlight = pending.size;
    counters = addCounters(counters, summary.counters);
    if (summary.sampleFailures.length > 0) {
      recentFailures = [...recentFailures, ...summary.sampleFailures].slice(-RECENT_FAILURES_KEPT);
    }
    if (run.failFast && summary.firstFailure) {
      stopScheduling = true;
      if (!failFastHit || summary.firstFailure.index < failFastHit.index) failFastHit = summary.firstFailure;
    }
  }
  const processMs = (carried?.processMs ?? 0) + (Date.now() - processStart);

  if (failFastHit) {
    phase = 'failed';
    const f = failFastHit;
    throw ApplicationFailure.create({
      type: 'DocumentFailed',
      nonRetryable: true,
      message: `${f.source}: ${f.reason}: ${f.detail} (stopped by --fail-fast)`,
      details: [f],
    });
  }

  if (next < total) {
    // Drained the window at the threshold: hand a cursor and counters to a fresh run.
    await continueAsNew<typeof corpusExportWorkflow>(run, {
      discovery,
      cursor: next,
      counters,
      recentFailures,
      runs,
      firstRunId: carried?.firstRunId ?? info.firstExecutionRunId,
      startedAtMs,
      discoverMs,
      processMs,
    });
  }

  phase = 'exporting';
  const exported = await exportDataset({
    run,
    manifestKey,
    documents: total,
    skipped: discovery.skipped,
    counters,
    durationsMs: { discover: discoverMs, process: processMs, total: Date.now() - startedAtMs },
    workflow: {
      id: info.workflowId,
      runId: info.runId,
      firstRunId: carried?.firstRunId ?? info.firstExecutionRunId,
      runs,
    },
  });
  // Shards are kept while the run is unfinished (they are its per-document checkpoint) and
  // removed once the dataset is written, unless the user keeps them for incremental re-runs.
  if (!run.keepIntermediate) await removeIntermediate(run.outDir);
  phase = 'done';
  return { workflowId: info.workflowId, outDir: run.outDir, documents: total, counters, export: exported };
}

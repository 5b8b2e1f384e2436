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
  setCurrentDetails,
  type ActivityOptions,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { CORPUS_DOCUMENTS, CORPUS_OUTPUT } from './searchAttributes.js';
import type { CorpusActivities } from '../activities/index.js';
import { addCounters, emptyCounters } from '../schemas/counters.js';
import { datasetCostMicroUsd } from '../schemas/llmUsage.js';
import { runProviderBatches, type BatchPhaseState } from './providerBatches.js';
import { progressMarkdown } from './progressMarkdown.js';
import { nextBatchSize } from './batchSizing.js';
import { batchLabeler } from './batchLabels.js';
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

// Options are named so calls can add a per-call `summary` (the UI shows it on the activity).
// Activities heartbeat at least every 5 s (activities/index.ts), so a 30 s heartbeat timeout
// notices a dead worker quickly without false alarms.
const DISCOVER_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 10 },
};
const PROCESS_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 20 },
};
const EXPORT_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 10 },
};

const { discover } = proxyActivities<CorpusActivities>(DISCOVER_OPTIONS);
const { processBatch } = proxyActivities<CorpusActivities>(PROCESS_OPTIONS);

const { batchLabels } = proxyActivities<CorpusActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 },
});

const { removeIntermediate } = proxyActivities<CorpusActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 5 },
});

const { exportDataset } = proxyActivities<CorpusActivities>(EXPORT_OPTIONS);

const RECENT_FAILURES_KEPT = 10;
/**
 * An adaptive run also continues as new before its history could reach the server's
 * 10,240-event warning, even if the server has not suggested it: draining the window adds at
 * most 6 events per batch (3 for the activity, 3 for the workflow task that sees it), and the
 * hand-over or the export a few more.
 */
const HISTORY_WARNING_EVENTS = 10_240;
const EVENTS_PER_BATCH = 6;
const EVENTS_AFTER_DRAIN = 100;

export async function corpusExportWorkflow(run: ResolvedRunInput, carried?: CarriedState): Promise<RunResult> {
  const info = workflowInfo();
  let phase: Phase = carried ? 'processing' : 'discovering';
  let discovery = carried?.discovery;
  let counters = carried?.counters ?? emptyCounters();
  let recentFailures = carried?.recentFailures ?? [];
  let inFlight = 0;
  let batches: BatchPhaseState | undefined;
  const runs = (carried?.runs ?? 0) + 1;

  const progress = (): Progress => ({
    phase,
    documents: discovery?.documents ?? 0,
    counters,
    inFlight,
    recentFailures,
    runsSoFar: runs,
    ...(batches ? { batches } : {}),
  });
  setHandler(progressQuery, progress);
  const showProgress = () => setCurrentDetails(progressMarkdown(progress()));

  const startedAtMs = carried?.startedAtMs ?? Date.now();
  let discoverMs = carried?.discoverMs ?? 0;
  showProgress();
  if (!discovery) {
    const t = Date.now();
    discovery = await discover.executeWithOptions(
      { ...DISCOVER_OPTIONS, summary: `discover ${run.inputDir}` },
      [run],
    );
    discoverMs = Date.now() - t;
    phase = 'processing';
    // Searchable once known, if the run was started with our search attributes (they are
    // registered then; upserting an unregistered one would fail the workflow task).
    if (info.typedSearchAttributes.get(CORPUS_OUTPUT) !== undefined) {
      upsertSearchAttributes([{ key: CORPUS_DOCUMENTS, value: discovery.documents }]);
    }
  }
  const total = discovery.documents;
  const manifestKey = discovery.manifestKey;
  showProgress();

  // --batch-api: every request goes through provider batches first (the first run of a chain
  // only: a run that continued as new had them done); processing then reads the journal.
  if (run.llmRuntime?.batchApi && !carried) {
    phase = 'batching';
    showProgress();
    const done = await runProviderBatches(run, manifestKey, { start: 0, end: total }, () => datasetCostMicroUsd(counters.llm ?? {}), (s) => {
      batches = s;
      showProgress();
    });
    counters = addCounters(counters, { ...emptyCounters(), llm: done.usage });
    phase = 'processing';
  }

  // Process batches with at most `window` in flight. Results may arrive out of order; counters
  // are sums, so order does not matter to them, and the export reads shards in manifest order.
  const processStart = Date.now();
  const runStartCursor = carried?.cursor ?? 0;
  // Inputs written before adaptive sizing lack the field: fixed batches, the same commands as before.
  const adaptive = run.adaptiveBatches === true;
  let batchSize = adaptive ? nextBatchSize(run, discovery, counters) : run.batchSize;

  // Adaptive runs ask only for labels of batches this run can schedule before it continues as new.
  const labelFor = batchLabeler(
    (starts, size) => batchLabels({ outDir: run.outDir, manifestKey, starts, batchSize: size, total }),
    total,
    adaptive ? Math.min(total, runStartCursor + run.continueAsNewAfter) : total,
  );
  let next = runStartCursor;
  let stopScheduling = false;
  let failFastHit: DocumentFailure | undefined;
  let budgetHit = false;
  const maxCost = run.llmRuntime?.maxCostUsd;
  const pending = new Map<number, Promise<{ start: number; summary: BatchSummary }>>();

  // Only after this run did some work, so a run can never hand over without progress.
  const shouldContinueAsNew = () =>
    next > runStartCursor &&
    (next - runStartCursor >= run.continueAsNewAfter ||
      workflowInfo().continueAsNewSuggested ||
      (adaptive && workflowInfo().historyLength + EVENTS_PER_BATCH * run.window + EVENTS_AFTER_DRAIN >= HISTORY_WARNING_EVENTS));

  while (next < total || pending.size > 0) {
    while (!stopScheduling && next < total && pending.size < run.window) {
      if (shouldContinueAsNew()) {
        stopScheduling = true;
        break;
      }
      const start = next;
      if (adaptive) batchSize = nextBatchSize(run, discovery, counters, batchSize);
      const end = Math.min(total, start + batchSize);
      const summary = `${await labelFor(start, batchSize)} [${start + 1}–${end} of ${total}]`;
      pending.set(
        start,
        processBatch
          .executeWithOptions({ ...PROCESS_OPTIONS, summary }, [
            // Only runs with a budget carry the spend: older histories scheduled exactly `{ run, manifestKey, start, end }`.
            maxCost === undefined ? { run, manifestKey, start, end } : { run, manifestKey, start, end, spentMicroUsd: datasetCostMicroUsd(counters.llm ?? {}) },
          ])
          .then((result) => ({ start, summary: result })),
      );
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
    showProgress();
    if (summary.budgetReached) {
      budgetHit = true;
      stopScheduling = true;
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

  if (budgetHit) {
    phase = 'failed';
    const spent = datasetCostMicroUsd(counters.llm ?? {}) / 1e6;
    throw ApplicationFailure.create({
      type: 'BudgetExhausted',
      nonRetryable: true,
      message:
        `--max-cost $${maxCost} reached: the LLM replies so far cost $${spent.toFixed(4)} at list price, ` +
        `after ${counters.documentsDone} of ${total} documents. Every reply is kept; run the same command with a higher --max-cost to continue without paying for them again`,
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
  showProgress();
  const exported = await exportDataset.executeWithOptions({ ...EXPORT_OPTIONS, summary: `export to ${run.outDir}` }, [{
    run,
    manifestKey,
    documents: total,
    skipped: discovery.skipped,
    warnings: discovery.warnings,
    counters,
    durationsMs: { discover: discoverMs, process: processMs, total: Date.now() - startedAtMs },
    workflow: {
      id: info.workflowId,
      runId: info.runId,
      firstRunId: carried?.firstRunId ?? info.firstExecutionRunId,
      runs,
    },
  }]);
  // Shards are kept while the run is unfinished (they are its per-document checkpoint) and
  // removed once the dataset is written, unless the user keeps them for incremental re-runs.
  if (!run.keepIntermediate) await removeIntermediate(run.outDir);
  phase = 'done';
  showProgress();
  return { workflowId: info.workflowId, outDir: run.outDir, documents: total, warnings: discovery.warnings, counters, export: exported };
}

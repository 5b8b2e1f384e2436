/**
 * The processing stage: the manifest in batches, at most `run.window` in flight. Results may
 * arrive out of order; counters are sums, so order does not matter to them, and the export reads
 * shards in manifest order. The stage stops scheduling at the continue-as-new threshold, at a
 * --fail-fast failure or at the --max-cost budget, and drains what is in flight.
 *
 * The window is a race over the batches in flight rather than `condition(() => inFlight <
 * window)`: with a condition, two batches finishing in one workflow task would both be counted
 * before the next batch is sized, where the race counts one, schedules, then counts the other.
 * Adaptive sizes would then differ from the ones recorded in running executions' histories.
 */
import { workflowInfo } from '@temporalio/workflow';
import { datasetCostMicroUsd } from '../schemas/llmUsage.js';
import type { BatchSummary, DiscoverySummary, DocumentFailure, ResolvedRunInput } from '../schemas/index.js';
import { batchLabels, PROCESS_OPTIONS, processBatch } from './activityOptions.js';
import { batchLabeler } from './batchLabels.js';
import { nextBatchSize } from './batchSizing.js';
import type { RunProgress } from './runProgress.js';

/**
 * An adaptive run also continues as new before its history could reach the server's
 * 10,240-event warning, even if the server has not suggested it: draining the window adds at
 * most 6 events per batch (3 for the activity, 3 for the workflow task that sees it), and the
 * hand-over or the export a few more.
 */
const HISTORY_WARNING_EVENTS = 10_240;
const EVENTS_PER_BATCH = 6;
const EVENTS_AFTER_DRAIN = 100;

export interface WindowOutcome {
  /** The first document not scheduled: the total when the manifest is done. */
  cursor: number;
  /** --fail-fast: the earliest failure (manifest order) among the batches that finished. */
  failFastHit?: DocumentFailure;
  /** --max-cost: a batch stopped at the budget. */
  budgetHit: boolean;
}

export async function processInWindow(
  run: ResolvedRunInput,
  discovery: DiscoverySummary,
  live: RunProgress,
  startCursor: number,
): Promise<WindowOutcome> {
  const total = discovery.documents;
  const manifestKey = discovery.manifestKey;
  // Inputs written before adaptive sizing lack the field: fixed batches, the same commands as before.
  const adaptive = run.adaptiveBatches === true;
  let batchSize = adaptive ? nextBatchSize(run, discovery, live.counters) : run.batchSize;
  // Adaptive runs ask only for labels of batches this run can schedule before it continues as new.
  const labelFor = batchLabeler(
    (starts, size) => batchLabels({ outDir: run.outDir, manifestKey, starts, batchSize: size, total }),
    total,
    adaptive ? Math.min(total, startCursor + run.continueAsNewAfter) : total,
  );
  const maxCost = run.llmRuntime?.maxCostUsd;
  const outcome: WindowOutcome = { cursor: startCursor, budgetHit: false };
  let stopScheduling = false;
  const pending = new Map<number, Promise<{ start: number; summary: BatchSummary }>>();

  // Only after this run did some work, so a run can never hand over without progress.
  const shouldContinueAsNew = () =>
    outcome.cursor > startCursor &&
    (outcome.cursor - startCursor >= run.continueAsNewAfter ||
      workflowInfo().continueAsNewSuggested ||
      (adaptive && workflowInfo().historyLength + EVENTS_PER_BATCH * run.window + EVENTS_AFTER_DRAIN >= HISTORY_WARNING_EVENTS));

  const schedule = async (start: number) => {
    if (adaptive) batchSize = nextBatchSize(run, discovery, live.counters, batchSize);
    const end = Math.min(total, start + batchSize);
    const summary = `${await labelFor(start, batchSize)} [${start + 1}–${end} of ${total}]`;
    // Only runs with a budget carry the spend: older histories scheduled exactly `{ run, manifestKey, start, end }`.
    const input = maxCost === undefined
      ? { run, manifestKey, start, end }
      : { run, manifestKey, start, end, spentMicroUsd: datasetCostMicroUsd(live.counters.llm ?? {}) };
    pending.set(start, processBatch.executeWithOptions({ ...PROCESS_OPTIONS, summary }, [input]).then((result) => ({ start, summary: result })));
    outcome.cursor = end;
  };

  while (outcome.cursor < total || pending.size > 0) {
    while (!stopScheduling && outcome.cursor < total && pending.size < run.window) {
      if (shouldContinueAsNew()) {
        stopScheduling = true;
        break;
      }
      await schedule(outcome.cursor);
    }
    live.inFlight = pending.size;
    if (pending.size === 0) break;
    const { start, summary } = await Promise.race(pending.values());
    pending.delete(start);
    live.inFlight = pending.size;
    live.addBatch(summary);
    live.show();
    if (summary.budgetReached) {
      outcome.budgetHit = true;
      stopScheduling = true;
    }
    if (run.failFast && summary.firstFailure) {
      stopScheduling = true;
      if (!outcome.failFastHit || summary.firstFailure.index < outcome.failFastHit.index) outcome.failFastHit = summary.firstFailure;
    }
  }
  return outcome;
}

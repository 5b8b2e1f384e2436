/**
 * The corpus export as one durable process: discover, process the manifest in batches with a
 * bounded window in flight, export. The workflow holds only counters and a cursor; documents,
 * chunks and pairs live in storage, so history stays small whatever the corpus size, and the
 * run continues as new past a threshold so it never nears the history limits.
 */
import { continueAsNew, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { emptyCounters } from '../schemas/counters.js';
import { datasetCostMicroUsd } from '../schemas/llmUsage.js';
import type { Counters, DiscoverySummary, DocumentFailure, ResolvedRunInput, RunResult } from '../schemas/index.js';
import { DISCOVER_OPTIONS, discover, EXPORT_OPTIONS, exportDataset, removeIntermediate } from './activityOptions.js';
import { processInWindow } from './processWindow.js';
import { runProviderBatches } from './providerBatches.js';
import { budgetFailure, failFastFailure } from './runFailures.js';
import { RunProgress } from './runProgress.js';
import { CORPUS_DOCUMENTS, CORPUS_OUTPUT } from './searchAttributes.js';

export { progressQuery } from './runProgress.js';

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

export async function corpusExportWorkflow(run: ResolvedRunInput, carried?: CarriedState): Promise<RunResult> {
  const info = workflowInfo();
  const runs = (carried?.runs ?? 0) + 1;
  const firstRunId = carried?.firstRunId ?? info.firstExecutionRunId;
  const live = new RunProgress(runs, carried);
  const startedAtMs = carried?.startedAtMs ?? Date.now();
  let discoverMs = carried?.discoverMs ?? 0;
  live.show();

  let discovery = carried?.discovery;
  if (!discovery) {
    const t = Date.now();
    discovery = await discover.executeWithOptions({ ...DISCOVER_OPTIONS, summary: `discover ${run.inputDir}` }, [run]);
    discoverMs = Date.now() - t;
    live.phase = 'processing';
    // Searchable once known, if the run was started with our search attributes (they are
    // registered then; upserting an unregistered one would fail the workflow task).
    if (info.typedSearchAttributes.get(CORPUS_OUTPUT) !== undefined) {
      upsertSearchAttributes([{ key: CORPUS_DOCUMENTS, value: discovery.documents }]);
    }
  }
  const total = (live.documents = discovery.documents);
  live.show();

  // --batch-api: every request goes through provider batches first (the first run of a chain
  // only: a run that continued as new had them done); processing then reads the journal.
  if (run.llmRuntime?.batchApi && !carried) {
    live.show('batching');
    const spent = () => datasetCostMicroUsd(live.counters.llm ?? {});
    const done = await runProviderBatches(run, discovery.manifestKey, { start: 0, end: total }, spent, (s) => {
      live.batches = s;
      live.show();
    });
    live.add({ ...emptyCounters(), llm: done.usage });
    live.phase = 'processing';
  }

  const processStart = Date.now();
  const outcome = await processInWindow(run, discovery, live, carried?.cursor ?? 0);
  const processMs = (carried?.processMs ?? 0) + (Date.now() - processStart);
  if (outcome.failFastHit) {
    live.phase = 'failed';
    throw failFastFailure(outcome.failFastHit);
  }
  if (outcome.budgetHit) {
    live.phase = 'failed';
    throw budgetFailure(run.llmRuntime?.maxCostUsd, datasetCostMicroUsd(live.counters.llm ?? {}), live.counters.documentsDone, total);
  }
  if (outcome.cursor < total) {
    // Drained the window at the threshold: hand a cursor and counters to a fresh run.
    const { counters, recentFailures } = live;
    await continueAsNew<typeof corpusExportWorkflow>(run, {
      discovery, cursor: outcome.cursor, counters, recentFailures, runs, firstRunId, startedAtMs, discoverMs, processMs,
    });
  }

  live.show('exporting');
  const exported = await exportDataset.executeWithOptions({ ...EXPORT_OPTIONS, summary: `export to ${run.outDir}` }, [{
    run,
    manifestKey: discovery.manifestKey,
    documents: total,
    skipped: discovery.skipped,
    warnings: discovery.warnings,
    counters: live.counters,
    durationsMs: { discover: discoverMs, process: processMs, total: Date.now() - startedAtMs },
    workflow: { id: info.workflowId, runId: info.runId, firstRunId, runs },
  }]);
  // Shards are kept while the run is unfinished (they are its per-document checkpoint) and
  // removed once the dataset is written, unless the user keeps them for incremental re-runs.
  if (!run.keepIntermediate) await removeIntermediate(run.outDir);
  live.show('done');
  return { workflowId: info.workflowId, outDir: run.outDir, documents: total, warnings: discovery.warnings, counters: live.counters, export: exported };
}

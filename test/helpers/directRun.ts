/**
 * Discovery, processing and export called directly (no worker, no server), so a test can change
 * the input between the steps or fail the export's commit half way.
 */
import { discoverCorpus } from '../../activities/discover.js';
import { exportDataset, type ExportDeps, type ExportInput } from '../../activities/export.js';
import { processBatch } from '../../activities/processBatch.js';
import { resolveRunInput } from '../../client/runOptions.js';
import type { DiscoverySummary, ExportSummary, ResolvedRunInput } from '../../schemas/index.js';
import { emptyCounters } from '../../schemas/index.js';

export async function discover(
  inputDir: string,
  outDir: string,
  opts: { generateQa?: boolean; split?: string; onHeartbeat?: (details: unknown) => void } = {},
): Promise<{ run: ResolvedRunInput; discovery: DiscoverySummary }> {
  const run = resolveRunInput({ inputDir, outDir, generateQa: opts.generateQa ?? false, split: opts.split });
  const discovery = await discoverCorpus(
    { inputDir: run.inputDir, outDir: run.outDir, globs: [], maxFileBytes: run.settings.maxFileBytes },
    opts.onHeartbeat,
  );
  return { run, discovery };
}

export async function processAndExport(
  run: ResolvedRunInput,
  discovery: DiscoverySummary,
  deps: Partial<ExportDeps> = {},
): Promise<ExportSummary> {
  await processBatch({ run, manifestKey: discovery.manifestKey, start: 0, end: discovery.documents }, { heartbeat: () => undefined });
  return exportDataset(exportInput(run, discovery), { toolVersion: 'test', sdkVersion: 'test', serverVersion: 'test', heartbeat: () => undefined, ...deps });
}

/** The export's input after a direct discovery; `firstRunId` names the workflow it would be in. */
export function exportInput(run: ResolvedRunInput, discovery: DiscoverySummary, firstRunId = 'direct'): ExportInput {
  return {
    run,
    manifestKey: discovery.manifestKey,
    documents: discovery.documents,
    skipped: discovery.skipped,
    warnings: discovery.warnings,
    counters: emptyCounters(),
    durationsMs: { discover: 0, process: 0, total: 0 },
    workflow: { id: 'direct', runId: 'direct', firstRunId, runs: 1 },
  };
}

export async function directRun(
  inputDir: string,
  outDir: string,
  opts: { generateQa?: boolean; deps?: Partial<ExportDeps> } = {},
): Promise<ExportSummary> {
  const { run, discovery } = await discover(inputDir, outDir, opts);
  return processAndExport(run, discovery, opts.deps);
}

/**
 * The stats step of an export: the run's summary (the activity's small result) and stats.json,
 * which lists every file of the set with its sha256, the card too.
 */
import type { DatasetQuality, ExportSummary, StatsJson } from '../../schemas/index.js';
import { llmStats } from '../generate/report.js';
import type { ExportDeps, ExportInput } from '../export.js';
import { OUTPUT_FILES } from '../paths.js';
import type { RowTally } from './rows.js';
import type { ExportSinks } from './sinks.js';

/** The pair counts of an export (all zero without --generate-qa). */
export interface PairCounts {
  passed: number;
  rejected: number;
  generated: number;
  /** Passed pairs per split, in the settings' split order ({} without --generate-qa). */
  splits: Record<string, number>;
}

export function pairCounts(qa: boolean, sinks: ExportSinks): PairCounts {
  const splits = qa ? sinks.splitRows() : {};
  const passed = Object.values(splits).reduce((n, rows) => n + rows, 0);
  const rejected = sinks.rejected?.rows ?? 0;
  return { passed, rejected, generated: passed + rejected, splits };
}

/** The quality figures, for a run that generated pairs. */
export function qualityFigures(qa: boolean, tally: RowTally, pairs: PairCounts): DatasetQuality | undefined {
  if (!qa) return undefined;
  return tally.quality.result({
    generated: pairs.generated,
    withinDocuments: tally.duplicates.withinDocuments,
    acrossDocuments: tally.duplicates.acrossDocuments,
  });
}

export function exportSummary(
  tally: RowTally,
  pairs: PairCounts,
  quality: DatasetQuality | undefined,
  files: ExportSummary['files'],
  errorRows: number,
): ExportSummary {
  return {
    loaded: tally.loaded,
    failedByReason: tally.failedByReason,
    files,
    pairsPassed: pairs.passed,
    pairsRejected: pairs.rejected,
    duplicatesAcrossDocuments: tally.duplicates.acrossDocuments,
    rejectedByReason: tally.rejectedByReason,
    chunks: tally.chunks,
    errors: errorRows,
    ...(quality ? { quality } : {}),
  };
}

export function statsJson(
  input: ExportInput,
  deps: Pick<ExportDeps, 'toolVersion' | 'sdkVersion' | 'serverVersion'>,
  summary: ExportSummary,
  pairs: PairCounts,
  tally: RowTally,
  generatorId: string,
  cardSha256: string,
): StatsJson {
  const { run } = input;
  const { settings } = run;
  return {
    tool: { name: 'corpus-qa', version: deps.toolVersion },
    temporal: { sdk: deps.sdkVersion, server: deps.serverVersion },
    workflow: input.workflow,
    input: { inputDir: run.inputDir, globs: run.globs },
    settings: { ...settings, generatorId, failFast: run.failFast, batchSize: run.adaptiveBatches ? 'adaptive' : run.batchSize, window: run.window },
    documents: {
      discovered: input.documents,
      loaded: summary.loaded,
      failed: summary.errors,
      failedByReason: summary.failedByReason,
      skippedDuringDiscovery: input.skipped,
      discoveryWarnings: input.warnings ?? [],
    },
    chunks: summary.chunks,
    pairs: {
      generated: pairs.generated,
      passed: pairs.passed,
      rejected: pairs.rejected,
      rejectedByReason: summary.rejectedByReason,
      duplicatesAcrossDocuments: summary.duplicatesAcrossDocuments,
      splits: pairs.splits,
    },
    ...(summary.quality ? { quality: summary.quality } : {}),
    ...(tally.review ? { review: tally.review.tally } : {}),
    cacheHits: input.counters.cacheHits,
    ...(settings.generateQa && settings.llm ? { llm: llmStats(input.counters.llm ?? {}, settings.llm, run.llmRuntime ?? {}) } : {}),
    durationsMs: {
      discover: Math.round(input.durationsMs.discover),
      process: Math.round(input.durationsMs.process),
      load: Math.round(input.counters.durationsMs.load),
      chunk: Math.round(input.counters.durationsMs.chunk),
      generate: Math.round(input.counters.durationsMs.generate),
      validate: Math.round(input.counters.durationsMs.validate),
      total: Math.round(input.durationsMs.total),
    },
    // Every file this export wrote, with its sha256: the set belongs together.
    files: { ...summary.files, [OUTPUT_FILES.card]: { sha256: cardSha256 } },
  };
}

/** The card step of an export: the facts of this export, rendered by datasetCard.ts. */
import type { DatasetQuality, ResolvedRunInput } from '../../schemas/index.js';
import { renderCard } from '../datasetCard.js';
import { llmCardLine } from '../generate/report.js';
import type { ExportInput } from '../export.js';
import type { RowTally } from './rows.js';
import type { ExportSinks } from './sinks.js';

/** The card's settings table; `review apply` rebuilds it from stats.json's settings. */
export function settingsTable(
  settings: Pick<ResolvedRunInput['settings'], 'generateQa' | 'format' | 'splits' | 'chunkSize' | 'chunkOverlap' | 'maxPairsPerChunk' | 'fileFormat' | 'parquetShardRows'>,
  generatorId: string,
  globs: string[],
): Array<[string, string]> {
  return [
    ['generator', generatorId],
    ['format', settings.generateQa ? settings.format : 'chunks'],
    ['splits', settings.splits.map((s) => `${s.name}=${s.fraction}`).join(', ')],
    ['chunk size / overlap', `${settings.chunkSize} / ${settings.chunkOverlap}`],
    ['max pairs per chunk', String(settings.maxPairsPerChunk)],
    ['globs', globs.length ? globs.map((g) => `\`${g}\``).join(', ') : '(all files)'],
    // Only for Parquet: the card of a JSON Lines run keeps its bytes.
    ...(settings.fileFormat === 'parquet'
      ? [['file format', `parquet${settings.parquetShardRows ? ` (at most ${settings.parquetShardRows} rows per shard)` : ''}`] as [string, string]]
      : []),
  ];
}

/** The card of an export, after its sinks are finished (the card names the files they wrote). */
export function exportCard(
  input: ExportInput,
  sinks: ExportSinks,
  tally: RowTally,
  quality: DatasetQuality | undefined,
  generatorId: string,
): string {
  const { run } = input;
  const { settings } = run;
  const qa = settings.generateQa;
  const splitRows = sinks.splitRows();
  return renderCard({
    generateQa: qa,
    format: settings.format,
    splits: qa ? settings.splits.map((s) => ({ name: s.name, path: sinks.splitCardFiles(s.name), rows: splitRows[s.name] ?? 0 })) : [],
    chunksRows: qa ? 0 : tally.chunks,
    ...(sinks.parquet
      ? {
          fileFormat: 'parquet' as const,
          ...(qa ? {} : { chunksPath: sinks.chunksCardFiles() }),
          rejectedPath: sinks.rejectedCardFiles(),
          errorsPath: sinks.errorsCardFiles(),
        }
      : {}),
    rejectedRows: sinks.rejected?.rows ?? 0,
    errorRows: sinks.errors.rows,
    documents: input.documents,
    loaded: tally.loaded,
    failedByReason: tally.failedByReason,
    rejectedByReason: tally.rejectedByReason,
    ...(quality ? { quality } : {}),
    generator: generatorId,
    ...(qa && settings.llm ? { llmLine: llmCardLine(input.counters.llm ?? {}, settings.llm, run.llmRuntime ?? {}) } : {}),
    license: settings.license,
    ...(tally.review ? { review: tally.review.tally } : {}),
    settingsTable: settingsTable(settings, generatorId, run.globs),
  });
}

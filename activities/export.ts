/**
 * Export: read every document's shard in manifest order and write the dataset files. Output
 * order is the manifest's, ids are derived from content, and no timestamps go into rows, so the
 * same corpus and settings always give the same bytes. Every file is written to a temporary
 * path and renamed, so a reader sees the previous complete file or the new one, never half.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  ChunkRow,
  Counters,
  ErrorRow,
  ExportSummary,
  ManifestEntry,
  QaRow,
  RejectedRow,
  ResolvedRunInput,
  ShardPair,
} from '../schemas/index.js';
import { CHUNK_FEATURES, QA_FEATURES, REJECTED_FEATURES, renderCard, type CardConfig } from './datasetCard.js';
import { getGenerator } from './generate/index.js';
import { iterateManifest } from './manifest.js';
import type { ShardContent } from './pipeline.js';
import { shardKeyFor, shardSettingsKey } from './processBatch.js';
import { AtomicLineWriter, readJsonIfExists, sha256Hex, shardPath, writeFileAtomic } from './storage.js';
import { normalizeQuestion } from './validate.js';

export const OUTPUT_FILES = {
  train: 'data/train.jsonl',
  chunks: 'data/chunks.jsonl',
  rejected: 'rejected/rejected.jsonl',
  errors: 'errors.jsonl',
  stats: 'stats.json',
  card: 'README.md',
} as const;

export interface ExportInput {
  run: ResolvedRunInput;
  manifestKey: string;
  documents: number;
  skipped: number;
  counters: Counters;
  durationsMs: { discover: number; process: number; total: number };
  workflow: { id: string; runId: string; firstRunId: string; runs: number };
}

export interface ExportDeps {
  toolVersion: string;
  sdkVersion: string;
  serverVersion: string;
  heartbeat: (details: unknown) => void;
}

function pairId(source: string, ordinal: number, p: ShardPair): string {
  return sha256Hex(`${source}\u0000${p.chunkId}\u0000${ordinal}\u0000${p.question}\u0000${p.answer}`).slice(0, 16);
}

function qaRow(id: string, source: string, p: ShardPair): QaRow {
  return {
    id,
    question: p.question,
    answer: p.answer,
    source,
    chunk_id: p.chunkId,
    char_start: p.charStart,
    char_end: p.charEnd,
    generator: p.generator,
  };
}

/** Cross-document exact duplicates: same question and same answer, first in manifest order wins. */
function dedupKey(p: ShardPair): string {
  return sha256Hex(`${normalizeQuestion(p.question)}\u0000${normalizeQuestion(p.answer)}`).slice(0, 24);
}

export async function exportDataset(input: ExportInput, deps: ExportDeps): Promise<ExportSummary> {
  const { run } = input;
  const qa = run.settings.generateQa;
  const out = (rel: string) => join(run.outDir, rel);
  const settingsKey = shardSettingsKey(run);

  const main = await new AtomicLineWriter(out(qa ? OUTPUT_FILES.train : OUTPUT_FILES.chunks)).open();
  const rejected = qa ? await new AtomicLineWriter(out(OUTPUT_FILES.rejected)).open() : undefined;
  const errors = await new AtomicLineWriter(out(OUTPUT_FILES.errors)).open();
  const writers = [main, rejected, errors].filter((w): w is AtomicLineWriter => w !== undefined);

  const firstSeen = new Map<string, string>(); // dedup key -> id of the kept pair
  const failedByReason: Record<string, number> = {};
  const rejectedByReason: Record<string, number> = {};
  let loaded = 0;
  let chunks = 0;
  let duplicatesAcrossDocuments = 0;

  const writeError = async (entry: ManifestEntry, row: Omit<ErrorRow, 'source'>) => {
    failedByReason[row.reason] = (failedByReason[row.reason] ?? 0) + 1;
    const full: ErrorRow = { source: entry.source, stage: row.stage, reason: row.reason, detail: row.detail };
    await errors.writeLine(JSON.stringify(full));
  };

  try {
    let seen = 0;
    for await (const entry of iterateManifest(run.outDir, input.manifestKey, input.documents)) {
      if (++seen % 200 === 0) deps.heartbeat({ index: seen });
      if (entry.error) {
        await writeError(entry, { stage: 'discover', reason: entry.error.reason, detail: entry.error.detail });
        continue;
      }
      const shard = await readJsonIfExists<ShardContent>(shardPath(run.outDir, shardKeyFor(entry, settingsKey)));
      if (!shard) {
        // Processing always writes a shard before it reports a document done, except for
        // machine-local read failures, which are not cached on purpose.
        await writeError(entry, { stage: 'load', reason: 'unreadable', detail: 'file could not be read during processing' });
        continue;
      }
      if (shard.status === 'error') {
        await writeError(entry, { stage: shard.stage, reason: shard.reason, detail: shard.detail });
        continue;
      }
      loaded++;
      chunks += shard.chunks;
      if (!qa) {
        for (const c of shard.chunkRows) {
          const row: ChunkRow = {
            id: sha256Hex(`${entry.source}\u0000${c.chunkId}`).slice(0, 16),
            text: c.text,
            source: entry.source,
            chunk_id: c.chunkId,
            char_start: c.charStart,
            char_end: c.charEnd,
          };
          await main.writeLine(JSON.stringify(row));
        }
        continue;
      }
      for (const [ordinal, p] of shard.pairs.entries()) {
        const id = pairId(entry.source, ordinal, p);
        let reasons = p.reasons;
        let detail = p.detail;
        if (reasons.length === 0) {
          const key = dedupKey(p);
          const keptId = firstSeen.get(key);
          if (keptId === undefined) {
            firstSeen.set(key, id);
          } else {
            duplicatesAcrossDocuments++;
            reasons = ['duplicate'];
            detail = `duplicate of pair ${keptId} from an earlier document`;
          }
        }
        const primary = reasons[0];
        if (primary === undefined) {
          await main.writeLine(JSON.stringify(qaRow(id, entry.source, p)));
        } else {
          rejectedByReason[primary] = (rejectedByReason[primary] ?? 0) + 1;
          const row: RejectedRow = { ...qaRow(id, entry.source, p), reason: primary, reasons, detail };
          await rejected?.writeLine(JSON.stringify(row));
        }
      }
    }

    // `datasets` cannot load an empty JSON Lines file (it infers columns from the first row), so
    // a file with no rows is not written at all, and a stale one from an earlier run is removed.
    const files: ExportSummary['files'] = {};
    const relOf = (w: AtomicLineWriter) => w.path.slice(run.outDir.length + 1).split('\\').join('/');
    for (const w of writers) {
      if (w.rows === 0) {
        await w.abort();
        await rm(w.path, { force: true });
      } else {
        files[relOf(w)] = { rows: w.rows, sha256: await w.commit() };
      }
    }

    const summary: ExportSummary = {
      files,
      pairsPassed: qa ? main.rows : 0,
      pairsRejected: rejected?.rows ?? 0,
      duplicatesAcrossDocuments,
      chunks,
      errors: errors.rows,
    };
    const generatorId = qa ? getGenerator(run.settings.generator).id : 'none';
    const stats = {
      tool: { name: 'corpus-qa', version: deps.toolVersion },
      temporal: { sdk: deps.sdkVersion, server: deps.serverVersion },
      workflow: input.workflow,
      input: { inputDir: run.inputDir, globs: run.globs },
      settings: { ...run.settings, generatorId, failFast: run.failFast, batchSize: run.batchSize, window: run.window },
      documents: {
        discovered: input.documents,
        loaded,
        failed: errors.rows,
        failedByReason,
        skippedDuringDiscovery: input.skipped,
      },
      chunks,
      pairs: qa
        ? { generated: main.rows + (rejected?.rows ?? 0), passed: main.rows, rejected: rejected?.rows ?? 0, rejectedByReason, duplicatesAcrossDocuments }
        : { generated: 0, passed: 0, rejected: 0, rejectedByReason: {}, duplicatesAcrossDocuments: 0 },
      cacheHits: input.counters.cacheHits,
      durationsMs: {
        discover: Math.round(input.durationsMs.discover),
        process: Math.round(input.durationsMs.process),
        load: Math.round(input.counters.durationsMs.load),
        chunk: Math.round(input.counters.durationsMs.chunk),
        generate: Math.round(input.counters.durationsMs.generate),
        validate: Math.round(input.counters.durationsMs.validate),
        total: Math.round(input.durationsMs.total),
      },
      files,
    };
    await writeFileAtomic(out(OUTPUT_FILES.stats), `${JSON.stringify(stats, null, 2)}\n`, true);

    const allConfigs: CardConfig[] = qa
      ? [
          { name: 'default', path: OUTPUT_FILES.train, features: QA_FEATURES },
          { name: 'rejected', path: OUTPUT_FILES.rejected, features: REJECTED_FEATURES },
        ]
      : [{ name: 'default', path: OUTPUT_FILES.chunks, features: CHUNK_FEATURES }];
    const configs = allConfigs.filter((c) => files[c.path] !== undefined);
    const card = renderCard(configs, {
      generateQa: qa,
      documents: input.documents,
      loaded,
      failed: errors.rows,
      chunks,
      passed: summary.pairsPassed,
      rejected: summary.pairsRejected,
      generator: generatorId,
      settingsTable: [
        ['generator', generatorId],
        ['chunk size / overlap', `${run.settings.chunkSize} / ${run.settings.chunkOverlap}`],
        ['max pairs per chunk', String(run.settings.maxPairsPerChunk)],
        ['globs', run.globs.length ? run.globs.map((g) => `\`${g}\``).join(', ') : '(all files)'],
      ],
    });
    await writeFileAtomic(out(OUTPUT_FILES.card), card, true);
    return summary;
  } catch (err) {
    await Promise.all(writers.map((w) => w.abort()));
    throw err;
  }
}

/**
 * Export: read every document's shard in manifest order and write the dataset files. Output
 * order is the manifest's, ids are derived from content, and no timestamps go into rows, so the
 * same corpus and settings always give the same bytes. Every file is written to a temporary
 * path and renamed, so a reader sees the previous complete file or the new one, never half.
 */
import { rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type {
  ChunkRow,
  Counters,
  ErrorRow,
  ExportSummary,
  ManifestEntry,
  QaRow,
  ResolvedRunInput,
  ShardPair,
} from '../schemas/index.js';
import { ShardContent } from '../schemas/index.js';
import { renderCard } from './datasetCard.js';
import { DuplicateIndex } from './dedup.js';
import { rejectedRow, trainingRow, wellFormed } from './exportRows.js';
import { splitOf } from './splits.js';
import { generatorId as generatorIdOf } from './generate/index.js';
import { llmCardLine, llmStats } from './generate/report.js';
import { iterateManifest } from './manifest.js';
import { shardKeyFor, shardSettingsKey } from './processBatch.js';
import { AtomicLineWriter, localErrorPath, readJsonIfExists, readParsedIfExists, removeOrphanTempFiles, sha256Hex, shardPath, writeFileAtomic } from './storage.js';

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
  /** What discovery skipped and why (at most 20). */
  warnings?: string[];
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
    question: wellFormed(p.question),
    answer: wellFormed(p.answer),
    source: wellFormed(source),
    chunk_id: p.chunkId,
    char_start: p.charStart,
    char_end: p.charEnd,
    generator: p.generator,
  };
}

/** Where each split's passed pairs go: data/<split>.jsonl. */
export function splitPath(split: string): string {
  return `data/${split}.jsonl`;
}

export async function exportDataset(input: ExportInput, deps: ExportDeps): Promise<ExportSummary> {
  const { run } = input;
  const { settings } = run;
  const qa = settings.generateQa;
  const out = (rel: string) => join(run.outDir, rel);
  const settingsKey = shardSettingsKey(run);
  // An export killed half way left its temporary files; the complete outputs are untouched.
  for (const dir of ['.', 'data', 'rejected']) await removeOrphanTempFiles(join(run.outDir, dir));

  // One writer per split (passed pairs or chunks), plus rejected and errors.
  const splitWriters = new Map<string, AtomicLineWriter>();
  for (const s of qa ? settings.splits : [{ name: 'chunks', fraction: 1 }]) {
    splitWriters.set(s.name, await new AtomicLineWriter(out(qa ? splitPath(s.name) : OUTPUT_FILES.chunks)).open());
  }
  const rejected = qa ? await new AtomicLineWriter(out(OUTPUT_FILES.rejected)).open() : undefined;
  const errors = await new AtomicLineWriter(out(OUTPUT_FILES.errors)).open();
  const writers = [...splitWriters.values(), rejected, errors].filter((w): w is AtomicLineWriter => w !== undefined);

  const duplicates = new DuplicateIndex();
  const failedByReason: Record<string, number> = {};
  const rejectedByReason: Record<string, number> = {};
  let loaded = 0;
  let chunks = 0;
  let duplicatesAcrossDocuments = 0;

  const writeError = async (entry: ManifestEntry, row: Omit<ErrorRow, 'source'>) => {
    failedByReason[row.reason] = (failedByReason[row.reason] ?? 0) + 1;
    const full: ErrorRow = { source: wellFormed(entry.source), stage: row.stage, reason: row.reason, detail: wellFormed(row.detail) };
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
      const key = shardKeyFor(entry, settingsKey);
      const shard = await readParsedIfExists(shardPath(run.outDir, key), ShardContent);
      if (!shard) {
        // Only machine-local read failures leave no shard (they must not be cached); their
        // record says why.
        const local = await readJsonIfExists<Omit<ErrorRow, 'source'>>(localErrorPath(run.outDir, key)).catch(() => undefined);
        await writeError(entry, local ?? { stage: 'load', reason: 'unreadable', detail: 'file could not be read during processing' });
        continue;
      }
      if (shard.status === 'error') {
        await writeError(entry, { stage: shard.stage, reason: shard.reason, detail: shard.detail });
        continue;
      }
      loaded++;
      chunks += shard.chunks;
      if (!qa) {
        const writer = splitWriters.get('chunks')!;
        for (const c of shard.chunkRows) {
          const row: ChunkRow = {
            id: sha256Hex(`${entry.source}\u0000${c.chunkId}`).slice(0, 16),
            text: wellFormed(c.text),
            source: wellFormed(entry.source),
            chunk_id: c.chunkId,
            char_start: c.charStart,
            char_end: c.charEnd,
          };
          await writer.writeLine(JSON.stringify(row));
        }
        continue;
      }
      const writer = splitWriters.get(splitOf(entry.source, settings.splits))!;
      for (const [ordinal, p] of shard.pairs.entries()) {
        const id = pairId(entry.source, ordinal, p);
        const row = qaRow(id, entry.source, p);
        let reasons = p.reasons;
        let detail = p.detail;
        let duplicateOf = '';
        if (reasons.length === 0) {
          // Passed the per-document checks: now the corpus-wide duplicate check, in manifest order.
          const dup = duplicates.check(p.question, id);
          if (dup) {
            duplicatesAcrossDocuments++;
            reasons = ['duplicate'];
            duplicateOf = dup.of;
            detail = `${dup.kind === 'exact' ? 'same question as' : 'nearly the same question as'} pair ${dup.of}`;
          }
        } else if (reasons.includes('duplicate')) {
          duplicateOf = duplicates.lookup(p.question) ?? '';
        }
        const primary = reasons[0];
        if (primary === undefined) {
          await writer.writeLine(JSON.stringify(trainingRow(settings.format, row)));
        } else {
          rejectedByReason[primary] = (rejectedByReason[primary] ?? 0) + 1;
          await rejected?.writeLine(
            JSON.stringify(rejectedRow({ ...row, reason: primary, reasons, detail: wellFormed(detail), duplicate_of: duplicateOf })),
          );
        }
      }
    }

    // `datasets` cannot load an empty JSON Lines file (it infers columns from the first row), so
    // a file with no rows is not written at all, and a stale one from an earlier run is removed.
    const files: ExportSummary['files'] = {};
    const relOf = (w: AtomicLineWriter) => relative(run.outDir, w.path).split(sep).join('/');
    for (const w of writers) {
      if (w.rows === 0) {
        await w.abort();
        await rm(w.path, { force: true });
      } else {
        files[relOf(w)] = { rows: w.rows, sha256: await w.commit() };
      }
    }
    const splitRows: Record<string, number> = {};
    let passed = 0;
    if (qa) {
      for (const [name, w] of splitWriters) {
        splitRows[name] = w.rows;
        passed += w.rows;
      }
    }

    const summary: ExportSummary = {
      files,
      pairsPassed: passed,
      pairsRejected: rejected?.rows ?? 0,
      duplicatesAcrossDocuments,
      rejectedByReason,
      chunks,
      errors: errors.rows,
    };
    const generatorId = qa ? generatorIdOf(settings) : 'none';
    const stats = {
      tool: { name: 'corpus-qa', version: deps.toolVersion },
      temporal: { sdk: deps.sdkVersion, server: deps.serverVersion },
      workflow: input.workflow,
      input: { inputDir: run.inputDir, globs: run.globs },
      settings: { ...settings, generatorId, failFast: run.failFast, batchSize: run.batchSize, window: run.window },
      documents: {
        discovered: input.documents,
        loaded,
        failed: errors.rows,
        failedByReason,
        skippedDuringDiscovery: input.skipped,
        discoveryWarnings: input.warnings ?? [],
      },
      chunks,
      pairs: {
        generated: passed + (rejected?.rows ?? 0),
        passed,
        rejected: rejected?.rows ?? 0,
        rejectedByReason,
        duplicatesAcrossDocuments,
        splits: splitRows,
      },
      cacheHits: input.counters.cacheHits,
      ...(qa && settings.llm ? { llm: llmStats(input.counters.llm ?? {}, settings.llm, run.llmRuntime ?? {}) } : {}),
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

    const card = renderCard({
      generateQa: qa,
      format: settings.format,
      splits: qa ? settings.splits.map((s) => ({ name: s.name, path: splitPath(s.name), rows: splitRows[s.name] ?? 0 })) : [],
      chunksRows: qa ? 0 : chunks,
      rejectedRows: rejected?.rows ?? 0,
      errorRows: errors.rows,
      documents: input.documents,
      loaded,
      failedByReason,
      rejectedByReason,
      generator: generatorId,
      ...(qa && settings.llm ? { llmLine: llmCardLine(input.counters.llm ?? {}, settings.llm, run.llmRuntime ?? {}) } : {}),
      license: settings.license,
      settingsTable: [
        ['generator', generatorId],
        ['format', qa ? settings.format : 'chunks'],
        ['splits', settings.splits.map((s) => `${s.name}=${s.fraction}`).join(', ')],
        ['chunk size / overlap', `${settings.chunkSize} / ${settings.chunkOverlap}`],
        ['max pairs per chunk', String(settings.maxPairsPerChunk)],
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

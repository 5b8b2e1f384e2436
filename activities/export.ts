/**
 * Export: read every document's shard in manifest order and write the dataset files. Output
 * order is the manifest's, ids are derived from content, and no timestamps go into rows, so the
 * same corpus and settings always give the same bytes. Every file is written to a temporary
 * path first, and renamed into place only when all of them are complete, stats.json last; stats.json
 * holds the sha256 of every file it describes (the card too), so a set mixed by a crash between
 * two renames is detectable (`corpus-qa verify`) and the next export repairs it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type {
  ChunkRow,
  Counters,
  ExportSummary,
  ManifestEntry,
  QaRow,
  ResolvedRunInput,
  ShardPair,
} from '../schemas/index.js';
import { ErrorRow, ShardContent, type StatsJson } from '../schemas/index.js';
import { CHUNK_FEATURES, ERROR_FEATURES, REJECTED_FEATURES, renderCard, TRAINING_FEATURES, type Feature, type SplitFiles } from './datasetCard.js';
import { PARQUET_SHARD_NAME, parquetShardPath, StagedParquetShards } from './parquet.js';
import { CorpusDuplicates, DocumentDuplicates } from './dedup.js';
import { QualityStats, type PassedPair } from './exportStats.js';
import { rejectedRow, trainingRow, wellFormed } from './exportRows.js';
import { splitOf } from './splits.js';
import { generatorId as generatorIdOf } from './generate/index.js';
import { llmCardLine, llmStats } from './generate/report.js';
import { iterateManifest } from './manifest.js';
import { readDecisions, ReviewApplier } from './review/decisions.js';
import { shardKeyFor, shardSettingsKey } from './processBatch.js';
import { exists, localErrorPath, readParsedIfExists, removeOrphanTempFiles, sha256Hex, shardPath } from './storage.js';

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
  /** Called before each file is renamed into place (or removed), stats.json last; tests fail here. */
  beforeRename?: (file: string) => void | Promise<void>;
}

/** A temporary name the orphan sweep of storage.ts recognizes (`.tmp-<pid>-<8 hex>`). */
function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** A file written completely (and fsynced) to its temporary path, not yet in place. */
export interface StagedFile {
  path: string;
  tmp: string;
  sha256: string;
}

/**
 * A file written line by line to a temporary path, hashed as it goes; `finish` makes it complete
 * on disk but leaves it under its temporary name: commitStaged renames it with the others.
 */
export class StagedLineWriter {
  private handle: FileHandle | undefined;
  readonly tmp: string;
  private buffer: string[] = [];
  private bufferedChars = 0;
  private readonly hash = createHash('sha256');
  rows = 0;

  constructor(readonly path: string) {
    this.tmp = tempPathFor(path);
  }

  async open(): Promise<this> {
    await mkdir(dirname(this.path), { recursive: true });
    this.handle = await open(this.tmp, 'w');
    return this;
  }

  async writeLine(line: string): Promise<void> {
    this.buffer.push(line, '\n');
    this.bufferedChars += line.length + 1;
    this.rows++;
    if (this.bufferedChars > 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.handle || this.buffer.length === 0) return;
    const chunk = this.buffer.join('');
    this.buffer = [];
    this.bufferedChars = 0;
    this.hash.update(chunk);
    await this.handle.write(chunk);
  }

  /** Flush, fsync and close; the file stays at its temporary path. */
  async finish(): Promise<StagedFile> {
    await this.flush();
    if (!this.handle) throw new Error(`writer for ${this.path} was not opened`);
    await this.handle.sync();
    await this.handle.close();
    this.handle = undefined;
    return { path: this.path, tmp: this.tmp, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    if (this.handle) await this.handle.close().catch(() => undefined);
    this.handle = undefined;
    await rm(this.tmp, { force: true });
  }
}

/**
 * Where one file's rows go: a JSON Lines file, or with --file-format parquet its Parquet shards.
 * `finish` leaves them complete under temporary names (none for a sink without rows).
 */
interface RowSink {
  readonly rows: number;
  write(row: object): Promise<void>;
  finish(): Promise<Array<StagedFile & { rows: number }>>;
  abort(): Promise<void>;
}

class JsonlSink implements RowSink {
  constructor(private readonly writer: StagedLineWriter) {}

  get rows(): number {
    return this.writer.rows;
  }

  get path(): string {
    return this.writer.path;
  }

  write(row: object): Promise<void> {
    return this.writer.writeLine(JSON.stringify(row));
  }

  async finish(): Promise<Array<StagedFile & { rows: number }>> {
    if (this.writer.rows === 0) {
      await this.writer.abort();
      return [];
    }
    return [{ ...(await this.writer.finish()), rows: this.writer.rows }];
  }

  abort(): Promise<void> {
    return this.writer.abort();
  }
}

/**
 * Where the Parquet shards of each file go, named as the Hub names a config's splits:
 * data/<split>-…, rejected/train-…, errors/train-…. Every file is Parquet, not only the data:
 * `datasets` picks one builder for all the configs of a directory, so a JSON Lines config
 * beside Parquet ones would be read as Parquet and fail.
 */
const PARQUET_PREFIX = {
  split: (name: string) => `data/${name}`,
  rejected: 'rejected/train',
  errors: 'errors/train',
} as const;

export async function stageFile(path: string, data: string): Promise<StagedFile> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { path, tmp, sha256: sha256Hex(data) };
}

async function syncDir(dir: string): Promise<void> {
  // Makes the renames durable in order; not every file system can fsync a directory.
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close().catch(() => undefined);
}

/**
 * The commit of an export: every staged file renamed into place, the files this export has no
 * rows for removed, then stats.json, whose hashes describe the new set. Until stats.json is
 * renamed the directory may mix old and new files, and the old stats.json's hashes say so.
 * On a failure the temporary files not renamed yet are removed and the error is rethrown.
 */
export async function commitStaged(
  outDir: string,
  staged: StagedFile[],
  remove: string[],
  stats: StagedFile,
  beforeRename: (file: string) => void | Promise<void> = () => undefined,
): Promise<void> {
  const rel = (p: string) => relative(outDir, p).split(sep).join('/');
  let done = 0;
  try {
    for (const f of staged) {
      await beforeRename(rel(f.path));
      await rename(f.tmp, f.path);
      done++;
    }
    for (const path of remove) {
      await beforeRename(rel(path));
      await rm(path, { force: true });
    }
    for (const dir of new Set(staged.map((f) => dirname(f.path)).concat(remove.map((p) => dirname(p))))) await syncDir(dir);
    await beforeRename(rel(stats.path));
    await rename(stats.tmp, stats.path);
    await syncDir(dirname(stats.path));
  } catch (err) {
    await Promise.all([...staged.slice(done), stats].map((f) => rm(f.tmp, { force: true })));
    throw err;
  }
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
    page_start: p.pageStart,
    page_end: p.pageEnd,
    answer_start: p.answerStart,
    answer_end: p.answerEnd,
    question_type: p.questionForm,
    generator: p.generator,
  };
}

/** What the quality figures take of a passed row (as written: after a reviewer's edit). */
export function passedPair(r: QaRow): PassedPair {
  return { id: r.id, chunkId: r.chunk_id, question: r.question, answer: r.answer, questionForm: r.question_type, answerStart: r.answer_start };
}

/**
 * The reviewer's drops go after the validator's rejections (ReviewApplier's order), and their
 * reason is counted last, so stats.json's key order is the same from a run and from
 * `review apply`.
 */
export async function writeReviewerRejections(
  review: ReviewApplier,
  rejected: { write(row: object): Promise<void> } | undefined,
  rejectedByReason: Record<string, number>,
): Promise<void> {
  const rows = review.droppedRows();
  for (const r of rows) await rejected?.write(rejectedRow(r));
  if (rows.length > 0) rejectedByReason.reviewer_rejected = rows.length;
}

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

/** Where each split's passed pairs go: data/<split>.jsonl. */
export function splitPath(split: string): string {
  return `data/${split}.jsonl`;
}

/**
 * Files an earlier export of another file format or shard count left (this one does not write
 * them): Parquet shards by their Hub names and, for a Parquet export, the JSON Lines files of
 * the same rows. Removed with the commit, so the directory holds one set.
 */
async function staleOutputFiles(outDir: string, keep: Set<string>, jsonlPaths: string[]): Promise<string[]> {
  const stale: string[] = [];
  for (const dir of ['data', 'rejected', 'errors']) {
    const names = await readdir(join(outDir, dir)).catch(() => [] as string[]);
    stale.push(...names.filter((n) => PARQUET_SHARD_NAME.test(n)).map((n) => join(outDir, dir, n)));
  }
  for (const rel of jsonlPaths) if (await exists(join(outDir, rel))) stale.push(join(outDir, rel));
  return stale.filter((p) => !keep.has(p)).sort();
}

export async function exportDataset(input: ExportInput, deps: ExportDeps): Promise<ExportSummary> {
  const { run } = input;
  const { settings } = run;
  const qa = settings.generateQa;
  const out = (rel: string) => join(run.outDir, rel);
  const settingsKey = shardSettingsKey(run);
  // An export killed half way left its temporary files; the complete outputs are untouched.
  for (const dir of ['.', 'data', 'rejected', 'errors']) await removeOrphanTempFiles(join(run.outDir, dir));

  // One sink per split (passed pairs or chunks), plus rejected and errors.
  const parquet = settings.fileFormat === 'parquet';
  const sinkFor = async (jsonlPath: string, parquetPrefix: string, features: Record<string, Feature>): Promise<RowSink> =>
    parquet
      ? new StagedParquetShards(run.outDir, parquetPrefix, features, settings.parquetShardRows)
      : new JsonlSink(await new StagedLineWriter(out(jsonlPath)).open());
  const splitWriters = new Map<string, RowSink>();
  for (const s of qa ? settings.splits : [{ name: 'chunks', fraction: 1 }]) {
    splitWriters.set(
      s.name,
      await sinkFor(qa ? splitPath(s.name) : OUTPUT_FILES.chunks, PARQUET_PREFIX.split(s.name), qa ? TRAINING_FEATURES[settings.format] : CHUNK_FEATURES),
    );
  }
  const rejected = qa ? await sinkFor(OUTPUT_FILES.rejected, PARQUET_PREFIX.rejected, REJECTED_FEATURES) : undefined;
  const errors = await sinkFor(OUTPUT_FILES.errors, PARQUET_PREFIX.errors, ERROR_FEATURES);
  const writers = [...splitWriters.values(), rejected, errors].filter((w): w is RowSink => w !== undefined);
  const staged: StagedFile[] = [];

  // A reviewed output keeps its reviewer's decisions, keyed by pair id, on every later run.
  const storedDecisions = qa ? await readDecisions(run.outDir) : undefined;
  const review = storedDecisions ? new ReviewApplier(storedDecisions) : undefined;
  const duplicates = new CorpusDuplicates();
  const quality = new QualityStats(settings.splits.map((s) => s.name));
  const failedByReason: Record<string, number> = {};
  const rejectedByReason: Record<string, number> = {};
  let loaded = 0;
  let chunks = 0;
  let duplicatesAcrossDocuments = 0;
  let duplicatesWithinDocuments = 0;

  const writeError = async (entry: ManifestEntry, row: Omit<ErrorRow, 'source'>) => {
    failedByReason[row.reason] = (failedByReason[row.reason] ?? 0) + 1;
    const full: ErrorRow = { source: wellFormed(entry.source), stage: row.stage, reason: row.reason, detail: wellFormed(row.detail) };
    await errors.write(full);
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
        const local = await readParsedIfExists(localErrorPath(run.outDir, key), ErrorRow.omit({ source: true })).catch(() => undefined);
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
            page_start: c.pageStart ?? 0,
            page_end: c.pageEnd ?? 0,
          };
          await writer.write(row);
        }
        continue;
      }
      const split = splitOf(entry.source, settings.splits);
      const writer = splitWriters.get(split)!;
      quality.startDocument(shard.chunks, shard.words);
      // The shard marked its own duplicates (activities/pipeline.ts); the same rule run again
      // here finds which pair each one repeats. standsFor[i]: the id of the row that carries
      // pair i's fact (its own, or what it duplicates), so duplicate_of always names a kept row.
      const inDocument = new DocumentDuplicates();
      const standsFor: string[] = [];
      for (const [ordinal, p] of shard.pairs.entries()) {
        const id = pairId(entry.source, ordinal, p);
        const row = qaRow(id, entry.source, p);
        let reasons = p.reasons;
        let detail = p.detail;
        let duplicateOf = '';
        if (reasons.length === 0) {
          inDocument.keep(p, ordinal);
          // Passed the document's checks: now the corpus-wide duplicate check, in manifest order.
          const dup = duplicates.check(p, id);
          if (dup) {
            duplicatesAcrossDocuments++;
            reasons = ['duplicate'];
            duplicateOf = dup.of;
            detail = `${dup.kind === 'exact' ? 'same answer as' : 'nearly the same answer as'} pair ${dup.of} of an earlier document`;
          }
        } else if (reasons[0] === 'duplicate') {
          duplicatesWithinDocuments++;
          const kept = inDocument.check(p);
          duplicateOf = kept ? standsFor[kept.index] ?? '' : '';
        }
        standsFor[ordinal] = duplicateOf || id;
        const primary = reasons[0];
        if (primary === undefined) {
          const reviewed = review ? review.passed(row) : { row, edited: undefined };
          if (!reviewed) continue; // dropped by the reviewer: written after the loop
          quality.pass(passedPair(reviewed.row), split);
          await writer.write(trainingRow(settings.format, reviewed.row, reviewed.edited));
        } else {
          rejectedByReason[primary] = (rejectedByReason[primary] ?? 0) + 1;
          await rejected?.write(rejectedRow({ ...row, reason: primary, reasons, detail: wellFormed(detail), duplicate_of: duplicateOf }));
        }
      }
    }

    if (review) await writeReviewerRejections(review, rejected, rejectedByReason);

    // `datasets` cannot load an empty JSON Lines file (it infers columns from the first row), so
    // a file with no rows is not written at all (no Parquet shard either), and a stale one from
    // an earlier run is removed (with the others' renames, in commitStaged).
    const files: ExportSummary['files'] = {};
    const relOf = (path: string) => relative(run.outDir, path).split(sep).join('/');
    const remove: string[] = [];
    const writtenPaths = new Map<RowSink, string[]>();
    for (const w of writers) {
      const done = await w.finish();
      if (done.length === 0 && w instanceof JsonlSink) remove.push(w.path);
      writtenPaths.set(w, done.map((f) => relOf(f.path)));
      for (const f of done) {
        staged.push(f);
        files[relOf(f.path)] = { rows: f.rows, sha256: f.sha256 };
      }
    }
    const jsonlPaths = qa ? [...settings.splits.map((s) => splitPath(s.name)), OUTPUT_FILES.rejected] : [OUTPUT_FILES.chunks];
    remove.push(...(await staleOutputFiles(run.outDir, new Set([...staged.map((f) => f.path), ...remove]), parquet ? [...jsonlPaths, OUTPUT_FILES.errors] : [])));
    // The files the card names for a sink. One without rows is named by the file it would have
    // had: the default config of a run where no pair passed names it on purpose.
    const cardPath = (w: RowSink | undefined, jsonlPath: string, parquetPrefix: string): SplitFiles => {
      const written = w ? writtenPaths.get(w) ?? [] : [];
      return !parquet ? jsonlPath : written.length ? written : parquetShardPath(parquetPrefix, 0, 1);
    };
    const splitRows: Record<string, number> = {};
    let passed = 0;
    if (qa) {
      for (const [name, w] of splitWriters) {
        splitRows[name] = w.rows;
        passed += w.rows;
      }
    }

    const generated = passed + (rejected?.rows ?? 0);
    const qualityFigures = qa ? quality.result({ generated, withinDocuments: duplicatesWithinDocuments, acrossDocuments: duplicatesAcrossDocuments }) : undefined;
    const summary: ExportSummary = {
      loaded,
      failedByReason,
      files,
      pairsPassed: passed,
      pairsRejected: rejected?.rows ?? 0,
      duplicatesAcrossDocuments,
      rejectedByReason,
      chunks,
      errors: errors.rows,
      ...(qualityFigures ? { quality: qualityFigures } : {}),
    };
    const generatorId = qa ? generatorIdOf(settings) : 'none';
    const card = renderCard({
      generateQa: qa,
      format: settings.format,
      splits: qa
        ? settings.splits.map((s) => ({ name: s.name, path: cardPath(splitWriters.get(s.name), splitPath(s.name), PARQUET_PREFIX.split(s.name)), rows: splitRows[s.name] ?? 0 }))
        : [],
      chunksRows: qa ? 0 : chunks,
      ...(parquet
        ? {
            fileFormat: 'parquet' as const,
            ...(qa ? {} : { chunksPath: cardPath(splitWriters.get('chunks'), OUTPUT_FILES.chunks, PARQUET_PREFIX.split('chunks')) }),
            rejectedPath: cardPath(rejected, OUTPUT_FILES.rejected, PARQUET_PREFIX.rejected),
            errorsPath: cardPath(errors, OUTPUT_FILES.errors, PARQUET_PREFIX.errors),
          }
        : {}),
      rejectedRows: rejected?.rows ?? 0,
      errorRows: errors.rows,
      documents: input.documents,
      loaded,
      failedByReason,
      rejectedByReason,
      ...(qualityFigures ? { quality: qualityFigures } : {}),
      generator: generatorId,
      ...(qa && settings.llm ? { llmLine: llmCardLine(input.counters.llm ?? {}, settings.llm, run.llmRuntime ?? {}) } : {}),
      license: settings.license,
      ...(review ? { review: review.tally } : {}),
      settingsTable: settingsTable(settings, generatorId, run.globs),
    });
    const cardFile = await stageFile(out(OUTPUT_FILES.card), card);
    staged.push(cardFile);

    const stats: StatsJson = {
      tool: { name: 'corpus-qa', version: deps.toolVersion },
      temporal: { sdk: deps.sdkVersion, server: deps.serverVersion },
      workflow: input.workflow,
      input: { inputDir: run.inputDir, globs: run.globs },
      settings: { ...settings, generatorId, failFast: run.failFast, batchSize: run.adaptiveBatches ? 'adaptive' : run.batchSize, window: run.window },
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
        generated,
        passed,
        rejected: rejected?.rows ?? 0,
        rejectedByReason,
        duplicatesAcrossDocuments,
        splits: splitRows,
      },
      ...(qualityFigures ? { quality: qualityFigures } : {}),
      ...(review ? { review: review.tally } : {}),
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
      // Every file this export wrote, with its sha256: the set belongs together.
      files: { ...files, [OUTPUT_FILES.card]: { sha256: cardFile.sha256 } },
    };
    const statsFile = await stageFile(out(OUTPUT_FILES.stats), `${JSON.stringify(stats, null, 2)}\n`);
    await commitStaged(run.outDir, staged, remove, statsFile, deps.beforeRename);

    return summary;
  } catch (err) {
    await Promise.all(writers.map((w) => w.abort()));
    await Promise.all(staged.map((f) => rm(f.tmp, { force: true })));
    throw err;
  }
}

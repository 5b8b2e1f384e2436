/**
 * Where an export's rows go: one sink per split (passed pairs, or chunks), rejected and errors.
 * A sink is a JSON Lines file or, with --file-format parquet, that file's Parquet shards; the
 * rest of the export writes rows and never asks which.
 */
import { join, relative, sep } from 'node:path';
import type { ExportSummary, ResolvedRunInput } from '../../schemas/index.js';
import type { StagedFileProgress } from '../../schemas/localState.js';
import { CHUNK_FEATURES, ERROR_FEATURES, REJECTED_FEATURES, TRAINING_FEATURES, type Feature, type SplitFiles } from '../datasetCard.js';
import { PARQUET_SHARD_NAME, parquetShardPath, StagedParquetShards } from '../parquet.js';
import { OUTPUT_FILES, outputStore, PARQUET_PREFIX, splitPath, type OutputStore } from '../storage.js';
import { StagedLineWriter, type StagedFile } from './staging.js';

/** `finish` leaves a sink's files complete under temporary names (none for a sink without rows). */
export interface RowSink {
  readonly rows: number;
  write(row: object): Promise<void>;
  finish(): Promise<Array<StagedFile & { rows: number }>>;
  abort(): Promise<void>;
  /** How far the file is, made durable, for an export checkpoint; none for Parquet shards (not checkpointed). */
  checkpoint?(): Promise<StagedFileProgress>;
}

class JsonlSink implements RowSink {
  constructor(private readonly writer: StagedLineWriter) {}

  get rows(): number {
    return this.writer.rows;
  }

  write(row: object): Promise<void> {
    return this.writer.writeLine(JSON.stringify(row));
  }

  async finish(): Promise<Array<StagedFile & { rows: number }>> {
    // `datasets` cannot load an empty JSON Lines file (it infers columns from the first row),
    // so a file with no rows is not written at all.
    if (this.writer.rows === 0) {
      await this.writer.abort();
      return [];
    }
    return [{ ...(await this.writer.finish()), rows: this.writer.rows }];
  }

  abort(): Promise<void> {
    return this.writer.abort();
  }

  checkpoint(): Promise<StagedFileProgress> {
    return this.writer.checkpoint();
  }
}

/** One output file's sink with the two names it can have. */
interface NamedSink {
  sink: RowSink;
  jsonlPath: string;
  parquetPrefix: string;
  /** Set by finish: the files written, relative to <out> ('/'-separated). */
  written?: string[];
}

/** What the sinks left for the commit, and the rows and hashes stats.json lists. */
export interface FinishedSinks {
  staged: StagedFile[];
  /** Files this export does not write that an earlier one left: removed with the commit. */
  remove: string[];
  files: ExportSummary['files'];
}

export class ExportSinks {
  private constructor(
    /** Where the files are staged: <out>, or a local scratch directory for a bucket. */
    private readonly outDir: string,
    /** <out> itself, where an earlier export's files are found. */
    private readonly store: OutputStore,
    readonly parquet: boolean,
    private readonly splitSinks: Map<string, NamedSink>,
    private readonly rejectedSink: NamedSink | undefined,
    private readonly errorsSink: NamedSink,
  ) {}

  /** `resume`: an export checkpoint's files (JSON Lines only), one per sink in checkpoint()'s order. */
  static async open(run: ResolvedRunInput, dir: string = run.outDir, store: OutputStore = outputStore(dir), resume?: StagedFileProgress[]): Promise<ExportSinks> {
    const { settings } = run;
    const qa = settings.generateQa;
    const parquet = settings.fileFormat === 'parquet';
    let opened = 0;
    const jsonl = async (path: string): Promise<StagedLineWriter> => {
      if (!resume) return new StagedLineWriter(path).open();
      const saved = resume[opened++];
      if (!saved) throw new Error(`the export checkpoint has no file for ${path}`);
      if (saved.path !== path) throw new Error(`the export checkpoint's file ${saved.path} is not ${path}`);
      return StagedLineWriter.resume(saved);
    };
    const open = async (jsonlPath: string, parquetPrefix: string, features: Record<string, Feature>): Promise<NamedSink> => ({
      sink: parquet
        ? new StagedParquetShards(dir, parquetPrefix, features, settings.parquetShardRows)
        : new JsonlSink(await jsonl(join(dir, jsonlPath))),
      jsonlPath,
      parquetPrefix,
    });
    const splits = new Map<string, NamedSink>();
    for (const s of qa ? settings.splits : [{ name: 'chunks', fraction: 1 }]) {
      splits.set(
        s.name,
        await open(qa ? splitPath(s.name) : OUTPUT_FILES.chunks, PARQUET_PREFIX.split(s.name), qa ? TRAINING_FEATURES[settings.format] : CHUNK_FEATURES),
      );
    }
    const rejected = qa ? await open(OUTPUT_FILES.rejected, PARQUET_PREFIX.rejected, REJECTED_FEATURES) : undefined;
    const errors = await open(OUTPUT_FILES.errors, PARQUET_PREFIX.errors, ERROR_FEATURES);
    if (resume && opened !== resume.length) throw new Error(`the export checkpoint has ${resume.length} files, this export ${opened}`);
    return new ExportSinks(dir, store, parquet, splits, rejected, errors);
  }

  /** A split's passed pairs; 'chunks' for a run without --generate-qa. */
  split(name: string): RowSink {
    const s = this.splitSinks.get(name);
    if (!s) throw new Error(`no sink for split ${name}`);
    return s.sink;
  }

  get rejected(): RowSink | undefined {
    return this.rejectedSink?.sink;
  }

  get errors(): RowSink {
    return this.errorsSink.sink;
  }

  /** Rows per split, in the settings' split order. */
  splitRows(): Record<string, number> {
    return Object.fromEntries([...this.splitSinks].map(([name, s]) => [name, s.sink.rows]));
  }

  private all(): NamedSink[] {
    return [...this.splitSinks.values(), this.rejectedSink, this.errorsSink].filter((s): s is NamedSink => s !== undefined);
  }

  /** Every sink's file made durable and how far it is (JSON Lines only: the export does not checkpoint Parquet shards). */
  async checkpoint(): Promise<StagedFileProgress[]> {
    const saved: StagedFileProgress[] = [];
    for (const s of this.all()) {
      if (!s.sink.checkpoint) throw new Error(`${s.parquetPrefix}: Parquet shards are not checkpointed`);
      saved.push(await s.sink.checkpoint());
    }
    return saved;
  }

  async finish(): Promise<FinishedSinks> {
    const relOf = (path: string) => relative(this.outDir, path).split(sep).join('/');
    const staged: StagedFile[] = [];
    const remove: string[] = [];
    const files: ExportSummary['files'] = {};
    for (const s of this.all()) {
      const done = await s.sink.finish();
      // A stale JSON Lines file of an earlier run goes with the others' renames.
      if (done.length === 0 && !this.parquet) remove.push(join(this.outDir, s.jsonlPath));
      s.written = done.map((f) => relOf(f.path));
      for (const f of done) {
        staged.push(f);
        files[relOf(f.path)] = { rows: f.rows, sha256: f.sha256 };
      }
    }
    const jsonlPaths = this.parquet ? this.all().map((s) => s.jsonlPath) : [];
    remove.push(...(await this.staleFiles(new Set([...staged.map((f) => f.path), ...remove]), jsonlPaths)));
    return { staged, remove, files };
  }

  /**
   * Files an earlier export of another file format or shard count left (this one does not write
   * them): Parquet shards by their Hub names and, for a Parquet export, the JSON Lines files of
   * the same rows. Removed with the commit, so the directory holds one set.
   */
  private async staleFiles(keep: Set<string>, jsonlPaths: string[]): Promise<string[]> {
    const out = this.store;
    // Named by their staged path, as the commit takes every file.
    const staged = (rel: string) => join(this.outDir, rel);
    const stale: string[] = [];
    for (const dir of ['data', 'rejected', 'errors']) {
      const names = await out.list(dir);
      stale.push(...names.filter((n) => PARQUET_SHARD_NAME.test(n)).map((n) => staged(`${dir}/${n}`)));
    }
    for (const rel of jsonlPaths) if (await out.exists(rel)) stale.push(staged(rel));
    return stale.filter((p) => !keep.has(p)).sort();
  }

  /**
   * The files the card names for a sink (after finish). One without rows is named by the file
   * it would have had: the default config of a run where no pair passed names it on purpose.
   */
  private cardFiles(s: NamedSink | undefined, jsonlPath: string, parquetPrefix: string): SplitFiles {
    const written = s?.written ?? [];
    return !this.parquet ? jsonlPath : written.length ? written : parquetShardPath(parquetPrefix, 0, 1);
  }

  splitCardFiles(name: string): SplitFiles {
    return this.cardFiles(this.splitSinks.get(name), splitPath(name), PARQUET_PREFIX.split(name));
  }

  chunksCardFiles(): SplitFiles {
    return this.cardFiles(this.splitSinks.get('chunks'), OUTPUT_FILES.chunks, PARQUET_PREFIX.split('chunks'));
  }

  rejectedCardFiles(): SplitFiles {
    return this.cardFiles(this.rejectedSink, OUTPUT_FILES.rejected, PARQUET_PREFIX.rejected);
  }

  errorsCardFiles(): SplitFiles {
    return this.cardFiles(this.errorsSink, OUTPUT_FILES.errors, PARQUET_PREFIX.errors);
  }

  async abort(): Promise<void> {
    await Promise.all(this.all().map((s) => s.sink.abort()));
  }
}

/**
 * Parquet files (--file-format parquet): one file's rows written shard by shard, in the Hub's
 * naming (data/<split>-00000-of-00004.parquet, rejected/train-00000-of-00001.parquet). The Parquet schema is derived from the
 * card's `dataset_info.features` (activities/datasetCard.ts), so the card and the files cannot
 * disagree on a column or a type. Rows are buffered one row group at a time and each group goes
 * to disk before the next is collected: a split of a million rows never sits in memory.
 *
 * Same rows, same bytes: the writer puts no timestamp or path in the file, `created_by` is a
 * constant, and where a shard or a row group ends depends only on the rows.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ByteWriter, ParquetWriter, type SchemaElement, type Writer } from 'hyparquet-writer';
import type { Feature } from './datasetCard.js';
import type { RowSink } from './export/sinks.js';
import { parquetShardPath } from './paths.js';
import { tempPathFor } from './storage.js';

/** `created_by` in every file: constant, so a re-run with a newer tool still writes the same bytes. */
export const PARQUET_CREATED_BY = 'corpus-qa';

/**
 * A shard is closed once its rows' uncompressed size reaches this, the 500 MB that `datasets`'
 * push_to_hub uses as max_shard_size (it too measures the uncompressed table).
 */
export const SHARD_BYTES = 500 * 1024 * 1024;

/** A row group is written once it holds this many rows or bytes, whichever comes first. */
const ROW_GROUP_ROWS = 10_000;
const ROW_GROUP_BYTES = 64 * 1024 * 1024;

export { PARQUET_SHARD_NAME, parquetShardPath } from './paths.js';

const stringColumn = (name: string): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });

function leaf(name: string, dtype: 'string' | 'int64' | 'bool'): SchemaElement {
  if (dtype === 'string') return stringColumn(name);
  return { name, type: dtype === 'bool' ? 'BOOLEAN' : 'INT64', repetition_type: 'OPTIONAL' };
}

/**
 * The Parquet schema of a config's features, laid out as pyarrow writes it: every column
 * nullable, lists in the three-level LIST form (list / element), so `datasets` reads a
 * `{ list: {role, content} }` feature as List({'role': Value('string'), 'content': Value('string')}).
 */
export function parquetSchemaFor(features: Record<string, Feature>): SchemaElement[] {
  const schema: SchemaElement[] = [{ name: 'schema', num_children: Object.keys(features).length }];
  for (const [name, type] of Object.entries(features)) {
    if (typeof type === 'string') {
      schema.push(leaf(name, type));
      continue;
    }
    schema.push(
      { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    );
    if (typeof type.list === 'string') {
      schema.push(leaf('element', type.list));
    } else {
      const fields = Object.entries(type.list);
      schema.push({ name: 'element', repetition_type: 'OPTIONAL', num_children: fields.length });
      for (const [field, t] of fields) schema.push(leaf(field, t));
    }
  }
  return schema;
}

/** Approximate uncompressed size of a row: what the shard and row-group limits count. */
function rowBytes(row: Record<string, unknown>): number {
  let n = 0;
  const add = (v: unknown): void => {
    if (typeof v === 'string') n += Buffer.byteLength(v, 'utf8') + 4;
    else if (typeof v === 'number') n += 8;
    else if (Array.isArray(v)) v.forEach(add);
    else if (v && typeof v === 'object') Object.values(v).forEach(add);
  };
  Object.values(row).forEach(add);
  return n;
}

/** A shard complete on disk under its temporary name; its final name waits for the shard count. */
interface ClosedShard {
  tmp: string;
  sha256: string;
  rows: number;
}

/** A file written completely to `tmp`, to be renamed to `path` (export/commit.ts commits them together). */
export interface StagedParquetFile {
  path: string;
  tmp: string;
  sha256: string;
  rows: number;
}

/**
 * A hyparquet Writer that sends each row group to the file as soon as it is encoded (the
 * library calls flush() after every group) and hashes the bytes on the way.
 */
function fileSink(fh: FileHandle, hash: Hash): Writer {
  const writer = new ByteWriter(1 << 20) as ByteWriter & Writer;
  const drain = async () => {
    if (writer.index === 0) return;
    // A copy: the buffer is reused for the next group while the write is still pending otherwise.
    const chunk = new Uint8Array(writer.buffer, 0, writer.index).slice();
    writer.index = 0;
    hash.update(chunk);
    await fh.write(chunk);
  };
  writer.flush = drain;
  writer.finish = drain;
  return writer;
}

class OpenShard {
  private readonly hash = createHash('sha256');
  private pq: ParquetWriter | undefined;
  rows = 0;
  bytes = 0;

  private constructor(
    readonly tmp: string,
    private readonly fh: FileHandle,
    private readonly schema: SchemaElement[],
  ) {}

  static async open(tmp: string, schema: SchemaElement[]): Promise<OpenShard> {
    await mkdir(dirname(tmp), { recursive: true });
    return new OpenShard(tmp, await open(tmp, 'w'), schema);
  }

  /** Writes one row group (the writer flushes it to the file). */
  async writeGroup(columnData: Array<{ name: string; data: unknown[] }>, rows: number, bytes: number): Promise<void> {
    this.pq ??= new ParquetWriter({ writer: fileSink(this.fh, this.hash), schema: this.schema, createdBy: PARQUET_CREATED_BY });
    await this.pq.write({ columnData, rowGroupSize: rows });
    this.rows += rows;
    this.bytes += bytes;
  }

  async close(): Promise<ClosedShard> {
    if (!this.pq) throw new Error(`parquet shard ${this.tmp} has no rows`);
    await this.pq.finish();
    await this.fh.sync();
    await this.fh.close();
    return { tmp: this.tmp, sha256: this.hash.digest('hex'), rows: this.rows };
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
  }
}

/**
 * One file's rows as Parquet shards (`prefix` data/train gives data/train-00000-of-00002.parquet
 * ...). `write` takes rows in output order; `finish` closes the last shard and names them all
 * (`-of-N` is known only then); nothing is visible under a final name until export/commit.ts renames
 * the staged files.
 */
export class StagedParquetShards implements RowSink {
  private readonly schema: SchemaElement[];
  private readonly columns: string[];
  private readonly integer: Set<string>;
  private group: Record<string, unknown>[] = [];
  private groupBytes = 0;
  private shard: OpenShard | undefined;
  private readonly closed: ClosedShard[] = [];
  rows = 0;

  constructor(
    private readonly outDir: string,
    readonly prefix: string,
    features: Record<string, Feature>,
    /** Rows per shard at most (--shard-rows); shards are cut at SHARD_BYTES too. */
    private readonly shardRows: number = Number.POSITIVE_INFINITY,
  ) {
    this.schema = parquetSchemaFor(features);
    this.columns = Object.keys(features);
    this.integer = new Set(Object.entries(features).filter(([, t]) => t === 'int64').map(([c]) => c));
  }

  async write(row: object): Promise<void> {
    const bytes = rowBytes(row as Record<string, unknown>);
    this.group.push(row as Record<string, unknown>);
    this.groupBytes += bytes;
    this.rows++;
    const inShard = (this.shard?.rows ?? 0) + this.group.length;
    const shardBytes = (this.shard?.bytes ?? 0) + this.groupBytes;
    if (inShard >= this.shardRows || shardBytes >= SHARD_BYTES) {
      await this.flushGroup();
      await this.closeShard();
    } else if (this.group.length >= ROW_GROUP_ROWS || this.groupBytes >= ROW_GROUP_BYTES) {
      await this.flushGroup();
    }
  }

  private async flushGroup(): Promise<void> {
    if (this.group.length === 0) return;
    this.shard ??= await OpenShard.open(tempPathFor(join(this.outDir, `${this.prefix}-${this.closed.length}.parquet`)), this.schema);
    const rows = this.group;
    const columnData = this.columns.map((name) => ({
      name,
      // INT64 columns take bigints; every other value goes in as the row holds it.
      data: this.integer.has(name) ? rows.map((r) => BigInt(r[name] as number)) : rows.map((r) => r[name]),
    }));
    await this.shard.writeGroup(columnData, rows.length, this.groupBytes);
    this.group = [];
    this.groupBytes = 0;
  }

  private async closeShard(): Promise<void> {
    if (!this.shard) return;
    const shard = this.shard;
    this.shard = undefined;
    this.closed.push(await shard.close());
  }

  /** Every shard complete on disk, with its final name; none when there was no row. */
  async finish(): Promise<StagedParquetFile[]> {
    await this.flushGroup();
    await this.closeShard();
    return this.closed.map((s, i) => ({ ...s, path: join(this.outDir, parquetShardPath(this.prefix, i, this.closed.length)) }));
  }

  async abort(): Promise<void> {
    await this.shard?.abort();
    this.shard = undefined;
    await Promise.all(this.closed.map((s) => rm(s.tmp, { force: true })));
  }
}

/**
 * What `corpus-qa verify` checks in Parquet output: each file's footer (read with hyparquet) has
 * the schema the card's features give (activities/parquet.ts derives both from one table), its
 * row count adds up, and a file's shards are complete: -00000-of-0000N up to N-1, no more.
 * The footer is all that is read, so a file of any size is checked in a few KB of memory.
 */
import { parquetMetadata, type FileMetaData } from 'hyparquet';
import type { Feature } from '../../activities/datasetCard.js';
import { PARQUET_SHARD_NAME, parquetSchemaFor, parquetShardPath } from '../../activities/parquet.js';
import type { OutputStore } from '../../activities/storage.js';

export class ParquetCheckError extends Error {}

/** The metadata of the file `rel` of `store`, from its footer alone. */
export async function readParquetFooter(store: OutputStore, rel: string): Promise<FileMetaData> {
  const size = await store.size(rel);
  if (size === undefined) throw new ParquetCheckError(`${rel}: missing`);
  if (size < 12) throw new ParquetCheckError(`${rel}: ${size} bytes, too short for a Parquet file`);
  const tail = Buffer.from((await store.readBytes(rel, { offset: size - 8, length: 8 })) ?? []);
  if (tail.toString('latin1', 4) !== 'PAR1') throw new ParquetCheckError(`${rel}: not a Parquet file (no PAR1 at its end)`);
  const length = tail.readUInt32LE(0);
  if (length + 12 > size) throw new ParquetCheckError(`${rel}: footer length ${length} is more than the file holds`);
  const footer = (await store.readBytes(rel, { offset: size - length - 8, length: length + 8 })) ?? new Uint8Array();
  try {
    return parquetMetadata(new Uint8Array(footer.buffer, footer.byteOffset, footer.byteLength));
  } catch (err) {
    throw new ParquetCheckError(`${rel}: footer does not parse (${(err as Error).message})`);
  }
}

/** Top-level column names of a Parquet file, in order. */
export function parquetColumns(meta: FileMetaData): string[] {
  const columns: string[] = [];
  let i = 1;
  const skip = (at: number): number => {
    let next = at + 1;
    for (let c = 0; c < (meta.schema[at]?.num_children ?? 0); c++) next = skip(next);
    return next;
  };
  while (i < meta.schema.length) {
    columns.push(meta.schema[i]!.name);
    i = skip(i);
  }
  return columns;
}

/** The shards of `prefix` (data/train) present in the store, in name order. */
export async function parquetShardsOf(store: OutputStore, prefix: string): Promise<string[]> {
  const slash = prefix.lastIndexOf('/');
  const dir = prefix.slice(0, slash);
  const base = prefix.slice(slash + 1);
  return (await store.list(dir))
    .filter((n) => PARQUET_SHARD_NAME.exec(n)?.[1] === base)
    .sort()
    .map((n) => `${dir}/${n}`);
}

/** Every Parquet shard under data/, rejected/ and errors/, whatever its prefix, in name order. */
export async function allParquetShards(store: OutputStore): Promise<string[]> {
  const found: string[] = [];
  for (const dir of ['data', 'rejected', 'errors']) {
    for (const n of (await store.list(dir)).sort()) if (PARQUET_SHARD_NAME.test(n)) found.push(`${dir}/${n}`);
  }
  return found;
}

const describe = (e: { name: string; type?: string; repetition_type?: string; converted_type?: string; num_children?: number }) =>
  `${e.name}:${e.type ?? 'group'}:${e.repetition_type ?? ''}:${e.converted_type ?? ''}:${e.num_children ?? 0}`;

/**
 * Checks the shards of one file (data/train-…): numbered 0..N-1 of N, each with the schema of
 * `features`. Returns the rows of each shard; none when there is no shard.
 */
export async function checkParquetShards(store: OutputStore, prefix: string, features: Record<string, Feature>): Promise<Record<string, number>> {
  const shards = await parquetShardsOf(store, prefix);
  const rows: Record<string, number> = {};
  const expected = parquetSchemaFor(features).slice(1).map(describe);
  // The set is -00000-of-N to -(N-1)-of-N, N as the shards say; name the first one that is not.
  const counts = new Set(shards.map((rel) => Number(PARQUET_SHARD_NAME.exec(rel.slice(rel.lastIndexOf('/') + 1))![3])));
  if (counts.size > 1) throw new ParquetCheckError(`${prefix}-*.parquet: shards of ${[...counts].join(' and ')} files side by side (left over from another export)`);
  const count = [...counts][0] ?? 0;
  for (let i = 0; i < count; i++) {
    const rel = parquetShardPath(prefix, i, count);
    if (!shards.includes(rel)) throw new ParquetCheckError(`${rel}: missing (${shards.length} of the ${count} shards of ${prefix} are present)`);
  }
  if (shards.length !== count) throw new ParquetCheckError(`${prefix}-*.parquet: ${shards.length} shards present, their names say ${count}`);
  for (const rel of shards) {
    const meta = await readParquetFooter(store, rel);
    const actual = meta.schema.slice(1).map(describe);
    if (actual.join(',') !== expected.join(',')) {
      const differs = actual.findIndex((a, j) => a !== expected[j]);
      const at = differs === -1 ? actual.length : differs;
      throw new ParquetCheckError(`${rel}: schema element ${at + 1} is ${actual[at] ?? '(none)'}, the card's features give ${expected[at] ?? '(none)'}`);
    }
    rows[rel] = Number(meta.num_rows);
  }
  return rows;
}

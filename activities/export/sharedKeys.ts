/**
 * Which duplicate and leakage keys occur in more than one pair of the corpus: a pass over the
 * shards before the export's rows, for corpora too big for an index of every pair (the indexes
 * of activities/dedup.ts and exportStats.ts take ~80 bytes a pair: ~1 GB at 1M documents).
 *
 * A key that is not shared belongs to one pair only, so no other pair can match it and the
 * indexes need not hold it: with this set they hold the shared keys alone, and their verdicts
 * are the ones an index of every pair gives. The pass partitions on disk:
 * keys go to PARTITIONS files by their first byte, then each file is counted on its own, so
 * memory is one partition's table plus the shared keys.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ShardPair } from '../../schemas/index.js';
import { corpusDedupKeys } from '../dedup.js';
import { leakageKeys } from '../exportStats.js';
import { KEY_BYTES, KeyTable } from '../keyTable.js';
import { removeEntriesStartingWith } from '../storage.js';

/** From this many documents an export finds the shared keys first (CORPUS_QA_SHARED_KEYS_FROM overrides it, for tests). */
export const SHARED_KEYS_FROM_DOCUMENTS = 200_000;

export function findsSharedKeys(documents: number): boolean {
  const given = process.env.CORPUS_QA_SHARED_KEYS_FROM;
  const from = given ? Number(given) : SHARED_KEYS_FROM_DOCUMENTS;
  return documents >= (Number.isFinite(from) ? from : SHARED_KEYS_FROM_DOCUMENTS);
}

const PARTITIONS = 64;
const FOLDER_PREFIX = 'shared-keys-';
const BUFFER_KEYS = 8192;

/**
 * One export runs per output directory at a time, so a partition folder there is a killed
 * export's: every export removes them before it decides on shared keys, whatever its size (a
 * big corpus whose next run is small would otherwise keep them for good).
 */
export async function removeLeftoverPartitions(parent: string): Promise<void> {
  await removeEntriesStartingWith(parent, FOLDER_PREFIX);
}

/** The keys of a corpus, written to partition files as they come; `shared()` counts them. */
export class KeyPartitions {
  private readonly buffers = Array.from({ length: PARTITIONS }, () => Buffer.alloc(BUFFER_KEYS * KEY_BYTES));
  private readonly filled = new Array<number>(PARTITIONS).fill(0);
  private readonly files: Array<FileHandle | undefined> = new Array(PARTITIONS).fill(undefined);
  private readonly opened = new Set<number>();
  keys = 0;

  private constructor(private readonly dir: string) {}

  /**
   * Partition files in a folder of their own under `parent` (removed by `shared` or `discard`).
   * Leftovers of a killed export were removed before (removeLeftoverPartitions, by writeRows).
   */
  static async open(parent: string): Promise<KeyPartitions> {
    const dir = join(parent, `${FOLDER_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    return new KeyPartitions(dir);
  }

  async add(key: Uint8Array): Promise<void> {
    // Keys are sha256 prefixes, so their first byte spreads them evenly.
    const p = key[0]! % PARTITIONS;
    this.buffers[p]!.set(key, this.filled[p]! * KEY_BYTES);
    this.keys++;
    if (++this.filled[p]! === BUFFER_KEYS) await this.flush(p);
  }

  private async flush(p: number): Promise<void> {
    if (this.filled[p] === 0) return;
    const file = (this.files[p] ??= await open(join(this.dir, `${p}.keys`), 'a'));
    this.opened.add(p);
    const length = this.filled[p]! * KEY_BYTES;
    // A short write (a full disk) would lose keys and change verdicts without a word.
    for (let done = 0; done < length; ) done += (await file.write(this.buffers[p]!, done, length - done)).bytesWritten;
    this.filled[p] = 0;
  }

  /** The keys added more than once, in a table of no values; the partition files are removed. */
  async shared(): Promise<KeyTable> {
    const shared = new KeyTable(0);
    try {
      for (let p = 0; p < PARTITIONS; p++) {
        await this.flush(p);
        await this.files[p]?.close();
        this.files[p] = undefined;
        // A partition no key went to has no file; any other failure to read one is thrown.
        const bytes = this.opened.has(p) ? await readFile(join(this.dir, `${p}.keys`)) : Buffer.alloc(0);
        const counts = new KeyTable(1);
        const once = [1];
        for (let o = 0; o < bytes.length; o += KEY_BYTES) {
          const key = bytes.subarray(o, o + KEY_BYTES);
          const seen = counts.get(key);
          if (!seen) counts.set(key, once);
          else if (seen[0] === 1) {
            seen[0] = 2;
            shared.set(key, []);
          }
        }
      }
    } finally {
      await this.discard();
    }
    return shared;
  }

  async discard(): Promise<void> {
    for (const f of this.files) await f?.close().catch(() => undefined);
    this.files.fill(undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * The keys more than one of `pairs` has: their corpus-wide duplicate keys and, with `leakage`,
 * their leakage keys. `pairs` are the ones the corpus-wide checks will see, in any order.
 */
export async function sharedKeysOf(pairs: AsyncIterable<ShardPair>, leakage: boolean, parent: string): Promise<KeyTable> {
  const partitions = await KeyPartitions.open(parent);
  try {
    for await (const p of pairs) {
      for (const key of corpusDedupKeys(p)) if (key) await partitions.add(key);
      if (leakage) for (const key of leakageKeys(p)) if (key) await partitions.add(key);
    }
  } catch (err) {
    await partitions.discard();
    throw err;
  }
  return partitions.shared();
}

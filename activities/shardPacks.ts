/**
 * Document results ("shards") packed per batch. A batch writes the shards of the documents it
 * finished as one pack (shards/packs/<name>.json), then the list of their keys beside it
 * (<name>.keys.json): a 1M-document run is a few thousand files, not a million. A pack is
 * complete once its keys file is there (each is written atomically, the keys second). Packs
 * are never rewritten: a name is the time it was written and a hash of its keys.
 *
 * A shard is still found by its key (the content and settings, not the path), whichever batch,
 * worker or run wrote it: each process keeps a catalog of the packs under <out>, key → pack,
 * refreshed from the pack folder's listing (only keys files it has not seen are read). Its keys
 * are 12-byte prefixes in a typed-array table (activities/keyTable.ts), about 32 bytes a
 * document; a prefix that matches another key is caught when the pack is read (its keys are
 * compared whole) and is then a cache miss, never a wrong shard.
 */
import type { ShardContent } from '../schemas/index.js';
import { ShardPack, ShardPackKeys } from '../schemas/index.js';
import { KEY_BYTES, KeyTable } from './keyTable.js';
import { PACK_KEYS_SUFFIX, readParsedFrom, sha256Hex, STATE_FILES, STATE_NAMES, storeFor } from './storage.js';

/** A pack is written once it holds this many shards or bytes of them, whichever comes first. */
export const MAX_PACK_SHARDS = 1000;
export const MAX_PACK_BYTES = 4 * 1024 * 1024;

/** The shards a batch finished, collected as they finish and written as one pack. */
export class ShardPackWriter {
  /** Shards added and not written yet, by key, with their JSON (made once, when added). */
  private shards = new Map<string, { shard: ShardContent; text: string }>();
  private bytes = 0;

  constructor(private readonly outDir: string) {}

  add(key: string, shard: ShardContent): void {
    const text = JSON.stringify(shard);
    this.bytes += text.length - (this.shards.get(key)?.text.length ?? 0);
    this.shards.set(key, { shard, text });
  }

  /** A shard added and not written yet: a copy of a file later in the same batch is not processed again. */
  find(key: string): ShardContent | undefined {
    return this.shards.get(key)?.shard;
  }

  /** What a batch looks shards up in: this writer's, then the stored ones (undefined: --no-cache). */
  lookup(stored: ShardLookup | undefined): ShardLookup | undefined {
    return stored && { read: async (key, warn) => this.find(key) ?? stored.read(key, warn) };
  }

  get full(): boolean {
    return this.shards.size >= MAX_PACK_SHARDS || this.bytes >= MAX_PACK_BYTES;
  }

  /**
   * Writes what was added as one pack, and forgets it. Synchronously takes what is there, so
   * every document a caller's snapshot of its progress (taken right before) counts is in it.
   */
  async flush(): Promise<void> {
    if (this.shards.size === 0) return;
    const keys = [...this.shards.keys()];
    const texts = [...this.shards.values()].map((s) => s.text);
    this.shards = new Map();
    this.bytes = 0;
    // Named by when it was written, then by its keys: where two packs hold a key (documents
    // processed again with --no-cache, whose LLM replies may differ), the later one counts.
    const name = `${Date.now().toString(36).padStart(9, '0')}-${sha256Hex(keys.join('\n')).slice(0, 16)}`;
    const store = storeFor(this.outDir);
    // fsynced: the heartbeat says these documents are done once this returns, and a power loss
    // must not take a pack of them back (one fsync per pack, every few seconds, costs little).
    await store.write(STATE_NAMES.shardPack(name), `{"keys":${JSON.stringify(keys)},"shards":[${texts.join(',')}]}`, true);
    await store.write(STATE_NAMES.shardPackKeys(name), JSON.stringify(keys), true);
    catalogs.get(this.outDir)?.register(name, keys);
  }
}

export interface ShardLookup {
  read(key: string, warn?: (message: string) => void): Promise<ShardContent | undefined>;
}

interface OpenPack {
  at: Map<string, number>;
  shards: ShardContent[];
}

/**
 * Packs a reader keeps parsed: a batch's cache hits and an export's reads come from one or two
 * at a time (in manifest order). Each reader has its own, so batches running at once do not
 * evict each other's.
 */
const OPEN_PACKS = 2;
/** Keys files read at once when a catalog catches up with many new packs. */
const READS_IN_FLIGHT = 16;

/** Which pack holds each key, for the packs under one <out>. */
export class ShardCatalog {
  private names: string[] = [];
  private numbers = new Map<string, number>();
  private table = new KeyTable(1);
  private refreshing: Promise<void> | undefined;
  /** When the last listing started (Date.now()); 0: never. */
  listedAt = 0;

  constructor(private readonly outDir: string) {}

  get packs(): number {
    return this.names.length;
  }

  /** Catches up with the pack folder: packs written since are added; if any pack is gone (a clean), starts over. */
  refresh(warn?: (message: string) => void): Promise<void> {
    // One listing at a time: batches starting together share it.
    this.refreshing ??= this.catchUp(warn).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async catchUp(warn?: (message: string) => void): Promise<void> {
    const store = storeFor(this.outDir);
    this.listedAt = Date.now();
    // Only packs known before the listing can be missing from it: one this process writes
    // meanwhile is registered, and may be too new to be listed.
    const known = this.names.length;
    const listed = (await store.list(STATE_FILES.shardPacks)).filter((f) => f.endsWith(PACK_KEYS_SUFFIX)).map((f) => f.slice(0, -PACK_KEYS_SUFFIX.length));
    const present = new Set(listed);
    if (this.names.slice(0, known).some((n) => !present.has(n))) this.clear();
    const fresh = listed.filter((n) => !this.numbers.has(n)).sort();
    for (let i = 0; i < fresh.length; i += READS_IN_FLIGHT) {
      const group = fresh.slice(i, i + READS_IN_FLIGHT);
      const keyLists = await Promise.all(group.map((n) => readParsedFrom(store, STATE_NAMES.shardPackKeys(n), ShardPackKeys, warn)));
      group.forEach((n, j) => {
        const keys = keyLists[j];
        if (keys) this.register(n, keys);
      });
    }
  }

  /** A pack this process has just written (so the next refresh need not read its keys). */
  register(name: string, keys: readonly string[]): void {
    if (this.numbers.has(name)) return;
    const number = this.names.length;
    this.names.push(name);
    this.numbers.set(name, number);
    const value = [number];
    for (const key of keys) {
      const k = keyBytes(key);
      const held = this.table.get(k);
      // The later pack counts, in whatever order this process comes to know them.
      if (!held || this.names[held[0]!]! < name) this.table.set(k, value);
    }
  }

  /** The pack that holds `key`, as far as this catalog knows. */
  packOf(key: string): string | undefined {
    const slot = this.table.get(keyBytes(key));
    return slot && this.names[slot[0]!];
  }

  /** Reads shards with a small cache of parsed packs of its own (one per batch, one per export). */
  reader(): ShardLookup {
    const open = new Map<string, Promise<OpenPack | undefined>>();
    const openPack = (name: string, warn?: (message: string) => void): Promise<OpenPack | undefined> => {
      let pack = open.get(name);
      if (pack) {
        open.delete(name); // most recently used last
      } else {
        pack = readParsedFrom(storeFor(this.outDir), STATE_NAMES.shardPack(name), ShardPack, warn).then(
          (p) => p && { at: new Map(p.keys.map((k, i) => [k, i])), shards: p.shards },
        );
        if (open.size >= OPEN_PACKS) open.delete(open.keys().next().value!);
      }
      open.set(name, pack);
      return pack;
    };
    return {
      read: async (key, warn) => {
        const name = this.packOf(key);
        if (name === undefined) return undefined;
        const pack = await openPack(name, warn);
        const at = pack?.at.get(key);
        return at === undefined ? undefined : pack!.shards[at];
      },
    };
  }

  private clear(): void {
    this.names = [];
    this.numbers.clear();
    this.table = new KeyTable(1);
  }
}

/** Catalogs of the outputs this process works on (a test's worker serves many; a CLI's one). */
const catalogs = new Map<string, ShardCatalog>();
const CATALOGS_KEPT = 4;

/**
 * The catalog of <out>'s packs, caught up with its pack folder if its last look is older than
 * `maxAgeMs` (0: now). A catalog a little behind only misses packs other workers wrote since,
 * whose documents a batch would then process again; an export always looks now.
 */
export async function shardCatalog(outDir: string, opts: { maxAgeMs?: number; warn?: (message: string) => void } = {}): Promise<ShardCatalog> {
  let catalog = catalogs.get(outDir);
  if (catalog) {
    catalogs.delete(outDir);
  } else {
    catalog = new ShardCatalog(outDir);
    if (catalogs.size >= CATALOGS_KEPT) catalogs.delete(catalogs.keys().next().value!);
  }
  catalogs.set(outDir, catalog);
  if (Date.now() - catalog.listedAt >= (opts.maxAgeMs ?? 0)) await catalog.refresh(opts.warn);
  return catalog;
}

/** Documents with a stored shard, for a status report: the keys of the packs, and shards of earlier versions' one file each. */
export async function storedShardCount(outDir: string): Promise<number> {
  const store = storeFor(outDir);
  let n = 0;
  for (const f of await store.list(STATE_FILES.shardPacks)) {
    if (f.endsWith(PACK_KEYS_SUFFIX)) n += (await readParsedFrom(store, `${STATE_FILES.shardPacks}/${f}`, ShardPackKeys))?.length ?? 0;
  }
  for (const dir of await store.list(STATE_FILES.shards)) {
    if (dir !== 'packs') n += (await store.list(`${STATE_FILES.shards}/${dir}`)).filter((f) => f.endsWith('.json') && !f.includes('.part-')).length;
  }
  return n;
}

/** A shard key (64 hex digits) as the table's key: its first 12 bytes. */
function keyBytes(key: string): Uint8Array {
  return Buffer.from(key.slice(0, KEY_BYTES * 2), 'hex');
}

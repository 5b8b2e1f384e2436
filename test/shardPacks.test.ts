/**
 * Shards packed per batch (activities/shardPacks.ts): a batch's documents are a pack and its keys
 * file, not a file each; a shard is still found by its content wherever it is in the corpus; a
 * damaged pack is a cache miss; the heartbeat's cursor never passes a document whose shard is
 * not on disk; and an export still reads the one-file-per-document shards of earlier versions.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportDataset } from '../activities/export.js';
import { closeExtractionPool } from '../activities/extract/pool.js';
import { readManifestRange } from '../activities/manifest.js';
import { processBatch, shardKeyFor, shardSettingsKey, type BatchProgress } from '../activities/processBatch.js';
import { PACK_KEYS_SUFFIX, shardPath } from '../activities/paths.js';
import { ShardCatalog, ShardPackWriter, storedShardCount } from '../activities/shardPacks.js';
import { ShardPack, type ShardContent } from '../schemas/index.js';
import { discover, exportInput } from './helpers/directRun.js';
import { tempDir, treeHashes } from './helpers/files.js';
import { countShards, storedShardKeys } from './helpers/processes.js';

afterAll(() => closeExtractionPool());

const DOCUMENTS = 24;

const RIVERS = ['Avon', 'Tamar', 'Severn', 'Dee', 'Wye', 'Exe', 'Test', 'Tees'];
const TOWNS = ['Bath', 'Truro', 'Gloucester', 'Chester', 'Hereford', 'Exeter', 'Romsey', 'Yarm'];

function writeCorpus(): string {
  const root = tempDir('packs');
  for (let i = 0; i < DOCUMENTS; i++) {
    const river = RIVERS[i % RIVERS.length]!;
    const town = `${TOWNS[(i * 5) % TOWNS.length]!} ${i}`;
    mkdirSync(join(root, `part-${i % 3}`), { recursive: true });
    writeFileSync(
      join(root, `part-${i % 3}`, `station-${i}.md`),
      `# Station ${i}\n\nStation ${i} is a pumping station that moves water from the ${river} river to the town of ${town}. ` +
        `It was built in ${1950 + i} and rebuilt in ${1990 + i}.\n\n` +
        `The main pump of station ${i} is a centrifugal pump with a capacity of ${100 + i * 7} litres per second. ` +
        `The ${town} reservoir is a lake that stores ${20 + i} million litres of the water that station ${i} pumps.\n`,
    );
  }
  return root;
}

function packFiles(out: string): string[] {
  return readdirSync(join(out, '.corpus-qa', 'shards', 'packs')).sort();
}

async function batch(root: string, out: string, hooks: { onProcess?: (s: string) => void | Promise<void>; heartbeat?: (d: BatchProgress) => void; warn?: (m: string) => void } = {}) {
  const { run, discovery } = await discover(root, out, { generateQa: true });
  const processed: string[] = [];
  const summary = await processBatch(
    { run, manifestKey: discovery.manifestKey, start: 0, end: discovery.documents },
    {
      heartbeat: hooks.heartbeat ?? (() => undefined),
      warn: hooks.warn,
      onProcess: async (s) => {
        processed.push(s);
        await hooks.onProcess?.(s);
      },
    },
  );
  return { run, discovery, summary, processed };
}

describe('shards packed per batch', () => {
  it('stores a batch as one pack and its keys, and finds each shard by content in a later manifest', async () => {
    const root = writeCorpus();
    const out = tempDir('packs-out');
    const first = await batch(root, out);
    expect(first.processed.length).toBe(DOCUMENTS);
    // Nothing but packs: no file per document (a batch of well under 2 s is one pack, two on a
    // machine slow enough to take longer).
    expect(readdirSync(join(out, '.corpus-qa', 'shards'))).toEqual(['packs']);
    const files = packFiles(out);
    expect(files.filter((f) => f.endsWith(PACK_KEYS_SUFFIX)).length).toBeLessThanOrEqual(2);
    expect(files.length % 2).toBe(0); // each pack with its keys
    expect(countShards(out)).toBe(DOCUMENTS);
    expect(await storedShardCount(out)).toBe(DOCUMENTS); // what `corpus-qa status` says when no worker answers

    // Files moved to other folders: another manifest, other batches, the same shards.
    renameSync(join(root, 'part-1'), join(root, 'moved'));
    const again = await batch(root, out);
    expect(again.discovery.manifestKey).not.toBe(first.discovery.manifestKey);
    expect(again.processed).toEqual([]);
    expect(again.summary.counters.cacheHits).toBe(DOCUMENTS);
    expect(first.summary.counters.pairsPassed).toBeGreaterThanOrEqual(DOCUMENTS);
    expect(again.summary.counters.pairsPassed).toBe(first.summary.counters.pairsPassed);
    expect(packFiles(out)).toEqual(files); // nothing new to store
  });

  it('does not process a copy of a file again later in the same batch, before its pack is written', async () => {
    const root = writeCorpus();
    writeFileSync(join(root, 'zz-copy.md'), readFileSync(join(root, 'part-0', 'station-0.md')));
    const out = tempDir('packs-out');
    const { summary, processed } = await batch(root, out);
    expect(summary.counters.documentsDone).toBe(DOCUMENTS + 1);
    expect(processed).not.toContain('zz-copy.md');
    expect(summary.counters.cacheHits).toBe(1);
    expect(countShards(out)).toBe(DOCUMENTS); // the copy is not stored twice either
  });

  it('processes the documents of a damaged pack again, and says which pack it was', async () => {
    const root = writeCorpus();
    const out = tempDir('packs-out');
    await batch(root, out);
    const pack = packFiles(out).find((f) => !f.endsWith(PACK_KEYS_SUFFIX))!;
    truncateSync(join(out, '.corpus-qa', 'shards', 'packs', pack), 100);
    const warnings: string[] = [];
    const again = await batch(root, out, { warn: (m) => warnings.push(m) });
    expect(again.processed.length).toBe(DOCUMENTS);
    expect(warnings.some((w) => w.includes(pack) && /not JSON/.test(w))).toBe(true);
    // Stored again, whole: a third batch processes nothing.
    expect((await batch(root, out)).processed).toEqual([]);
  });

  it('never moves the heartbeat past a document whose shard is not stored yet', async () => {
    const root = writeCorpus();
    const out = tempDir('packs-out');
    // The shard keys in manifest order (discovery gives the batch the same manifest again).
    const { run, discovery } = await discover(root, out, { generateQa: true });
    const settingsKey = shardSettingsKey(run);
    const keys = (await readManifestRange(out, discovery.manifestKey, 0, DOCUMENTS)).map((e) => shardKeyFor(e, settingsKey));
    const beats: Array<{ next: number; missing: number }> = [];
    // 150 ms a document: the batch outlasts a pack's 2 s, so it stores a pack mid-way.
    const { summary } = await batch(root, out, {
      onProcess: () => new Promise((r) => setTimeout(r, 150)),
      heartbeat: (d) => {
        const stored = storedShardKeys(out);
        beats.push({ next: d.next, missing: keys.slice(0, d.next).filter((k) => !stored.has(k)).length });
      },
    });
    expect(summary.counters.documentsDone).toBe(DOCUMENTS);
    for (const b of beats) expect(b, `heartbeat at ${b.next}`).toMatchObject({ missing: 0 });
    expect(beats.some((b) => b.next > 0 && b.next < DOCUMENTS)).toBe(true);
    expect(packFiles(out).length).toBeGreaterThanOrEqual(4);
    expect(beats.at(-1)!.next).toBe(DOCUMENTS);
  });

  it('exports the same bytes from shards stored one file per document, as earlier versions did', async () => {
    const root = writeCorpus();
    const out = tempDir('packs-out');
    const { run, discovery, summary } = await batch(root, out);
    const deps = { toolVersion: 'test', sdkVersion: 'test', serverVersion: 'test', heartbeat: () => undefined };
    const input = { ...exportInput(run, discovery), counters: summary.counters };
    await exportDataset(input, deps);
    const packed = treeHashes(out);
    const packsDir = join(out, '.corpus-qa', 'shards', 'packs');
    for (const f of readdirSync(packsDir).filter((n) => !n.endsWith(PACK_KEYS_SUFFIX))) {
      const pack = ShardPack.parse(JSON.parse(readFileSync(join(packsDir, f), 'utf8')));
      pack.keys.forEach((key, i) => {
        mkdirSync(join(shardPath(out, key), '..'), { recursive: true });
        writeFileSync(shardPath(out, key), JSON.stringify(pack.shards[i]));
      });
    }
    rmSync(packsDir, { recursive: true });
    await exportDataset(input, deps);
    const legacy = treeHashes(out);
    expect(readFileSync(join(out, 'data', 'train.jsonl'), 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(DOCUMENTS / 2);
    expect(legacy).toEqual(packed);
  });

  it('reads a key from the later of two packs that hold it, in whichever order it learns of them', async () => {
    const out = tempDir('packs-out');
    const key = 'ab'.repeat(32);
    const shard = (detail: string): ShardContent => ({ status: 'error', stage: 'load', reason: 'unreadable', detail, durationsMs: { load: 0, chunk: 0, generate: 0, validate: 0 } });
    const writer = new ShardPackWriter(out);
    writer.add(key, shard('first'));
    await writer.flush();
    await new Promise((r) => setTimeout(r, 5));
    writer.add(key, shard('second'));
    await writer.flush();
    const [older, newer] = packFiles(out).filter((f) => f.endsWith(PACK_KEYS_SUFFIX)).map((f) => f.slice(0, -PACK_KEYS_SUFFIX.length));
    expect(older! < newer!).toBe(true);

    const listing = new ShardCatalog(out);
    await listing.refresh();
    expect(await listing.reader().read(key)).toMatchObject({ detail: 'second' });
    // Told of the newer pack first (it wrote it), then finding the older one in the folder.
    const writing = new ShardCatalog(out);
    writing.register(newer!, [key]);
    await writing.refresh();
    expect(writing.packs).toBe(2);
    expect(await writing.reader().read(key)).toMatchObject({ detail: 'second' });
  });
});

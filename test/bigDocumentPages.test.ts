/**
 * A document of more than one page of chunks (activities/pipeline.ts DEFAULT_CHUNKS_PER_PAGE)
 * is generated, validated and stored page by page, its shard in parts. Page size must not show
 * in the output: runs with one page for everything (as before paging) and with pages of a few
 * chunks give the same rows, byte for byte. Real files, real extraction threads, the real
 * built-in generator and export; the page size is made small so that the test stays fast.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverCorpus } from '../activities/discover.js';
import { exportDataset } from '../activities/export.js';
import { closeExtractionPool } from '../activities/extract/pool.js';
import { nfc } from '../activities/extract/normalize.js';
import { processBatch } from '../activities/processBatch.js';
import { resolveRunInput } from '../client/runOptions.js';
import { emptyCounters, ShardContent, ShardPack, ShardPart } from '../schemas/index.js';
import { PACK_KEYS_SUFFIX } from '../activities/paths.js';
import { GOOD_DOCS, writeGoodDocs } from './helpers/corpus.js';
import { readJsonl, tempDir, treeHashes } from './helpers/files.js';

afterAll(() => closeExtractionPool());

/** The good documents, and one long document made of all of them three times over. */
function writeCorpus(): string {
  const root = tempDir('pages');
  writeGoodDocs(root);
  const texts = Object.entries(GOOD_DOCS).filter(([rel]) => rel.endsWith('.txt') || rel.endsWith('.md')).map(([, t]) => t);
  writeFileSync(join(root, 'long.txt'), Array.from({ length: 3 }, () => texts.join('\n\n')).join('\n\n'));
  return root;
}

async function run(root: string, opts: { chunksPerPage: number; generateQa: boolean; out?: string }) {
  const out = opts.out ?? tempDir('pages-out');
  const run = resolveRunInput({ inputDir: root, outDir: out, generateQa: opts.generateQa, chunkSize: 300, chunkOverlap: 60 });
  const discovery = await discoverCorpus({ inputDir: run.inputDir, outDir: out, globs: [], maxFileBytes: run.settings.maxFileBytes });
  const processed: string[] = [];
  const batch = await processBatch(
    { run, manifestKey: discovery.manifestKey, start: 0, end: discovery.documents },
    { heartbeat: () => undefined, chunksPerPage: opts.chunksPerPage, onProcess: (s) => { processed.push(s); } },
  );
  await exportDataset(
    {
      run,
      manifestKey: discovery.manifestKey,
      documents: discovery.documents,
      skipped: discovery.skipped,
      warnings: discovery.warnings,
      counters: batch.counters,
      durationsMs: { discover: 0, process: 0, total: 0 },
      workflow: { id: 'direct', runId: 'direct', firstRunId: 'direct', runs: 1 },
    },
    { toolVersion: 'test', sdkVersion: 'test', serverVersion: 'test', heartbeat: () => undefined },
  );
  return { out, counters: batch.counters, processed };
}

function shardFiles(out: string): { parts: string[] } {
  const dir = join(out, '.corpus-qa', 'shards');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('.part-')).map((f) => join(dir, f));
  return { parts: files.sort() };
}

/** The shards as stored (in the run's packs), in key order, without their timings (which differ between any two runs). */
function shardsWithoutTimings(out: string): unknown[] {
  const dir = join(out, '.corpus-qa', 'shards', 'packs');
  const byKey = new Map<string, ShardContent>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json') && !n.endsWith(PACK_KEYS_SUFFIX))) {
    const pack = ShardPack.parse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    pack.keys.forEach((k, i) => byKey.set(k, pack.shards[i]!));
  }
  return [...byKey.keys()].sort().map((k) => ({ ...byKey.get(k)!, durationsMs: undefined }));
}

/** What stats.json says about the data, without its timings. */
function statsWithoutTimings(out: string): unknown {
  const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as Record<string, unknown>;
  return { ...stats, durationsMs: undefined };
}

describe('a document bigger than one page of chunks', () => {
  const root = writeCorpus();

  it('gives the same pairs, rejections and counts as one page, its shard in parts of a page each', async () => {
    const whole = await run(root, { chunksPerPage: 1_000_000, generateQa: true });
    const paged = await run(root, { chunksPerPage: 4, generateQa: true });

    const data = (out: string) => Object.fromEntries(Object.entries(treeHashes(out)).filter(([f]) => f !== 'stats.json' && f !== 'README.md'));
    expect(data(paged.out)).toEqual(data(whole.out));
    expect(statsWithoutTimings(paged.out)).toEqual(statsWithoutTimings(whole.out));
    expect({ ...paged.counters, durationsMs: undefined }).toEqual({ ...whole.counters, durationsMs: undefined });

    // The test means something only if the long document has pairs on several pages, some of
    // them duplicates of pairs on an earlier page (its text is there three times).
    const rows = readJsonl<{ source: string }>(join(whole.out, 'data', 'train.jsonl'));
    const rejected = readJsonl<{ source: string; reason: string }>(join(whole.out, 'rejected', 'rejected.jsonl'));
    expect(rows.filter((r) => r.source === 'long.txt').length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.source === 'long.txt').length + rejected.filter((r) => r.source === 'long.txt').length).toBeGreaterThan(8);
    expect(rejected.filter((r) => r.source === 'long.txt' && r.reason === 'duplicate').length).toBeGreaterThan(4);

    // One page: every shard inline, as before. Pages of 4: the long document's pairs are in parts.
    expect(shardFiles(whole.out).parts).toEqual([]);
    const { parts } = shardFiles(paged.out);
    expect(parts.length).toBeGreaterThan(3);
    const heads = shardsWithoutTimings(paged.out) as ShardContent[];
    const inParts = heads.filter((s) => s.status === 'ok' && s.parts !== undefined);
    expect(inParts.length).toBeGreaterThanOrEqual(1);
    for (const s of inParts) expect(s).toMatchObject({ pairs: [], chunkRows: [] });
    const pairsInParts = parts.map((f) => ShardPart.parse(JSON.parse(readFileSync(f, 'utf8'))).pairs.length);
    expect(pairsInParts.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // Documents of one page (here: of at most 4 chunks) have the same shard either way.
    const small = (out: string) => (shardsWithoutTimings(out) as ShardContent[]).filter((s) => s.status !== 'ok' || s.chunks <= 4);
    expect(small(paged.out)).toEqual(small(whole.out));
  }, 120_000);

  it('gives the same chunk rows as one page when exporting chunks', async () => {
    const whole = await run(root, { chunksPerPage: 1_000_000, generateQa: false });
    const paged = await run(root, { chunksPerPage: 3, generateQa: false });
    const chunks = readFileSync(join(whole.out, 'data', 'chunks.jsonl'), 'utf8');
    expect(readJsonl<{ source: string }>(join(whole.out, 'data', 'chunks.jsonl')).filter((c) => c.source === 'long.txt').length).toBeGreaterThan(3);
    expect(readFileSync(join(paged.out, 'data', 'chunks.jsonl'), 'utf8')).toBe(chunks);
    expect(shardFiles(paged.out).parts.length).toBeGreaterThan(1);
  }, 120_000);

  it('a stored result with a part missing is made again, not exported short', async () => {
    const first = await run(root, { chunksPerPage: 4, generateQa: true });
    const before = treeHashes(first.out);
    const { parts } = shardFiles(first.out);
    rmSync(parts[1]!);
    const again = await run(root, { chunksPerPage: 4, generateQa: true, out: first.out });
    expect(again.processed).toHaveLength(1); // the document of that part only
    expect(existsSync(parts[1]!)).toBe(true);
    const data = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([f]) => f !== 'stats.json' && f !== 'README.md'));
    expect(data(treeHashes(first.out))).toEqual(data(before));
  }, 120_000);
});

describe('NFC of a long text, piece by piece', () => {
  it('is what NFC of the whole gives, and the text itself when it is normalized already', () => {
    // Decomposed letters on every line, so that pieces end right before and after them.
    const line = 'Cafe\u0301 and re\u0301sume\u0301, Ångström and A\u030angstro\u0308m, 한국어 and \u1100\u1161\n';
    const long = line.repeat(Math.ceil((3 << 20) / line.length));
    expect(nfc(long)).toBe(long.normalize('NFC'));
    expect(nfc(long)).not.toBe(long);
    const normalized = long.normalize('NFC');
    expect(nfc(normalized)).toBe(normalized);
  });
});

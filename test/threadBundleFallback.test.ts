/**
 * A cached thread bundle that cannot start a thread (activities/extract/threadBundle.ts) must
 * not fail the documents waiting for a thread: the pool (pool.ts) starts its threads again
 * through tsx, for the rest of the process, with one warning that names the bundle and why.
 * Each case spoils the bundle in a cache directory of its own, with fresh modules (the switch
 * to tsx is once per process, i.e. per module instance here).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { kindFromPath } from '../activities/extract/index.js';
import { extractAndChunkHere } from '../activities/extract/extractAndChunk.js';

const CHUNKS = { chunkSize: 400, chunkOverlap: 60, idPrefix: 'abcdef012345' };
const SAMPLES = join(import.meta.dirname, '..', 'samples', 'corpus');
const DOCUMENTS = ['articles/tides.txt', 'guides/sourdough.md', 'manual/git-branches.html'].map((name) => {
  const file = join(SAMPLES, name);
  return { name, kind: kindFromPath(file), bytes: new Uint8Array(readFileSync(file)) };
});

const temp = mkdtempSync(join(tmpdir(), 'thread-bundle-fallback-'));
const savedCache = process.env.CORPUS_QA_CACHE;
afterAll(() => {
  rmSync(temp, { recursive: true, force: true });
  if (savedCache === undefined) delete process.env.CORPUS_QA_CACHE;
  else process.env.CORPUS_QA_CACHE = savedCache;
});
afterEach(() => vi.restoreAllMocks());

/** pool.ts and threadBundle.ts as a new process would load them, caching under `cacheDir`. */
async function freshModules(cacheDir: string) {
  vi.resetModules();
  process.env.CORPUS_QA_CACHE = cacheDir;
  delete process.env.CORPUS_QA_THREAD_BUNDLE;
  const pool = await import('../activities/extract/pool.js');
  const bundle = await import('../activities/extract/threadBundle.js');
  return { ExtractionPool: pool.ExtractionPool, threadBundle: bundle.threadBundle };
}

const cases: { what: string; spoil: (code: Buffer) => Buffer; why: RegExp }[] = [
  {
    what: 'throws at import',
    spoil: (code) => Buffer.concat([Buffer.from('throw new Error("poisoned thread bundle");\n'), code]),
    why: /poisoned thread bundle/,
  },
  {
    // Damaged bytes at its start, its trailer intact: whole by the cache's check, yet no module.
    what: 'is not JavaScript any more',
    spoil: (code) => Buffer.concat([Buffer.alloc(64, 0xff), code.subarray(64)]),
    why: /SyntaxError|Invalid|Unexpected/,
  },
];

describe('a thread bundle that cannot start a thread', () => {
  for (const { what, spoil, why } of cases) {
    it(`${what}: the documents still extract, through tsx, after one warning`, async () => {
      const cacheDir = join(temp, what.replace(/\W+/g, '-'));
      const { ExtractionPool, threadBundle } = await freshModules(cacheDir);
      const bundle = threadBundle();
      if (!bundle) expect.fail('threadBundle() gave no bundle (set CORPUS_QA_DEBUG_BUNDLE=1 to see why)');
      expect(bundle.startsWith(join(cacheDir, 'thread-bundles'))).toBe(true);
      writeFileSync(bundle, spoil(readFileSync(bundle)));
      expect(threadBundle()).toBe(bundle);

      const printed: string[] = [];
      vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
      const expected = await Promise.all(DOCUMENTS.map((d) => extractAndChunkHere(d.bytes.slice(), d.kind, CHUNKS)));
      // Two threads, both started from the spoiled bundle, and more documents than threads.
      const pool = new ExtractionPool({ size: 2 });
      try {
        pool.warm();
        const results = await Promise.all(DOCUMENTS.map((d) => pool.run(d.bytes.slice(), d.kind, CHUNKS)));
        expect(results.map((r) => r.ok)).toEqual(DOCUMENTS.map(() => true));
        expect(JSON.stringify(results)).toBe(JSON.stringify(expected));
      } finally {
        await pool.close();
      }
      const warnings = printed.filter((line) => line.startsWith('warning:'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(bundle);
      expect(warnings[0]).toMatch(why);
      expect(warnings[0]).toContain('through tsx');
      // This process does not try the bundle again, and the next one builds it anew.
      expect(threadBundle()).toBeUndefined();
      expect(existsSync(bundle)).toBe(false);

      // Another pool of the same process starts through tsx at once: no second warning.
      const again = new ExtractionPool({ size: 1 });
      try {
        const result = await again.run(DOCUMENTS[0]!.bytes.slice(), DOCUMENTS[0]!.kind, CHUNKS);
        expect(JSON.stringify(result)).toBe(JSON.stringify(expected[0]));
      } finally {
        await again.close();
      }
      expect(printed.filter((line) => line.startsWith('warning:'))).toHaveLength(1);
    }, 120_000);
  }

  it('with the bundle intact, the same steps give no warning and keep the bundle', async () => {
    const cacheDir = join(temp, 'intact');
    const { ExtractionPool, threadBundle } = await freshModules(cacheDir);
    const printed: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    const pool = new ExtractionPool({ size: 1 });
    try {
      const result = await pool.run(DOCUMENTS[0]!.bytes.slice(), DOCUMENTS[0]!.kind, CHUNKS);
      expect(result.ok).toBe(true);
    } finally {
      await pool.close();
    }
    expect(printed).toEqual([]);
    const bundle = threadBundle();
    expect(bundle && existsSync(bundle)).toBe(true);
  }, 120_000);
});

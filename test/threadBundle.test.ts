/**
 * Extraction threads run their code from one esbuild bundle instead of registering tsx
 * (activities/extract/threadBundle.ts, issue 15's memory target). The bundle must import the
 * very package files Node resolves, and a thread started from it must give byte for byte what a
 * thread started through tsx gives, on the sample corpus's real files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { kindFromPath } from '../activities/extract/index.js';
import { ExtractionPool, withoutTsxHooks } from '../activities/extract/pool.js';
import { threadBundle } from '../activities/extract/threadBundle.js';
import type { JobMessage, WorkerMessage } from '../activities/extract/extractWorker.js';
import { extractionThreadsFor } from '../worker/index.js';

const ENTRY = new URL('../activities/extract/extractWorker.mjs', import.meta.url);
const SAMPLES = new URL('../samples/corpus/', import.meta.url).pathname;
const sampleFiles = readdirSync(SAMPLES, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => join(e.parentPath, e.name))
  .sort();

const threads: Worker[] = [];
afterAll(async () => {
  await Promise.all(threads.map((w) => w.terminate()));
});

/** A thread from the pool's entry, with or without the bundle; resolves once it is ready. */
async function startThread(bundle: string | undefined): Promise<Worker> {
  const worker = new Worker(ENTRY, { execArgv: withoutTsxHooks(process.execArgv), workerData: { bundle } });
  threads.push(worker);
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') resolve();
    });
  });
  return worker;
}

let nextId = 1;
function runIn(worker: Worker, bytes: Uint8Array, kind: JobMessage['kind']): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerMessage): void => {
      if (m.type === 'done' && m.id === id) {
        worker.off('message', onMessage);
        resolve(m.result);
      } else if (m.type === 'failed' && m.id === id) {
        worker.off('message', onMessage);
        reject(new Error(m.message));
      }
    };
    worker.on('message', onMessage);
    const job: JobMessage = {
      type: 'job',
      id,
      bytes,
      kind,
      chunkOptions: { chunkSize: 400, chunkOverlap: 60, idPrefix: 'abcdef012345' },
      limits: {},
      meta: true,
    };
    worker.postMessage(job);
  });
}

describe('the extraction thread bundle', () => {
  it('is built, and imports every package by the file URL Node resolves it to', () => {
    const bundle = threadBundle();
    if (!bundle) expect.fail('threadBundle() gave no bundle (set CORPUS_QA_DEBUG_BUNDLE=1 to see why)');
    expect(bundle).toMatch(/\.mjs$/);
    const code = readFileSync(bundle, 'utf8');
    const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)"([^"]+)"/gm)].map((m) => m[1]!);
    expect(specifiers.length).toBeGreaterThan(5);
    const bare = specifiers.filter((s) => !s.startsWith('node:') && !s.startsWith('file:'));
    expect(bare).toEqual([]);
    expect(specifiers).toContain(import.meta.resolve('marked'));
    // Asked again, the same file: built once, then found under the hash of the sources.
    expect(threadBundle()).toBe(bundle);
  });

  it('gives exactly what a thread through tsx gives, on every sample file', async () => {
    const bundle = threadBundle();
    expect(bundle).toBeDefined();
    const [bundled, throughTsx] = await Promise.all([startThread(bundle), startThread(undefined)]);
    expect(sampleFiles.length).toBeGreaterThan(5);
    for (const file of sampleFiles) {
      const kind = kindFromPath(file);
      const bytes = new Uint8Array(readFileSync(file));
      const [a, b] = await Promise.all([runIn(bundled, bytes.slice(), kind), runIn(throughTsx, bytes.slice(), kind)]);
      expect(JSON.stringify(a), file).toBe(JSON.stringify(b));
    }
    // The PDF is there, so pdfjs was loaded from the bundle too (by its resolved URL).
    expect(sampleFiles.some((f) => f.endsWith('.pdf'))).toBe(true);
  }, 120_000);
});

describe('extraction threads per worker', () => {
  it('one per activity slot, but no more than the cores', () => {
    expect(extractionThreadsFor(4, 2)).toBe(2);
    expect(extractionThreadsFor(4, 8)).toBe(4);
    expect(extractionThreadsFor(1, 8)).toBe(1);
    expect(extractionThreadsFor(4, 1)).toBe(1);
    expect(extractionThreadsFor(0, 0)).toBe(1);
  });

  it('an idle thread ends after idleMs, and the next document starts one again', async () => {
    const pool = new ExtractionPool({ size: 2, idleMs: 200 });
    try {
      const text = new TextEncoder().encode('A short document about tides and the moon.\n');
      const chunking = { chunkSize: 400, chunkOverlap: 60, idPrefix: 'abcdef012345' };
      const first = await pool.run(text.slice(), 'text', chunking);
      expect(first.ok).toBe(true);
      // Waits for the condition (polling), not for a fixed time.
      await vi.waitFor(() => expect(pool.threads).toBe(0), { timeout: 30_000, interval: 50 });
      const again = await pool.run(text.slice(), 'text', chunking);
      expect(JSON.stringify(again)).toBe(JSON.stringify(first));
      expect(pool.threads).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('with idleMs 0 (a thread ends as soon as it is idle) every document still gets a thread', async () => {
    const pool = new ExtractionPool({ size: 1, idleMs: 0 });
    try {
      // With idleMs 0 an idle thread ends at once; ten documents in a row each find or start one.
      const docs = Array.from({ length: 10 }, (_, i) => new TextEncoder().encode(`Document ${i} says the tide rises twice a day.\n`));
      const results = await Promise.all(docs.map((d) => pool.run(d, 'text', { chunkSize: 400, chunkOverlap: 60, idPrefix: 'abcdef012345' })));
      expect(results.map((r) => r.ok)).toEqual(docs.map(() => true));
    } finally {
      await pool.close();
    }
  });
});

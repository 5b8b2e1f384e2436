/**
 * The processing activity's resume rules, called directly (no worker): a retry starts after the
 * last finished document, and a document that attempt after attempt never finishes becomes an
 * error row instead of failing the run.
 */
import { describe, expect, it } from 'vitest';
import { discoverCorpus } from '../activities/discover.js';
import { MAX_TRIES_PER_DOCUMENT, processBatch, type BatchProgress } from '../activities/processBatch.js';
import { resolveRunInput } from '../client/runOptions.js';
import { emptyCounters } from '../schemas/index.js';
import { writeGoodDocs } from './helpers/corpus.js';
import { tempDir } from './helpers/files.js';

async function setup() {
  const root = tempDir('batch');
  writeGoodDocs(root);
  const out = tempDir('batch-out');
  const run = resolveRunInput({ inputDir: root, outDir: out, generateQa: true });
  const discovery = await discoverCorpus({ inputDir: run.inputDir, outDir: out, globs: [], maxFileBytes: run.settings.maxFileBytes });
  return { run, manifestKey: discovery.manifestKey, total: discovery.documents };
}

describe('processBatch resume', () => {
  it('resumes after the last finished document, with the counts it had', async () => {
    const { run, manifestKey, total } = await setup();
    const processed: string[] = [];
    const counters = { ...emptyCounters(), documentsDone: 2, loaded: 2 };
    const summary = await processBatch(
      { run, manifestKey, start: 0, end: total },
      { heartbeat: () => undefined, resumeFrom: { next: 2, triesAtNext: 1, counters, sampleFailures: [] }, onProcess: (s) => { processed.push(s); } },
    );
    expect(processed.length).toBe(total - 2);
    expect(summary.counters.documentsDone).toBe(total);
  });

  it(`gives up on a document after ${MAX_TRIES_PER_DOCUMENT} attempts that did not finish it`, async () => {
    const { run, manifestKey, total } = await setup();
    const beats: BatchProgress[] = [];
    const processed: string[] = [];
    const summary = await processBatch(
      { run, manifestKey, start: 0, end: total },
      {
        heartbeat: (d) => beats.push(structuredClone(d)),
        resumeFrom: { next: 1, triesAtNext: MAX_TRIES_PER_DOCUMENT, counters: { ...emptyCounters(), documentsDone: 1, loaded: 1 }, sampleFailures: [] },
        onProcess: (s) => { processed.push(s); },
      },
    );
    expect(beats[0]).toMatchObject({ next: 1, triesAtNext: MAX_TRIES_PER_DOCUMENT + 1 });
    expect(summary.firstFailure).toMatchObject({ index: 1, stage: 'process', reason: 'processing_failed' });
    expect(summary.firstFailure?.detail).toMatch(/skipped after 3 attempts/);
    expect(processed.length).toBe(total - 2); // neither the finished one nor the given-up one
    expect(summary.counters.failedByReason).toEqual({ processing_failed: 1 });
  });
});

/**
 * Batches sized by work (issue #15): the sizing rules, the labels of batches whose size changes,
 * and runs through Temporal: the output is byte for byte that of the old fixed batching, and the
 * batches tile the corpus across continue-as-new within the history bounds.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { writeBenchCorpus } from './helpers/syntheticCorpus.js';
import { resolveRunInput, type CorpusExportOptions } from '../client/runOptions.js';
import { startEmbeddedServer } from '../client/server/devServer.js';
import { emptyCounters, type Counters, type DiscoverySummary } from '../schemas/index.js';
import { batchLabeler, LABELS_PER_CALL } from '../workflows/batchLabels.js';
import { MAX_BATCH_BYTES, msPerDocument, nextBatchSize, SIZES, TARGET_MS } from '../workflows/batchSizing.js';
import { writeFixtureCorpus } from './helpers/corpus.js';
import { tempDir, treeHashes } from './helpers/files.js';
import { runExport, temporalAddress } from './helpers/temporal.js';

const runWith = (o: Partial<CorpusExportOptions> = {}) => resolveRunInput({ inputDir: '/corpus', outDir: '/out', generateQa: true, ...o });
const discovered = (documents: number, bytes: number): DiscoverySummary => ({ manifestKey: 'k', documents, bytes, byKind: {}, skipped: 0, warnings: [] });
/** Counters of a run that measured about `ms` per processed document over many documents. */
function measured(ms: number, documentsDone = 1_000_000): Counters {
  // Inverse of msPerDocument's model: 2.5× the stage durations plus 1 ms per processed document.
  const stage = ((ms - 1) * documentsDone) / 2.5;
  return { ...emptyCounters(), documentsDone, durationsMs: { load: stage, chunk: 0, generate: 0, validate: 0 } };
}

describe('batch sizing rules', () => {
  it('no --batch-size: sized by work, twice the slots in the window; an explicit one is as before', () => {
    expect(runWith()).toMatchObject({ adaptiveBatches: true, batchSize: 20, window: 8 });
    expect(runWith({ concurrency: 3 })).toMatchObject({ adaptiveBatches: true, window: 6 });
    expect(runWith({ concurrency: 400 }).window).toBe(500);
    // LLM batches take minutes: one per slot, as before.
    expect(runWith({ generator: 'openai', model: 'm' })).toMatchObject({ adaptiveBatches: true, batchSize: 32, window: 4 });
    // ...of at least --llm-concurrency documents, so one batch alone can fill the limiter.
    expect(runWith({ generator: 'openai', model: 'm', llmConcurrency: 20 }).batchSize).toBe(32);
    expect(runWith({ generator: 'openai', model: 'm', llmConcurrency: 40 }).batchSize).toBe(40);
    expect(runWith({ generator: 'openai', model: 'm', llmConcurrency: 64 })).toMatchObject({ adaptiveBatches: true, batchSize: 64, window: 4 });
    expect(runWith({ generator: 'openai', model: 'm', llmConcurrency: 1024 }).batchSize).toBe(1000);
    expect(runWith({ generator: 'openai', model: 'm', llmConcurrency: 64, batchSize: 16 })).toMatchObject({ batchSize: 16, window: 4 });
    for (const [given, window] of [[{ batchSize: 50 }, 4], [{ batchSize: 50, concurrency: 3 }, 3]] as const) {
      const run = runWith(given);
      expect(run.adaptiveBatches).toBeUndefined();
      expect(run).toMatchObject({ batchSize: 50, window });
    }
  });

  it('starts from the discovery summary with the largest size whose work fits the target', () => {
    const summary = discovered(10_000, 14_000_000);
    const ms = msPerDocument(summary, emptyCounters());
    const size = nextBatchSize(runWith(), summary, emptyCounters());
    const rung = SIZES.indexOf(size as (typeof SIZES)[number]);
    expect(rung).toBeGreaterThan(0);
    expect(size * ms).toBeLessThanOrEqual(TARGET_MS);
    expect(SIZES[rung + 1]! * ms).toBeGreaterThan(TARGET_MS);
  });

  it('learns from finished batches: slow documents give small batches, cache hits big ones, within 20..500', () => {
    const summary = discovered(100_000, 140_000_000);
    expect(nextBatchSize(runWith(), summary, measured(14))).toBe(100);
    expect(nextBatchSize(runWith(), summary, measured(500))).toBe(20);
    const hits = { ...emptyCounters(), documentsDone: 50_000, cacheHits: 50_000 };
    expect(nextBatchSize(runWith(), summary, hits)).toBe(500);
  });

  it('caps the bytes per batch, and spreads a small corpus or a short run over the window', () => {
    const mb = 1024 * 1024;
    // Fast 1 MB documents: the bytes cap, not the time, decides.
    expect(nextBatchSize(runWith(), discovered(10_000, 10_000 * mb), measured(2))).toBe(SIZES.filter((s) => s <= MAX_BATCH_BYTES / mb).at(-1));
    expect(nextBatchSize(runWith(), discovered(300, 300_000), measured(2))).toBe(30); // 300 / 8 windows
    expect(nextBatchSize(runWith({ continueAsNewAfter: 400 }), discovered(10_000, 10_000_000), measured(2))).toBe(50);
  });

  it('keeps its size while the target stays within 1.5× of it', () => {
    const summary = discovered(100_000, 140_000_000);
    expect(nextBatchSize(runWith(), summary, measured(5), 250)).toBe(250); // target 300
    expect(nextBatchSize(runWith(), summary, measured(2.5), 250)).toBe(500); // target 600
    expect(nextBatchSize(runWith(), summary, measured(10), 250)).toBe(150); // target 150
  });

  it('keeps LLM runs on their batch size', () => {
    const run = runWith({ generator: 'anthropic', model: 'm' });
    expect(nextBatchSize(run, discovered(10_000, 1_000_000), measured(1))).toBe(32);
  });
});

describe('batch labels', () => {
  function labeler(total: number, end: number) {
    const calls: Array<{ starts: number[]; size: number }> = [];
    const label = batchLabeler(async (starts, size) => {
      calls.push({ starts, size });
      return starts.filter((s) => s < 1000).map((s) => `L${s}/${size}`); // none past 1000: the fallback
    }, total, end);
    return { calls, label };
  }

  it(`fetches ${LABELS_PER_CALL} batches at a time at the size in use, and again from where the size changes`, async () => {
    const { calls, label } = labeler(20_000, 20_000);
    expect(await label(0, 2)).toBe('L0/2');
    expect(await label(2, 2)).toBe('L2/2');
    expect(calls).toEqual([{ starts: Array.from({ length: LABELS_PER_CALL }, (_, i) => 2 * i), size: 2 }]);
    expect(await label(400, 2)).toBe('L400/2');
    expect(calls[1]?.starts[0]).toBe(400);
    expect(await label(402, 50)).toBe('L402/50');
    expect(calls[2]).toEqual({ starts: Array.from({ length: LABELS_PER_CALL }, (_, i) => 402 + 50 * i), size: 50 });
    expect(await label(1002, 50)).toBe('documents 1003–1052');
    expect(calls).toHaveLength(3);
  });

  it('asks only for batches before its end', async () => {
    const { calls, label } = labeler(1000, 600);
    await label(0, 250);
    expect(calls).toEqual([{ starts: [0, 250, 500], size: 250 }]);
  });
});

interface Batch {
  start: number;
  end: number;
  summary: string;
}
interface RunHistory {
  events: number;
  closedWith: string;
  batches: Batch[];
}

const json = (p: temporal.api.common.v1.IPayload | null | undefined): unknown => JSON.parse(Buffer.from(p?.data ?? []).toString('utf8'));

/** Every run of a workflow id, first to last, with the processing batches each scheduled. */
async function chainOf(workflowId: string): Promise<RunHistory[]> {
  const connection = await Connection.connect({ address: temporalAddress() });
  try {
    const client = new Client({ connection });
    const runs: RunHistory[] = [];
    let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
    while (runId) {
      const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      const events = history.events ?? [];
      const batches = events.flatMap((e) => {
        const a = e.activityTaskScheduledEventAttributes;
        if (a?.activityType?.name !== 'processBatch') return [];
        const { start, end } = json(a.input?.payloads?.[0]) as Batch;
        return [{ start, end, summary: json(e.userMetadata?.summary) as string }];
      });
      const last = events.at(-1);
      const closedWith = last?.workflowExecutionContinuedAsNewEventAttributes ? 'continued' : last?.workflowExecutionCompletedEventAttributes ? 'completed' : 'other';
      runs.unshift({ events: events.length, closedWith, batches });
      runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    }
    return runs;
  } finally {
    await connection.close();
  }
}

/** stats.json without what differs between any two runs: timings, the workflow's ids, how batches were made. */
function stableStats(out: string): unknown {
  const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
  delete stats.durationsMs;
  delete stats.workflow;
  delete stats.settings.window;
  delete stats.settings.batchSize;
  return stats;
}

describe('through Temporal', () => {
  it('writes the bytes of fixed batches of 20; its batches tile the corpus across continue-as-new, each labelled with its range', async () => {
    // Real documents and bad files, and many blank 50 KB files: their bytes make the first guess
    // small, and processing them is fast, so what the run learns makes its batches bigger.
    const root = tempDir('batching');
    writeFixtureCorpus(root);
    writeBenchCorpus(join(root, 'bench'), 100);
    // First in manifest order, so the first batches measure them.
    mkdirSync(join(root, 'a-blank'));
    for (let i = 0; i < 1000; i++) writeFileSync(join(root, 'a-blank', `${String(i).padStart(4, '0')}.txt`), ' '.repeat(50 * 1024));
    const continueAsNewAfter = 600;
    const outFixed = tempDir('batching-fixed');
    const outAuto = tempDir('batching-auto');
    const fixed = await runExport({ inputDir: root, outDir: outFixed, generateQa: true, batchSize: 20, concurrency: 1, continueAsNewAfter });
    const auto = await runExport({ inputDir: root, outDir: outAuto, generateQa: true, concurrency: 1, continueAsNewAfter });

    const hashes = (out: string) => {
      const h = treeHashes(out);
      delete h['stats.json'];
      return h;
    };
    expect(Object.keys(hashes(outAuto))).toEqual(expect.arrayContaining(['data/train.jsonl', 'errors.jsonl', 'README.md']));
    expect(hashes(outAuto)).toEqual(hashes(outFixed));
    expect(stableStats(outAuto)).toEqual(stableStats(outFixed));

    const total = auto.result.documents;
    const fixedRuns = await chainOf(fixed.handle.workflowId);
    expect(fixedRuns.flatMap((r) => r.batches).every((b) => b.end - b.start === 20 || b.end === total)).toBe(true);

    const runs = await chainOf(auto.handle.workflowId);
    const batches = runs.flatMap((r) => r.batches);
    expect(batches[0]?.start).toBe(0);
    expect(batches.at(-1)?.end).toBe(total);
    batches.slice(1).forEach((b, i) => expect(b.start, `batch ${i + 1}`).toBe(batches[i]!.end));
    for (const b of batches) {
      if (b.end < total) expect(SIZES).toContain(b.end - b.start);
      const range = `${b.end - b.start > 1 ? `(${b.end - b.start} docs) ` : ''}[${b.start + 1}–${b.end} of ${total}]`;
      expect(b.summary.slice(-range.length), b.summary).toBe(range);
    }
    // It learned: the blank files made its batches bigger than the first guess.
    expect(new Set(batches.slice(0, -1).map((b) => b.end - b.start)).size).toBeGreaterThan(1);

    // A new run at each threshold; history per document and per run within bounds.
    expect(runs.map((r) => r.closedWith)).toEqual([...runs.slice(1).map(() => 'continued'), 'completed']);
    for (const r of runs.slice(0, -1)) {
      const scheduled = r.batches.at(-1)!.end - r.batches[0]!.start;
      expect(scheduled).toBeGreaterThanOrEqual(continueAsNewAfter);
      expect(scheduled - (r.batches.at(-1)!.end - r.batches.at(-1)!.start)).toBeLessThan(continueAsNewAfter);
    }
    expect(Math.max(...runs.map((r) => r.events))).toBeLessThan(10_240);
    expect(runs.reduce((n, r) => n + r.events, 0) / total).toBeLessThanOrEqual(0.3);
  });
});

describe('task dispatch', () => {
  // The window holds more batches than the worker has slots: with the server's default four
  // partitions a batch scheduled early could start last and run alone at the end of the run.
  it('the embedded server, and the tests\' server started as it is, write a task queue\'s tasks to one partition (they go out in the order scheduled)', async () => {
    const partitionsAt = async (address: string) => {
      const connection = await Connection.connect({ address });
      try {
        const r = await connection.workflowService.listTaskQueuePartitions({ namespace: 'default', taskQueue: { name: 'corpus-qa-partitions' } });
        return { activity: r.activityTaskQueuePartitions?.length, workflow: r.workflowTaskQueuePartitions?.length };
      } finally {
        await connection.close();
      }
    };
    const server = await startEmbeddedServer(tempDir('partitions'));
    try {
      expect(await partitionsAt(server.address)).toEqual({ activity: 1, workflow: 1 });
    } finally {
      await server.stop();
    }
    expect(await partitionsAt(temporalAddress())).toEqual({ activity: 1, workflow: 1 });
  });
});

/**
 * The workflow's own rules, with stub activities on the real dev server: no files, no
 * extraction, so each case takes a second or two. The window bounds the batches in flight,
 * continue-as-new hands the cursor and counters on, --fail-fast reports the earliest failure in
 * manifest order among the batches that finished. The end-to-end suites cover the same rules
 * with the real activities.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRunInput } from '../client/runOptions.js';
import { emptyCounters } from '../schemas/counters.js';
import type { BatchSummary, DiscoverySummary, DocumentFailure, ExportSummary, ResolvedRunInput } from '../schemas/index.js';
import type { ProcessBatchInput } from '../activities/processBatch.js';
import type { ExportInput } from '../activities/export.js';
import type { BatchLabelsInput } from '../activities/labels.js';
import { workflowBundle } from '../worker/index.js';
import { temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

interface Stubs {
  documents: number;
  /** How long the batch starting at `start` takes, in ms (default 5). */
  delayMs?: (start: number) => number;
  /** Document indices that fail to load. */
  failing?: number[];
}

interface Observed {
  batches: Array<[number, number]>;
  maxInFlight: number;
  exported?: ExportInput;
}

const source = (i: number) => `docs/d${String(i).padStart(3, '0')}.txt`;

function stubActivities(s: Stubs, seen: Observed) {
  let inFlight = 0;
  return {
    async discover(): Promise<DiscoverySummary> {
      return { manifestKey: 'stub', documents: s.documents, bytes: s.documents * 1000, byKind: { text: s.documents }, skipped: 0, warnings: [] };
    },
    async batchLabels(input: BatchLabelsInput): Promise<string[]> {
      return input.starts.map((start) => `${source(start)} …`);
    },
    async processBatch({ start, end }: ProcessBatchInput): Promise<BatchSummary> {
      inFlight++;
      seen.maxInFlight = Math.max(seen.maxInFlight, inFlight);
      seen.batches.push([start, end]);
      await new Promise((r) => setTimeout(r, s.delayMs?.(start) ?? 5));
      inFlight--;
      const failures: DocumentFailure[] = (s.failing ?? [])
        .filter((i) => i >= start && i < end)
        .map((index) => ({ index, source: source(index), stage: 'load', reason: 'empty', detail: 'file is empty (0 bytes)' }));
      const n = end - start;
      return {
        start,
        end,
        counters: { ...emptyCounters(), documentsDone: n, loaded: n - failures.length, failed: failures.length, chunks: n },
        ...(failures[0] ? { firstFailure: failures[0] } : {}),
        sampleFailures: failures,
      };
    },
    async exportDataset(input: ExportInput): Promise<ExportSummary> {
      seen.exported = input;
      return { loaded: input.counters.loaded, failedByReason: {}, files: {}, pairsPassed: 0, pairsRejected: 0, duplicatesAcrossDocuments: 0, rejectedByReason: {}, chunks: input.counters.chunks, errors: input.counters.failed };
    },
    async removeIntermediate(): Promise<void> {},
  };
}

let connection: NativeConnection;
let client: Client;

beforeAll(async () => {
  connection = await NativeConnection.connect({ address: temporalAddress() });
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});
afterAll(async () => {
  await connection?.close();
  await client?.connection.close();
});

async function runWith(run: ResolvedRunInput, stubs: Stubs): Promise<{ seen: Observed; result: Promise<unknown> }> {
  const seen: Observed = { batches: [], maxInFlight: 0 };
  const taskQueue = uniqueTaskQueue();
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: stubActivities(stubs, seen),
    maxConcurrentActivityTaskExecutions: 50,
  });
  const result = worker.runUntil(
    client.workflow.execute('corpusExportWorkflow', { taskQueue, workflowId: `rules-${taskQueue}`, args: [run] }),
  );
  return { seen, result };
}

const runInput = (extra: Record<string, unknown>) =>
  resolveRunInput({ inputDir: '/stub/in', outDir: '/stub/out', batchSize: 5, concurrency: 3, ...extra });

describe('workflow rules (stub activities)', () => {
  it('keeps at most `window` batches in flight, covers the manifest once, and continues as new with its counters', async () => {
    const { seen, result } = await runWith(runInput({ continueAsNewAfter: 40 }), { documents: 100, delayMs: () => 20 });
    await result;
    expect(seen.maxInFlight).toBeLessThanOrEqual(3);
    expect(seen.maxInFlight).toBeGreaterThan(1);
    const sorted = [...seen.batches].sort((a, b) => a[0] - b[0]);
    expect(sorted[0]![0]).toBe(0);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]![0]).toBe(sorted[i - 1]![1]);
    expect(sorted.at(-1)![1]).toBe(100);
    // 40 + 40 + 20 documents: three runs, counters summed across them.
    expect(seen.exported?.workflow.runs).toBe(3);
    expect(seen.exported?.counters.documentsDone).toBe(100);
  });

  it('--fail-fast: stops scheduling, drains, and names the earliest failure among the finished batches', async () => {
    // Batch [20, 25) finishes first with its failure at 22; [10, 15), in flight beside it,
    // finishes later with a failure at 12, which comes first in manifest order.
    const { seen, result } = await runWith(runInput({ failFast: true }), {
      documents: 100,
      failing: [12, 22],
      delayMs: (start) => (start === 10 ? 300 : start === 20 ? 1 : 100),
    });
    const err = await result.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toContain(`${source(12)}: empty: file is empty (0 bytes) (stopped by --fail-fast)`);
    expect(seen.exported).toBeUndefined();
    // Nothing past the window that was in flight when the first failure came back.
    expect(Math.max(...seen.batches.map(([, end]) => end))).toBeLessThan(100);
  });

  it('without --fail-fast, failures are data: every batch runs and the export gets them counted', async () => {
    const { seen, result } = await runWith(runInput({}), { documents: 30, failing: [3, 17] });
    await result;
    expect(seen.batches.length).toBe(6);
    expect(seen.exported?.counters.failed).toBe(2);
    expect(seen.exported?.counters.loaded).toBe(28);
  });
});

/**
 * The activities the workflow calls, bound to the worker's environment. Each is a thin wrapper:
 * the work lives in the stage modules, which know nothing about Temporal and are easy to test.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { BatchSummary, DiscoverySummary, ExportSummary, ResolvedRunInput } from '../schemas/index.js';
import { discoverCorpus } from './discover.js';
import { exportDataset, type ExportInput } from './export.js';
import { ReviewFileError } from './review/decisions.js';
import { emptyTrash, retireIntermediate } from './storage.js';
import { batchLabels, type BatchLabelsInput } from './labels.js';
import { processBatch, type BatchProgress, type ProcessBatchInput } from './processBatch.js';
import {
  collectBatchRequests,
  fetchBatchResults,
  pollProviderBatch,
  submitBatchRequests,
  type CollectInput,
  type CollectSummary,
  type FetchSummary,
  type SubmittedBatch,
} from './batchMode.js';
import type { BatchState } from './generate/batchApi.js';

export interface ActivityDeps {
  toolVersion: string;
  sdkVersion: string;
  serverVersion: string;
  /** Test hook: called for every document that is really processed (not a cache hit). */
  onProcessDocument?: (source: string) => void | Promise<void>;
  /** Chunks per page of a big document (activities/pipeline.ts); the default unless set. */
  chunksPerPage?: number;
}

/**
 * Heartbeat, and stop if the run was cancelled: the SDK delivers cancellation through the
 * heartbeat, and an activity that ignored it would go on writing after `corpus-qa cancel`.
 */
function heartbeat(details: unknown): void {
  const ctx = Context.current();
  lastDetails.set(ctx, details);
  ctx.heartbeat(details);
  if (ctx.cancellationSignal.aborted) throw new CancelledFailure('the run was cancelled');
}

const lastDetails = new WeakMap<Context, unknown>();
const KEEPALIVE_MS = 5000;

/**
 * Heartbeats every few seconds while `work` runs, repeating the last details, so a short
 * heartbeat timeout is safe even when one document takes long (a slow PDF, an LLM call): a dead
 * worker is then noticed in seconds and its batch retried elsewhere, instead of after minutes.
 */
async function withKeepAlive<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  // Until the first real heartbeat, repeat what an earlier attempt left, not "nothing".
  if (!lastDetails.has(ctx)) lastDetails.set(ctx, ctx.info.heartbeatDetails);
  const timer = setInterval(() => ctx.heartbeat(lastDetails.get(ctx)), KEEPALIVE_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

export function createActivities(deps: ActivityDeps) {
  return {
    async discover(run: ResolvedRunInput): Promise<DiscoverySummary> {
      await emptyTrash(run.outDir);
      try {
        return await withKeepAlive(() =>
          discoverCorpus(
            { inputDir: run.inputDir, outDir: run.outDir, globs: run.globs, maxFileBytes: run.settings.maxFileBytes },
            heartbeat,
          ),
        );
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        // A missing or unlistable input directory will not fix itself by retrying.
        if (e.code === 'ENOENT' || e.code === 'ENOTDIR' || e.code === 'EACCES' || /is not a directory/.test(e.message)) {
          throw ApplicationFailure.nonRetryable(`cannot read input directory ${run.inputDir}: ${e.message}`, 'InputDirectoryUnreadable');
        }
        throw err;
      }
    },

    async processBatch(input: ProcessBatchInput): Promise<BatchSummary> {
      const ctx = Context.current();
      const resumeFrom = ctx.info.heartbeatDetails as BatchProgress | undefined;
      return withKeepAlive(() =>
        processBatch(input, {
          heartbeat,
          resumeFrom,
          onProcess: deps.onProcessDocument,
          chunksPerPage: deps.chunksPerPage,
          signal: ctx.cancellationSignal,
          warn: (message) => ctx.log.warn(message),
        }),
      );
    },

    async exportDataset(input: ExportInput): Promise<ExportSummary> {
      try {
        return await withKeepAlive(() => exportDataset(input, { ...deps, heartbeat }));
      } catch (err) {
        // A hand-edited review/decisions.jsonl that does not parse stays broken on a retry.
        if (err instanceof ReviewFileError) throw ApplicationFailure.nonRetryable(err.message, 'ReviewDecisionsInvalid');
        throw err;
      }
    },

    async batchLabels(input: BatchLabelsInput): Promise<string[]> {
      return batchLabels(input);
    },

    // The activity keeps its name (recorded histories replay it); it no longer waits for the deletion.
    async removeIntermediate(outDir: string): Promise<void> {
      await retireIntermediate(outDir);
    },

    // --batch-api: short steps around provider batches; the waiting is the workflow's.
    async collectBatchRequests(input: CollectInput): Promise<CollectSummary> {
      return withKeepAlive(() => collectBatchRequests(input, heartbeat));
    },

    async submitBatchRequests(input: { run: ResolvedRunInput; file: string }): Promise<SubmittedBatch[]> {
      return withKeepAlive(() => submitBatchRequests(input, heartbeat));
    },

    async pollProviderBatch(input: { run: ResolvedRunInput; batchId: string }): Promise<BatchState> {
      return pollProviderBatch(input);
    },

    async fetchBatchResults(input: { run: ResolvedRunInput; batchId: string; file: string }): Promise<FetchSummary> {
      return withKeepAlive(() => fetchBatchResults(input));
    },
  };
}

export type CorpusActivities = ReturnType<typeof createActivities>;
export type { ExportInput, ProcessBatchInput };

/**
 * The processing activity: a contiguous range of the manifest, one document after another.
 * Batching keeps history small (one activity per batch, not per document); shards make it
 * idempotent (a retried batch finds the documents it already did) and let a re-run skip them.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchSummary, Counters, DocumentFailure, ManifestEntry, ResolvedRunInput } from '../schemas/index.js';
import { emptyCounters } from '../schemas/index.js';
import { readManifestRange } from './manifest.js';
import { PIPELINE_VERSION, processDocument, type ShardContent } from './pipeline.js';
import { getGenerator } from './generate/index.js';
import { localErrorPath, readJsonIfExists, sha256Hex, shardPath, writeFileAtomic } from './storage.js';

export interface ProcessBatchInput {
  run: ResolvedRunInput;
  manifestKey: string;
  start: number;
  end: number;
}

/** What a batch heartbeats: enough to resume after the last finished document on a retry. */
export interface BatchProgress {
  next: number;
  /** Attempts that have started on document `next`, this one included. */
  triesAtNext?: number;
  counters: Counters;
  firstFailure?: DocumentFailure;
  sampleFailures: DocumentFailure[];
}

export interface BatchHooks {
  heartbeat: (details: BatchProgress) => void;
  /** Details of the last heartbeat of an earlier attempt of this batch, if it was retried. */
  resumeFrom?: BatchProgress;
  /** Called before a document is processed (not for cache hits); tests count generator calls. */
  onProcess?: (source: string) => void | Promise<void>;
}

/** Settings that change a document's shard. The generator id carries its version. */
export function shardSettingsKey(run: ResolvedRunInput): string {
  const s = run.settings;
  return sha256Hex(
    JSON.stringify({
      v: PIPELINE_VERSION,
      generateQa: s.generateQa,
      generator: s.generateQa ? getGenerator(s).id : null,
      // The same model name on another server gives other answers.
      baseUrl: s.generateQa ? (s.llm?.baseUrl ?? null) : null,
      chunkSize: s.chunkSize,
      chunkOverlap: s.chunkOverlap,
      maxPairsPerChunk: s.maxPairsPerChunk,
    }),
  ).slice(0, 16);
}

/**
 * A shard is keyed by what determines its content: the bytes, how they are parsed (the kind
 * comes from the extension: the same bytes as .md and .txt give different text) and the settings.
 */
export function shardKeyFor(entry: ManifestEntry, settingsKey: string): string {
  return sha256Hex(`${entry.sha256}:${entry.kind}:${settingsKey}`);
}

function failureFrom(entry: ManifestEntry, shard: ShardContent | undefined): DocumentFailure | undefined {
  if (entry.error) return { index: entry.index, source: entry.source, stage: 'discover', ...entry.error };
  if (shard?.status === 'error') {
    return { index: entry.index, source: entry.source, stage: shard.stage, reason: shard.reason, detail: shard.detail };
  }
  return undefined;
}

function count(counters: Counters, shard: ShardContent, cacheHit: boolean): void {
  // A cache hit cost this run nothing; its stored timings belong to the run that made it.
  if (!cacheHit) {
    const d = shard.durationsMs;
    counters.durationsMs.load += d.load;
    counters.durationsMs.chunk += d.chunk;
    counters.durationsMs.generate += d.generate;
    counters.durationsMs.validate += d.validate;
    if (shard.status === 'ok' && shard.llm) {
      // `?? 0`: counters resumed from a heartbeat of a version without these fields.
      counters.llmRequests = (counters.llmRequests ?? 0) + shard.llm.requests;
      counters.promptTokens = (counters.promptTokens ?? 0) + shard.llm.promptTokens;
      counters.completionTokens = (counters.completionTokens ?? 0) + shard.llm.completionTokens;
    }
  }
  if (shard.status === 'error') return;
  counters.loaded++;
  counters.chunks += shard.chunks;
  counters.pairsGenerated += shard.pairs.length;
  for (const p of shard.pairs) {
    const primary = p.reasons[0];
    if (primary === undefined) {
      counters.pairsPassed++;
    } else {
      counters.pairsRejected++;
      counters.rejectedByReason[primary] = (counters.rejectedByReason[primary] ?? 0) + 1;
    }
  }
}

async function loadOrProcess(
  input: ProcessBatchInput,
  entry: ManifestEntry,
  settingsKey: string,
  hooks: BatchHooks,
  keepAlive: () => void,
  giveUp = false,
): Promise<{ shard: ShardContent | undefined; cacheHit: boolean }> {
  if (entry.error) return { shard: undefined, cacheHit: false };
  const path = shardPath(input.run.outDir, shardKeyFor(entry, settingsKey));
  // A shard cut short by a power loss does not parse: treat it as missing and write it again.
  const cached = input.run.noCache ? undefined : await readJsonIfExists<ShardContent>(path).catch(() => undefined);
  if (cached) return { shard: cached, cacheHit: true };
  const localError = async (stage: 'load' | 'process', reason: 'unreadable' | 'processing_failed', detail: string) => {
    // Recorded beside the shards, never as one: the document is tried again on the next run.
    await writeFileAtomic(localErrorPath(input.run.outDir, shardKeyFor(entry, settingsKey)), JSON.stringify({ stage, reason, detail }));
    const shard: ShardContent = { status: 'error', stage, reason, detail, durationsMs: { load: 0, chunk: 0, generate: 0, validate: 0 } };
    return { shard, cacheHit: false };
  };
  if (giveUp) {
    return localError('process', 'processing_failed',
      `skipped after ${MAX_TRIES_PER_DOCUMENT} attempts that did not finish it (the worker crashed or timed out on this document)`);
  }

  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(input.run.inputDir, entry.source));
  } catch (err) {
    // Not cached: a permission problem is about this machine, not the content.
    const e = err as NodeJS.ErrnoException;
    return localError('load', 'unreadable', e.code === 'EACCES' ? 'permission denied' : e.message);
  }
  if (sha256Hex(bytes) !== entry.sha256) {
    return localError('load', 'unreadable', 'file changed after discovery; run again to pick up the new content');
  }
  await hooks.onProcess?.(entry.source);
  let shard: ShardContent;
  try {
    shard = await processDocument(bytes, entry.kind, entry.sha256, entry.source, input.run.settings, { keepAlive });
  } catch (err) {
    // LLM faults and cancellation are Temporal's to retry or stop; anything else is a bug that
    // this document triggers, and it must not take the whole run down with it.
    if (err instanceof ApplicationFailure || err instanceof CancelledFailure) throw err;
    return localError('process', 'processing_failed', `unexpected error while processing this document: ${(err as Error).message ?? String(err)}`);
  }
  await writeFileAtomic(path, JSON.stringify(shard));
  return { shard, cacheHit: false };
}

/**
 * A document that kills or hangs the worker (out of memory, a parser stuck in a loop) would be
 * retried until the batch runs out of attempts and the run fails. After this many attempts on
 * the same document it becomes an error row instead (not cached: the next run tries again).
 */
export const MAX_TRIES_PER_DOCUMENT = 3;

export async function processBatch(input: ProcessBatchInput, hooks: BatchHooks): Promise<BatchSummary> {
  // A retried attempt starts after the last document the previous attempt finished, with its
  // counts: a killed worker costs the document in hand, not the batch.
  const resume = hooks.resumeFrom && hooks.resumeFrom.next >= input.start && hooks.resumeFrom.next <= input.end
    ? hooks.resumeFrom
    : undefined;
  const from = resume?.next ?? input.start;
  const entries = await readManifestRange(input.run.outDir, input.manifestKey, from, input.end);
  const settingsKey = shardSettingsKey(input.run);
  const counters = resume ? structuredClone(resume.counters) : emptyCounters();
  const sampleFailures: DocumentFailure[] = resume ? [...resume.sampleFailures] : [];
  let firstFailure: DocumentFailure | undefined = resume?.firstFailure;
  let end = from;
  let triesAtNext = resume && resume.next === from ? (resume.triesAtNext ?? 1) + 1 : 1;
  const progress = (): BatchProgress => ({ next: end, triesAtNext, counters, firstFailure, sampleFailures });
  // While a document is in hand (LLM requests can take minutes), heartbeats repeat the last checkpoint.
  const keepAlive = () => hooks.heartbeat(progress());
  if (firstFailure && input.run.failFast) return { start: input.start, end, counters, firstFailure, sampleFailures };
  keepAlive(); // record at once that this attempt started on document `from`
  for (const entry of entries) {
    const giveUp = entry.index === from && triesAtNext > MAX_TRIES_PER_DOCUMENT;
    const { shard, cacheHit } = await loadOrProcess(input, entry, settingsKey, hooks, keepAlive, giveUp);
    counters.documentsDone++;
    if (cacheHit) counters.cacheHits++;
    if (shard) count(counters, shard, cacheHit);
    const failure = failureFrom(entry, shard);
    if (failure) {
      counters.failed++;
      counters.failedByReason[failure.reason] = (counters.failedByReason[failure.reason] ?? 0) + 1;
      firstFailure ??= failure;
      if (sampleFailures.length < 5) sampleFailures.push(failure);
    }
    end = entry.index + 1;
    triesAtNext = 1;
    hooks.heartbeat(progress());
    if (failure && input.run.failFast) break;
  }
  return { start: input.start, end, counters, firstFailure, sampleFailures };
}

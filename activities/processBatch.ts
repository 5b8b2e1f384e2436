/**
 * The processing activity: a contiguous range of the manifest. Batching keeps history small (one
 * activity per batch, not per document); shards make it idempotent (a retried batch finds the
 * documents it already did) and let a re-run skip them; the LLM journal makes a document cut
 * short cost nothing twice.
 *
 * Documents go one after another for CPU work, and several at once for an LLM generator (their
 * requests share the worker's limiter), so a small corpus is not one request at a time. Their
 * shards are stored a pack at a time (activities/shardPacks.ts); the heartbeat's cursor is the
 * first document whose shard is not stored yet: a retry resumes there.
 */
import { setMaxListeners } from 'node:events';
import type { BatchSummary, Counters, DocumentFailure, ManifestEntry, ResolvedRunInput } from '../schemas/index.js';
import type { ShardContent } from '../schemas/index.js';
import { emptyCounters } from '../schemas/index.js';
import { readManifestRange } from './manifest.js';
import { DocumentChanged, readDocument } from './readDocument.js';
import { emptyTally, PIPELINE_VERSION, processDocument, tallyPairs, type PairTally } from './pipeline.js';
import { ShardPartMissing, shardPages, writeShardPart } from './shardParts.js';
import { shardCatalog, ShardPackWriter, type ShardLookup } from './shardPacks.js';
import { createGenerator, generatorId, type Generator } from './generate/index.js';
import { addUsage, datasetCostMicroUsd, paid, shardReuse, type LlmUsage } from '../schemas/llmUsage.js';
import { formatUsd } from './generate/pricing.js';
import { isRunFailure } from './generate/llmErrors.js';
import { BudgetReached, RequestPending } from './generate/requester.js';
import { sha256Hex, STATE_NAMES, storeFor } from './storage.js';

export interface ProcessBatchInput {
  run: ResolvedRunInput;
  manifestKey: string;
  start: number;
  end: number;
  /** The dataset's LLM cost so far as the workflow knows it (for --max-cost), in micro-USD. */
  spentMicroUsd?: number;
}

/** What a batch heartbeats: enough to resume after the last finished document on a retry. */
export interface BatchProgress {
  next: number;
  /** Attempts that have started on document `next`, this one included. */
  triesAtNext?: number;
  counters: Counters;
  firstFailure?: DocumentFailure;
  sampleFailures: DocumentFailure[];
  /** Live LLM state for progress views: requests in flight, and why requests wait, if they do. */
  live?: { inFlight: number; waiting?: string };
}

export interface BatchHooks {
  heartbeat: (details: BatchProgress) => void;
  /** Details of the last heartbeat of an earlier attempt of this batch, if it was retried. */
  resumeFrom?: BatchProgress;
  /** Called before a document is processed (not for cache hits); tests count generator calls. */
  onProcess?: (source: string) => void | Promise<void>;
  /** The activity's cancellation. */
  signal?: AbortSignal;
  /** Stops requests not sent yet, letting those in flight finish. */
  halt?: AbortSignal;
  /** The document's LLM figures, filled in as its requests are answered. */
  usage?: LlmUsage;
  /** Problems worth a line in the worker's log (a corrupt cache file). */
  warn?: (message: string) => void;
  /** Chunks per page of a big document (activities/pipeline.ts DEFAULT_CHUNKS_PER_PAGE unless set). */
  chunksPerPage?: number;
}

/** Settings that change a document's shard. The generator id carries its version. */
export function shardSettingsKey(run: ResolvedRunInput): string {
  const s = run.settings;
  return sha256Hex(
    JSON.stringify({
      v: PIPELINE_VERSION,
      generateQa: s.generateQa,
      generator: s.generateQa ? generatorId(s) : null,
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

function count(counters: Counters, shard: ShardContent, tally: PairTally, cacheHit: boolean, usage: LlmUsage): void {
  // A cache hit cost this run nothing; its stored timings belong to the run that made it.
  if (!cacheHit) {
    const d = shard.durationsMs;
    counters.durationsMs.load += d.load;
    counters.durationsMs.chunk += d.chunk;
    counters.durationsMs.generate += d.generate;
    counters.durationsMs.validate += d.validate;
  }
  if (Object.keys(usage).length > 0) {
    counters.llm ??= {};
    addUsage(counters.llm, usage);
    counters.llmRequests += usage['generate.requests'] ?? 0;
    for (const p of ['repair', 'continue', 'judge', 'judge_repair', 'judge_missing']) counters.llmRequests += usage[`${p}.requests`] ?? 0;
    counters.promptTokens += sumOf(usage, 'promptTokens');
    counters.completionTokens += sumOf(usage, 'completionTokens');
  }
  if (shard.status === 'error') return;
  counters.loaded++;
  counters.chunks += shard.chunks;
  counters.pairsGenerated += tally.generated;
  counters.pairsPassed += tally.passed;
  for (const [reason, n] of Object.entries(tally.rejectedByReason)) {
    counters.pairsRejected += n;
    counters.rejectedByReason[reason] = (counters.rejectedByReason[reason] ?? 0) + n;
  }
}

/**
 * A stored shard's pairs counted. For one in parts, the parts are read (one at a time): a part
 * that is missing or damaged makes the shard a cache miss, like a damaged shard.
 */
async function tallyOfStored(outDir: string, shardKey: string, shard: ShardContent): Promise<PairTally | undefined> {
  const tally = emptyTally();
  if (shard.status !== 'ok') return tally;
  try {
    for await (const part of shardPages(outDir, shardKey, shard)) tallyPairs(part.pairs, tally);
  } catch (err) {
    if (err instanceof ShardPartMissing) return undefined;
    throw err;
  }
  return tally;
}

/** Tokens paid for now (journal hits and reused shards cost nothing this run). */
function sumOf(u: LlmUsage, field: 'promptTokens' | 'completionTokens'): number {
  let n = 0;
  for (const [k, v] of Object.entries(u)) if (k.endsWith(`.${field}`) && !k.startsWith('journal.') && !k.startsWith('shards.')) n += v;
  return n;
}

export interface DocumentOutcome {
  shard: ShardContent | undefined;
  /** Set when the shard is new and worth keeping: the caller packs it (activities/shardPacks.ts). */
  toStore?: { key: string; shard: ShardContent };
  /** The shard's pairs, counted (a big document's are in parts, not in `shard`). */
  tally: PairTally;
  cacheHit: boolean;
  usage: LlmUsage;
}

/**
 * One document: its shard if one is stored (`stored`: the batch's packs and <out>'s; undefined
 * with --no-cache), else read and processed, its new shard handed back to be stored.
 */
export async function loadOrProcess(
  input: Pick<ProcessBatchInput, 'run'>,
  entry: ManifestEntry,
  settingsKey: string,
  hooks: BatchHooks,
  generator: Generator | undefined,
  giveUp: string | undefined,
  stored: ShardLookup | undefined,
): Promise<DocumentOutcome> {
  if (entry.error) return { shard: undefined, tally: emptyTally(), cacheHit: false, usage: {} };
  const { outDir } = input.run;
  const store = storeFor(outDir);
  const shardKey = shardKeyFor(entry, settingsKey);
  const localErrorName = STATE_NAMES.localError(shardKey);
  // A pack cut short by a power loss, or of another version, is a cache miss: processed again.
  const cached = await stored?.read(shardKey, hooks.warn);
  const cachedTally = cached && (await tallyOfStored(outDir, shardKey, cached));
  if (cached && !cachedTally) hooks.warn?.(`${entry.source}: a part of its stored result is missing or damaged; the document is processed again`);
  if (cached && cachedTally) return { shard: cached, tally: cachedTally, cacheHit: true, usage: cached.status === 'ok' ? shardReuse(cached.llm) : {} };
  const localError = async (stage: 'load' | 'process', reason: 'unreadable' | 'processing_failed' | 'changed_after_discovery' | 'timeout', detail: string): Promise<DocumentOutcome> => {
    // Recorded beside the shards, never as one: the document is tried again on the next run.
    await store.write(localErrorName, JSON.stringify({ stage, reason, detail }));
    const shard: ShardContent = { status: 'error', stage, reason, detail, durationsMs: { load: 0, chunk: 0, generate: 0, validate: 0 } };
    return { shard, tally: emptyTally(), cacheHit: false, usage: {} };
  };
  if (giveUp) return localError('process', 'processing_failed', giveUp);

  let bytes: Uint8Array;
  try {
    // Only the file discovery hashed (no symlink, FIFO or other file in its place), with its sha256.
    bytes = await readDocument(input.run.inputDir, entry);
  } catch (err) {
    // Not cached: a permission problem is about this machine, not the content.
    if (err instanceof DocumentChanged) return localError('load', err.reason, err.message);
    const e = err as NodeJS.ErrnoException;
    return localError('load', 'unreadable', e.code === 'EACCES' ? 'permission denied' : e.message);
  }
  await hooks.onProcess?.(entry.source);
  let done;
  try {
    done = await processDocument(bytes, entry.kind, entry.sha256, input.run.settings, {
      generator,
      signal: hooks.signal,
      halt: hooks.halt,
      usage: hooks.usage,
      chunksPerPage: hooks.chunksPerPage,
      // A big document's parts go to disk as they are done; the shard, written last, names them.
      storePart: (n, part) => writeShardPart(outDir, shardKey, n, part),
    });
  } catch (err) {
    // LLM faults and cancellation are Temporal's to retry or stop; anything else is a bug that
    // this document triggers, and it must not take the whole run down with it.
    if (isRunFailure(err) || err instanceof RequestPending || err instanceof BudgetReached || hooks.signal?.aborted || hooks.halt?.aborted) throw err;
    return localError('process', 'processing_failed', `unexpected error while processing this document: ${describeUnexpected(err)}`);
  }
  // A time budget exceeded depends on this machine's speed, not only on the document: say so,
  // but do not cache it (the next run, perhaps on a faster worker, tries again).
  if (done.shard.status === 'error' && done.shard.reason === 'timeout') {
    await store.write(localErrorName, JSON.stringify({ stage: done.shard.stage, reason: done.shard.reason, detail: done.shard.detail }));
    return { shard: done.shard, tally: done.tally, cacheHit: false, usage: done.usage };
  }
  return { shard: done.shard, toStore: { key: shardKey, shard: done.shard }, tally: done.tally, cacheHit: false, usage: done.usage };
}

/**
 * A document that kills or hangs the worker (out of memory, a parser stuck in a loop) would be
 * retried until the batch runs out of attempts and the run fails. After this many attempts on
 * the same document it becomes an error row instead (not cached: the next run tries again).
 * Transient LLM failures never count here: they are waited out inside the attempt.
 */
export const MAX_TRIES_PER_DOCUMENT = 3;

/**
 * How often a batch writes the shards it finished as a pack: most batches are 1–2 s of work
 * (workflows/batchSizing.ts), so one pack each, and a kill costs at most this much work per
 * slot. With an LLM generator, less often: a pack every 2 s of a few documents each would be
 * hundreds of thousands of files on a big corpus, and what a kill loses is replayed from the
 * journal without paying again.
 */
const PACK_EVERY_MS = 2000;
const LLM_PACK_EVERY_MS = 30_000;

/** A batch starts with the catalog of packs as of at most this long ago (a listing of the pack folder each time would be one per batch). */
const CATALOG_MAX_AGE_MS = 10_000;

/** How often a batch reports its live progress (requests in flight, waits) while documents are in hand. */
const LIVE_PROGRESS_MS = 1000;

export async function processBatch(input: ProcessBatchInput, hooks: BatchHooks): Promise<BatchSummary> {
  const { run } = input;
  // A retried attempt starts after the last document the previous attempt stored, with its
  // counts: a killed worker costs the documents in hand and those not packed yet, not the batch.
  const resume = hooks.resumeFrom && hooks.resumeFrom.next >= input.start && hooks.resumeFrom.next <= input.end
    ? hooks.resumeFrom
    : undefined;
  const from = resume?.next ?? input.start;
  const entries = await readManifestRange(run.outDir, input.manifestKey, from, input.end);
  const settingsKey = shardSettingsKey(run);
  const counters = resume ? structuredClone(resume.counters) : emptyCounters();
  const sampleFailures: DocumentFailure[] = resume ? [...resume.sampleFailures] : [];
  let firstFailure: DocumentFailure | undefined = resume?.firstFailure;
  let next = from;
  let triesAtNext = resume && resume.next === from ? (resume.triesAtNext ?? 1) + 1 : 1;
  // --max-cost counts what finished documents cost and what the ones in hand have paid so far.
  const maxCost = run.llmRuntime?.maxCostUsd;
  const inHand = new Set<LlmUsage>();
  const overBudget = () => {
    if (maxCost === undefined) return false;
    let spent = (input.spentMicroUsd ?? 0) + datasetCostMicroUsd(counters.llm ?? {});
    for (const u of inHand) spent += paid(u, 'costMicroUsd');
    for (const f of finishedAhead.values()) spent += datasetCostMicroUsd(f.outcome.usage);
    return spent >= Math.round(maxCost * 1e6);
  };
  let budgetReached = false;
  const generator = run.settings.generateQa
    ? createGenerator(run.settings, { outDir: run.outDir, runtime: run.llmRuntime, readJournal: !run.noCache, warn: hooks.warn, overBudget })
    : undefined;
  // The heartbeat's cursor is the first document whose shard is not stored yet: new shards are
  // packed and written every PACK_EVERY_MS (LLM: LLM_PACK_EVERY_MS, or when a pack is full), and only then does the
  // heartbeat move on, with the counts of exactly the documents before it.
  const packs = new ShardPackWriter(run.outDir);
  // A retry looks at the packs now: an earlier attempt on another worker stored some of its documents.
  const catalog = run.noCache ? undefined : await shardCatalog(run.outDir, { maxAgeMs: resume ? 0 : CATALOG_MAX_AGE_MS, warn: hooks.warn });
  const stored = packs.lookup(catalog?.reader());
  const snapshot = (): BatchProgress => structuredClone({ next, triesAtNext, counters, firstFailure, sampleFailures });
  let durable = snapshot();
  const progress = (): BatchProgress => ({ ...durable, ...(generator?.liveStatus ? { live: generator.liveStatus() } : {}) });
  if (firstFailure && run.failFast) return { start: input.start, end: next, counters, firstFailure, sampleFailures };
  hooks.heartbeat(progress()); // record at once that this attempt started on document `from`
  // A retried attempt stores every document as it finishes for a while, so that its heartbeat
  // names the one in hand if the worker stops again (MAX_TRIES_PER_DOCUMENT counts attempts at
  // the cursor). The document that stopped the last attempt is at most one pack's worth of work
  // after the cursor, so twice that long covers it; then packs are as usual.
  const packEvery = generator?.concurrent ? LLM_PACK_EVERY_MS : PACK_EVERY_MS;
  const onePerDocumentUntil = resume ? Date.now() + 2 * packEvery : 0;
  let lastPack = Date.now();
  let persisting = Promise.resolve();
  const persist = (force: boolean): Promise<void> => {
    const now = Date.now();
    if (!force && now >= onePerDocumentUntil && !packs.full && now - lastPack < packEvery) return persisting;
    lastPack = now;
    persisting = persisting.then(async () => {
      // Together, synchronously: the pack holds every document before the snapshot's cursor (and
      // perhaps some finished ahead of it).
      const upTo = snapshot();
      await packs.flush();
      durable = upTo;
      hooks.heartbeat(progress());
    });
    return persisting;
  };


  const account = (entry: ManifestEntry, o: DocumentOutcome): DocumentFailure | undefined => {
    counters.documentsDone++;
    if (o.cacheHit) counters.cacheHits++;
    if (o.shard) count(counters, o.shard, o.tally, o.cacheHit, o.usage);
    const failure = failureFrom(entry, o.shard);
    if (failure) {
      counters.failed++;
      counters.failedByReason[failure.reason] = (counters.failedByReason[failure.reason] ?? 0) + 1;
      if (!firstFailure || failure.index < firstFailure.index) firstFailure = failure;
      if (sampleFailures.length < 5) sampleFailures.push(failure);
    }
    return failure;
  };

  let laneHooks = hooks;
  // Documents finished ahead of the cursor (in parallel mode) wait here until it reaches them:
  // the counters a heartbeat carries must be those of the documents before its cursor, exactly,
  // since a retry resumes at the cursor with them.
  const finishedAhead = new Map<number, { entry: ManifestEntry; outcome: DocumentOutcome }>();
  const processOne = async (entry: ManifestEntry): Promise<DocumentFailure | undefined> => {
    const giveUp = entry.index === from && triesAtNext > MAX_TRIES_PER_DOCUMENT
      ? `skipped after ${MAX_TRIES_PER_DOCUMENT} attempts that did not finish it (each ended with the worker stopping while this document was in hand: a crash, running out of memory, or a hang)`
      : undefined;
    const usage: LlmUsage = {};
    inHand.add(usage);
    let outcome: DocumentOutcome;
    try {
      outcome = await loadOrProcess(input, entry, settingsKey, { ...laneHooks, usage }, generator, giveUp, stored);
    } finally {
      inHand.delete(usage);
    }
    // Packed as soon as it is done, ahead of the cursor or not: a pack may hold documents after
    // the cursor (stored early is harmless), never miss one before it.
    if (outcome.toStore) packs.add(outcome.toStore.key, outcome.toStore.shard);
    finishedAhead.set(entry.index, { entry, outcome });
    for (let done = finishedAhead.get(next); done; done = finishedAhead.get(next)) {
      finishedAhead.delete(next);
      account(done.entry, done.outcome);
      next++;
      triesAtNext = 1;
    }
    await persist(false);
    return failureFrom(entry, outcome.shard);
  };

  // In parallel only where it pays (LLM requests) and where order does not decide the result
  // (--fail-fast stops at the first bad document in manifest order). One lane more than the
  // limiter has slots: the next document is read and chunked while the others' requests are
  // out, so a freed slot finds a request waiting (at --llm-concurrency 1, one lane left a
  // document's reading, chunking and shard write between every two requests).
  const lanes = generator?.concurrent && !run.failFast ? Math.max(1, Math.min((run.llmRuntime?.concurrency ?? 16) + 1, entries.length)) : 1;
  let cursor = 0;
  let stop = false;
  const lane = async () => {
    while (cursor < entries.length && !stop) {
      if (overBudget()) {
        budgetReached = stop = true;
        break;
      }
      const failure = await processOne(entries[cursor++]!);
      if (failure && run.failFast) stop = true;
    }
  };
  // A failure that ends the attempt (a bad key) halts the other lanes' requests not sent yet;
  // the attempt ends once nothing is in flight, so its retry never races it.
  const halt = new AbortController();
  // Every request in flight listens on these: dozens at once is expected, not a leak.
  setMaxListeners(0, halt.signal, ...(hooks.signal ? [hooks.signal] : []), ...(hooks.halt ? [hooks.halt] : []));
  const laneHalt = hooks.halt ? AbortSignal.any([hooks.halt, halt.signal]) : halt.signal;
  setMaxListeners(0, laneHalt);
  laneHooks = { ...hooks, halt: laneHalt };
  // Progress reporting, not a keep-alive (that is the activity boundary's, activities/index.ts):
  // fresh details every second while documents are in hand (LLM work can take minutes per
  // document), for progress views to read requests and waits from. The heartbeat throws on a
  // cancellation; that halts the lanes here too.
  const reportLive = setInterval(() => {
    try {
      hooks.heartbeat(progress());
    } catch (err) {
      stop = true;
      halt.abort(err);
    }
  }, LIVE_PROGRESS_MS);
  try {
    const settled = await Promise.allSettled(Array.from({ length: lanes }, () => lane().catch((err: unknown) => {
      stop = true;
      // The budget is not a failure: the batch ends early, cleanly, and says so.
      if (err instanceof BudgetReached) {
        budgetReached = true;
        return;
      }
      if (!halt.signal.aborted) halt.abort(err);
      throw err;
    })));
    void settled;
    if (halt.signal.aborted) throw halt.signal.reason;
    await persist(true);
  } catch (err) {
    // What was finished is kept even so: a retry finds those documents done.
    await persist(true).catch(() => undefined);
    throw err;
  } finally {
    clearInterval(reportLive);
  }

  const summary: BatchSummary = { start: input.start, end: next, counters, firstFailure, sampleFailures };
  if (budgetReached) {
    summary.budgetReached = true;
    hooks.warn?.(`--max-cost ${formatUsd(Math.round((maxCost ?? 0) * 1e6))} reached; batch stopped at document ${next}`);
  }
  return summary;
}

/** An error's message, or its class name when it has none (an empty detail names nothing). */
function describeUnexpected(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.message || err.name || err.constructor.name || 'an error without a message';
}

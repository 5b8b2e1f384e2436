/**
 * Load + chunk in a pool of worker threads, so that one document cannot starve or kill the
 * others: each runs in a thread with its own heap limit (V8 `resourceLimits`) and a wall-clock
 * budget scaled by its size. A thread over either is terminated and replaced, and the document
 * becomes `too_complex` or `timeout` with the limit named; nothing else in the process notices.
 * The worker's event loop stays free meanwhile (heartbeats, Ctrl-C), and an abort terminates
 * the document's thread at once.
 *
 * Threads are started lazily, kept warm between documents (each preloads the parsers once),
 * unref'ed while idle so they never keep a process alive, and ended after `idleMs` idle. They
 * run their code from one prebuilt bundle when there is one (threadBundle.ts), not through tsx;
 * a thread that cannot load the bundle is started again through tsx. The output is exactly that of
 * `extractText` + `chunkText` in the calling thread (extractAndChunkHere runs in the thread).
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { Chunk, DocumentKind } from '../../schemas/index.js';
import type { ChunkOptions } from '../chunk.js';
import { extractAndChunkHere, type IsolatedResult, type StageTimings } from './extractAndChunk.js';
import { needsIsolation } from './index.js';
import type { JobMessage, PageRequest, WorkerMessage } from './extractWorker.js';
import type { ExtractLimits } from './limits.js';
import { threadBundle, threadBundleFailed } from './threadBundle.js';

export type { IsolatedResult, StageTimings } from './extractAndChunk.js';

export interface ExtractionPoolOptions {
  /** Threads: one per activity slot of the worker. Default 2. */
  size: number;
  /** Old-generation heap of each thread (V8 maxOldGenerationSizeMb). Default 1024. */
  heapMb: number;
  /**
   * A big document gets a thread of its own (started for it, ended after it) with
   * heapPerInputMb per MB of input, up to maxHeapMb. Markdown takes the most: a 20 MB file
   * needs over 1 GB (marked's tokens, then the HTML and its DOM). Defaults 128 and 4096.
   */
  heapPerInputMb: number;
  maxHeapMb: number;
  /** Stack of each thread; undefined = Node's default (4 MB). */
  stackMb: number | undefined;
  /** Young generation of each thread (V8 maxYoungGenerationSizeMb); undefined = V8's choice. */
  youngMb: number | undefined;
  /**
   * Time budget of a document: timeBaseMs + timePerMbMs per MB of input. Default 30 s + 5 s
   * per MB: ordinary Markdown runs at 0.3-0.5 MB/s through marked and html-to-text.
   */
  timeBaseMs: number;
  timePerMbMs: number;
  /**
   * Text, Markdown and HTML smaller than this are done in the calling thread (never PDFs,
   * .docx or .epub: a small one can still be a decompression bomb). Default 0: everything is isolated. Measured
   * on warm threads, the round trip adds ~0.3 ms to a 1-8 KB document (text 1 KB: 0.53 vs
   * 0.28 ms; HTML 8 KB: 2.2 vs 1.8 ms) and 1-7 ms at 64 KB, next to the file read and shard
   * write around it; in the calling thread a small document could still hang the event loop
   * (a regex blow-up in marked, nesting the checks do not see).
   */
  inProcessBelowBytes: number;
  /** Parser limits (nesting depth, decoded PDF size) passed to extractText. */
  limits: Partial<ExtractLimits>;
  /**
   * A thread idle this long is ended (the next document starts one again, ~0.3-1 s). Default
   * 30 s: between documents a thread waits milliseconds, but once processing is over (the
   * export, a long LLM wait) two idle threads still held ~80 MB of RSS. Infinity keeps them.
   */
  idleMs: number;
}

export const DEFAULT_POOL_OPTIONS: Readonly<ExtractionPoolOptions> = Object.freeze({
  size: 2,
  heapMb: 1024,
  heapPerInputMb: 128,
  maxHeapMb: 4096,
  stackMb: undefined,
  youngMb: undefined,
  timeBaseMs: 30_000,
  timePerMbMs: 5_000,
  inProcessBelowBytes: 0,
  limits: {},
  idleMs: 30_000,
});

export interface ExtractCallOptions {
  /** Aborting terminates the document's thread at once; the promise rejects with the reason. */
  signal?: AbortSignal;
  /** Overrides the size-scaled time budget, in milliseconds. */
  timeoutMs?: number;
  /**
   * Where the time went, once the document is done (not when the promise rejects):
   * load and chunk as measured in the thread, waitMs queued or waiting for a thread to start.
   */
  onTimings?: (timings: PoolTimings) => void;
  /** Also return the extraction's pages (PDF), encoding and warnings, when known. Default false. */
  meta?: boolean;
  /** Return the whole text (default true); the pipeline, which needs only chunks and words, says false. */
  keepText?: boolean;
}

/**
 * A document's load + chunk with its chunks in pages: `chunkPages` yields them in order, each asked
 * of the thread when the one before is done with, so that only one page at a time is in the
 * caller's heap. The thread stays the document's until the last page is read or `release` is
 * called (chunkPages' `finally` calls it; call it yourself if you may not iterate at all).
 */
export type PagedResult =
  | Extract<IsolatedResult, { ok: false }>
  | (Omit<Extract<IsolatedResult, { ok: true }>, 'chunks'> & {
      chunkCount: number;
      chunkPages: AsyncGenerator<Chunk[], void, undefined>;
      release: () => void;
    });

interface PageMessage {
  chunks: Chunk[];
  last: boolean;
}

export interface PoolTimings extends StageTimings {
  waitMs: number;
  totalMs: number;
}

const ENTRY = new URL('./extractWorker.mjs', import.meta.url);

/**
 * The parent's Node flags minus tsx's own hooks (`tsx script.ts` passes `--require
 * .../tsx/dist/preflight.cjs --import .../tsx/dist/loader.mjs`): the entry registers tsx
 * itself after loading pdfjs & co. without hooks, which cuts a thread's start by 1-2 s.
 */
const WORKER_EXEC_ARGV = withoutTsxHooks(process.execArgv);

export function withoutTsxHooks(argv: readonly string[]): string[] {
  const out: string[] = [];
  const hookFlag = /^(?:--require|-r|--import|--loader|--experimental-loader)$/;
  const isTsx = (value: string) => /[\\/]tsx[\\/]|^tsx(?:\/|$)/.test(value);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = /^(--require|--import|--loader|--experimental-loader)=(.*)$/.exec(arg);
    if (eq && isTsx(eq[2]!)) continue;
    if (hookFlag.test(arg) && i + 1 < argv.length && isTsx(argv[i + 1]!)) {
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}
const MB = 1024 * 1024;

type Outcome = { result: IsolatedResult; timings?: StageTimings; chunkCount?: number } | { error: unknown };

interface Submitted {
  result: IsolatedResult;
  /** All the document's chunks; more than result.chunks when the thread holds the rest. */
  chunkCount: number;
  /** Set while the thread holds pages of this document. */
  job?: Job;
}

interface Job {
  id: number;
  bytes: Uint8Array;
  kind: DocumentKind;
  chunkOptions: ChunkOptions;
  limits: Partial<ExtractLimits>;
  meta: boolean;
  keepText: boolean;
  pageChunks: number | undefined;
  /** The pipeline waits for this page of a paged document. */
  pageWaiter?: { resolve: (page: PageMessage) => void; reject: (err: unknown) => void };
  heapMb: number;
  budgetMs: number;
  budgetText: string;
  queuedAt: number;
  postedAt?: number;
  settle: (outcome: Outcome) => void;
}

interface Slot {
  worker: Worker;
  /** The bundle the thread was started from; undefined: through tsx. */
  bundle: string | undefined;
  heapMb: number;
  stackMb: number | undefined;
  ready: boolean;
  dead: boolean;
  job?: Job;
  timer?: NodeJS.Timeout;
  idleTimer?: NodeJS.Timeout;
}

export class ExtractionPool {
  private opts: ExtractionPoolOptions;
  private slots: Slot[] = [];
  private queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: Partial<ExtractionPoolOptions> = {}) {
    this.opts = { ...DEFAULT_POOL_OPTIONS, ...options };
  }

  get options(): Readonly<ExtractionPoolOptions> {
    return this.opts;
  }

  /** Threads started (busy, idle or starting); for tests and diagnostics. */
  get threads(): number {
    return this.slots.length;
  }

  /**
   * New options apply to the next document. Threads whose heap or stack limit changed are
   * retired when idle (busy ones after their document) and replaced on demand.
   */
  configure(options: Partial<ExtractionPoolOptions>): void {
    this.opts = { ...this.opts, ...options, size: Math.max(1, Math.floor(options.size ?? this.opts.size)) };
    for (const slot of [...this.slots]) {
      if (!slot.job && (!this.fits(slot) || this.slots.length > this.opts.size)) this.retire(slot);
    }
    this.pump();
  }

  run(bytes: Uint8Array, kind: DocumentKind, chunkOptions: ChunkOptions, call: ExtractCallOptions = {}): Promise<IsolatedResult> {
    return this.submit(bytes, kind, chunkOptions, call, undefined).then((s) => s.result);
  }

  /** As `run`, with the chunks in pages of `pageChunks` (see PagedResult). */
  async runPaged(bytes: Uint8Array, kind: DocumentKind, chunkOptions: ChunkOptions, pageChunks: number, call: ExtractCallOptions = {}): Promise<PagedResult> {
    const size = Math.max(1, Math.floor(pageChunks));
    const { result, chunkCount, job } = await this.submit(bytes, kind, chunkOptions, call, size);
    if (!result.ok) return result;
    const { chunks, ...rest } = result;
    let released = !job;
    const release = (): void => {
      if (released) return;
      released = true;
      this.drop(job!);
    };
    // In the calling thread (or all in one page), the pages are cut from the chunks at hand.
    const pool = this;
    async function* pages(): AsyncGenerator<Chunk[], void, undefined> {
      try {
        if (!job) {
          for (let i = 0; i < chunks.length; i += size) yield chunks.slice(i, i + size);
          return;
        }
        yield chunks;
        for (let last = false; !last;) {
          const page = await pool.fetchPage(job);
          last = page.last;
          if (last) released = true;
          yield page.chunks;
        }
      } finally {
        release();
      }
    }
    return { ...rest, chunkCount, chunkPages: pages(), release };
  }

  private submit(bytes: Uint8Array, kind: DocumentKind, chunkOptions: ChunkOptions, call: ExtractCallOptions, pageChunks: number | undefined): Promise<Submitted> {
    const { signal } = call;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.closed) return Promise.reject(new Error('the extraction pool is closed'));
    const limits = this.opts.limits;
    const queuedAt = performance.now();
    const meta = call.meta ?? false;
    const keepText = call.keepText ?? true;
    if (!needsIsolation(kind) && bytes.length < this.opts.inProcessBelowBytes) {
      const timings: StageTimings = { loadMs: 0, chunkMs: 0 };
      return extractAndChunkHere(bytes, kind, chunkOptions, limits, timings, meta, keepText).then((result) => {
        call.onTimings?.({ ...timings, waitMs: 0, totalMs: performance.now() - queuedAt });
        return { result, chunkCount: result.ok ? result.chunks.length : 0 };
      });
    }

    const sizeMb = bytes.length / MB;
    const budgetMs = call.timeoutMs ?? Math.round(this.opts.timeBaseMs + this.opts.timePerMbMs * sizeMb);
    const budgetText =
      call.timeoutMs !== undefined
        ? `${seconds(budgetMs)} s`
        : `${seconds(budgetMs)} s for ${sizeMb.toFixed(1)} MB: ${seconds(this.opts.timeBaseMs)} s + ${seconds(this.opts.timePerMbMs)} s per MB`;
    return new Promise<Submitted>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        const queued = this.queue.indexOf(job);
        if (queued >= 0) {
          this.queue.splice(queued, 1);
          job.settle({ error: signal!.reason });
          return;
        }
        const slot = this.slots.find((s) => s.job === job);
        if (slot) this.kill(slot, { error: signal!.reason });
      };
      const job: Job = {
        id: this.nextId++,
        bytes,
        kind,
        chunkOptions,
        limits,
        meta,
        keepText,
        pageChunks,
        heapMb: this.heapFor(bytes.length),
        budgetMs,
        budgetText,
        queuedAt,
        settle: (outcome) => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          if ('error' in outcome) return reject(outcome.error);
          const now = performance.now();
          const postedAt = job.postedAt ?? now;
          const stages = outcome.timings ?? { loadMs: now - postedAt, chunkMs: 0 };
          try {
            call.onTimings?.({ ...stages, waitMs: postedAt - queuedAt, totalMs: now - queuedAt });
          } finally {
            const { result } = outcome;
            const chunkCount = outcome.chunkCount ?? (result.ok ? result.chunks.length : 0);
            const paging = result.ok && chunkCount > result.chunks.length;
            resolve({ result, chunkCount, ...(paging ? { job } : {}) });
          }
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  /** Starts the missing threads now, so that the first documents do not wait for them. */
  warm(): void {
    while (!this.closed && this.slots.length < this.opts.size) this.spawn();
  }

  /** Terminates every thread; documents in flight or queued reject. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('the extraction pool is closed');
    for (const job of this.queue.splice(0)) job.settle({ error });
    await Promise.all([...this.slots].map((slot) => this.kill(slot, { error })));
  }

  /** The heap a document of this size runs with (its thread's old-generation limit). */
  heapFor(byteLength: number): number {
    const { heapMb, heapPerInputMb, maxHeapMb } = this.opts;
    return Math.max(heapMb, Math.min(maxHeapMb, Math.ceil((heapPerInputMb * byteLength) / MB)));
  }

  /** A warm thread of the current options (not a big document's own). */
  private fits(slot: Slot): boolean {
    return slot.heapMb === this.opts.heapMb && slot.stackMb === this.opts.stackMb;
  }

  /** Documents in arrival order; at most `size` threads, a big document's own included. */
  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      const job = this.queue[0]!;
      let slot = this.slots.find((s) => !s.job && !s.dead && s.heapMb === job.heapMb && s.stackMb === this.opts.stackMb);
      if (!slot) {
        if (this.slots.length >= this.opts.size) {
          // Full: make room by ending an idle thread of the wrong kind, else wait for one.
          const idle = this.slots.find((s) => !s.job && !s.dead);
          if (!idle) return;
          this.retire(idle);
        }
        slot = this.spawn(job.heapMb);
      }
      this.queue.shift();
      this.dispatch(slot, job);
    }
  }

  private spawn(heapMb = this.opts.heapMb): Slot {
    const { stackMb } = this.opts;
    const bundle = threadBundle();
    const worker = new Worker(ENTRY, {
      execArgv: WORKER_EXEC_ARGV,
      workerData: { bundle },
      resourceLimits: {
        maxOldGenerationSizeMb: heapMb,
        ...(this.opts.youngMb !== undefined ? { maxYoungGenerationSizeMb: this.opts.youngMb } : {}),
        ...(stackMb !== undefined ? { stackSizeMb: stackMb } : {}),
      },
    });
    worker.unref();
    const slot: Slot = { worker, bundle, heapMb, stackMb, ready: false, dead: false };
    worker.on('message', (m: WorkerMessage) => this.onMessage(slot, m));
    worker.on('error', (err) => this.onDeath(slot, err));
    worker.on('exit', (code) => this.onDeath(slot, undefined, code));
    this.slots.push(slot);
    return slot;
  }

  private dispatch(slot: Slot, job: Job): void {
    clearTimeout(slot.idleTimer);
    slot.job = job;
    slot.worker.ref(); // a document in hand keeps the process alive, as in-thread work would
    if (slot.ready) this.post(slot, job);
  }

  private post(slot: Slot, job: Job): void {
    const { bytes } = job;
    // Transfer, not copy: the caller's view is detached. A view on part of a larger buffer
    // (Node's Buffer pool) is copied instead, so that no other Buffer loses its memory.
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
    const sent = whole ? bytes : bytes.slice();
    job.bytes = new Uint8Array(0);
    job.postedAt = performance.now();
    slot.timer = setTimeout(() => {
      void this.kill(slot, {
        result: { ok: false, reason: 'timeout', detail: `extraction did not finish in time (limit: ${job.budgetText})` },
      });
    }, job.budgetMs);
    const message: JobMessage = {
      type: 'job', id: job.id, bytes: sent, kind: job.kind, chunkOptions: job.chunkOptions, limits: job.limits, meta: job.meta, keepText: job.keepText,
      ...(job.pageChunks !== undefined ? { pageChunks: job.pageChunks } : {}),
    };
    slot.worker.postMessage(message, [sent.buffer as ArrayBuffer]);
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    if (slot.dead) return;
    if (m.type === 'ready') {
      slot.ready = true;
      if (slot.job) this.post(slot, slot.job);
      else this.idle(slot);
      return;
    }
    if (m.type === 'bundle-failed') {
      this.restartWithoutBundle(slot, m.message);
      return;
    }
    const job = slot.job;
    if (!job || job.id !== m.id) return;
    if (m.type === 'page') {
      const waiter = job.pageWaiter;
      job.pageWaiter = undefined;
      if (m.last) this.finish(slot);
      waiter?.resolve(m);
      return;
    }
    // The time budget is extraction's: the pages a thread still holds wait for the pipeline.
    clearTimeout(slot.timer);
    const paging = m.type === 'done' && m.result.ok && (m.chunkCount ?? 0) > m.result.chunks.length;
    if (!paging) this.finish(slot);
    if (m.type === 'done') job.settle({ result: m.result, timings: m.timings, ...(m.chunkCount !== undefined ? { chunkCount: m.chunkCount } : {}) });
    else job.settle({ error: Object.assign(new Error(m.message), { stack: m.stack ?? m.message }) });
  }

  /**
   * The thread could not load its bundle: from now on threads start through tsx (threadBundle
   * says so once per process), and the document the thread was to take waits for the next.
   */
  private restartWithoutBundle(slot: Slot, why: string): void {
    if (slot.bundle) threadBundleFailed(slot.bundle, why);
    const job = slot.job;
    slot.job = undefined;
    this.retire(slot);
    if (job) this.queue.unshift(job);
    this.replace();
  }

  /** The slot's document is done with: the thread goes back to the pool. */
  private finish(slot: Slot): void {
    slot.job = undefined;
    slot.worker.unref();
    if (this.slots.length > this.opts.size || !this.fits(slot)) this.retire(slot);
    this.pump();
    if (!slot.job) this.idle(slot);
  }

  /** An idle thread ends after idleMs unless a document comes first (dispatch clears the timer). */
  private idle(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    const { idleMs } = this.opts;
    if (slot.dead || !Number.isFinite(idleMs)) return;
    slot.idleTimer = setTimeout(() => {
      if (!slot.job) this.retire(slot);
    }, Math.max(0, idleMs));
    slot.idleTimer.unref();
  }

  /** Asks the document's thread for its next page of chunks. */
  private fetchPage(job: Job): Promise<PageMessage> {
    const slot = this.slots.find((s) => s.job === job);
    if (!slot) return Promise.reject(new Error('the extraction thread of this document stopped before its last chunks were read'));
    return new Promise<PageMessage>((resolve, reject) => {
      job.pageWaiter = { resolve, reject };
      slot.worker.postMessage({ type: 'page', id: job.id } satisfies PageRequest);
    });
  }

  /** The caller will read no more pages of this document: the thread lets them go. */
  private drop(job: Job): void {
    const slot = this.slots.find((s) => s.job === job);
    if (!slot) return;
    slot.worker.postMessage({ type: 'drop', id: job.id } satisfies PageRequest);
    this.finish(slot);
  }

  /** A thread lost while the pipeline waits for one of its pages: the wait ends with why. */
  private failPage(job: Job | undefined, why: string): void {
    const waiter = job?.pageWaiter;
    if (!waiter) return;
    job.pageWaiter = undefined;
    waiter.reject(new Error(`the extraction thread of this document stopped before its last chunks were read (${why})`));
  }

  /** The thread died on its own: out of heap, an uncaught error, or it never started. */
  private onDeath(slot: Slot, err: Error | undefined, code?: number): void {
    if (slot.dead) return;
    this.forget(slot);
    const job = slot.job;
    this.failPage(job, err?.message ?? `exit code ${code}`);
    if (!slot.ready) {
      // Not the document's fault: the thread could not start. Everything waiting fails alike.
      const error = new Error(`an extraction thread could not start: ${err?.message ?? `it exited with code ${code}`}`, { cause: err });
      job?.settle({ error });
      for (const queued of this.queue.splice(0)) queued.settle({ error });
      return;
    }
    if (job) {
      if ((err as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        job.settle({ result: { ok: false, reason: 'too_complex', detail: `extraction needed more memory than a document may use (limit: ${slot.heapMb} MB heap)` } });
      } else if (err) {
        // An error that escaped the parsers (extractText catches what they throw): as there.
        const reason = job.kind === 'pdf' ? 'pdf_broken' : 'unreadable';
        job.settle({ result: { ok: false, reason, detail: `extraction failed: ${err.message}` } });
      } else {
        job.settle({ error: new Error(`the extraction thread exited with code ${code} during this document`) });
      }
    }
    this.replace();
  }

  /** Terminates the thread of a document (limit, abort, close) and settles the document. */
  private kill(slot: Slot, outcome: Outcome): Promise<void> {
    if (slot.dead) return Promise.resolve();
    this.forget(slot);
    const job = slot.job;
    this.failPage(job, 'terminated');
    const done = slot.worker.terminate().then(
      () => undefined,
      () => undefined,
    );
    job?.settle(outcome);
    this.replace();
    return done;
  }

  private retire(slot: Slot): void {
    if (slot.dead) return;
    this.forget(slot);
    void slot.worker.terminate().catch(() => undefined);
  }

  private forget(slot: Slot): void {
    slot.dead = true;
    clearTimeout(slot.timer);
    clearTimeout(slot.idleTimer);
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  /** A lost thread is replaced at once, so the next document does not pay the start. */
  private replace(): void {
    if (this.closed) return;
    if (this.slots.length < this.opts.size) this.spawn();
    this.pump();
  }
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

// The process-wide pool the activities use.

let shared: ExtractionPool | undefined;
let sharedOptions: Partial<ExtractionPoolOptions> = {};

/** Load + chunk one document in the shared pool. The caller's `bytes` may be detached (transferred). */
export function extractAndChunk(
  bytes: Uint8Array,
  kind: DocumentKind,
  chunkOptions: ChunkOptions,
  opts: ExtractCallOptions = {},
): Promise<IsolatedResult> {
  shared ??= new ExtractionPool(sharedOptions);
  return shared.run(bytes, kind, chunkOptions, opts);
}

/** As extractAndChunk, with the chunks in pages (see PagedResult). */
export function extractChunkPages(
  bytes: Uint8Array,
  kind: DocumentKind,
  chunkOptions: ChunkOptions,
  pageChunks: number,
  opts: ExtractCallOptions = {},
): Promise<PagedResult> {
  shared ??= new ExtractionPool(sharedOptions);
  return shared.runPaged(bytes, kind, chunkOptions, pageChunks, opts);
}

/** Threads of the shared pool: call with the worker's activity concurrency at start. */
export function setExtractionPoolSize(n: number): void {
  configureExtractionPool({ size: n });
}

/** Heap, stack, time budget and parser limits of the shared pool (see DEFAULT_POOL_OPTIONS). */
export function configureExtractionPool(options: Partial<ExtractionPoolOptions>): void {
  sharedOptions = { ...sharedOptions, ...options };
  shared?.configure(options);
}

/** Starts the shared pool's threads now (optional: they otherwise start with the first documents). */
export function warmExtractionPool(): void {
  shared ??= new ExtractionPool(sharedOptions);
  shared.warm();
}

/** Terminates the shared pool's threads (documents in flight reject); the next call starts afresh. */
export async function closeExtractionPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}

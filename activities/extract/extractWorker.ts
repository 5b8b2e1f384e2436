/**
 * The body of an extraction worker thread (started through extractWorker.mjs by pool.ts). It
 * preloads the parsers once (pdfjs with the first PDF), then runs one document per message. Documents
 * that exceed a limit are the pool's business: it terminates this thread from outside.
 *
 * A job with `pageChunks` sends back only its first page of chunks; the pool asks for each
 * next page (`page`) when the pipeline is ready for it, or gives up the rest (`drop`). So a
 * document of 240,000 chunks never crosses to the main thread at once: one structured clone
 * of all of them was a second and third copy of the document (the serialized message, then
 * its objects), and the main thread holding them all was most of a 300 MB file's peak RSS.
 */
import { parentPort, resourceLimits } from 'node:worker_threads';
import type { Chunk, DocumentKind } from '../../schemas/index.js';
import type { ChunkOptions } from '../chunk.js';
import { extractAndChunkHere, type IsolatedResult, type StageTimings } from './extractAndChunk.js';
import { type ExtractLimits, stackOverflowDetail } from './limits.js';

export interface JobMessage {
  type: 'job';
  id: number;
  bytes: Uint8Array;
  kind: DocumentKind;
  chunkOptions: ChunkOptions;
  limits: Partial<ExtractLimits>;
  meta?: boolean;
  keepText?: boolean;
  /** Chunks per message; undefined: all of them in the `done` message. */
  pageChunks?: number;
}

/** The pool asks for the next page of a paged job, or lets the rest go. */
export type PageRequest = { type: 'page'; id: number } | { type: 'drop'; id: number };

export type WorkerMessage =
  | { type: 'ready' }
  /** Posted by extractWorker.mjs instead of `ready` when the thread's bundle could not be imported. */
  | { type: 'bundle-failed'; message: string }
  /** With pageChunks, `result.chunks` is the first page and `chunkCount` counts them all. */
  | { type: 'done'; id: number; result: IsolatedResult; timings: StageTimings; chunkCount?: number }
  | { type: 'page'; id: number; chunks: Chunk[]; last: boolean }
  | { type: 'failed'; id: number; message: string; stack?: string };

if (!parentPort) throw new Error('extractWorker.ts must run in a worker thread');
const port = parentPort;

/** The chunks of a paged job not sent yet, and how many go in each page. */
const held = new Map<number, { chunks: Chunk[]; next: number; size: number }>();

function nextPage(id: number): void {
  const h = held.get(id);
  if (!h) return;
  const chunks = h.chunks.slice(h.next, h.next + h.size);
  h.next += chunks.length;
  const last = h.next >= h.chunks.length;
  if (last) held.delete(id);
  port.postMessage({ type: 'page', id, chunks, last } satisfies WorkerMessage);
}

function runJob(job: JobMessage): void {
  const timings: StageTimings = { loadMs: 0, chunkMs: 0 };
  const bytes = job.bytes;
  // The message must not keep the input alive while its chunks wait to be asked for.
  job.bytes = new Uint8Array(0);
  extractAndChunkHere(bytes, job.kind, job.chunkOptions, job.limits, timings, job.meta ?? false, job.keepText ?? true, true).then(
    (result) => {
      // Name the stack limit, which only the thread knows.
      if (!result.ok && result.detail === stackOverflowDetail() && resourceLimits.stackSizeMb) {
        result = { ...result, detail: stackOverflowDetail(`${resourceLimits.stackSizeMb} MB stack`) };
      }
      const size = job.pageChunks;
      if (!result.ok || size === undefined || result.chunks.length <= size) {
        port.postMessage({ type: 'done', id: job.id, result, timings, ...(size !== undefined && result.ok ? { chunkCount: result.chunks.length } : {}) } satisfies WorkerMessage);
        return;
      }
      const all = result.chunks;
      held.set(job.id, { chunks: all, next: size, size });
      port.postMessage({ type: 'done', id: job.id, result: { ...result, chunks: all.slice(0, size) }, timings, chunkCount: all.length } satisfies WorkerMessage);
    },
    // extractText never throws; chunkText throwing is a bug the caller reports as it always has.
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({ type: 'failed', id: job.id, message: e.message, stack: e.stack } satisfies WorkerMessage);
    },
  );
}

port.on('message', (m: JobMessage | PageRequest) => {
  if (m.type === 'job') runJob(m);
  else if (m.type === 'page') nextPage(m.id);
  else held.delete(m.id);
});
// `ready` is posted by extractWorker.mjs once tsx's hooks are removed again.

/**
 * The body of an extraction worker thread (started through extractWorker.mjs by pool.ts). It
 * preloads the parsers once (pdfjs with the first PDF), then runs one document per message. Documents
 * that exceed a limit are the pool's business: it terminates this thread from outside.
 */
import { parentPort, resourceLimits } from 'node:worker_threads';
import type { DocumentKind } from '../../schemas/index.js';
import type { ChunkOptions } from '../chunk.js';
import { extractAndChunkHere, type IsolatedResult, type StageTimings } from './extractAndChunk.js';
import { type ExtractLimits, stackOverflowDetail } from './limits.js';

export interface JobMessage {
  id: number;
  bytes: Uint8Array;
  kind: DocumentKind;
  chunkOptions: ChunkOptions;
  limits: Partial<ExtractLimits>;
  meta?: boolean;
  keepText?: boolean;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: IsolatedResult; timings: StageTimings }
  | { type: 'failed'; id: number; message: string; stack?: string };

const port = parentPort;
if (!port) throw new Error('extractWorker.ts must run in a worker thread');

port.on('message', (job: JobMessage) => {
  const timings: StageTimings = { loadMs: 0, chunkMs: 0 };
  extractAndChunkHere(job.bytes, job.kind, job.chunkOptions, job.limits, timings, job.meta ?? false, job.keepText ?? true).then(
    (result) => {
      // Name the stack limit, which only the thread knows.
      if (!result.ok && result.detail === stackOverflowDetail() && resourceLimits.stackSizeMb) {
        result = { ...result, detail: stackOverflowDetail(`${resourceLimits.stackSizeMb} MB stack`) };
      }
      port.postMessage({ type: 'done', id: job.id, result, timings } satisfies WorkerMessage);
    },
    // extractText never throws; chunkText throwing is a bug the caller reports as it always has.
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({ type: 'failed', id: job.id, message: e.message, stack: e.stack } satisfies WorkerMessage);
    },
  );
});
// `ready` is posted by extractWorker.mjs once tsx's hooks are removed again.

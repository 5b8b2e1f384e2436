/**
 * Loads pdfjs-dist once, set up for Node: legacy build (polyfills what Node 20 lacks), worker
 * handler preloaded in-process so pdfjs never fetches a worker file, and no console noise.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

type Pdfjs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');

let loading: Promise<Pdfjs> | undefined;

export function loadPdfjs(): Promise<Pdfjs> {
  loading ??= load();
  return loading;
}

async function load(): Promise<Pdfjs> {
  // At import time pdfjs probes for @napi-rs/canvas (only needed for rendering) and prints
  // "Warning: Cannot polyfill ..." through console.log when it is missing. Hide just those.
  const log = console.log;
  const filtered = (...args: unknown[]): void => {
    if (typeof args[0] === 'string' && args[0].startsWith('Warning: Cannot ')) return;
    log.apply(console, args);
  };
  console.log = filtered;
  try {
    const [pdfjs, worker] = await Promise.all([
      import('pdfjs-dist/legacy/build/pdf.mjs'),
      import('pdfjs-dist/legacy/build/pdf.worker.mjs'),
    ]);
    // In Node pdfjs runs a "fake worker" on the main thread. Handing it the handler up front
    // means it does not import "./pdf.worker.mjs" by relative URL (breaks under bundlers).
    const g = globalThis as { pdfjsWorker?: { WorkerMessageHandler: unknown } };
    g.pdfjsWorker ??= { WorkerMessageHandler: worker.WorkerMessageHandler };
    return pdfjs;
  } finally {
    if (console.log === filtered) console.log = log; // unless someone else replaced it since
  }
}

/**
 * Directory of the packed CMaps shipped with pdfjs-dist (trailing slash, as pdfjs wants).
 * Without them text in CJK fonts that use predefined CMaps cannot be decoded. Read from disk.
 */
export const CMAP_DIR = join(dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), 'cmaps') + '/';

// Entry of an extraction worker thread. A worker starts with Node's plain loader whatever the
// parent uses (tsx, vitest), so it registers tsx itself before importing the TypeScript.
// Registering again when the parent's tsx hooks were inherited (`tsx script.ts`) is harmless.
//
// The parsers are imported first, before tsx's hooks exist, and the hooks are removed again
// once the TypeScript is loaded: through them pdfjs-dist takes 1-4 s to load instead of
// 0.2-0.9 s. pdfjs itself is not preloaded: it costs ~100 MB of RSS in every thread (4
// threads: ~400 MB of a CLI run), so a thread loads it with its first PDF (pdfjs.ts), fast
// because the hooks are gone by then.
//
// With `workerData.bundle` (threadBundle.ts: the same modules as one JavaScript file) the
// thread imports that instead and never registers tsx, which saves ~28 MB of RSS per thread;
// when that import fails, the thread says `bundle-failed` instead of `ready` and ends.
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

// pdfjs prints "Warning: Cannot polyfill ..." through console.log at import (see pdfjs.ts).
const log = console.log;
console.log = (...args) => {
  if (typeof args[0] === 'string' && args[0].startsWith('Warning: Cannot ')) return;
  log.apply(console, args);
};
try {
  await Promise.all([
    import('marked'),
    import('html-to-text'),
    import('htmlparser2'),
    import('linkedom'),
    import('@mozilla/readability'),
    import('mammoth'),
    import('fflate'),
    import('chardet'),
  ]);
} finally {
  console.log = log;
}

const bundle = workerData?.bundle;
if (typeof bundle === 'string') {
  try {
    await import(pathToFileURL(bundle).href);
  } catch (err) {
    // A bundle that cannot be loaded (unreadable, cut, or throwing at import) is no fault of
    // the documents: the pool starts this thread again through tsx. This thread never says ready.
    parentPort.postMessage({ type: 'bundle-failed', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
} else {
  const { register } = await import('tsx/esm/api');
  const unregister = register();
  await import('./extractWorker.ts');
  // Every TypeScript module of the thread is loaded (extractWorker.ts imports them statically);
  // later imports are pdfjs's, plain JavaScript.
  await unregister();
}
parentPort.postMessage({ type: 'ready' });

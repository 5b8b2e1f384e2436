// Entry of an extraction worker thread. A worker starts with Node's plain loader whatever the
// parent uses (tsx, vitest), so it registers tsx itself before importing the TypeScript.
// Registering again when the parent's tsx hooks were inherited (`tsx script.ts`) is harmless.
//
// The big libraries are imported first, before tsx's hooks exist: through them pdfjs-dist
// alone takes 1-2 s to load instead of ~0.2 s. The TypeScript's later imports of the same
// specifiers resolve to the same URLs and get these instances from the module cache.
import { register } from 'tsx/esm/api';

// pdfjs prints "Warning: Cannot polyfill ..." through console.log at import (see pdfjs.ts).
const log = console.log;
console.log = (...args) => {
  if (typeof args[0] === 'string' && args[0].startsWith('Warning: Cannot ')) return;
  log.apply(console, args);
};
try {
  await Promise.all([
    import('pdfjs-dist/legacy/build/pdf.mjs'),
    import('pdfjs-dist/legacy/build/pdf.worker.mjs'),
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

register();
await import('./extractWorker.ts');

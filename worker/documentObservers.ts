/**
 * Observers of the documents a worker really processes (not cache hits), for a program that
 * embeds or wraps a worker process: a trace of what was redone after a crash, a pause per
 * document. One is given in code as `onProcessDocument`; a module preloaded with
 * `node --import <module>` (which runs before this TypeScript is loaded, so it cannot import it)
 * adds its own to the list on globalThis under OBSERVERS_KEY. See docs/document-observers.md.
 */
export type DocumentObserver = (source: string) => void | Promise<void>;

/** `Symbol.for`, so a preloaded plain-JavaScript module reaches the same list. */
export const OBSERVERS_KEY = Symbol.for('corpus-qa.documentObservers');

function registered(): DocumentObserver[] {
  const list = (globalThis as Record<symbol, unknown>)[OBSERVERS_KEY];
  return Array.isArray(list) ? (list as DocumentObserver[]) : [];
}

/** Adds an observer to every worker this process creates from now on. */
export function addDocumentObserver(observer: DocumentObserver): void {
  (globalThis as Record<symbol, unknown>)[OBSERVERS_KEY] = [...registered(), observer];
}

/** The registered observers, then `inner`, in one callback; undefined when there are none. */
export function withDocumentObservers(inner: DocumentObserver | undefined): DocumentObserver | undefined {
  const observers = [...registered(), ...(inner ? [inner] : [])];
  if (observers.length === 0) return undefined;
  if (observers.length === 1) return observers[0];
  return async (source) => {
    for (const observe of observers) await observe(source);
  };
}

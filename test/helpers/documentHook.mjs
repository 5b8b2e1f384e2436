/**
 * Preloaded into the real `corpus-qa` processes of the crash tests (`node --import` this file,
 * see processes.ts): a delay per document makes a kill land mid-run, and a log of processed
 * documents shows what was redone. Registered through the worker's generic document observers
 * (worker/documentObservers.ts); inert unless its variables are set.
 */
import { appendFileSync } from 'node:fs';

const delayMs = Number(process.env.CORPUS_QA_TEST_DOC_DELAY_MS ?? 0);
const log = process.env.CORPUS_QA_TEST_PROCESS_LOG;

if (delayMs || log) {
  const key = Symbol.for('corpus-qa.documentObservers');
  const observe = async (source) => {
    if (log) appendFileSync(log, `${source}\n`);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  };
  globalThis[key] = [...(Array.isArray(globalThis[key]) ? globalThis[key] : []), observe];
}

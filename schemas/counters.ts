/**
 * Counter arithmetic, kept apart from the zod schemas so the workflow bundle can use it without
 * pulling in zod.
 */
import type { Counters } from './index.js';

export function emptyCounters(): Counters {
  return {
    documentsDone: 0,
    loaded: 0,
    failed: 0,
    failedByReason: {},
    chunks: 0,
    pairsGenerated: 0,
    pairsPassed: 0,
    pairsRejected: 0,
    rejectedByReason: {},
    cacheHits: 0,
    durationsMs: { load: 0, chunk: 0, generate: 0, validate: 0 },
    llmRequests: 0,
    promptTokens: 0,
    completionTokens: 0,
  };
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function addCounters(a: Counters, b: Counters): Counters {
  return {
    documentsDone: a.documentsDone + b.documentsDone,
    loaded: a.loaded + b.loaded,
    failed: a.failed + b.failed,
    failedByReason: addCounts(a.failedByReason, b.failedByReason),
    chunks: a.chunks + b.chunks,
    pairsGenerated: a.pairsGenerated + b.pairsGenerated,
    pairsPassed: a.pairsPassed + b.pairsPassed,
    pairsRejected: a.pairsRejected + b.pairsRejected,
    rejectedByReason: addCounts(a.rejectedByReason, b.rejectedByReason),
    cacheHits: a.cacheHits + b.cacheHits,
    durationsMs: {
      load: a.durationsMs.load + b.durationsMs.load,
      chunk: a.durationsMs.chunk + b.durationsMs.chunk,
      generate: a.durationsMs.generate + b.durationsMs.generate,
      validate: a.durationsMs.validate + b.durationsMs.validate,
    },
    // `?? 0`: counters carried across continue-as-new by a run that predates these fields.
    llmRequests: (a.llmRequests ?? 0) + (b.llmRequests ?? 0),
    promptTokens: (a.promptTokens ?? 0) + (b.promptTokens ?? 0),
    completionTokens: (a.completionTokens ?? 0) + (b.completionTokens ?? 0),
    ...(a.llm || b.llm ? { llm: addCounts(a.llm ?? {}, b.llm ?? {}) } : {}),
  };
}

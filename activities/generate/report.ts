/**
 * The `llm` section of stats.json and the cost line of the dataset card, from the run's figures
 * (usage.ts). The card holds only what does not depend on interruptions: the replies the dataset
 * was made from and what they cost, however many runs it took to get them.
 */
import type { LlmSettings } from '../../schemas/index.js';
import { formatUsd, priceFor } from './pricing.js';
import { datasetCostMicroUsd, datasetSum, paid, PURPOSES, type LlmUsage, type ReplyField } from '../../schemas/llmUsage.js';

const usd = (micro: number) => Math.round(micro) / 1e6;

function stage(u: LlmUsage, prefix: string) {
  return {
    requests: u[`${prefix}.requests`] ?? 0,
    promptTokens: u[`${prefix}.promptTokens`] ?? 0,
    completionTokens: u[`${prefix}.completionTokens`] ?? 0,
    costUsd: usd(u[`${prefix}.costMicroUsd`] ?? 0),
    // Only where the prompt cache was used: stats.json of every other run is as it was.
    ...cacheFigures(u[`${prefix}.cacheReadTokens`] ?? 0, u[`${prefix}.cacheWriteTokens`] ?? 0, u[`${prefix}.cacheSavedMicroUsd`] ?? 0),
  };
}

function cacheFigures(readTokens: number, writeTokens: number, savedMicroUsd: number) {
  return readTokens || writeTokens ? { cacheReadTokens: readTokens, cacheWriteTokens: writeTokens, cacheSavedUsd: usd(savedMicroUsd) } : {};
}

/** Paid now, synchronously or by provider batches. */
const paidNow = (u: LlmUsage, field: ReplyField) => paid(u, field) + (u[`batch.${field}`] ?? 0);

/**
 * Anthropic prompt caching: the prompt tokens read from and written to the cache (part of
 * promptTokens), and what that saved against billing them in full, for the requests paid now
 * and over the dataset's replies; absent when nothing was cached.
 */
function promptCacheStats(u: LlmUsage) {
  const readTokens = paidNow(u, 'cacheReadTokens');
  const writeTokens = paidNow(u, 'cacheWriteTokens');
  if (readTokens + writeTokens + datasetSum(u, 'cacheReadTokens') + datasetSum(u, 'cacheWriteTokens') === 0) return {};
  return {
    promptCache: {
      readTokens,
      writeTokens,
      savedUsd: usd(paidNow(u, 'cacheSavedMicroUsd')),
      // Over every reply the dataset is made of, whenever it was paid for (as datasetCostUsd).
      datasetSavedUsd: usd(datasetSum(u, 'cacheSavedMicroUsd')),
    },
  };
}

export function llmStats(u: LlmUsage, settings: LlmSettings, overrides: { priceIn?: number; priceOut?: number }) {
  const failures: Record<string, number> = {};
  for (const [k, v] of Object.entries(u)) if (k.startsWith('failures.')) failures[k.slice('failures.'.length)] = v;
  const byStage: Record<string, ReturnType<typeof stage>> = {};
  for (const p of PURPOSES) if (u[`${p}.requests`]) byStage[p] = stage(u, p);
  const saved = {
    journal: stage(u, 'journal'),
    shards: stage(u, 'shards'),
  };
  return {
    // Answered and paid for in this run (journal hits and reused shards are not requests).
    requests: paid(u, 'requests') + (u['batch.requests'] ?? 0),
    promptTokens: paid(u, 'promptTokens') + (u['batch.promptTokens'] ?? 0),
    completionTokens: paid(u, 'completionTokens') + (u['batch.completionTokens'] ?? 0),
    costUsd: usd(paid(u, 'costMicroUsd') + (u['batch.costMicroUsd'] ?? 0)),
    ...promptCacheStats(u),
    // --batch-api: the part of the above answered by provider batches, at half price.
    ...(u['batch.requests'] ? { viaBatchApi: stage(u, 'batch') } : {}),
    // Every request sent, answered or not, and why the others were not.
    attempts: u.attempts ?? 0,
    failures,
    waitSeconds: Math.round((u.waitMs ?? 0) / 100) / 10,
    // Chunks split to fit the server's context, and the part requests they became (absent when none was).
    ...(u['fit.chunks'] ? { fitted: { chunks: u['fit.chunks'], parts: u['fit.parts'] ?? 0 } } : {}),
    byStage,
    // What reading back earlier answers saved: replies from the journal, documents from their shards.
    saved,
    // What the replies this dataset is made of cost, whenever they were paid for.
    datasetCostUsd: usd(datasetCostMicroUsd(u)),
    price: priceFor(settings, overrides),
  };
}

/** One line for the card: what the dataset's replies cost at list price. */
export function llmCardLine(u: LlmUsage, settings: LlmSettings, overrides: { priceIn?: number; priceOut?: number }): string {
  const replies = paid(u, 'requests') + (u['journal.requests'] ?? 0) + (u['shards.requests'] ?? 0);
  const price = priceFor(settings, overrides);
  const cost = price.source === 'unknown' ? 'cost unknown (no list price for this model)' : `${formatUsd(datasetCostMicroUsd(u))} (${price.note})`;
  const saved = datasetSum(u, 'cacheSavedMicroUsd');
  // Said only where the prompt cache was used, so every other card reads as it did.
  const caching = price.source !== 'unknown' && datasetSum(u, 'cacheReadTokens') + datasetSum(u, 'cacheWriteTokens') > 0 ? `; prompt caching ${saved >= 0 ? 'saved' : 'cost'} ${formatUsd(Math.abs(saved))}` : '';
  return `LLM: ${replies} replies from \`${settings.model}\`; ${cost}${caching}.`;
}

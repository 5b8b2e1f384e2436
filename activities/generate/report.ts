/**
 * The `llm` section of stats.json and the cost line of the dataset card, from the run's figures
 * (usage.ts). The card holds only what does not depend on interruptions: the replies the dataset
 * was made from and what they cost, however many runs it took to get them.
 */
import type { LlmSettings } from '../../schemas/index.js';
import { formatUsd, priceFor } from './pricing.js';
import { datasetCostMicroUsd, paid, PURPOSES, type LlmUsage } from '../../schemas/llmUsage.js';

const usd = (micro: number) => Math.round(micro) / 1e6;

function stage(u: LlmUsage, prefix: string) {
  return {
    requests: u[`${prefix}.requests`] ?? 0,
    promptTokens: u[`${prefix}.promptTokens`] ?? 0,
    completionTokens: u[`${prefix}.completionTokens`] ?? 0,
    costUsd: usd(u[`${prefix}.costMicroUsd`] ?? 0),
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
  return `LLM: ${replies} replies from \`${settings.model}\`; ${cost}.`;
}

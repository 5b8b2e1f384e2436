/**
 * What a request costs: a small table of list prices (USD per million tokens) for common hosted
 * models, overridable with --price-in / --price-out. Batch APIs bill half. Prices change: the
 * table is a default for the estimate and the budget, not a bill; stats.json says where each
 * price came from.
 */
import type { LlmSettings } from '../../schemas/index.js';

export interface Price {
  /** USD per million input (prompt) tokens. */
  inPerMTok: number;
  /** USD per million output (completion) tokens. */
  outPerMTok: number;
  source: 'flags' | 'table' | 'local' | 'unknown';
  /** The table entry that matched, or why none did. */
  note: string;
}

/** Longest matching prefix wins, so dated snapshots ("gpt-4o-mini-2024-07-18") find their model. */
const TABLE: Array<[prefix: string, inPerMTok: number, outPerMTok: number]> = [
  ['gpt-4o-mini', 0.15, 0.6],
  ['gpt-4o', 2.5, 10],
  ['gpt-4.1-nano', 0.1, 0.4],
  ['gpt-4.1-mini', 0.4, 1.6],
  ['gpt-4.1', 2, 8],
  ['gpt-5-nano', 0.05, 0.4],
  ['gpt-5-mini', 0.25, 2],
  ['gpt-5', 1.25, 10],
  ['o4-mini', 1.1, 4.4],
  ['o3-mini', 1.1, 4.4],
  ['o3', 2, 8],
  ['claude-3-5-haiku', 0.8, 4],
  ['claude-3-haiku', 0.25, 1.25],
  ['claude-haiku-4', 1, 5],
  ['claude-3-5-sonnet', 3, 15],
  ['claude-3-7-sonnet', 3, 15],
  ['claude-sonnet-4', 3, 15],
  ['claude-opus-4-5', 5, 25],
  ['claude-opus-4', 15, 75],
];

export const BATCH_DISCOUNT = 0.5;

/** A server on this machine or a private network costs nothing per token. */
function isLocal(baseUrl: string | undefined): boolean {
  if (!baseUrl) return false;
  let host: string;
  try {
    host = new URL(baseUrl).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || host.endsWith('.local') || /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(host);
}

export function priceFor(settings: Pick<LlmSettings, 'model' | 'baseUrl'>, overrides: { priceIn?: number; priceOut?: number } = {}): Price {
  if (overrides.priceIn !== undefined || overrides.priceOut !== undefined) {
    return { inPerMTok: overrides.priceIn ?? 0, outPerMTok: overrides.priceOut ?? 0, source: 'flags', note: '--price-in/--price-out' };
  }
  if (isLocal(settings.baseUrl)) return { inPerMTok: 0, outPerMTok: 0, source: 'local', note: 'local server: no per-token price' };
  const model = settings.model.toLowerCase().replace(/^.*\//, ''); // "openai/gpt-4o" on routers
  const hit = TABLE.filter(([prefix]) => model.startsWith(prefix)).sort((a, b) => b[0].length - a[0].length)[0];
  if (!hit) return { inPerMTok: 0, outPerMTok: 0, source: 'unknown', note: `no list price for '${settings.model}': pass --price-in and --price-out` };
  return { inPerMTok: hit[1], outPerMTok: hit[2], source: 'table', note: `list price of ${hit[0]}` };
}

/** Anthropic's prompt cache: a write costs 1.25x the input price, a read 0.1x (the batch discount applies on top). */
export const CACHE_WRITE_FACTOR = 1.25;
export const CACHE_READ_FACTOR = 0.1;

/** Of a reply's prompt tokens, those read from and written to the prompt cache. */
export interface CachedTokens {
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/**
 * Cost of one reply in micro-USD, rounded per request so sums are the same in any order.
 * `cached` prices the part of `promptTokens` that the prompt cache read or wrote.
 */
export function costMicroUsd(price: Price, promptTokens: number, completionTokens: number, viaBatch = false, cached: CachedTokens = {}): number {
  const read = cached.cacheReadTokens ?? 0;
  const write = cached.cacheWriteTokens ?? 0;
  // Without cached tokens, the very sum that priced every reply before caching existed.
  const inputUsd =
    read === 0 && write === 0
      ? promptTokens * price.inPerMTok
      : (promptTokens - read - write + write * CACHE_WRITE_FACTOR + read * CACHE_READ_FACTOR) * price.inPerMTok;
  const usd = (inputUsd + completionTokens * price.outPerMTok) / 1e6;
  return Math.round(usd * 1e6 * (viaBatch ? BATCH_DISCOUNT : 1));
}

/** A reply's cost, its cached prompt tokens priced as such. */
export function replyCostMicroUsd(price: Price, reply: { promptTokens: number; completionTokens: number } & CachedTokens, viaBatch = false): number {
  return costMicroUsd(price, reply.promptTokens, reply.completionTokens, viaBatch, reply);
}

/**
 * What the prompt cache saved on a reply: its cost had every prompt token been billed in full,
 * less what it cost. Negative for a reply that only wrote the cache (a write costs 0.25x more).
 */
export function cacheSavingMicroUsd(price: Price, reply: { promptTokens: number; completionTokens: number } & CachedTokens, viaBatch = false): number {
  if (!reply.cacheReadTokens && !reply.cacheWriteTokens) return 0;
  return costMicroUsd(price, reply.promptTokens, reply.completionTokens, viaBatch) - replyCostMicroUsd(price, reply, viaBatch);
}

export function formatUsd(microUsd: number): string {
  const usd = microUsd / 1e6;
  return usd >= 100 ? `$${usd.toFixed(0)}` : usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}

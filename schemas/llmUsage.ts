/**
 * LLM accounting as a flat record of named numbers, so documents, batches and the workflow can
 * add figures up without knowing them. Every attempt counts: answered requests and their tokens
 * and cost by stage, failures by kind, time spent waiting, and what the journal or a cached
 * shard gave back without a request (what the cache saved).
 *
 * Names (all integers):
 *   <stage>.requests|promptTokens|completionTokens|costMicroUsd   answered now, paid now
 *   <stage>.cacheReadTokens|cacheWriteTokens|cacheSavedMicroUsd   Anthropic prompt caching: the part of
 *                                                                 promptTokens read from / written to the
 *                                                                 cache, and what it saved (absent: none)
 *   journal.requests|promptTokens|completionTokens|costMicroUsd   read back from the journal
 *   shards.requests|promptTokens|completionTokens|costMicroUsd    documents whose shard was reused
 *   (journal.* and shards.* have the cache* names too)
 *   attempts                                                      requests sent, answered or not
 *   failures.<kind>                                               rate_limited, server_error, timeout, ...
 *   waitMs                                                        backing off and waiting for quota
 *   fit.chunks|parts                                              chunks split to fit the server's context, their parts
 */
export type LlmUsage = Record<string, number>;

/** What a request is for; each is a stage in the accounting. */
export type RequestPurpose = 'generate' | 'repair' | 'continue' | 'judge' | 'judge_repair' | 'judge_missing';
export const PURPOSES: readonly RequestPurpose[] = ['generate', 'repair', 'continue', 'judge', 'judge_repair', 'judge_missing'];

export const emptyUsage = (): LlmUsage => ({});

export function bump(u: LlmUsage, name: string, by = 1): void {
  if (by !== 0) u[name] = (u[name] ?? 0) + by;
}

export function addUsage(into: LlmUsage, from: LlmUsage | undefined): void {
  if (!from) return;
  for (const [k, v] of Object.entries(from)) bump(into, k, v);
}

export interface ReplyCost {
  promptTokens: number;
  completionTokens: number;
  costMicroUsd: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  cacheSavedMicroUsd?: number;
}

export function addReply(u: LlmUsage, prefix: string, r: ReplyCost): void {
  bump(u, `${prefix}.requests`);
  bump(u, `${prefix}.promptTokens`, r.promptTokens);
  bump(u, `${prefix}.completionTokens`, r.completionTokens);
  bump(u, `${prefix}.costMicroUsd`, r.costMicroUsd);
  // Zeros are never written (bump), so a run without caching has the figures it always had.
  bump(u, `${prefix}.cacheReadTokens`, r.cacheReadTokens ?? 0);
  bump(u, `${prefix}.cacheWriteTokens`, r.cacheWriteTokens ?? 0);
  bump(u, `${prefix}.cacheSavedMicroUsd`, r.cacheSavedMicroUsd ?? 0);
}

const REPLY_FIELDS = ['requests', 'promptTokens', 'completionTokens', 'costMicroUsd', 'cacheReadTokens', 'cacheWriteTokens', 'cacheSavedMicroUsd'] as const;
export type ReplyField = (typeof REPLY_FIELDS)[number];

/** Sum of one field over the stages paid now. */
export function paid(u: LlmUsage, field: ReplyField): number {
  return PURPOSES.reduce((sum, p) => sum + (u[`${p}.${field}`] ?? 0), 0);
}

/** Facts about how the document's chunks were generated, the same however its replies were had. */
const SHAPE_FIELDS = ['fit.chunks', 'fit.parts'] as const;

/**
 * What a shard keeps: the replies the document was built from, whether paid now or read back
 * from the journal, so a shard rebuilt from the journal holds the same figures as the first one;
 * and how its chunks were split to fit, so a run that reuses the shard reports the same fitting.
 */
export function shardFigures(u: LlmUsage): LlmUsage {
  const out: LlmUsage = {};
  for (const f of REPLY_FIELDS) bump(out, f, paid(u, f) + (u[`journal.${f}`] ?? 0));
  for (const f of SHAPE_FIELDS) bump(out, f, u[f] ?? 0);
  return out;
}

/** What reusing a shard saves: every reply it was built from; and its fitting, as it was. */
export function shardReuse(figures: LlmUsage | undefined): LlmUsage {
  const out: LlmUsage = {};
  for (const f of REPLY_FIELDS) bump(out, `shards.${f}`, figures?.[f] ?? 0);
  for (const f of SHAPE_FIELDS) bump(out, f, figures?.[f] ?? 0);
  return out;
}

/** What the dataset's replies cost in all: paid now, read back from the journal, or reused shards. */
export function datasetCostMicroUsd(u: LlmUsage): number {
  return datasetSum(u, 'costMicroUsd');
}

/** One figure over the replies this dataset is made of: paid now, read back from the journal, or reused shards. */
export function datasetSum(u: LlmUsage, field: ReplyField): number {
  return paid(u, field) + (u[`journal.${field}`] ?? 0) + (u[`shards.${field}`] ?? 0);
}

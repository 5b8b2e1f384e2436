/**
 * Anthropic prompt caching of a chunk's passage (issue 10, "Cost").
 *
 * With --judge, generation and the judge of one chunk (and their repair, continue and
 * judge_missing re-asks) all carry the same passage. Sent as the first system block, marked
 * `cache_control`, it is a prefix they share: the first request writes it to the provider's
 * cache (1.25x the input price), the others read it (0.1x) for five minutes. Anthropic ignores
 * the mark on a prefix shorter than its minimum (1,024 to 4,096 tokens by model), so a
 * shorter passage is sent as it always was, in the user message: no extra bytes, the same
 * journal keys, the same output.
 */
import type { LlmSettings } from '../../schemas/index.js';
import { estimateTokens, estimateTokensOfChars } from './estimate.js';
import type { LlmBackendName } from './llmErrors.js';
import { judgeTemplateFor, loadTemplate, PASSAGE_BLOCK, render, withoutPassage, type PromptTemplate } from './prompts.js';

/**
 * Anthropic's minimum cacheable prefix, in tokens, by model (their published table, late 2026).
 * It only decides whether a run changes its layout: a figure too low sends the cached layout
 * for nothing (the API ignores the mark, and charges no write); one too high only misses a saving.
 */
const MIN_CACHEABLE: Array<[RegExp, number]> = [
  [/opus-4-[56]|haiku-4-5/i, 4096],
  [/haiku/i, 2048],
];

export function minCacheableTokens(model: string): number {
  return MIN_CACHEABLE.find(([pattern]) => pattern.test(model))?.[1] ?? 1024;
}

/** On for Anthropic unless --no-prompt-cache; OpenAI caches long prefixes by itself, unasked. */
export function promptCacheOn(backend: LlmBackendName, settings: Pick<LlmSettings, 'promptCache'>): boolean {
  return backend === 'anthropic' && settings.promptCache !== false;
}

/** The passage is long enough for the provider to cache it (estimated as --dry-run does). */
export function passageCacheable(passage: string, model: string): boolean {
  return estimateTokens(passage) >= minCacheableTokens(model);
}

/**
 * Whether some chunk of this run can be sent in the cached layout: the backend caches, the judge
 * is on, chunks of `chunkSize` characters can reach the minimum, and both templates have their
 * passage where it can be taken out. Only such runs name the layout in their generator id
 * (llm.ts): every other run sends exactly what it sent before caching existed.
 *
 * Without the judge nothing reliably reads the cache (only the rare repair or continuation), and a
 * write costs 1.25x: caching would make a run dearer, so it is not done.
 */
export function runMayCachePassages(backend: LlmBackendName, settings: LlmSettings, chunkSize: number | undefined): boolean {
  if (chunkSize === undefined || !settings.judge || !promptCacheOn(backend, settings)) return false;
  if (estimateTokensOfChars(chunkSize) < minCacheableTokens(settings.model)) return false;
  return [settings.template, judgeTemplateFor(settings.template)].every((name) => withoutPassage(loadTemplate(name)) !== undefined);
}

/**
 * --dry-run's estimate of what the cache writes and reads (tokens, of the prompt tokens already
 * estimated), for a run that caches passages and whose average chunk reaches the model's
 * minimum: generation writes each passage, and the judge reads it within the five minutes. With
 * --batch-api the judge's round may come after the cache has expired, so the estimate stays an
 * upper bound: it counts a second write instead of the read.
 */
export function estimatePassageCache(
  backend: LlmBackendName,
  settings: LlmSettings,
  chunking: { chunkSize: number; chunkOverlap: number },
  chunks: number,
  textChars: number,
  viaBatch: boolean,
): { cacheWriteTokens: number; cacheReadTokens?: number } | undefined {
  if (chunks === 0 || !runMayCachePassages(backend, settings, chunking.chunkSize)) return undefined;
  const passageChars = textChars + chunks * chunking.chunkOverlap;
  if (estimateTokensOfChars(passageChars / chunks) < minCacheableTokens(settings.model)) return undefined;
  const tokens = estimateTokensOfChars(passageChars);
  return viaBatch ? { cacheWriteTokens: 2 * tokens } : { cacheWriteTokens: tokens, cacheReadTokens: tokens };
}

/** How one request of a chunk is laid out: its template, and the cached system block if any. */
export interface PromptLayout {
  template: PromptTemplate;
  /** The passage block, sent first and marked for the prompt cache; absent: the template as written. */
  cachedPrefix?: string;
}

/** The layout for a template and a passage: byte-identical `cachedPrefix` for every request of a chunk. */
export function layoutFor(template: PromptTemplate, passage: string, model: string, cache: boolean): PromptLayout {
  if (!cache || !passageCacheable(passage, model)) return { template };
  const taken = withoutPassage(template);
  if (!taken) return { template };
  return { template: taken, cachedPrefix: render(PASSAGE_BLOCK, { text: passage }) };
}

/**
 * --dry-run's estimate of LLM requests and tokens, from chunk counts and text sizes alone (no
 * file is read). Tokens are counted as characters / 4, the usual rule of thumb for English;
 * replies are sized from the pairs asked for. Repairs of malformed replies (one more request
 * each) are not in the estimate.
 */
import type { OutputSettings } from '../../schemas/index.js';
import { JUDGE_TEMPLATE, loadTemplate } from './prompts.js';

export interface LlmEstimate {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  /** Of promptTokens: the passages Anthropic's prompt cache would write and read (promptCache.ts); absent when nothing is cached. */
  cacheWriteTokens?: number;
  cacheReadTokens?: number;
}

const CHARS_PER_TOKEN = 4;
/** A question and a short answer with their JSON: about 45 tokens; a judge's score entry: about 15. */
const TOKENS_PER_PAIR = 45;
const TOKENS_PER_SCORE = 15;

const tokens = (chars: number) => Math.ceil(chars / CHARS_PER_TOKEN);

/** The rule of thumb for a text's tokens, wherever a size decides before a server counts. */
export const estimateTokens = (text: string): number => tokens(text.length);
/** The most tokens a text of at most `chars` characters is estimated at. */
export const estimateTokensOfChars = tokens;

export function estimateLlmUsage(settings: OutputSettings, chunks: number, textChars: number): LlmEstimate | undefined {
  const llm = settings.llm;
  if (!settings.generateQa || settings.generator === 'builtin' || !llm || chunks === 0) return undefined;
  const qa = loadTemplate(llm.template);
  // Every chunk repeats the overlap of the one before it.
  const chunkText = textChars + chunks * settings.chunkOverlap;
  const pairs = settings.maxPairsPerChunk;
  let requests = chunks;
  let promptTokens = chunks * tokens(qa.system.length + qa.user.length) + tokens(chunkText);
  let completionTokens = chunks * pairs * TOKENS_PER_PAIR;
  if (llm.judge) {
    const judge = loadTemplate(JUDGE_TEMPLATE);
    requests += chunks;
    promptTokens += chunks * (tokens(judge.system.length + judge.user.length) + pairs * TOKENS_PER_PAIR) + tokens(chunkText);
    completionTokens += chunks * pairs * TOKENS_PER_SCORE;
  }
  return { requests, promptTokens, completionTokens };
}

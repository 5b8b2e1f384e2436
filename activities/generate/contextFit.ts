/**
 * Fitting a chunk to a server's context (issue 10): what the server's refusal says about its
 * context, how many parts a chunk's text needs to fit it, and where to cut the text.
 *
 * Everything here is a pure function of the chunk, the settings and the server's words, so the
 * same chunk against the same server is always cut the same way, and the part requests (keyed by
 * their hash in the journal) are the same in every run.
 */
import { estimateTokensOfChars } from './estimate.js';

/** What a refusal for size says: the server's context, and how many tokens the request's prompt had when it says so. */
export interface ContextRefusal {
  limit: number;
  /** The prompt's tokens as the server counted them (never the completion's room). */
  requested?: number;
}

interface RefusalForm {
  server: string;
  pattern: RegExp;
  /** Capture groups holding each number. */
  limit: number;
  requested?: number;
  /**
   * The prompt alone, when the server splits its count: vLLM's and OpenAI's "requested" adds the
   * completion's room, and a ratio from that total would cut the chunk into too many parts.
   */
  messages?: number;
}

/**
 * How real servers word a refusal for size, in the order they are tried. The examples are in
 * test/llmUnit.test.ts; a server not listed here gets no fitting: its chunk is rejected as
 * `context_too_long`, as before.
 */
export const CONTEXT_REFUSAL_FORMS: readonly RefusalForm[] = [
  // request (556 tokens) exceeds the available context size (512 tokens), try increasing it
  { server: 'llama.cpp llama-server', pattern: /request \((\d+) tokens\) exceeds the available context size \((\d+) tokens\)/i, requested: 1, limit: 2 },
  // This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (1900 in the messages, 200 in the completion).
  { server: 'vLLM / OpenAI', pattern: /maximum context length is (\d+) tokens\. However, you requested (\d+) tokens(?: \((\d+) in the messages)?/i, limit: 1, requested: 2, messages: 3 },
  // This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.
  { server: 'OpenAI', pattern: /maximum context length is (\d+) tokens\. However, your messages resulted in (\d+) tokens/i, limit: 1, requested: 2 },
  // ... This model's maximum context length is 2048 tokens and your request has 1900 input tokens (newer vLLM)
  { server: 'vLLM (newer)', pattern: /maximum context length is (\d+) tokens and your request has (\d+) input tokens/i, limit: 1, requested: 2 },
  // prompt is too long: 210000 tokens > 200000 maximum
  { server: 'Anthropic', pattern: /prompt is too long: (\d+) tokens > (\d+) maximum/i, requested: 1, limit: 2 },
  // Older llama-server builds: the numbers are in the error body, added to the message by llmErrors.ts.
  { server: 'llama.cpp llama-server (older)', pattern: /n_prompt_tokens=(\d+), n_ctx=(\d+)/, requested: 1, limit: 2 },
  // The limit alone, worded as one of the above.
  { server: 'any (limit only)', pattern: /maximum context length is (\d+) tokens/i, limit: 1 },
  { server: 'any (limit only)', pattern: /available context size \((\d+) tokens\)/i, limit: 1 },
  { server: 'llama.cpp llama-server (older, limit only)', pattern: /n_ctx=(\d+)/, limit: 1 },
];

/** The numbers in a refusal for size, when the server gave its context; undefined when it did not. */
export function parseContextRefusal(message: string): ContextRefusal | undefined {
  for (const form of CONTEXT_REFUSAL_FORMS) {
    const m = form.pattern.exec(message);
    if (!m) continue;
    const limit = Number(m[form.limit]);
    if (!Number.isSafeInteger(limit) || limit <= 0) continue;
    const inMessages = form.messages !== undefined && m[form.messages] !== undefined ? Number(m[form.messages]) : NaN;
    const requested = Number.isSafeInteger(inMessages) && inMessages > 0 ? inMessages : form.requested !== undefined ? Number(m[form.requested]) : NaN;
    return { limit, ...(Number.isSafeInteger(requested) && requested > 0 ? { requested } : {}) };
  }
  return undefined;
}

/** Part requests aim at this share of the context: tokenizers count differently from our estimate. */
export const FIT_SAFETY = 0.85;
/** Room for the text of a part below this many tokens: the instruction (and reply) fill the context. */
export const MIN_PART_TOKENS = 64;
/** More parts than this and the chunk is rejected: a smaller --chunk-size is the better fix. */
export const MAX_PARTS = 16;
/** A part still refused is split once more; one refused at this depth rejects the chunk. */
export const MAX_FIT_DEPTH = 2;

export interface FitBudget {
  /** The server's context, in its tokens. */
  limit: number;
  /** Estimated tokens of the request without the chunk's text (system prompt, instruction). */
  overheadTokens: number;
  /** Room kept for the reply. */
  replyTokens: number;
  /** Server tokens per estimated token, >= 1: learnt from a refusal of this very text, else 1. */
  ratio: number;
}

/**
 * The fewest parts whose requests should fit, or undefined when none can (no room for text once
 * the instruction and the reply are counted, or more than MAX_PARTS parts).
 */
export function partsNeeded(textChars: number, b: FitBudget): number | undefined {
  const room = Math.floor(b.limit * FIT_SAFETY) - b.replyTokens - Math.ceil(b.overheadTokens * b.ratio);
  if (room < MIN_PART_TOKENS) return undefined;
  const parts = Math.max(1, Math.ceil((estimateTokensOfChars(textChars) * b.ratio) / room));
  return parts <= MAX_PARTS ? parts : undefined;
}

/** How many tokens the server counted per token of our estimate, from a refusal (never below 1). */
export function refusalRatio(refusal: ContextRefusal, estimatedPromptTokens: number): number {
  if (refusal.requested === undefined || estimatedPromptTokens <= 0) return 1;
  return Math.max(1, refusal.requested / estimatedPromptTokens);
}

/** `max` shared out between `parts` as evenly as it goes, spread over them when there are fewer than parts. */
export function shareOut(max: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(((i + 1) * max) / parts) - Math.floor((i * max) / parts));
}

/**
 * Cuts `text` into `parts` consecutive pieces of about equal length, at a paragraph or line
 * break if one is near, else at a sentence end, else at a space. The pieces together are the
 * text (a quote in a part is found in the chunk).
 */
export function splitText(text: string, parts: number): string[] {
  if (parts <= 1 || text.length < 2) return [text];
  const lines = boundaries(text, /\n\s*/g);
  const sentences = boundaries(text, /[.!?;:]["')\]]*\s+/g);
  const spaces = boundaries(text, /\s+/g);
  const target = text.length / parts;
  const cuts: number[] = [];
  let previous = 0;
  for (let k = 1; k < parts; k++) {
    const ideal = Math.round(k * target);
    const usable = (at: number) => at > previous && at < text.length;
    const cut =
      nearest(lines, ideal, target / 4, usable) ??
      nearest(sentences, ideal, target / 2, usable) ??
      nearest(spaces, ideal, target / 2, usable) ??
      Math.min(text.length - 1, Math.max(previous + 1, ideal));
    if (cut <= previous || cut >= text.length) continue;
    cuts.push(cut);
    previous = cut;
  }
  const out: string[] = [];
  let start = 0;
  for (const cut of [...cuts, text.length]) {
    out.push(text.slice(start, cut));
    start = cut;
  }
  return out;
}

/** Positions just after each match: where a new line or sentence starts. */
function boundaries(text: string, re: RegExp): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(re)) out.push(m.index + m[0].length);
  return out;
}

function nearest(candidates: number[], ideal: number, within: number, usable: (at: number) => boolean): number | undefined {
  let best: number | undefined;
  for (const c of candidates) {
    if (!usable(c) || Math.abs(c - ideal) > within) continue;
    if (best === undefined || Math.abs(c - ideal) < Math.abs(best - ideal)) best = c;
  }
  return best;
}

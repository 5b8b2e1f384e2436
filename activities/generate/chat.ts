/**
 * The one thing generation needs from an LLM backend: send a system prompt and a short
 * conversation, get text and token counts back. Each backend (openai.ts, anthropic.ts) is a thin
 * adapter over its official SDK with the SDK's retries off: Temporal retries (see llmErrors.ts).
 */
import type { LlmSettings } from '../../schemas/index.js';
import { KEY_ENV, missingKeyFailure, toLlmFailure, type LlmBackendName, type RequestTarget } from './llmErrors.js';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  system: string;
  /**
   * Sent before `system` as a block of its own, marked for the provider's prompt cache: the
   * passage that a chunk's requests share (promptCache.ts). Absent: `system` alone, as ever.
   */
  cachedPrefix?: string;
  messages: ChatMessage[];
  /** Overrides the settings' reply limit for this request (a truncated reply asked again with more room). */
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface ChatReply {
  text: string;
  /** Every prompt token, the cached ones included. */
  promptTokens: number;
  /** Of promptTokens, read from the provider's prompt cache (billed at 0.1x); absent: none. */
  cacheReadTokens?: number;
  /** Of promptTokens, written to the provider's prompt cache (billed at 1.25x); absent: none. */
  cacheWriteTokens?: number;
  completionTokens: number;
  /** The provider's own word for why the reply ended: 'stop', 'length', 'end_turn', 'max_tokens'... */
  finishReason: string;
  /** The reply was cut off by the token limit. */
  truncated: boolean;
}

export interface ChatBackend {
  complete(request: ChatRequest): Promise<ChatReply>;
}

/** The raw call of one SDK; errors are the SDK's own, mapped by `withFailures`. */
export type RawComplete = (request: ChatRequest) => Promise<ChatReply>;

/** Reads the backend's key from the worker's environment: the only place keys come from. */
export function apiKeyFromEnv(backend: LlmBackendName): string {
  const key = process.env[KEY_ENV[backend]]?.trim();
  if (!key) throw missingKeyFailure(backend);
  return key;
}

export function withFailures(target: RequestTarget, raw: RawComplete): ChatBackend {
  return {
    async complete(request) {
      try {
        return await raw(request);
      } catch (err) {
        throw toLlmFailure(err, target);
      }
    },
  };
}

/**
 * A backend made on its first request: its SDK is imported then, so that a run that never asks
 * an LLM (the built-in generator, every command but `run`) never loads one.
 */
export function lazyBackend(load: () => Promise<ChatBackend>): ChatBackend {
  let ready: Promise<ChatBackend> | undefined;
  return { complete: async (request) => (await (ready ??= load())).complete(request) };
}

export type BackendFactory = (settings: LlmSettings, apiKey: string) => ChatBackend;

/**
 * Anthropic messages through the official `@anthropic-ai/sdk`.
 *
 * The request parameters and the reading of a message are pure functions, shared with the
 * Message Batches API (batchApi.ts): a batched request is the same request as a synchronous one.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { ClientOptions } from '@anthropic-ai/sdk';
import type { Message, MessageCreateParamsNonStreaming } from '@anthropic-ai/sdk/resources/messages';
import type { LlmSettings } from '../../schemas/index.js';
import { lazyBackend, withFailures, type ChatBackend, type ChatReply, type ChatRequest } from './chat.js';
import type { RequestTarget } from './llmErrors.js';

/** The messages API requires a limit; room for a full set of pairs. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

export type AnthropicRequestParams = MessageCreateParamsNonStreaming;

/**
 * The exact parameters of one messages request (the key order is part of "the same bytes"). A
 * request with a `cachedPrefix` sends it as the first system block, marked for the prompt cache,
 * then its own system text; one without sends `system` as the plain string it always was.
 */
export function anthropicRequestParams(settings: LlmSettings, request: Pick<ChatRequest, 'system' | 'cachedPrefix' | 'messages' | 'maxTokens'>): AnthropicRequestParams {
  return {
    model: settings.model,
    system:
      request.cachedPrefix === undefined
        ? request.system
        : [
            { type: 'text', text: request.cachedPrefix, cache_control: { type: 'ephemeral' } },
            { type: 'text', text: request.system },
          ],
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    max_tokens: request.maxTokens ?? settings.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
  };
}

/**
 * A message as a reply. Anthropic's `input_tokens` leaves out the tokens read from or written to
 * the prompt cache; `promptTokens` counts every prompt token, and the cached ones apart.
 */
export function anthropicReplyOf(r: Message): ChatReply {
  const finishReason = r.stop_reason ?? '';
  const cacheRead = r.usage.cache_read_input_tokens ?? 0;
  const cacheWrite = r.usage.cache_creation_input_tokens ?? 0;
  return {
    text: r.content.map((b) => (b.type === 'text' ? b.text : '')).join(''),
    promptTokens: r.usage.input_tokens + cacheRead + cacheWrite,
    ...(cacheRead > 0 ? { cacheReadTokens: cacheRead } : {}),
    ...(cacheWrite > 0 ? { cacheWriteTokens: cacheWrite } : {}),
    completionTokens: r.usage.output_tokens,
    finishReason,
    truncated: finishReason === 'max_tokens',
  };
}

export function anthropicClientOptions(settings: LlmSettings, apiKey: string): ClientOptions {
  return {
    apiKey,
    baseURL: settings.baseUrl,
    maxRetries: 0, // Temporal owns retries
    timeout: settings.timeoutMs,
  };
}

export function anthropicTarget(settings: LlmSettings, client: Anthropic, apiKey: string): RequestTarget {
  return { backend: 'anthropic', model: settings.model, baseUrl: client.baseURL, timeoutMs: settings.timeoutMs, apiKey };
}

export function anthropicBackend(settings: LlmSettings, apiKey: string): ChatBackend {
  return lazyBackend(async () => {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const client = new Anthropic(anthropicClientOptions(settings, apiKey));
    return withFailures(anthropicTarget(settings, client, apiKey), async (request) =>
      anthropicReplyOf(await client.messages.create(anthropicRequestParams(settings, request), { signal: request.signal })),
    );
  });
}

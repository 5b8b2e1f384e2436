/** Anthropic messages through the official `@anthropic-ai/sdk`. */
import Anthropic from '@anthropic-ai/sdk';
import type { LlmSettings } from '../../schemas/index.js';
import { withFailures, type ChatBackend } from './chat.js';

/** The messages API requires a limit; room for a full set of pairs. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

export function anthropicBackend(settings: LlmSettings, apiKey: string): ChatBackend {
  const client = new Anthropic({
    apiKey,
    baseURL: settings.baseUrl,
    maxRetries: 0, // Temporal owns retries
    timeout: settings.timeoutMs,
  });
  return withFailures(
    { backend: 'anthropic', model: settings.model, baseUrl: client.baseURL, timeoutMs: settings.timeoutMs, apiKey },
    async ({ system, messages, signal }) => {
      const r = await client.messages.create(
        {
          model: settings.model,
          system,
          messages,
          max_tokens: settings.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
          ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
        },
        { signal },
      );
      const text = r.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
      return {
        text,
        promptTokens: r.usage.input_tokens,
        completionTokens: r.usage.output_tokens,
        truncated: r.stop_reason === 'max_tokens',
      };
    },
  );
}

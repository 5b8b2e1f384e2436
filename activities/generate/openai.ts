/**
 * OpenAI chat completions through the official `openai` SDK: api.openai.com, or any
 * OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio...) through --base-url.
 */
import OpenAI from 'openai';
import type { LlmSettings } from '../../schemas/index.js';
import { withFailures, type ChatBackend } from './chat.js';

export function openAiBackend(settings: LlmSettings, apiKey: string): ChatBackend {
  const client = new OpenAI({
    apiKey,
    baseURL: settings.baseUrl,
    maxRetries: 0, // Temporal owns retries
    timeout: settings.timeoutMs,
  });
  return withFailures(
    { backend: 'openai', model: settings.model, baseUrl: client.baseURL, timeoutMs: settings.timeoutMs, apiKey },
    async ({ system, messages, signal }) => {
      const r = await client.chat.completions.create(
        {
          model: settings.model,
          messages: [{ role: 'system', content: system }, ...messages],
          // JSON mode: supported by OpenAI and by vLLM, Ollama and llama.cpp's OpenAI endpoints.
          response_format: { type: 'json_object' },
          ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
          ...(settings.maxTokens !== undefined ? { max_completion_tokens: settings.maxTokens } : {}),
        },
        { signal },
      );
      const choice = r.choices[0];
      return {
        text: choice?.message?.content ?? '',
        promptTokens: r.usage?.prompt_tokens ?? 0,
        completionTokens: r.usage?.completion_tokens ?? 0,
        truncated: choice?.finish_reason === 'length',
      };
    },
  );
}

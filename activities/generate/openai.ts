/**
 * OpenAI chat completions: api.openai.com, or any OpenAI-compatible server (vLLM, Ollama,
 * llama.cpp, LM Studio...) through --base-url. The official `openai` SDK's client says where
 * (base URL, organization and project, from the same settings and environment) and gives the
 * errors; synchronous requests go over node:http with a keep-alive agent (jsonHttp.ts), which
 * costs the worker's main thread a fraction of the SDK's fetch path. The Batch API uses the SDK.
 *
 * The request body and the reading of a completion are pure functions, shared with the Batch API
 * (batchApi.ts): a batched request is the same request as a synchronous one, byte for byte.
 */
import type OpenAI from 'openai';
import type { ClientOptions } from 'openai';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai/error';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { LlmSettings } from '../../schemas/index.js';
import { lazyBackend, withFailures, type ChatBackend, type ChatReply, type ChatRequest } from './chat.js';
import { JsonHttpClient, type SdkErrors } from './jsonHttp.js';
import type { RequestTarget } from './llmErrors.js';

export type OpenAiRequestBody = ChatCompletionCreateParamsNonStreaming;

/** The exact body of one chat completion request (the key order is part of "the same bytes"). */
export function openAiRequestBody(settings: LlmSettings, request: Pick<ChatRequest, 'system' | 'cachedPrefix' | 'messages' | 'maxTokens'>): OpenAiRequestBody {
  const maxTokens = request.maxTokens ?? settings.maxTokens;
  // Generation never gives OpenAI a cachedPrefix (promptCache.ts: OpenAI caches prefixes unasked); if given, it leads the system prompt.
  const system = request.cachedPrefix === undefined ? request.system : `${request.cachedPrefix}\n\n${request.system}`;
  return {
    model: settings.model,
    messages: [{ role: 'system', content: system }, ...request.messages.map((m) => ({ role: m.role, content: m.content }))],
    // JSON mode: supported by OpenAI and by vLLM, Ollama and llama.cpp's OpenAI endpoints.
    response_format: { type: 'json_object' },
    ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
    ...(maxTokens !== undefined ? { max_completion_tokens: maxTokens } : {}),
  };
}

export function openAiReplyOf(r: ChatCompletion): ChatReply {
  const choice = r.choices[0];
  const finishReason = choice?.finish_reason ?? '';
  return {
    text: choice?.message?.content ?? '',
    promptTokens: r.usage?.prompt_tokens ?? 0,
    completionTokens: r.usage?.completion_tokens ?? 0,
    finishReason,
    truncated: finishReason === 'length',
  };
}

export function openAiClientOptions(settings: LlmSettings, apiKey: string): ClientOptions {
  return {
    apiKey,
    baseURL: settings.baseUrl,
    maxRetries: 0, // Temporal owns retries
    timeout: settings.timeoutMs,
  };
}

export function openAiTarget(settings: LlmSettings, client: OpenAI, apiKey: string): RequestTarget {
  return { backend: 'openai', model: settings.model, baseUrl: client.baseURL, timeoutMs: settings.timeoutMs, apiKey };
}

/** Failures as the SDK itself would throw them (llmErrors.ts reads these classes). */
const OPENAI_ERRORS: SdkErrors = {
  status: (status, errorJson, message, headers) => APIError.generate(status, errorJson, message, headers),
  timeout: () => new APIConnectionTimeoutError(),
  aborted: () => new APIUserAbortError(),
  connection: (cause) => new APIConnectionError({ cause }),
};

/** What the SDK would send besides the body: the key, and the organization and project when set. */
function openAiHeaders(client: OpenAI, apiKey: string): Record<string, string> {
  return {
    authorization: `Bearer ${apiKey}`,
    ...(client.organization ? { 'openai-organization': client.organization } : {}),
    ...(client.project ? { 'openai-project': client.project } : {}),
  };
}

export function openAiBackend(settings: LlmSettings, apiKey: string): ChatBackend {
  return lazyBackend(async () => {
    const { default: OpenAI } = await import('openai');
    const client = new OpenAI(openAiClientOptions(settings, apiKey));
    const http = new JsonHttpClient(client.baseURL, OPENAI_ERRORS);
    const headers = openAiHeaders(client, apiKey);
    return withFailures(openAiTarget(settings, client, apiKey), async (request) =>
      openAiReplyOf(
        (await http.post('/chat/completions', openAiRequestBody(settings, request), { headers, timeoutMs: settings.timeoutMs, signal: request.signal })) as ChatCompletion,
      ),
    );
  });
}

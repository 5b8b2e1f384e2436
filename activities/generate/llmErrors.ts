/**
 * What an LLM request failure means for the run. The SDKs' own retries are off: Temporal's retry
 * policy owns retrying, so every failure becomes an ApplicationFailure whose retryability and
 * type say what happened. Transient ones (429, 5xx, timeouts, connection drops) are retried with
 * backoff, or after the server's Retry-After; the ones only a person can fix (a bad key, a
 * missing model) stop the run with a message that says what to fix.
 *
 * Messages end up in the workflow history: they are scrubbed of the API key.
 */
// The SDKs' error modules only (~3 MB, not ~30 MB of whole SDKs loaded by every command): the
// classes are the ones the SDKs throw (their main modules re-export these).
import { APIConnectionTimeoutError as AnthropicTimeout, APIError as AnthropicApiError, APIUserAbortError as AnthropicAbort } from '@anthropic-ai/sdk/error';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { parseContextRefusal } from './contextFit.js';
import { APIConnectionTimeoutError as OpenAiTimeout, APIError as OpenAiApiError, APIUserAbortError as OpenAiAbort } from 'openai/error';

export type LlmBackendName = 'openai' | 'anthropic';

export const KEY_ENV: Record<LlmBackendName, string> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
};

/** Where requests go, for messages (never carries a key). */
export interface RequestTarget {
  backend: LlmBackendName;
  model: string;
  baseUrl: string;
  timeoutMs: number;
  apiKey?: string;
}

/** The fields both SDKs' APIError classes share; connection errors and timeouts have no status. */
type ApiErrorLike = Error & { status?: number; headers?: Headers };

const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * How servers say a prompt does not fit: llama.cpp ("exceeds the available context size"), vLLM
 * and OpenAI ("maximum context length"), Anthropic ("prompt is too long"), proxies (413).
 */
const CONTEXT_REFUSAL = /context (size|length|window)|exceeds? the (available )?context|prompt is too long|too many (input )?tokens|maximum context|payload too large|request entity too large|input is too long/i;

/**
 * A failure that is Temporal's to retry or stop, not the document's: an LLM fault (made an
 * ApplicationFailure here, with its retry policy) or the activity's cancellation. The stages ask
 * this instead of knowing Temporal's failure classes.
 */
export function isRunFailure(err: unknown): boolean {
  return err instanceof ApplicationFailure || err instanceof CancelledFailure;
}

/** What a failed request means for the request loop (activities/generate/requester.ts). */
export type FailureKind = 'rate_limited' | 'server_error' | 'timeout' | 'unreachable' | 'context_too_long' | 'fatal';

export function failureKind(err: unknown): FailureKind {
  if (!(err instanceof ApplicationFailure)) return 'fatal';
  switch (err.type) {
    case 'LlmRateLimited':
      return 'rate_limited';
    case 'LlmServerError':
      return 'server_error';
    case 'LlmTimeout':
      return 'timeout';
    case 'LlmUnreachable':
      return 'unreachable';
    case 'LlmContextTooLong':
      return 'context_too_long';
    default:
      return 'fatal';
  }
}

/** The server's Retry-After, when the failure carried one. */
export function retryDelayMs(err: unknown): number | undefined {
  const d = err instanceof ApplicationFailure ? err.nextRetryDelay : undefined;
  if (d === undefined || d === null) return undefined;
  try {
    return msToNumber(d);
  } catch {
    return undefined;
  }
}

/** Retry-After in milliseconds: `retry-after-ms`, or `retry-after` as seconds or an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, MAX_RETRY_AFTER_MS);
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  const seconds = Number(ra);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(ra);
  if (Number.isFinite(date)) return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
  return undefined;
}

export function scrub(text: string, secret: string | undefined): string {
  return secret && secret.length >= 4 ? text.split(secret).join('***') : text;
}

function clip(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * Older llama-server builds give the numbers only in the error body (`n_prompt_tokens`, `n_ctx`),
 * not in the message the SDK keeps: add them, in a form contextFit.ts reads.
 */
function contextFields(err: ApiErrorLike): string {
  if (parseContextRefusal(err.message)) return '';
  const body = (err as { error?: unknown }).error;
  if (!body || typeof body !== 'object') return '';
  const { n_prompt_tokens: requested, n_ctx: limit } = body as Record<string, unknown>;
  if (typeof limit !== 'number') return '';
  return ` (n_prompt_tokens=${typeof requested === 'number' ? requested : '?'}, n_ctx=${limit})`;
}

function isApiError(err: unknown): err is ApiErrorLike {
  return err instanceof OpenAiApiError || err instanceof AnthropicApiError;
}

export function missingKeyFailure(backend: LlmBackendName): ApplicationFailure {
  const env = KEY_ENV[backend];
  return ApplicationFailure.create({
    type: 'LlmApiKeyMissing',
    nonRetryable: true,
    message:
      `${env} is not set in the worker's environment: export it where \`corpus-qa run\` (or \`corpus-qa worker\`) runs` +
      (backend === 'openai' ? ' (for a local server such as Ollama, vLLM or llama.cpp, any non-empty value works)' : ''),
  });
}

/**
 * Turns an SDK error into an ApplicationFailure. Errors that are not the SDK's (a bug of ours, a
 * cancellation) are returned unchanged.
 */
export function toLlmFailure(err: unknown, target: RequestTarget): unknown {
  if (!isApiError(err)) return err;
  const where = `the ${target.backend} server at ${target.baseUrl}`;
  const say = (s: string) => scrub(s, target.apiKey);
  const serverSaid = say(clip(err.message));
  const status = err.status;

  if (status === undefined) {
    // Our own abort (the run was cancelled): not a failure of the server.
    if (err instanceof OpenAiAbort || err instanceof AnthropicAbort) return err;
    if (err instanceof OpenAiTimeout || err instanceof AnthropicTimeout) {
      return ApplicationFailure.create({
        type: 'LlmTimeout',
        message: `request to ${where} timed out after ${target.timeoutMs / 1000}s (retrying; raise --request-timeout for slow models)`,
      });
    }
    const cause = (err as { cause?: { message?: string; code?: string } }).cause;
    return ApplicationFailure.create({
      type: 'LlmUnreachable',
      message: say(`cannot reach ${where}: ${clip(cause?.code ?? cause?.message ?? err.message)} (retrying)`),
    });
  }

  const key = KEY_ENV[target.backend];
  if (status === 401) {
    return ApplicationFailure.create({
      type: 'LlmAuthenticationFailed',
      nonRetryable: true,
      message: `${where} rejected the API key (401 Unauthorized): set ${key} in the worker's environment to a valid key (server said: ${serverSaid})`,
    });
  }
  if (status === 403) {
    return ApplicationFailure.create({
      type: 'LlmPermissionDenied',
      nonRetryable: true,
      message: `${where} refused access with this API key (403 Forbidden): check that the key in ${key} may use model '${target.model}' (server said: ${serverSaid})`,
    });
  }
  if (status === 404) {
    return ApplicationFailure.create({
      type: 'LlmModelNotFound',
      nonRetryable: true,
      message:
        `model '${target.model}' was not found at ${where} (404 Not Found): check --model, and --base-url ` +
        `(an OpenAI-compatible server's URL usually ends in /v1) (server said: ${serverSaid})`,
    });
  }
  if (status === 408 || status === 409 || status === 425 || status === 429 || status >= 500) {
    const delay = retryAfterMs(err.headers);
    const what = status === 429 ? 'rate limited' : status >= 500 ? 'server error' : 'transient error';
    return ApplicationFailure.create({
      type: status === 429 ? 'LlmRateLimited' : 'LlmServerError',
      message: `${where}: ${what} (${status})${delay !== undefined ? `, retrying after ${delay / 1000}s as it asked` : ', retrying'}: ${serverSaid}`,
      ...(delay !== undefined ? { nextRetryDelay: Math.max(delay, 100) } : {}),
    });
  }
  if ((status === 400 || status === 413 || status === 422) && CONTEXT_REFUSAL.test(err.message)) {
    return ApplicationFailure.create({
      type: 'LlmContextTooLong',
      nonRetryable: true,
      message: `${where} refused the request as too long for its context (${status}): ${serverSaid}${contextFields(err)}`,
    });
  }
  // Other 4xx: the request itself is wrong for this server (an unsupported parameter, a billing
  // problem); sending it again gives the same answer.
  return ApplicationFailure.create({
    type: 'LlmRequestRejected',
    nonRetryable: true,
    message: `${where} rejected the request (${status}) for model '${target.model}': ${serverSaid}`,
  });
}

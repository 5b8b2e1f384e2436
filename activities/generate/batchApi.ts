/**
 * Provider Batch APIs (OpenAI's Batch API, Anthropic's Message Batches) through the official SDKs,
 * behind one interface: submit many requests, poll, read the results. Half the price, answers
 * within 24 hours. Each item is built by the same pure function as a synchronous request
 * (openai.ts, anthropic.ts), so a batched request is the same request, and its answer is read the
 * same way.
 *
 * Errors of the calls themselves (a bad key, a 429 on submit, the server unreachable) are mapped
 * by llmErrors.ts like a synchronous request's; an item's own failure is a result, with
 * `retryable` saying whether sending it again can help.
 */
import { ApplicationFailure } from '@temporalio/common';
// The whole SDKs: this module is imported only when a run uses --batch-api (batchMode.ts).
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { LlmSettings } from '../../schemas/index.js';
import { anthropicClientOptions, anthropicReplyOf, anthropicRequestParams, anthropicTarget } from './anthropic.js';
import type { ChatReply, ChatRequest } from './chat.js';
import { scrub, toLlmFailure, type RequestTarget } from './llmErrors.js';
import { openAiClientOptions, openAiReplyOf, openAiRequestBody, openAiTarget } from './openai.js';

export interface BatchItem {
  /** [A-Za-z0-9_-]{1,64}: both providers' rule for custom ids. */
  customId: string;
  request: ChatRequest;
}

export type BatchItemResult =
  | { customId: string; ok: true; reply: ChatReply }
  | { customId: string; ok: false; error: string; retryable: boolean };

export interface BatchState {
  id: string;
  done: boolean;
  /** The provider's own word: OpenAI's `status`, Anthropic's `processing_status`. */
  status: string;
  total: number;
  succeeded: number;
  failed: number;
}

export interface BatchProvider {
  /** Requests per batch the provider accepts. */
  readonly maxItems: number;
  /** Bytes per batch (OpenAI: the input file; Anthropic: the request). */
  readonly maxBytes: number;
  /**
   * Returns the batch id. `tag` names this submission (OpenAI keeps it in the batch's metadata),
   * so that findSubmitted can tell whether a submission cut short by a crash reached the provider.
   */
  submit(items: BatchItem[], signal?: AbortSignal, tag?: string): Promise<string>;
  /**
   * The batch a submission that may have been cut short made, or undefined if none was found:
   * a kill between the provider accepting a batch and our writing its id down must not pay for
   * it twice. OpenAI: the batch with `tag` in its metadata. Anthropic keeps no metadata: the one
   * batch created since `sinceMs` with `items` requests that is not in `known` (none if two are).
   */
  findSubmitted(q: { tag: string; items: number; sinceMs: number; known: ReadonlySet<string> }, signal?: AbortSignal): Promise<string | undefined>;
  poll(batchId: string, signal?: AbortSignal): Promise<BatchState>;
  /** Only once done. Every submitted item has a result: one that never ran is a retryable failure. */
  results(batchId: string, signal?: AbortSignal): Promise<BatchItemResult[]>;
}

const CUSTOM_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** The metadata key of a submission's tag (OpenAI). */
export const SUBMISSION_TAG_KEY = 'corpus_qa_submission';
/** The provider's clock may differ from ours: batches this much older than the intent still count. */
const CLOCK_SLACK_MS = 120_000;
const MB = 1024 * 1024;

/** Room for what a provider's line adds around an item (model, JSON mode, envelope): a generous bound. */
const ITEM_OVERHEAD_BYTES = 1024;

/** An upper bound of an item's size in either provider's encoding. */
export function itemBytes(item: BatchItem): number {
  const { system, cachedPrefix, messages, maxTokens } = item.request;
  return Buffer.byteLength(JSON.stringify({ custom_id: item.customId, cachedPrefix, system, messages, maxTokens })) + ITEM_OVERHEAD_BYTES;
}

/** Consecutive groups within both limits, in order. An item too big for any batch is refused. */
export function splitIntoBatches(items: BatchItem[], p: Pick<BatchProvider, 'maxItems' | 'maxBytes'>, sizeOf = itemBytes): BatchItem[][] {
  const groups: BatchItem[][] = [];
  let current: BatchItem[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (size > p.maxBytes) throw invalid(`item '${item.customId}' is ${size} bytes, more than a batch may hold (${p.maxBytes})`);
    if (current.length > 0 && (current.length >= p.maxItems || bytes + size > p.maxBytes)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

function invalid(message: string): ApplicationFailure {
  // A bug of the caller: sending the same batch again cannot help.
  return ApplicationFailure.create({ type: 'LlmBatchInvalid', nonRetryable: true, message });
}

function checkItems(items: BatchItem[], p: Pick<BatchProvider, 'maxItems'>): void {
  if (items.length === 0) throw invalid('a batch needs at least one item');
  if (items.length > p.maxItems) throw invalid(`${items.length} items is more than a batch may hold (${p.maxItems}): use splitIntoBatches`);
  const seen = new Set<string>();
  for (const { customId } of items) {
    if (!CUSTOM_ID.test(customId)) throw invalid(`custom id '${customId.slice(0, 80)}' must match [A-Za-z0-9_-]{1,64}`);
    if (seen.has(customId)) throw invalid(`custom id '${customId}' appears twice in one batch`);
    seen.add(customId);
  }
}

/** The same statuses as llmErrors.ts retries for a synchronous request. */
function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
}

/** SDK errors of the batch calls, as a synchronous request's would be. */
function mapped<T>(target: RequestTarget, call: () => Promise<T>): Promise<T> {
  return call().catch((err: unknown) => {
    throw toLlmFailure(err, target);
  });
}

function failure(target: RequestTarget, customId: string, what: string, retryable: boolean): BatchItemResult {
  const error = scrub(`${target.backend} batch item '${customId}' ${what}${retryable ? ' (retryable)' : ''}`, target.apiKey);
  return { customId, ok: false, error, retryable };
}

function notDone(target: RequestTarget, id: string, status: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'LlmBatchNotDone', nonRetryable: true, message: `${target.backend} batch ${id} is not done (${status}): poll until it is` });
}

// ---------------------------------------------------------------------------------------------
// OpenAI: a JSONL input file, a batch over it, JSONL output and error files.

const OPENAI_DONE = new Set(['completed', 'failed', 'expired', 'cancelled']);

/** One line of an output or error file. */
interface OpenAiOutputLine {
  custom_id: string;
  response: { status_code: number; body: unknown } | null;
  error: { code?: string; message?: string } | null;
}

export function openAiBatchProvider(settings: LlmSettings, apiKey: string): BatchProvider {
  const client = new OpenAI(openAiClientOptions(settings, apiKey));
  const target = openAiTarget(settings, client, apiKey);
  const call = <T>(f: () => Promise<T>) => mapped(target, f);
  const readJsonl = async <T>(fileId: string | null | undefined, signal?: AbortSignal): Promise<T[]> => {
    if (!fileId) return [];
    const text = await call(async () => (await client.files.content(fileId, { signal })).text());
    return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
  };

  const itemResult = (line: OpenAiOutputLine): BatchItemResult => {
    const { custom_id: customId, response } = line;
    if (response?.status_code === 200) return { customId, ok: true, reply: openAiReplyOf(response.body as ChatCompletion) };
    if (response) {
      const message = (response.body as { error?: { message?: string } } | null)?.error?.message ?? 'no message';
      const status = response.status_code;
      return failure(target, customId, `${retryableStatus(status) ? 'failed' : 'was rejected'} (${status}): ${message}`, retryableStatus(status));
    }
    const code = line.error?.code ?? 'unknown';
    const retryable = code === 'batch_expired' || code === 'batch_cancelled';
    return failure(target, customId, `did not run (${code}): ${line.error?.message ?? 'no message'}`, retryable);
  };

  const limits = { maxItems: 50_000, maxBytes: 200 * MB };
  return {
    ...limits,
    async submit(items, signal, tag) {
      checkItems(items, limits);
      const jsonl = items
        .map((i) => `${JSON.stringify({ custom_id: i.customId, method: 'POST', url: '/v1/chat/completions', body: openAiRequestBody(settings, i.request) })}\n`)
        .join('');
      if (Buffer.byteLength(jsonl) > limits.maxBytes) throw invalid(`the batch input is ${Buffer.byteLength(jsonl)} bytes, more than ${limits.maxBytes}: use splitIntoBatches`);
      const file = await call(async () =>
        client.files.create({ file: await toFile(Buffer.from(jsonl), 'batch.jsonl', { type: 'application/jsonl' }), purpose: 'batch' }, { signal }),
      );
      const batch = await call(() =>
        client.batches.create(
          { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', ...(tag ? { metadata: { [SUBMISSION_TAG_KEY]: tag } } : {}) },
          { signal },
        ),
      );
      return batch.id;
    },
    async findSubmitted({ tag, sinceMs, known }, signal) {
      return call(async () => {
        // Newest first: stop at the first batch older than the intent.
        for await (const b of client.batches.list({ limit: 100 }, { signal })) {
          if (b.created_at * 1000 < sinceMs - CLOCK_SLACK_MS) break;
          if (b.metadata?.[SUBMISSION_TAG_KEY] === tag && !known.has(b.id)) return b.id;
        }
        return undefined;
      });
    },
    async poll(batchId, signal) {
      const b = await call(() => client.batches.retrieve(batchId, { signal }));
      const c = b.request_counts;
      return { id: b.id, done: OPENAI_DONE.has(b.status), status: b.status, total: c?.total ?? 0, succeeded: c?.completed ?? 0, failed: c?.failed ?? 0 };
    },
    async results(batchId, signal) {
      const b = await call(() => client.batches.retrieve(batchId, { signal }));
      if (!OPENAI_DONE.has(b.status)) throw notDone(target, batchId, b.status);
      const lines = [...(await readJsonl<OpenAiOutputLine>(b.output_file_id, signal)), ...(await readJsonl<OpenAiOutputLine>(b.error_file_id, signal))];
      const results = new Map(lines.map((l) => [l.custom_id, itemResult(l)]));
      if (b.status === 'completed' && results.size >= (b.request_counts?.total ?? 0)) return [...results.values()];
      // Items with no line (the batch expired, was cancelled or failed validation): their ids are
      // only in the input file, read only in this rare case.
      const input = await readJsonl<{ custom_id: string }>(b.input_file_id, signal);
      const why = b.status === 'failed' ? (b.errors?.data ?? []).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ') || 'validation failed' : `the batch ${b.status}`;
      // A failed validation is final, except the provider's queue being full for now.
      const retryable = b.status !== 'failed' || (b.errors?.data ?? []).every((e) => e.code === 'token_limit_exceeded');
      return input.map(({ custom_id: id }) => results.get(id) ?? failure(target, id, `has no result: ${why}`, retryable));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Anthropic: one request holds every item; results are JSONL with one line per item.

const ANTHROPIC_RETRYABLE = new Set(['rate_limit_error', 'api_error', 'overloaded_error', 'timeout_error']);

export function anthropicBatchProvider(settings: LlmSettings, apiKey: string): BatchProvider {
  const client = new Anthropic(anthropicClientOptions(settings, apiKey));
  const target = anthropicTarget(settings, client, apiKey);
  const call = <T>(f: () => Promise<T>) => mapped(target, f);

  const limits = { maxItems: 100_000, maxBytes: 256 * MB };
  return {
    ...limits,
    async submit(items, signal) {
      checkItems(items, limits);
      const requests = items.map((i) => ({ custom_id: i.customId, params: anthropicRequestParams(settings, i.request) }));
      const bytes = Buffer.byteLength(JSON.stringify({ requests }));
      if (bytes > limits.maxBytes) throw invalid(`the batch request is ${bytes} bytes, more than ${limits.maxBytes}: use splitIntoBatches`);
      const batch = await call(() => client.messages.batches.create({ requests }, { signal }));
      return batch.id;
    },
    async findSubmitted({ items, sinceMs, known }, signal) {
      return call(async () => {
        const candidates: string[] = [];
        for await (const b of client.messages.batches.list({ limit: 100 }, { signal })) {
          if (Date.parse(b.created_at) < sinceMs - CLOCK_SLACK_MS) break;
          const c = b.request_counts;
          if (c.processing + c.succeeded + c.errored + c.canceled + c.expired === items && !known.has(b.id)) candidates.push(b.id);
        }
        // Two alike (another run on the same account): submitting again is safer than taking
        // the wrong one, whose answers would not be ours.
        return candidates.length === 1 ? candidates[0] : undefined;
      });
    },
    async poll(batchId, signal) {
      const b = await call(() => client.messages.batches.retrieve(batchId, {}, { signal }));
      const c = b.request_counts;
      return {
        id: b.id,
        done: b.processing_status === 'ended',
        status: b.processing_status,
        total: c.processing + c.succeeded + c.errored + c.canceled + c.expired,
        succeeded: c.succeeded,
        failed: c.errored + c.canceled + c.expired,
      };
    },
    async results(batchId, signal) {
      const b = await call(() => client.messages.batches.retrieve(batchId, {}, { signal }));
      if (b.processing_status !== 'ended') throw notDone(target, batchId, b.processing_status);
      const out: BatchItemResult[] = [];
      await call(async () => {
        for await (const { custom_id: customId, result } of await client.messages.batches.results(batchId, {}, { signal })) {
          if (result.type === 'succeeded') out.push({ customId, ok: true, reply: anthropicReplyOf(result.message) });
          else if (result.type === 'errored') {
            // The API nests an error response ({type: 'error', error: {type, message}}); accept a bare error object too.
            const e = (result.error as { error?: { type?: string; message?: string } }).error ?? (result.error as { type?: string; message?: string });
            const type = e.type ?? 'api_error';
            const retryable = ANTHROPIC_RETRYABLE.has(type);
            out.push(failure(target, customId, `${retryable ? 'failed' : 'was rejected'} (${type}): ${e.message ?? 'no message'}`, retryable));
          } else out.push(failure(target, customId, `did not run (${result.type})`, true));
        }
      });
      return out;
    },
  };
}

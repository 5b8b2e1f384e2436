/**
 * Sends one LLM request the way a long paid run needs: journal first, then the worker-wide
 * limiter, then the server, retrying transient failures in place.
 *
 * - A reply found in the journal is used as is: nothing is sent.
 * - 429, 5xx, timeouts and connection errors are retried with backoff (or after Retry-After)
 *   for as long as the server answers *something* now and then. The budget is about progress,
 *   not a count: only when no request to this server has been answered for --llm-stall-timeout
 *   does the run end, with a message that says it resumes; a transient fault never becomes a
 *   document error.
 * - A reply is written to the journal before it is returned, so it is paid for once.
 * - A refusal for size (context length) is the chunk's problem, not the run's: it is thrown as
 *   ContextTooLong for the caller to fit (llm.ts splits the chunk by the refusal's numbers) or
 *   record. A refusal the caller split by is journaled under the request's key (`keepRefusal`),
 *   so a rerun meets the same refusal, without a request, and splits the same way. Only a
 *   refusal the caller could not fit counts towards stopping the run (`refusedForGood`): when
 *   every request so far ended that way, the server or --chunk-size is misconfigured.
 */
import { ApplicationFailure } from '@temporalio/common';
import { setMaxListeners } from 'node:events';
import type { ChatBackend, ChatMessage, ChatReply } from './chat.js';
import { isReply, Journal, requestKey, type RequestIdentity } from './journal.js';
import type { RequestLimiter } from './limiter.js';
import { abortableSleep } from './limiter.js';
import { estimateTokensOfChars } from './estimate.js';
import { parseContextRefusal, type ContextRefusal } from './contextFit.js';
import { failureKind, retryDelayMs, type FailureKind } from './llmErrors.js';
import { cacheSavingMicroUsd, replyCostMicroUsd, type Price } from './pricing.js';
import { addReply, bump, type LlmUsage, type RequestPurpose } from '../../schemas/llmUsage.js';

export interface LlmCall {
  purpose: RequestPurpose;
  template: string;
  /** Name of the reply shape asked for; part of the request's identity. */
  schema: string;
  system: string;
  /** The chunk's passage as a cached first system block (promptCache.ts); absent: none. */
  cachedPrefix?: string;
  messages: ChatMessage[];
  /** A limit for this request only (a truncated reply is re-asked with more room). */
  maxTokens?: number;
}

/** A request's prompt in tokens by the rule of thumb (estimate.ts), the cached prefix included. */
export function estimatePromptTokens(call: Pick<LlmCall, 'system' | 'cachedPrefix' | 'messages'>): number {
  return estimateTokensOfChars(call.system.length + (call.cachedPrefix?.length ?? 0) + call.messages.reduce((n, m) => n + m.content.length, 0));
}

export class ContextTooLong extends Error {
  constructor(
    readonly serverSaid: string,
    /** The server's context (and what it counted), when its message says so. */
    readonly refusal: ContextRefusal | undefined,
    /** Our estimate of the refused request's prompt, in tokens (characters / 4). */
    readonly estimatedPromptTokens: number,
    /** The refused request's journal key. */
    readonly key: string,
    /** Read back from the journal: refused in an earlier attempt or run, not now. */
    readonly fromJournal: boolean,
  ) {
    super(serverSaid);
  }
}

/** Thrown instead of sending when the run's --max-cost is reached. */
export class BudgetReached extends Error {
  constructor() {
    super('the run reached its --max-cost');
  }
}

/** Thrown instead of sending when requests are being collected for a provider batch. */
export class RequestPending extends Error {
  constructor(readonly key: string) {
    super(`request ${key} is waiting for a provider batch`);
  }
}

/** What the worker knows of one server: shared by every request to it. */
export class ServerHealth {
  lastAnswerAt = Date.now();
  answers = 0;
  /** Refusals for size that could not be fitted, and the documents they were for. */
  contextRefusals = 0;
  readonly refusedDocuments = new Set<string>();
  /** The runs (<out>) told that chunks are split to fit this server: once per run. */
  readonly fitWarned = new Set<string>();
  inFlight = 0;
  /** Set while requests are backing off, for progress lines and the UI. */
  waiting: { kind: FailureKind | 'quota'; message: string; untilMs: number } | undefined;
}

export interface RequesterOptions {
  identity: Omit<RequestIdentity, 'template' | 'schema' | 'system' | 'cachedPrefix' | 'messages' | 'maxTokens'> & { defaultMaxTokens: number | null };
  backend: () => ChatBackend;
  journal: Journal;
  /** Off with --no-cache: every request is sent again (and journaled again). */
  readJournal: boolean;
  limiter: RequestLimiter;
  health: ServerHealth;
  price: Price;
  stallMs: number;
  /** Where the server is, for messages. */
  where: string;
  /** Provider batch mode: a journal miss is recorded here instead of being sent. */
  collect?: (key: string, call: LlmCall) => void;
  /** --max-cost: true once the run's spend has reached it; nothing more is sent then. */
  overBudget?: () => boolean;
}

/** Refusals for size in a row, with no answer at all, that mean the setup is wrong. */
export const SYSTEMATIC_CONTEXT_REFUSALS = 5;
const MAX_BACKOFF_MS = 30_000;

export class LlmRequester {
  constructor(private readonly o: RequesterOptions) {}

  /**
   * Keeps a refusal the caller split the chunk by, under the refused request's key: a rerun, a
   * retried activity or a shard rebuilt from the journal meets the same refusal without asking,
   * and so the same parts. A refusal that was not split by is not kept: asking again costs no
   * tokens, and a server given a larger context meanwhile then answers the chunk whole.
   */
  async keepRefusal(refused: ContextTooLong): Promise<void> {
    if (refused.fromJournal) return;
    await this.o.journal.putRefusal(refused.key, refused.serverSaid);
  }

  /**
   * A refusal for size the caller could not fit: the chunk is rejected. One long document refused
   * chunk after chunk is that document's problem; several documents refused, with nothing
   * answered at all, is the setup's: then the run stops (LlmContextTooSmall) and says what to fix.
   * A refusal that was fitted and answered never counts: an answer is on record then.
   */
  refusedForGood(document: string, serverSaid: string): void {
    const health = this.o.health;
    health.contextRefusals++;
    health.refusedDocuments.add(document);
    if (health.answers === 0 && health.contextRefusals >= SYSTEMATIC_CONTEXT_REFUSALS && health.refusedDocuments.size >= 2) {
      throw ApplicationFailure.create({
        type: 'LlmContextTooSmall',
        nonRetryable: true,
        message:
          `the first ${health.contextRefusals} requests (${health.refusedDocuments.size} documents) were all refused as too long for the server's context ` +
          `(${serverSaid}): lower --chunk-size (or --max-tokens), or start the server with a larger context`,
      });
    }
  }

  keyOf(call: LlmCall): string {
    return requestKey({
      ...this.o.identity,
      template: call.template,
      schema: call.schema,
      system: call.system,
      ...(call.cachedPrefix !== undefined ? { cachedPrefix: call.cachedPrefix } : {}),
      messages: call.messages,
      maxTokens: call.maxTokens ?? this.o.identity.defaultMaxTokens,
    });
  }

  /**
   * `signal` aborts everything (cancellation). `halt` only stops requests that have not been
   * sent yet (another request of the document failed for good): one in flight is paid for
   * already, so it is let finish and journaled.
   */
  async ask(call: LlmCall, usage: LlmUsage, signal?: AbortSignal, halt?: AbortSignal): Promise<ChatReply> {
    const key = this.keyOf(call);
    const promptEstimate = estimatePromptTokens(call);
    if (this.o.readJournal) {
      const hit = await this.o.journal.lookup(key);
      if (hit && !isReply(hit)) throw new ContextTooLong(hit.serverSaid, parseContextRefusal(hit.serverSaid), promptEstimate, key, true);
      if (hit) {
        addReply(usage, 'journal', { ...hit.reply, costMicroUsd: hit.costMicroUsd, cacheSavedMicroUsd: cacheSavingMicroUsd(this.o.price, hit.reply, hit.viaBatch) });
        return hit.reply;
      }
    }
    if (this.o.collect) {
      this.o.collect(key, call);
      throw new RequestPending(key);
    }
    if (this.o.overBudget?.()) throw new BudgetReached();
    const health = this.o.health;
    const firstTriedAt = Date.now();
    const estimate = promptEstimate + (call.maxTokens ?? this.o.identity.defaultMaxTokens ?? 500);
    for (let attempt = 1; ; attempt++) {
      const waitSignal = halt ? (signal ? AbortSignal.any([signal, halt]) : halt) : signal;
      if (waitSignal) setMaxListeners(0, waitSignal);
      const slot = await this.o.limiter.acquire(estimate, waitSignal, (ms) => {
        bump(usage, 'waitMs', ms);
        health.waiting = { kind: 'quota', message: `waiting ${Math.ceil(ms / 1000)} s for the request quota (--rpm/--tpm or Retry-After)`, untilMs: Date.now() + ms };
      });
      if (halt?.aborted) {
        slot.release();
        throw halt.reason;
      }
      // The budget again, now that this request is next to go: every request of a document is
      // queued at once, and what the ones before it cost is known only once they are answered.
      if (this.o.overBudget?.()) {
        slot.release();
        throw new BudgetReached();
      }
      health.inFlight++;
      let atServer = true;
      const leaveServer = () => {
        if (!atServer) return;
        atServer = false;
        health.inFlight--;
        slot.replied();
      };
      bump(usage, 'attempts');
      try {
        const reply = await this.o.backend().complete({
          system: call.system,
          ...(call.cachedPrefix !== undefined ? { cachedPrefix: call.cachedPrefix } : {}),
          messages: call.messages,
          signal,
          ...(call.maxTokens ? { maxTokens: call.maxTokens } : {}),
        });
        // No longer at the server: the limiter counts it among the answers being journaled.
        leaveServer();
        const cost = replyCostMicroUsd(this.o.price, reply);
        // Journaled before it is used: from here on this answer is never paid for again. The slot
        // is given back once the entry is written (a kill -9 can no longer lose it), not after the
        // disk's sync, so at most UNSAVED_PER_SLOT x --llm-concurrency answers are ever exposed to
        // a kill (limiter.ts) and the server is not kept waiting on fdatasync.
        await this.o.journal.put(key, call.purpose, reply, cost, false, () => slot.release());
        health.lastAnswerAt = Date.now();
        health.answers++;
        health.waiting = undefined;
        this.o.limiter.onAnswer();
        addReply(usage, call.purpose, { ...reply, costMicroUsd: cost, cacheSavedMicroUsd: cacheSavingMicroUsd(this.o.price, reply) });
        return reply;
      } catch (err) {
        if (signal?.aborted) throw signal.reason ?? err;
        const kind = failureKind(err);
        if (kind === 'fatal') throw err;
        bump(usage, `failures.${kind}`);
        if (kind === 'context_too_long') {
          const said = (err as Error).message;
          throw new ContextTooLong(said, parseContextRefusal(said), promptEstimate, key, false);
        }
        const retryAfter = retryDelayMs(err);
        if (kind === 'rate_limited') this.o.limiter.onRateLimited(retryAfter);
        const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(attempt - 1, 5)) * (0.8 + Math.random() * 0.4);
        const wait = Math.max(retryAfter ?? 0, backoff);
        const since = Math.max(health.lastAnswerAt, firstTriedAt);
        if (Date.now() + wait - since > this.o.stallMs) {
          throw ApplicationFailure.create({
            type: 'LlmStalled',
            nonRetryable: true,
            message:
              `no answer from ${this.o.where} for ${Math.round((Date.now() - since) / 1000)} s (last error: ${(err as Error).message}). ` +
              `Every reply received so far is kept; run the same command again to resume once the server is back ` +
              `(or raise --llm-stall-timeout to wait longer)`,
          });
        }
        health.waiting = { kind, message: `${describe(kind)}, retrying in ${Math.ceil(wait / 1000)} s`, untilMs: Date.now() + wait };
        bump(usage, 'waitMs', Math.round(wait));
        leaveServer();
        slot.release();
        await abortableSleep(wait, waitSignal);
      } finally {
        leaveServer();
        slot.release();
      }
    }
  }
}

function describe(kind: FailureKind): string {
  switch (kind) {
    case 'rate_limited':
      return 'LLM server rate limited us (429)';
    case 'server_error':
      return 'LLM server error (5xx)';
    case 'timeout':
      return 'LLM request timed out (--request-timeout)';
    case 'unreachable':
      return 'LLM server unreachable';
    default:
      return 'LLM request failed';
  }
}

/**
 * QA generation (and the optional judge) with an LLM backend. One chunk, one request; the reply
 * must be JSON of a known shape (zod). A reply that is not gets one repair attempt (the model is
 * shown the error and asked again); if that fails too, the chunk is reported as malformed with
 * the raw text, never dropped silently and never a crash. Request failures are thrown as
 * ApplicationFailures (llmErrors.ts) for Temporal to retry or to stop the run.
 */
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import type { Chunk, LlmSettings } from '../../schemas/index.js';
import type { CandidatePair } from '../types.js';
import { anthropicBackend, ANTHROPIC_DEFAULT_MAX_TOKENS } from './anthropic.js';
import { apiKeyFromEnv, type ChatBackend, type ChatMessage } from './chat.js';
import { emptyUsage, type CallContext, type ChunkGeneration, type JudgeResult, type LlmUsage, type Malformed } from './contract.js';
import type { LlmBackendName } from './llmErrors.js';
import { openAiBackend } from './openai.js';
import { JUDGE_TEMPLATE, loadTemplate, render, type PromptTemplate } from './prompts.js';

const KEEP_ALIVE_EVERY_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Structured replies

const PairsReply = z.object({
  pairs: z.array(z.object({ question: z.string(), answer: z.string() })),
});

const ScoresReply = z.object({
  scores: z.array(
    z.object({
      index: z.number().int(),
      groundedness: z.number().min(1).max(5),
      usefulness: z.number().min(1).max(5),
    }),
  ),
});

/** The JSON value in a reply: tolerates code fences and text around one object. */
export function extractJson(text: string): unknown {
  const t = text.trim().replace(/^```(?:json)?\s*\n?/i, '').replace(/\n?```\s*$/, '').trim();
  if (t === '') throw new Error('the reply is empty');
  try {
    return JSON.parse(t);
  } catch (first) {
    const start = t.indexOf('{');
    const end = t.lastIndexOf('}');
    if (start >= 0 && end > start) {
      try {
        return JSON.parse(t.slice(start, end + 1));
      } catch {
        // fall through to the first error, which describes the whole reply
      }
    }
    throw new Error(`the reply is not valid JSON (${(first as Error).message})`);
  }
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function parseReply<T>(text: string, schema: z.ZodType<T>, check?: (v: T) => string | undefined): Parsed<T> {
  let json: unknown;
  try {
    json = extractJson(text);
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  const r = schema.safeParse(json);
  if (!r.success) return { ok: false, error: `the JSON does not have the expected shape: ${z.prettifyError(r.error).replace(/\s*\n\s*/g, '; ')}` };
  const problem = check?.(r.data);
  return problem ? { ok: false, error: problem } : { ok: true, value: r.data };
}

// ---------------------------------------------------------------------------------------------
// Requests

function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // not inside an activity (unit tests, the bench baseline)
  }
}

async function send(backend: ChatBackend, system: string, messages: ChatMessage[], ctx: CallContext, usage: LlmUsage) {
  ctx.keepAlive?.();
  // keepAlive throws if the run was cancelled: abort the request and report that instead.
  const abort = new AbortController();
  let stopped: unknown;
  const outer = cancellationSignal();
  const onOuterAbort = () => abort.abort(outer?.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const timer = ctx.keepAlive
    ? setInterval(() => {
        try {
          ctx.keepAlive?.();
        } catch (err) {
          stopped = err;
          abort.abort(err);
        }
      }, KEEP_ALIVE_EVERY_MS)
    : undefined;
  try {
    const reply = await backend.complete({ system, messages, signal: abort.signal });
    usage.requests++;
    usage.promptTokens += reply.promptTokens;
    usage.completionTokens += reply.completionTokens;
    return reply;
  } catch (err) {
    // Cancelled: report the activity's own CancelledFailure, not the SDK's abort error.
    if (outer?.aborted) throw outer.reason ?? err;
    throw stopped ?? err;
  } finally {
    if (timer) clearInterval(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/** Ask; if the reply does not parse, show the model the error and ask once more. */
async function askStructured<T>(
  backend: ChatBackend,
  template: PromptTemplate,
  values: Record<string, string | number>,
  schema: z.ZodType<T>,
  check: ((v: T) => string | undefined) | undefined,
  ctx: CallContext,
  usage: LlmUsage,
  maxTokensNote: string,
): Promise<{ value: T } | { malformed: Malformed }> {
  const system = render(template.system, values);
  const messages: ChatMessage[] = [{ role: 'user', content: render(template.user, values) }];
  const first = await send(backend, system, messages, ctx, usage);
  const p1 = parseReply(first.text, schema, check);
  if (p1.ok) return { value: p1.value };
  const error1 = first.truncated ? `${p1.error} (the reply was cut off at the token limit${maxTokensNote})` : p1.error;
  messages.push(
    { role: 'assistant', content: first.text.trim() === '' ? '(empty reply)' : first.text },
    { role: 'user', content: render(template.repair, { ...values, error: error1 }) },
  );
  const second = await send(backend, system, messages, ctx, usage);
  const p2 = parseReply(second.text, schema, check);
  if (p2.ok) return { value: p2.value };
  const error2 = second.truncated ? `${p2.error} (the reply was cut off at the token limit${maxTokensNote})` : p2.error;
  return { malformed: { error: error2, raw: [first.text, second.text] } };
}

// ---------------------------------------------------------------------------------------------
// The generator

const backendFactories = { openai: openAiBackend, anthropic: anthropicBackend } as const;

/** The id that names this generator in every row and keys the shards: change it when output would change. */
export function llmGeneratorId(backend: LlmBackendName, s: LlmSettings): string {
  const parts = [backend, s.model, s.template, s.language.replace(/ /g, '_')];
  if (s.temperature !== undefined) parts.push(`t${s.temperature}`);
  if (s.maxTokens !== undefined) parts.push(`max${s.maxTokens}`);
  let id = parts.join(':');
  if (s.judge) id += `+${JUDGE_TEMPLATE}>=${s.minScore}`;
  return id;
}

export class LlmGenerator {
  readonly id: string;
  private backendInstance: ChatBackend | undefined;

  constructor(
    readonly backendName: LlmBackendName,
    readonly settings: LlmSettings,
  ) {
    this.id = llmGeneratorId(backendName, settings);
  }

  /** Created on first use: computing the id (shard keys, export) needs no key and no network. */
  private backend(): ChatBackend {
    this.backendInstance ??= backendFactories[this.backendName](this.settings, apiKeyFromEnv(this.backendName));
    return this.backendInstance;
  }

  private maxTokensNote(): string {
    const limit = this.settings.maxTokens ?? (this.backendName === 'anthropic' ? ANTHROPIC_DEFAULT_MAX_TOKENS : undefined);
    return limit === undefined ? '' : ` of ${limit}; raise --max-tokens`;
  }

  async generate(chunk: Chunk, ctx: { maxPairs: number } & CallContext): Promise<CandidatePair[]> {
    return (await this.generateChunk(chunk, ctx)).pairs;
  }

  async generateChunk(chunk: Chunk, ctx: { maxPairs: number } & CallContext): Promise<ChunkGeneration> {
    const usage = emptyUsage();
    if (ctx.maxPairs <= 0) return { pairs: [], usage };
    const template = loadTemplate(this.settings.template);
    const values = {
      pairs: ctx.maxPairs,
      language: this.settings.language,
      heading: chunk.heading ?? '(none)',
      text: chunk.text,
    };
    const r = await askStructured(this.backend(), template, values, PairsReply, undefined, ctx, usage, this.maxTokensNote());
    if ('malformed' in r) return { pairs: [], malformed: r.malformed, usage };
    const pairs = r.value.pairs
      .map((p) => ({ question: p.question.trim(), answer: p.answer.trim() }))
      .slice(0, ctx.maxPairs);
    return { pairs, usage };
  }

  /** Scores pairs against their chunk in one request: the lower of groundedness and usefulness. */
  async judge(chunk: Chunk, pairs: CandidatePair[], ctx: CallContext): Promise<JudgeResult> {
    const usage = emptyUsage();
    if (pairs.length === 0) return { scores: [], usage };
    const template = loadTemplate(JUDGE_TEMPLATE);
    const values = {
      text: chunk.text,
      count: pairs.length,
      language: this.settings.language,
      pairs: JSON.stringify(pairs.map((p, i) => ({ index: i + 1, question: p.question, answer: p.answer })), null, 1),
    };
    const check = (v: z.infer<typeof ScoresReply>): string | undefined => {
      const seen = new Set(v.scores.map((s) => s.index));
      const missing = pairs.map((_, i) => i + 1).filter((i) => !seen.has(i));
      if (missing.length) return `scores are missing for pair${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (expected one entry for each index 1 to ${pairs.length})`;
      return undefined;
    };
    const r = await askStructured(this.backend(), template, values, ScoresReply, check, ctx, usage, this.maxTokensNote());
    if ('malformed' in r) return { malformed: r.malformed, usage };
    const byIndex = new Map(r.value.scores.map((s) => [s.index, s]));
    const scores = pairs.map((_, i) => {
      const s = byIndex.get(i + 1)!;
      return { score: Math.min(s.groundedness, s.usefulness), groundedness: s.groundedness, usefulness: s.usefulness };
    });
    return { scores, usage };
  }
}

/**
 * QA generation (and the optional judge) with an LLM backend: building the requests and deciding
 * what to do with each reply. Sending (journal, limiter, retries) is requester.ts's job; reading
 * a reply is replies.ts's.
 *
 * Per chunk: one generation request. A reply that does not parse gets one repair request (the
 * model is shown the error). A reply cut off at the token limit keeps its complete pairs and
 * asks only for the rest, with twice the room. A chunk too long for the server's context is
 * split to fit it when the server says how large its context is (contextFit.ts), else reported
 * as such. The judge scores a chunk's passing pairs in one request; pairs it did not
 * score are asked about once more, alone, so no pair is rejected for another pair's score.
 */
import { LlmRuntime, type Chunk, type LlmSettings } from '../../schemas/index.js';
import type { CandidatePair } from '../types.js';
import { anthropicBackend, ANTHROPIC_DEFAULT_MAX_TOKENS } from './anthropic.js';
import { apiKeyFromEnv, type ChatBackend, type ChatMessage, type ChatReply } from './chat.js';
import type { CallContext, ChunkGeneration, Generator, JudgeResult, Malformed, PairScore } from './contract.js';
import { Journal } from './journal.js';
import { limiterFor } from './limiter.js';
import type { LlmBackendName } from './llmErrors.js';
import { openAiBackend } from './openai.js';
import { priceFor } from './pricing.js';
import { LANGUAGE_DETECTOR_VERSION } from '../language.js';
import { generationValues, judgeTemplateFor, judgeValues, loadTemplate, render, type PromptTemplate } from './prompts.js';
import { MAX_FIT_DEPTH, partsNeeded, refusalRatio, shareOut, splitText, type FitBudget } from './contextFit.js';
import { estimateTokensOfChars } from './estimate.js';
import { cleanPairs, PAIRS_SCHEMA, PairsReply, parseReply, parseScores, salvagePairs, SCORES_SCHEMA, type Score } from './replies.js';
import { layoutFor, runMayCachePassages, type PromptLayout } from './promptCache.js';
import { ContextTooLong, LlmRequester, ServerHealth, type LlmCall } from './requester.js';
import { bump, type RequestPurpose } from '../../schemas/llmUsage.js';

export const DEFAULT_LLM_RUNTIME: LlmRuntime = LlmRuntime.parse({});

export interface GeneratorEnv {
  outDir: string;
  runtime?: LlmRuntime;
  /** False with --no-cache: send every request again. */
  readJournal?: boolean;
  warn?: (message: string) => void;
  /** Provider batch mode: journal misses are collected instead of sent. */
  collect?: (key: string, call: LlmCall) => void;
  /** --max-cost: true once the run's spend has reached it. */
  overBudget?: () => boolean;
}

/** Asked when a reply was cut off at the token limit: the rest of the pairs only. */
const CONTINUE_PROMPT =
  'Your reply was cut off at the token limit after {{kept}} complete pairs; those are kept. Reply again with only ' +
  'the JSON object {"pairs": [...]} holding up to {{remaining}} more pairs about the passage, different from ' +
  'these, and nothing before or after it.';

/**
 * The id that names this generator in every row and keys the shards: change it when output would change.
 * `chunkSize` bounds the passages: a run whose passages can be long enough for Anthropic's prompt
 * cache sends those in another layout (promptCache.ts), a different prompt, so its id says
 * `passage-in-system`; every other run keeps the id (and the requests) it had before caching.
 */
export function llmGeneratorId(backend: LlmBackendName, s: LlmSettings, chunkSize?: number): string {
  // 'auto' names the detector's version: a new detector may give a document another language.
  const language = s.language === 'auto' ? `auto-${LANGUAGE_DETECTOR_VERSION}` : s.language.replace(/ /g, '_');
  const parts = [backend, s.model, s.template, language];
  if (s.questionTypes) parts.push(`types=${s.questionTypes.join('+')}`);
  if (s.temperature !== undefined) parts.push(`t${s.temperature}`);
  if (s.maxTokens !== undefined) parts.push(`max${s.maxTokens}`);
  if (runMayCachePassages(backend, s, chunkSize)) parts.push('passage-in-system');
  let id = parts.join(':');
  if (s.judge) id += `+${judgeTemplateFor(s.template)}>=${s.minScore}`;
  return id;
}

/** Reply room kept per pair asked for when fitting a chunk and --max-tokens is not set. */
const REPLY_TOKENS_PER_PAIR = 128;

/** A chunk (or part) that could not be fitted to the server's context: what the server said last. */
class Unfitted extends Error {
  constructor(
    readonly serverSaid: string,
    /** The run has --judge, which must see the whole chunk: it is not split at all. */
    readonly forJudge = false,
  ) {
    super(serverSaid);
  }
}

/** A generation, how many part requests it took (1: the chunk went whole), and the context it was split for. */
type Fitted = ChunkGeneration & { parts: number; contextTokens?: number };

/** The document a chunk is of: chunk ids start with the document's content hash. */
const documentOf = (chunk: Chunk): string => chunk.chunkId.slice(0, chunk.chunkId.lastIndexOf('-'));

const backendFactories = { openai: openAiBackend, anthropic: anthropicBackend } as const;
const healthByServer = new Map<string, ServerHealth>();

type Asked<T> = { value: T; raw: string[] } | { malformed: Malformed };

export class LlmGenerator implements Generator {
  readonly id: string;
  readonly concurrent = true;
  readonly minScore: number | undefined;
  readonly judge?: Generator['judge'];
  private readonly requester: LlmRequester;
  private readonly limit: number | undefined;
  private readonly health: ServerHealth;
  private readonly outDir: string;
  private readonly warn: (message: string) => void;
  /** Long passages go in a cached first system block (promptCache.ts); decided with the id. */
  private readonly cachePassages: boolean;

  constructor(
    readonly backendName: LlmBackendName,
    readonly settings: LlmSettings,
    env: GeneratorEnv,
    /** The run's --chunk-size: whether its passages can be long enough to be cached. */
    chunkSize?: number,
  ) {
    this.id = llmGeneratorId(backendName, settings, chunkSize);
    this.cachePassages = runMayCachePassages(backendName, settings, chunkSize);
    this.minScore = settings.judge ? settings.minScore : undefined;
    if (settings.judge) this.judge = (chunk, pairs, ctx) => this.judgePairs(chunk, pairs, ctx);
    this.limit = settings.maxTokens ?? (backendName === 'anthropic' ? ANTHROPIC_DEFAULT_MAX_TOKENS : undefined);
    const runtime = env.runtime ?? DEFAULT_LLM_RUNTIME;
    const server = `${backendName} ${settings.baseUrl ?? '(default)'} ${settings.model}`;
    let health = healthByServer.get(server);
    if (!health) healthByServer.set(server, (health = new ServerHealth()));
    this.health = health;
    this.outDir = env.outDir;
    this.warn = env.warn ?? (() => undefined);
    let backend: ChatBackend | undefined;
    this.requester = new LlmRequester({
      identity: {
        backend: backendName,
        model: settings.model,
        baseUrl: settings.baseUrl ?? '',
        temperature: settings.temperature ?? null,
        defaultMaxTokens: settings.maxTokens ?? null,
      },
      // Made on first use: computing the id (shard keys, export) needs no key and no network.
      backend: () => (backend ??= backendFactories[backendName](settings, apiKeyFromEnv(backendName))),
      journal: new Journal(env.outDir, env.warn),
      readJournal: env.readJournal ?? true,
      limiter: limiterFor(server, runtime),
      health,
      price: priceFor(settings, runtime),
      stallMs: runtime.stallSeconds * 1000,
      where: `the ${backendName} server at ${settings.baseUrl ?? 'its default address'} (model ${settings.model})`,
      collect: env.collect,
      overBudget: env.overBudget,
    });
  }

  liveStatus(): { inFlight: number; waiting?: string } {
    const w = this.health.waiting;
    return { inFlight: this.health.inFlight, ...(w && w.untilMs > Date.now() ? { waiting: w.message } : {}) };
  }

  private limitNote(): string {
    return this.limit === undefined ? '' : ` of ${this.limit}; raise --max-tokens`;
  }

  /** How a chunk's request is laid out: the passage in the user message, or in a cached system block. */
  private layout(template: PromptTemplate, chunk: Chunk): PromptLayout {
    return layoutFor(template, chunk.text, this.settings.model, this.cachePassages);
  }

  private call(purpose: RequestPurpose, layout: PromptLayout, schema: string, values: Record<string, string | number>, messages: ChatMessage[], maxTokens?: number): LlmCall {
    return {
      purpose,
      template: layout.template.name,
      schema,
      system: render(layout.template.system, values),
      ...(layout.cachedPrefix !== undefined ? { cachedPrefix: layout.cachedPrefix } : {}),
      messages,
      ...(maxTokens ? { maxTokens } : {}),
    };
  }

  /** Asks, and on an unparseable reply shows the model the error and asks once more. */
  private async askParsed<T>(
    purposes: [RequestPurpose, RequestPurpose],
    layout: PromptLayout,
    schema: string,
    values: Record<string, string | number>,
    parse: (text: string) => ReturnType<typeof parseReply<T>>,
    ctx: CallContext,
    asked?: ChatReply,
  ): Promise<Asked<T>> {
    const template = layout.template;
    const messages: ChatMessage[] = [{ role: 'user', content: render(template.user, values) }];
    const first = asked ?? (await this.requester.ask(this.call(purposes[0], layout, schema, values, messages), ctx.usage, ctx.signal, ctx.halt));
    const p1 = parse(first.text);
    if (p1.ok) return { value: p1.value, raw: [first.text] };
    const error1 = first.truncated ? `${p1.error} (the reply was cut off at the token limit${this.limitNote()})` : p1.error;
    const repair: ChatMessage[] = [
      ...messages,
      { role: 'assistant', content: first.text.trim() === '' ? '(empty reply)' : first.text },
      { role: 'user', content: render(template.repair, { ...values, error: error1 }) },
    ];
    const second = await this.requester.ask(this.call(purposes[1], layout, schema, values, repair), ctx.usage, ctx.signal, ctx.halt);
    const p2 = parse(second.text);
    if (p2.ok) return { value: p2.value, raw: [first.text, second.text] };
    const error2 = second.truncated ? `${p2.error} (the reply was cut off at the token limit${this.limitNote()})` : p2.error;
    return { malformed: { error: error2, raw: [first.text, second.text] } };
  }

  async generateChunk(chunk: Chunk, ctx: CallContext & { maxPairs: number }): Promise<ChunkGeneration> {
    if (ctx.maxPairs <= 0) return { pairs: [] };
    try {
      const { parts, contextTokens, ...generation } = await this.generateFitted(chunk, ctx.maxPairs, 0, ctx);
      if (parts > 1) this.noteFitted(parts, contextTokens, ctx);
      return generation;
    } catch (err) {
      if (!(err instanceof Unfitted)) throw err;
      this.requester.refusedForGood(documentOf(chunk), err.serverSaid);
      return { pairs: [], contextTooLong: err.serverSaid, ...(err.forJudge ? { contextTooLongForJudge: true } : {}) };
    }
  }

  /**
   * `part`'s pairs within the server's context. Its whole request is always asked first (the
   * journal, else the server); only its own refusal splits it, by the numbers in that refusal,
   * and a part refused again is split once more (depth MAX_FIT_DEPTH), then given up on.
   *
   * So the path depends on the chunk's own request alone, never on when another chunk's refusal
   * arrived: a chunk the server answered whole is read back whole on a rerun, and one it refused
   * meets its journaled refusal and is cut the same way, into the same (journaled) part requests.
   */
  private async generateFitted(part: Chunk, maxPairs: number, depth: number, ctx: CallContext): Promise<Fitted> {
    try {
      return { ...(await this.generateText(part, maxPairs, ctx, depth === 0)), parts: 1 };
    } catch (err) {
      if (!(err instanceof ContextTooLong)) throw err;
      // Parts would be paid for and then lose every pair: the judge is sent the whole chunk, and
      // the server would refuse it as it refused this.
      if (depth === 0 && this.settings.judge) throw new Unfitted(err.serverSaid, true);
      const refusal = err.refusal;
      if (!refusal || depth >= MAX_FIT_DEPTH) throw new Unfitted(err.serverSaid);
      // Our estimate first; where it says the text fits, the server's own count of this request
      // says by how much our estimate was wrong.
      let parts = partsNeeded(part.text.length, this.fitBudget(part, maxPairs, refusal.limit, 1));
      if (parts === 1) parts = partsNeeded(part.text.length, this.fitBudget(part, maxPairs, refusal.limit, refusalRatio(refusal, err.estimatedPromptTokens)));
      if (parts === undefined) throw new Unfitted(err.serverSaid);
      await this.requester.keepRefusal(err);
      return this.generateInParts(part, maxPairs, Math.max(2, parts), depth + 1, refusal.limit, ctx);
    }
  }

  /**
   * The text cut into `parts`, each asked for its share of `maxPairs`; pairs merged in text order.
   * A part that cannot be fitted loses only its own pairs: the chunk is context_too_long only
   * when no part gave any.
   */
  private async generateInParts(part: Chunk, maxPairs: number, parts: number, depth: number, contextTokens: number, ctx: CallContext): Promise<Fitted> {
    const texts = splitText(part.text, parts);
    const shares = shareOut(maxPairs, texts.length);
    // Settled, not Promise.all: a part that fails must not leave its siblings' requests (and
    // their figures) running after the chunk has been given up.
    const settled = await Promise.allSettled(
      texts.map((text, i) => (shares[i]! > 0 ? this.generateFitted({ ...part, text }, shares[i]!, depth, ctx) : Promise.resolve<Fitted>({ pairs: [], parts: 0 }))),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof Unfitted));
    if (failed) throw failed.reason;
    const results = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const unfitted = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as Unfitted] : []));
    const pairs = cleanPairs(results.flatMap((r) => r.pairs), maxPairs);
    if (pairs.length === 0 && unfitted.length > 0) throw unfitted[0]!;
    // A part given up on was still a part request.
    const used = results.reduce((n, r) => n + r.parts, 0) + unfitted.length;
    // A part whose reply stayed unusable loses its pairs; the chunk is malformed only if no part gave any.
    const malformed = pairs.length === 0 ? results.find((r) => r.malformed)?.malformed : undefined;
    return { pairs, parts: used, contextTokens, ...(malformed ? { malformed } : {}) };
  }

  /** What a request for `part` costs besides its text, and what is kept for the reply. */
  private fitBudget(part: Chunk, maxPairs: number, limit: number, ratio: number): FitBudget {
    const template = loadTemplate(this.settings.template);
    const values = generationValues({ ...part, text: '' }, this.settings, maxPairs);
    const overheadTokens = estimateTokensOfChars(render(template.system, values).length + render(template.user, values).length);
    const replyTokens = this.limit ?? Math.min(Math.floor(limit / 4), REPLY_TOKENS_PER_PAIR * maxPairs);
    return { limit, overheadTokens, replyTokens, ratio };
  }

  /** Counts a chunk split to fit (stats.json's llm.fitted), and says so once per run and server. */
  private noteFitted(parts: number, contextTokens: number | undefined, ctx: CallContext): void {
    bump(ctx.usage, 'fit.chunks');
    bump(ctx.usage, 'fit.parts', parts);
    if (this.health.fitWarned.has(this.outDir)) return;
    this.health.fitWarned.add(this.outDir);
    this.warn(
      `the server's context is ${contextTokens ?? 'smaller than a chunk'} tokens` +
        ` (${this.backendName} ${this.settings.baseUrl ?? ''} ${this.settings.model}); chunks are split to fit; a smaller --chunk-size avoids the split`,
    );
  }

  /**
   * One text's pairs: the generation request, a repair or continuation when the reply needs one.
   * Only a whole chunk may use the cached layout: the judge reads a chunk's cached passage, and
   * no request would ever read a part's.
   */
  private async generateText(chunk: Chunk, maxPairs: number, ctx: CallContext, wholeChunk: boolean): Promise<ChunkGeneration> {
    const at = { ...ctx, maxPairs };
    const template = loadTemplate(this.settings.template);
    const layout = wholeChunk ? this.layout(template, chunk) : layoutFor(template, chunk.text, this.settings.model, false);
    const values = generationValues(chunk, this.settings, maxPairs);
    const messages: ChatMessage[] = [{ role: 'user', content: render(layout.template.user, values) }];
    const first = await this.requester.ask(this.call('generate', layout, PAIRS_SCHEMA, values, messages), ctx.usage, ctx.signal, ctx.halt);
    const parsed = parseReply(first.text, PairsReply);
    if (parsed.ok) return { pairs: cleanPairs(parsed.value.pairs, maxPairs) };
    if (first.truncated) return await this.continueCut(layout, values, messages, first, at);
    // Not JSON of the right shape and not cut off: show the model its error, once.
    const r = await this.askParsed(['generate', 'repair'], layout, PAIRS_SCHEMA, values, (t) => parseReply(t, PairsReply), ctx, first);
    if ('malformed' in r) return { pairs: [], malformed: r.malformed };
    return { pairs: cleanPairs(r.value.pairs, maxPairs) };
  }

  /** A reply cut at the token limit: keep its complete pairs, ask for the rest with more room. */
  private async continueCut(layout: PromptLayout, values: Record<string, string | number>, messages: ChatMessage[], first: ChatReply, ctx: CallContext & { maxPairs: number }): Promise<ChunkGeneration> {
    const kept = cleanPairs(salvagePairs(first.text), ctx.maxPairs);
    const remaining = ctx.maxPairs - kept.length;
    if (remaining <= 0) return { pairs: kept };
    const room = Math.min(100_000, 2 * Math.max(this.limit ?? 0, first.completionTokens, 64));
    const more: ChatMessage[] = [
      ...messages,
      { role: 'assistant', content: first.text },
      { role: 'user', content: render(CONTINUE_PROMPT, { kept: kept.length, remaining }) },
    ];
    let second: ChatReply;
    try {
      second = await this.requester.ask(this.call('continue', layout, PAIRS_SCHEMA, values, more, room), ctx.usage, ctx.signal, ctx.halt);
    } catch (err) {
      // The longer conversation may not fit where the first request did: keep what we have.
      if (err instanceof ContextTooLong && kept.length > 0) return { pairs: kept };
      throw err;
    }
    const parsed = parseReply(second.text, PairsReply);
    const rest = parsed.ok ? parsed.value.pairs : salvagePairs(second.text);
    const pairs = cleanPairs([...kept, ...rest], ctx.maxPairs);
    if (pairs.length > 0) return { pairs };
    return {
      pairs: [],
      malformed: { error: `the reply was cut off at the token limit${this.limitNote()} before a single complete pair, twice`, raw: [first.text, second.text] },
    };
  }

  /** Scores pairs against their chunk: the lower of groundedness and usefulness. */
  private async judgePairs(chunk: Chunk, pairs: CandidatePair[], ctx: CallContext): Promise<JudgeResult> {
    if (pairs.length === 0) return { scores: [] };
    const scores = new Map<number, Score>();
    let malformed: Malformed | undefined;
    try {
      const first = await this.askScores(['judge', 'judge_repair'], chunk, pairs, ctx);
      if ('malformed' in first) malformed = first.malformed;
      else first.value.forEach((s, i) => scores.set(i, s));
      const missing = pairs.map((_, i) => i).filter((i) => !scores.has(i));
      if (!malformed && missing.length > 0 && missing.length < pairs.length) {
        // Ask again about the unscored pairs only, numbered 1..k in their own request.
        const again = await this.askScores(['judge_missing', 'judge_repair'], chunk, missing.map((i) => pairs[i]!), ctx);
        if ('value' in again) again.value.forEach((s, k) => scores.set(missing[k]!, { ...s, index: missing[k]! + 1 }));
      }
    } catch (err) {
      // No fitting for the judge: it must see the whole chunk to say whether a pair is grounded
      // in it, so a judge request refused for size stays a context_too_long rejection.
      if (!(err instanceof ContextTooLong)) throw err;
      this.requester.refusedForGood(documentOf(chunk), err.serverSaid);
      return { contextTooLong: err.serverSaid };
    }
    const out: Array<PairScore | undefined> = pairs.map((_, i) => {
      const s = scores.get(i);
      return s ? { score: Math.min(s.groundedness, s.usefulness), groundedness: s.groundedness, usefulness: s.usefulness } : undefined;
    });
    return { scores: out, ...(malformed ? { malformed } : {}) };
  }

  /** One judge request (plus its repair); the scores it gave, by position in `pairs`. */
  private async askScores(purposes: [RequestPurpose, RequestPurpose], chunk: Chunk, pairs: CandidatePair[], ctx: CallContext): Promise<{ value: Map<number, Score> } | { malformed: Malformed }> {
    const layout = this.layout(loadTemplate(judgeTemplateFor(this.settings.template)), chunk);
    const values = judgeValues(chunk, pairs, this.settings);
    const parse = (t: string) => {
      const p = parseScores(t, pairs.length);
      return p.ok && p.value.size === 0 ? { ok: false as const, error: `no usable score entries (expected one for each index 1 to ${pairs.length})` } : p;
    };
    const r = await this.askParsed(purposes, layout, SCORES_SCHEMA, values, parse, ctx);
    if ('malformed' in r) return r;
    const byPosition = new Map<number, Score>();
    for (const [index, s] of r.value) byPosition.set(index - 1, s);
    return { value: byPosition };
  }
}

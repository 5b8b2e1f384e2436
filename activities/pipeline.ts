/**
 * One document through load → chunk → generate → validate, as a pure function of its bytes and
 * the settings. The result is what a shard stores: it does not depend on the document's path,
 * so identical files share a shard and a moved file is not processed again.
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Chunk, DocumentKind, OutputSettings, ShardContent, ShardPair, ShardPart, StageDurations } from '../schemas/index.js';
import { DocumentDuplicates } from './dedup.js';
import { extractChunkPages } from './extract/pool.js';
import type { ChunkGeneration, Generator, JudgeResult, Malformed } from './generate/index.js';
import { emptyUsage, shardFigures, type LlmUsage } from '../schemas/llmUsage.js';
import { questionForm } from './questionForm.js';
import { validatePair } from './validate.js';

export type { ShardContent } from '../schemas/index.js';

/**
 * Bump when a change here would change the output for the same input.
 * p5: chunks an LLM server refused as too long for its context are split to fit it
 * (generate/contextFit.ts) instead of giving one context_too_long row: shards of p4 keep those rows.
 */
export const PIPELINE_VERSION = 'p5';

/**
 * Chunks handed from the extraction thread at a time, and the pairs or rows stored per shard
 * part for a document of more than this many chunks. A page is ~1-3 MB of chunk text; ordinary
 * documents are one page, so their shards are as they always were. An LLM generator has a
 * page's requests queued at once, far more than any limiter's slots.
 */
export const DEFAULT_CHUNKS_PER_PAGE = 2000;

export interface DocumentHooks {
  generator?: Generator;
  /** Aborts the document's requests: the run was cancelled or the worker is stopping. */
  signal?: AbortSignal;
  /** Stops requests not sent yet (another document of the batch failed for good). */
  halt?: AbortSignal;
  /** Where the document's LLM figures go (so a caller can watch them while it runs). */
  usage?: LlmUsage;
  /** Chunks per page (DEFAULT_CHUNKS_PER_PAGE unless set). */
  chunksPerPage?: number;
  /**
   * Stores part `n` (1-based) of a document of more than one page, as soon as that page is done;
   * its shard then names the parts instead of holding them. Without it, everything is inline.
   */
  storePart?: (n: number, part: ShardPart) => Promise<void>;
}

/** A document's pairs counted, as they are stored (in parts, they are not all in hand at the end). */
export interface PairTally {
  generated: number;
  passed: number;
  /** By primary reason, in the order the reasons first occur. */
  rejectedByReason: Record<string, number>;
}

export const emptyTally = (): PairTally => ({ generated: 0, passed: 0, rejectedByReason: {} });

export function tallyPairs(pairs: readonly ShardPair[], into: PairTally): void {
  into.generated += pairs.length;
  for (const p of pairs) {
    const primary = p.reasons[0];
    if (primary === undefined) into.passed++;
    else into.rejectedByReason[primary] = (into.rejectedByReason[primary] ?? 0) + 1;
  }
}

export interface ProcessedDocument {
  shard: ShardContent;
  /** Everything this document's LLM requests did in this run: attempts, failures, waits, cost. */
  usage: LlmUsage;
  /** The document's pairs, counted (also those stored in parts). */
  tally: PairTally;
}

export async function processDocument(
  bytes: Uint8Array,
  kind: DocumentKind,
  sha256: string,
  settings: OutputSettings,
  hooks: DocumentHooks = {},
): Promise<ProcessedDocument> {
  const usage = hooks.usage ?? emptyUsage();
  const tally = emptyTally();
  const durationsMs: StageDurations = { load: 0, chunk: 0, generate: 0, validate: 0 };
  let t = performance.now();
  const lap = (stage: keyof StageDurations) => {
    const now = performance.now();
    durationsMs[stage] += now - t;
    t = now;
  };

  // Load and chunk in the extraction pool: a thread with its own heap and time limits, so one
  // pathological file cannot starve or take down the others. Unknown extensions are sniffed as
  // text: a .rst or .csv is worth reading, a .png is caught by the binary check. The chunks come
  // a page at a time, each done and stored before the next is asked for.
  const pageSize = Math.max(1, Math.floor(hooks.chunksPerPage ?? DEFAULT_CHUNKS_PER_PAGE));
  const extracted = await extractChunkPages(bytes, kind === 'other' ? 'text' : kind, {
    chunkSize: settings.chunkSize,
    chunkOverlap: settings.chunkOverlap,
    idPrefix: sha256.slice(0, 12),
    // Only an LLM asked for each document's own language reads it; the built-in generator does not.
    detectLanguage: settings.generateQa && settings.llm?.language === 'auto',
  }, pageSize, {
    signal: hooks.signal,
    keepText: false,
    onTimings: (tm) => {
      durationsMs.load += tm.loadMs;
      durationsMs.chunk += tm.chunkMs;
    },
  });
  t = performance.now();
  if (!extracted.ok) {
    return { shard: { status: 'error', stage: 'load', reason: extracted.reason, detail: extracted.detail, durationsMs }, usage, tally };
  }
  try {
    const { chunkCount, words } = extracted;
    const paged = chunkCount > pageSize && hooks.storePart !== undefined;
    const inline: ShardPart = { chunkRows: [], pairs: [] };
    let parts = 0;
    const store = async (part: ShardPart): Promise<void> => {
      tallyPairs(part.pairs, tally);
      if (paged) return hooks.storePart!(++parts, part);
      for (const c of part.chunkRows) inline.chunkRows.push(c);
      for (const p of part.pairs) inline.pairs.push(p);
    };
    const inParts = () => (paged ? { parts } : {});

    if (!settings.generateQa) {
      for await (const page of extracted.chunkPages) await store({ chunkRows: page, pairs: [] });
      return { shard: { status: 'ok', chunks: chunkCount, words, chunkRows: inline.chunkRows, pairs: [], durationsMs, ...inParts() }, usage, tally };
    }
    const generator = hooks.generator;
    if (!generator) throw new Error('processDocument: --generate-qa needs a generator');

    // A request that fails for good (a bad key) halts the document's requests not sent yet; those
    // in flight are paid for already, so they finish and go to the journal.
    const halt = new AbortController();
    const ctx = { usage, signal: hooks.signal, halt: hooks.halt ? AbortSignal.any([hooks.halt, halt.signal]) : halt.signal };
    // Every request of the document listens on these: many at once is expected, not a leak.
    setMaxListeners(0, halt.signal, ctx.halt, ...(hooks.signal ? [hooks.signal] : []));
    const duplicates = new DocumentDedup();
    try {
      for await (const chunks of extracted.chunkPages) {
        // 1. Generate: every chunk of the page at once for an LLM (the worker's limiter bounds
        //    the requests in flight), one after another for CPU work.
        const generated = await eachChunk(chunks, generator.concurrent, halt, (chunk) =>
          generator.generateChunk(chunk, { ...ctx, maxPairs: settings.maxPairsPerChunk }),
        hooks.signal);
        lap('generate');

        // 2. Validate each pair against its chunk.
        const perChunk = await eachChunk(chunks, false, halt, (chunk, i) => pairsOf(chunk, generated[i]!, generator.id, settings.chunkSize), hooks.signal);
        lap('validate');

        // 3. Judge: only pairs that passed the rule checks are worth a judge's tokens.
        if (generator.judge) {
          const judge = generator.judge.bind(generator);
          await eachChunk(chunks, generator.concurrent, halt, async (chunk, i) => {
            const passing = perChunk[i]!.filter((p) => p.reasons.length === 0);
            if (passing.length > 0) applyJudgement(passing, await judge(chunk, passing, ctx), generator.minScore ?? 0);
          }, hooks.signal);
          lap('generate');
        }
        // 4. Duplicates within the document, in chunk order, after the judge: only a pair that
        //    passed everything is kept, so a pair the judge turned down never hides a good copy of
        //    itself. Pages come in order, so the document's earlier pages are already judged.
        const pairs = perChunk.flat();
        duplicates.mark(pairs);
        lap('validate');
        await store({ chunkRows: [], pairs });
      }
      const llm = Object.keys(usage).length > 0 ? { llm: shardFigures(usage) } : {};
      return { shard: { status: 'ok', chunks: chunkCount, words, chunkRows: [], pairs: inline.pairs, durationsMs, ...llm, ...inParts() }, usage, tally };
    } finally {
      halt.abort(DOCUMENT_ENDED);
    }
  } finally {
    extracted.release();
  }
}

/**
 * The reason a document's halt signal gives once the document is done. abort() without one
 * makes a new DOMException per document, stack and all: 1% of the main thread's CPU on a 10k
 * run of the built-in generator, where nothing listens.
 */
const DOCUMENT_ENDED = new DOMException('the document is done', 'AbortError');

/**
 * Runs `work` for every chunk, in parallel or in order. The first failure halts what has not
 * started; the call returns (throws) only when nothing is in flight any more, so a retry never
 * races a request of this attempt.
 */
async function eachChunk<T>(
  chunks: Chunk[],
  concurrent: boolean,
  halt: AbortController,
  work: (chunk: Chunk, i: number) => T | Promise<T>,
  signal?: AbortSignal,
): Promise<T[]> {
  if (concurrent) {
    const settled = await Promise.allSettled(
      chunks.map((c, i) =>
        Promise.resolve(work(c, i)).catch((err: unknown) => {
          if (!halt.signal.aborted) halt.abort(err);
          throw err;
        }),
      ),
    );
    if (halt.signal.aborted) throw halt.signal.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
  }
  const out: T[] = [];
  for (const [i, c] of chunks.entries()) {
    // Yield now and then: a huge document is minutes of synchronous work, and the activity's
    // keep-alive heartbeat must still fire meanwhile, and a cancellation (Ctrl-C, `corpus-qa
    // cancel`, the worker stopping) must stop it there, not after the last chunk.
    if (i % 20 === 19) {
      await new Promise((r) => setImmediate(r));
      signal?.throwIfAborted();
    }
    out.push(await work(c, i));
  }
  return out;
}

function pairsOf(chunk: Chunk, g: ChunkGeneration, generatorId: string, chunkSize: number): ShardPair[] {
  const place = {
    chunkId: chunk.chunkId,
    charStart: chunk.charStart,
    charEnd: chunk.charEnd,
    pageStart: chunk.pageStart ?? 0,
    pageEnd: chunk.pageEnd ?? 0,
    generator: generatorId,
  };
  const nothing = { question: '', answer: '', ...place, answerStart: -1, answerEnd: -1, questionForm: questionForm('') };
  if (g.contextTooLong !== undefined) {
    // With --judge a refused chunk is not split: the judge must see it whole, and would be refused too.
    const why = g.contextTooLongForJudge ? '; the judge must see the whole chunk, so it is not split to fit' : '';
    return [{
      ...nothing, reasons: ['context_too_long'],
      detail: `the server refused this chunk's request as too long for its context${why}; lower --chunk-size (now ${chunkSize}) or give the server a larger context (server said: ${g.contextTooLong})`,
    }];
  }
  if (g.malformed) {
    // The chunk's pairs are lost; one rejected row says so and keeps what the model wrote.
    return [{ ...nothing, reasons: ['malformed_output'], detail: malformedDetail('answer', g.malformed) }];
  }
  return g.pairs.map((candidate) => {
    // The validator pins the answer: the generator's span if it holds, else the quote or the
    // answer located in the chunk; no evidence when neither is found.
    const verdict = validatePair(candidate, chunk);
    const { evidence } = verdict;
    return {
      question: candidate.question,
      answer: candidate.answer,
      ...place,
      // Chunk-relative code points → the document's: char_start is a code-point offset too.
      answerStart: evidence ? chunk.charStart + evidence.start : -1,
      answerEnd: evidence ? chunk.charStart + evidence.end : -1,
      questionForm: questionForm(candidate.question),
      reasons: verdict.reasons,
      detail: verdict.detail,
    };
  });
}

/**
 * Passed pairs that repeat an earlier passed pair's answer become `duplicate` (activities/dedup.ts),
 * page after page of one document: what it keeps of the pairs kept so far is their fingerprints
 * and questions (a duplicate's detail quotes the question it repeats), not the pairs.
 */
class DocumentDedup {
  private readonly kept = new DocumentDuplicates();
  private readonly questions = new Map<number, string>();
  private next = 0;

  mark(pairs: ShardPair[]): void {
    for (const p of pairs) {
      const i = this.next++;
      if (p.reasons.length > 0) continue;
      const dup = this.kept.check(p);
      if (!dup) {
        this.kept.keep(p, i);
        this.questions.set(i, p.question);
        continue;
      }
      p.reasons = ['duplicate'];
      p.detail = `${DUPLICATE_WORDS[dup.kind]} an earlier pair of this document (question: ${JSON.stringify(this.questions.get(dup.index))})`;
    }
  }
}

const DUPLICATE_WORDS = { exact: 'same answer as', near: 'nearly the same answer as', span: 'nearly the same evidence as' } as const;

function applyJudgement(passing: ShardPair[], judged: JudgeResult, minScore: number): void {
  passing.forEach((p, i) => {
    const s = judged.scores?.[i];
    if (judged.contextTooLong !== undefined) {
      p.reasons = ['context_too_long'];
      p.detail = `the server refused the judge's request for this chunk as too long for its context; lower --chunk-size (server said: ${judged.contextTooLong})`;
    } else if (judged.malformed) {
      p.reasons = ['malformed_output'];
      p.detail = malformedDetail("judge's answer", judged.malformed);
    } else if (!s) {
      p.reasons = ['malformed_output'];
      p.detail = "the judge's answer gave no usable score for this pair, also when asked about it again";
    } else if (s.score < minScore) {
      p.reasons = ['low_score'];
      p.detail = `judge score ${s.score} (groundedness ${s.groundedness}, usefulness ${s.usefulness}) is below --min-score ${minScore}`;
    }
  });
}

const RAW_KEPT_CHARS = 1000;

/** Why a reply was unusable, and the reply itself (clipped): enough to fix a prompt or a model. */
function malformedDetail(what: string, m: Malformed): string {
  const clip = (s: string) => (s.length > RAW_KEPT_CHARS ? `${s.slice(0, RAW_KEPT_CHARS)}… (${s.length} chars)` : s);
  const raws = m.raw.map((r, i) => `${i === 0 ? 'first reply' : 'reply to the repair request'}: ${JSON.stringify(clip(r))}`);
  return [`the model's ${what} was unusable after one repair attempt: ${m.error}`, ...raws].join('; ');
}

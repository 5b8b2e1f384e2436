/**
 * One document through load → chunk → generate → validate, as a pure function of its bytes and
 * the settings. The result is what a shard stores: it does not depend on the document's path,
 * so identical files share a shard and a moved file is not processed again.
 */
import { performance } from 'node:perf_hooks';
import type {
  Chunk,
  DocumentErrorReason,
  DocumentKind,
  OutputSettings,
  ShardPair,
  StageDurations,
} from '../schemas/index.js';
import { chunkText } from './chunk.js';
import { extractText } from './extract/index.js';
import { addUsage, emptyUsage, getGenerator, type LlmUsage, type Malformed } from './generate/index.js';
import { validatePair } from './validate.js';

/** Bump when a change here would change the output for the same input. */
export const PIPELINE_VERSION = 'p1';

export type ShardContent =
  | {
      status: 'ok';
      chunks: number;
      /** Chunk rows, kept only when the run exports chunks (no --generate-qa). */
      chunkRows: Chunk[];
      pairs: ShardPair[];
      durationsMs: StageDurations;
      /** LLM requests and tokens spent on this document (absent for the built-in generator). */
      llm?: LlmUsage;
    }
  | {
      status: 'error';
      stage: 'load' | 'chunk' | 'generate' | 'validate' | 'process';
      reason: DocumentErrorReason;
      detail: string;
      durationsMs: StageDurations;
    };

export interface DocumentHooks {
  /** Heartbeat while a document is in hand: LLM generation can take minutes per document. */
  keepAlive?: () => void;
}

export async function processDocument(
  bytes: Uint8Array,
  kind: DocumentKind,
  sha256: string,
  source: string,
  settings: OutputSettings,
  hooks: DocumentHooks = {},
): Promise<ShardContent> {
  const durationsMs: StageDurations = { load: 0, chunk: 0, generate: 0, validate: 0 };
  let t = performance.now();
  const lap = (stage: keyof StageDurations) => {
    const now = performance.now();
    durationsMs[stage] += now - t;
    t = now;
  };

  // Unknown extensions are sniffed as text: a .rst or .csv is worth reading, a .png is caught
  // by the binary check with a clear reason.
  const extracted = await extractText(bytes, kind === 'other' ? 'text' : kind);
  lap('load');
  if (!extracted.ok) {
    return { status: 'error', stage: 'load', reason: extracted.reason, detail: extracted.detail, durationsMs };
  }

  const chunks = chunkText(extracted.text, extracted.headings, {
    chunkSize: settings.chunkSize,
    chunkOverlap: settings.chunkOverlap,
    idPrefix: sha256.slice(0, 12),
  });
  lap('chunk');
  if (!settings.generateQa) {
    return { status: 'ok', chunks: chunks.length, chunkRows: chunks, pairs: [], durationsMs };
  }

  const generator = getGenerator(settings);
  const usage = emptyUsage();
  const ctx = { source, maxPairs: settings.maxPairsPerChunk, keepAlive: hooks.keepAlive };
  const pairs: ShardPair[] = [];
  const seenQuestions = new Set<string>();
  for (const [i, chunk] of chunks.entries()) {
    // Yield to the event loop now and then: a huge document is minutes of synchronous work, and
    // the activity's keep-alive heartbeat must still fire meanwhile.
    if (i % 20 === 19) await new Promise((r) => setImmediate(r));
    t = performance.now();
    // A request that fails (429, 5xx, timeout, bad key) throws out of here before any shard is
    // written: the document is done again on the retry, never half-stored.
    const generated = await generator.generateChunk(chunk, ctx);
    addUsage(usage, generated.usage);
    lap('generate');
    const place = { chunkId: chunk.chunkId, charStart: chunk.charStart, charEnd: chunk.charEnd, generator: generator.id };
    if (generated.malformed) {
      // The chunk's pairs are lost; one rejected row says so and keeps what the model wrote.
      pairs.push({ question: '', answer: '', ...place, reasons: ['malformed_output'], detail: malformedDetail('answer', generated.malformed) });
      continue;
    }
    const chunkPairs: ShardPair[] = generated.pairs.map((candidate) => {
      const verdict = validatePair(candidate, chunk, seenQuestions);
      return { question: candidate.question, answer: candidate.answer, ...place, reasons: verdict.reasons, detail: verdict.detail };
    });
    lap('validate');
    if (generator.judge) {
      // Only pairs that passed the rule checks are worth a judge's tokens.
      const passing = chunkPairs.filter((p) => p.reasons.length === 0);
      if (passing.length > 0) {
        const judged = await generator.judge(chunk, passing, ctx);
        addUsage(usage, judged.usage);
        const minScore = generator.minScore ?? 0;
        passing.forEach((p, i) => {
          const s = judged.scores?.[i];
          if (judged.malformed || !s) {
            p.reasons = ['malformed_output'];
            p.detail = malformedDetail("judge's answer", judged.malformed ?? { error: 'no score for this pair', raw: [] });
          } else if (s.score < minScore) {
            p.reasons = ['low_score'];
            p.detail = `judge score ${s.score} (groundedness ${s.groundedness}, usefulness ${s.usefulness}) is below --min-score ${minScore}`;
          }
        });
      }
      lap('generate');
    }
    pairs.push(...chunkPairs);
  }
  return { status: 'ok', chunks: chunks.length, chunkRows: [], pairs, durationsMs, ...(usage.requests > 0 ? { llm: usage } : {}) };
}

const RAW_KEPT_CHARS = 1000;

/** Why a reply was unusable, and the reply itself (clipped): enough to fix a prompt or a model. */
function malformedDetail(what: string, m: Malformed): string {
  const clip = (s: string) => (s.length > RAW_KEPT_CHARS ? `${s.slice(0, RAW_KEPT_CHARS)}… (${s.length} chars)` : s);
  const raws = m.raw.map((r, i) => `${i === 0 ? 'first reply' : 'reply to the repair request'}: ${JSON.stringify(clip(r))}`);
  return [`the model's ${what} was unusable after one repair attempt: ${m.error}`, ...raws].join('; ');
}

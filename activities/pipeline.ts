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
import { getGenerator } from './generate/index.js';
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
    }
  | {
      status: 'error';
      stage: 'load' | 'chunk' | 'generate' | 'validate';
      reason: DocumentErrorReason;
      detail: string;
      durationsMs: StageDurations;
    };

export async function processDocument(
  bytes: Uint8Array,
  kind: DocumentKind,
  sha256: string,
  source: string,
  settings: OutputSettings,
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

  const generator = getGenerator(settings.generator);
  const pairs: ShardPair[] = [];
  const seenQuestions = new Set<string>();
  for (const chunk of chunks) {
    t = performance.now();
    const candidates = await generator.generate(chunk, { source, maxPairs: settings.maxPairsPerChunk });
    lap('generate');
    for (const candidate of candidates) {
      const verdict = validatePair(candidate, chunk, seenQuestions);
      pairs.push({
        question: candidate.question,
        answer: candidate.answer,
        chunkId: chunk.chunkId,
        charStart: chunk.charStart,
        charEnd: chunk.charEnd,
        generator: generator.id,
        reasons: verdict.reasons,
        detail: verdict.detail,
      });
    }
    lap('validate');
  }
  return { status: 'ok', chunks: chunks.length, chunkRows: [], pairs, durationsMs };
}

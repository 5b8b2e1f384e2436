/**
 * What the pipeline needs from a generator beyond activities/types.ts's QaGenerator: token and
 * request accounting, a way to report a reply that could not be parsed (instead of losing the
 * chunk's pairs without a trace), and an optional judge.
 */
import type { Chunk } from '../../schemas/index.js';
import type { CandidatePair, GenerateContext, QaGenerator } from '../types.js';

export interface LlmUsage {
  /** Requests that returned an answer (failed attempts that Temporal retried are not counted). */
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

export const emptyUsage = (): LlmUsage => ({ requests: 0, promptTokens: 0, completionTokens: 0 });

export function addUsage(into: LlmUsage, u: LlmUsage | undefined): void {
  if (!u) return;
  into.requests += u.requests;
  into.promptTokens += u.promptTokens;
  into.completionTokens += u.completionTokens;
}

/** A reply that stayed unusable after the repair attempt. */
export interface Malformed {
  error: string;
  /** The raw replies: the first answer, then the answer to the repair request. */
  raw: string[];
}

export interface CallContext {
  /** Keeps the activity's heartbeat going while a request is in flight (long generations). */
  keepAlive?: () => void;
}

export interface ChunkGeneration {
  pairs: CandidatePair[];
  malformed?: Malformed;
  usage: LlmUsage;
}

export interface PairScore {
  /** The lower of the two. */
  score: number;
  groundedness: number;
  usefulness: number;
}

export interface JudgeResult {
  /** One per pair, in order; absent when the judge's reply was malformed. */
  scores?: PairScore[];
  malformed?: Malformed;
  usage: LlmUsage;
}

export interface Generator extends QaGenerator {
  generateChunk(chunk: Chunk, ctx: GenerateContext & CallContext): Promise<ChunkGeneration>;
  /** Present when the run has --judge. */
  judge?(chunk: Chunk, pairs: CandidatePair[], ctx: CallContext): Promise<JudgeResult>;
  /** Pairs the judge scores below this are rejected as low_score. */
  readonly minScore?: number;
}

/**
 * The one interface every generator implements (the built-in one and the LLM backends), and
 * what a chunk's generation can come back with: pairs, an unusable reply (kept, not dropped
 * silently), or a refusal for size.
 */
import type { Chunk } from '../../schemas/index.js';
import type { CandidatePair } from '../types.js';
import type { LlmUsage } from '../../schemas/llmUsage.js';

export type { LlmUsage } from '../../schemas/llmUsage.js';

/** A reply that stayed unusable after the repair attempt. */
export interface Malformed {
  error: string;
  /** The raw replies: the first answer, then the answer to the repair request. */
  raw: string[];
}

export interface CallContext {
  /** Every request's figures are added here (attempts, tokens, cost, journal hits). */
  usage: LlmUsage;
  /** Aborts requests and waits: the run was cancelled or the worker is stopping. */
  signal?: AbortSignal;
  /** Stops requests not sent yet (another one failed for good); those in flight finish. */
  halt?: AbortSignal;
}

export interface ChunkGeneration {
  pairs: CandidatePair[];
  malformed?: Malformed;
  /** The server refused the chunk's request as too long for its context: what it said. */
  contextTooLong?: string;
  /** ... and it was not split to fit, since the run's judge must see the whole chunk. */
  contextTooLongForJudge?: boolean;
}

export interface PairScore {
  /** The lower of the two. */
  score: number;
  groundedness: number;
  usefulness: number;
}

export interface JudgeResult {
  /** One per pair, in order; undefined for a pair the judge gave no usable score. */
  scores?: Array<PairScore | undefined>;
  /** The judge's reply was unusable even after a repair: no pair has a score. */
  malformed?: Malformed;
  contextTooLong?: string;
}

export interface Generator {
  /** Names the generator and its version in every row and in the shard keys. */
  readonly id: string;
  /** Chunks may be generated in parallel (LLM requests); false: one after another (CPU work). */
  readonly concurrent: boolean;
  generateChunk(chunk: Chunk, ctx: CallContext & { maxPairs: number }): Promise<ChunkGeneration>;
  /** Present when the run has --judge. */
  judge?(chunk: Chunk, pairs: CandidatePair[], ctx: CallContext): Promise<JudgeResult>;
  /** Pairs the judge scores below this are rejected as low_score. */
  readonly minScore?: number;
  /** Requests in flight on this worker, and why requests are waiting, if they are. */
  liveStatus?(): { inFlight: number; waiting?: string };
}

/** Contracts between the stages that run inside one activity (load → chunk → generate → validate). */
import type { Chunk, DocumentErrorReason, Heading, RejectReason } from '../schemas/index.js';

/** Result of turning a file's bytes into plain text. */
export type ExtractResult =
  | { ok: true; text: string; headings: Heading[] }
  | { ok: false; reason: DocumentErrorReason; detail: string };

/** A question/answer pair before validation. */
export interface CandidatePair {
  question: string;
  answer: string;
}

export interface GenerateContext {
  /** Path of the document relative to the input directory, for titles and prompts. */
  source: string;
  /** Upper bound on pairs to return for this chunk. */
  maxPairs: number;
}

/**
 * A QA generator. The built-in one is deterministic and offline; LLM backends implement the
 * same interface. `id` names the generator and its version: it is written into every row and
 * keys the shards, so change it whenever the output for the same chunk would change.
 */
export interface QaGenerator {
  readonly id: string;
  generate(chunk: Chunk, ctx: GenerateContext): Promise<CandidatePair[]>;
}

export interface ValidationVerdict {
  reasons: RejectReason[]; // empty = passed; first is the primary reason
  detail: string; // human-readable, '' when passed
}

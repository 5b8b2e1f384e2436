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
  /**
   * Where the answer comes from in the chunk's text (code points, end exclusive). The built-in
   * generator sets it, and its answer is spanText() of exactly that span.
   */
  evidence?: { start: number; end: number };
  /** An LLM's supporting quote from the chunk; validation locates it to fill `evidence`. */
  quote?: string;
}

export interface ValidationVerdict {
  reasons: RejectReason[]; // empty = passed; first is the primary reason
  detail: string; // human-readable, '' when passed
}

/** What every question kind takes and gives. */
import type { Answer } from '../answers.js';
import { framed, type Frame } from '../frame.js';
import { isSpecific } from '../subjects.js';

export type Kind =
  | 'definition' | 'copular' | 'api' | 'which' | 'glossary' | 'tagline' | 'heading' | 'who' | 'when' | 'where' | 'how_many' | 'how' | 'why' | 'yes_no' | 'comparison';

export interface Candidate {
  kind: Kind;
  question: string;
  answer: Answer;
  priority: number; // higher first; ties keep text order
  /** Candidates about one fact (an API entry asked both ways) share a group: one is kept. */
  group?: number;
}

/** One sentence (with its answer span already cut) and what frames its questions. */
export interface SentenceCtx {
  sentence: string;
  answer: Answer;
  frame?: Frame;
}

export type SentenceKind = (ctx: SentenceCtx) => Candidate | undefined;

// Qualifiers that may open a statement and stay in its answer ("Ordinarily, …"); connectives
// ("However, …", "Therefore, …") point at the sentence before and do not count.
export const LEAD =
  '(?:(?:In most cases|In general|Generally|Usually|Typically|Normally|Ordinarily|By default|Essentially|Basically|Conceptually|On Unix|On Windows|On POSIX|In practice),\\s+)?';

// A subject noun phrase at the start of a sentence (checked further by nounSubject).
export const NP = '[\\p{Lu}"“‘`_\\p{Ll}][^,;:()?!]{0,60}?';

/**
 * The candidate for `core` about `subject`. A definite subject that names nothing by itself
 * ("the parser") means the document's own parser: it needs the frame. An indefinite or plural
 * one ("a namespace", "tuples") is a general question and stands alone.
 */
export function ask(kind: Kind, core: string, subject: string, ctx: SentenceCtx, priority: number): Candidate | undefined {
  const question = framed(core, subject, ctx.frame, { needsFrame: !isSpecific(subject) && /^the\s/i.test(subject) });
  return question ? { kind, question, answer: ctx.answer, priority } : undefined;
}

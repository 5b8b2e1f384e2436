/**
 * Rule-based checks on a generated pair. Every applicable reason is reported (not only the
 * first) so rejected.jsonl explains each problem; reasons follow the RejectReason enum order so
 * the primary reason is stable whatever order the checks run in.
 */
import { RejectReason } from '../schemas/index.js';
import type { Chunk } from '../schemas/index.js';
import type { CandidatePair, ValidationVerdict } from './types.js';

export interface ValidationLimits {
  minQuestionChars: number;
  minAnswerChars: number;
  maxQuestionChars: number;
  maxAnswerChars: number;
  minGroundedness: number;
}

export const DEFAULT_LIMITS: ValidationLimits = {
  minQuestionChars: 10,
  minAnswerChars: 2,
  maxQuestionChars: 500,
  maxAnswerChars: 2000,
  minGroundedness: 0.8,
};

// Words a question may open with. Questions that open with a preposition ("In what year…",
// "According to X, how…") are accepted when a wh-word comes within the first few words.
const QUESTION_STARTS = new Set(
  ('what which who whom whose when where why how is are was were am do does did can could ' +
    'should would will shall may might must has have had').split(' '),
);
const WH_WORDS = new Set('what which who whom whose when where why how'.split(' '));
const WH_WINDOW = 6;

/** Canonical form of a question for duplicate detection (also across documents). */
export function normalizeQuestion(q: string): string {
  return q
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Lowercased word tokens with punctuation stripped; the unit groundedness is measured in. */
function tokens(s: string): string[] {
  return normalizeQuestion(s).split(' ').filter(Boolean);
}

// A chunk is validated against several pairs in a row: tokenize its text once.
const chunkTokenCache = new WeakMap<Chunk, Set<string>>();
function chunkTokenSet(chunk: Chunk): Set<string> {
  let set = chunkTokenCache.get(chunk);
  if (!set) {
    set = new Set(tokens(chunk.text));
    chunkTokenCache.set(chunk, set);
  }
  return set;
}

const charCount = (s: string): number => [...s].length;

export function validatePair(
  pair: CandidatePair,
  chunk: Chunk,
  seenQuestions: Set<string>,
  limits?: Partial<ValidationLimits>,
): ValidationVerdict {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const q = pair.question.trim();
  const a = pair.answer.trim();
  const problems = new Map<RejectReason, string[]>();
  const add = (r: RejectReason, msg: string): void => {
    problems.set(r, [...(problems.get(r) ?? []), msg]);
  };

  if (!q) add('empty', 'question is empty');
  if (!a) add('empty', 'answer is empty');

  const qLen = charCount(q);
  const aLen = charCount(a);
  if (q && qLen < lim.minQuestionChars) add('too_short', `question is ${qLen} chars (min ${lim.minQuestionChars})`);
  if (a && aLen < lim.minAnswerChars) add('too_short', `answer is ${aLen} chars (min ${lim.minAnswerChars})`);
  if (qLen > lim.maxQuestionChars) add('too_long', `question is ${qLen} chars (max ${lim.maxQuestionChars})`);
  if (aLen > lim.maxAnswerChars) add('too_long', `answer is ${aLen} chars (max ${lim.maxAnswerChars})`);

  const qTokens = tokens(q);
  if (q) {
    if (!q.endsWith('?')) add('not_a_question', "question does not end with '?'");
    const first = qTokens[0] ?? '';
    const hasWh = qTokens.slice(0, WH_WINDOW).some((t) => WH_WORDS.has(t));
    if (!QUESTION_STARTS.has(first) && !hasWh) {
      add('not_a_question', `question does not start with a question word ('${first}')`);
    }
  }

  const aTokens = tokens(a);
  if (aTokens.length > 0) {
    // Answers with no word tokens at all are left to the non_text check.
    const chunkTokens = chunkTokenSet(chunk);
    const found = aTokens.filter((t) => chunkTokens.has(t)).length;
    const ratio = found / aTokens.length;
    if (ratio < lim.minGroundedness) {
      add('not_grounded', `only ${Math.round(ratio * 100)}% of answer words are in the chunk (min ${Math.round(lim.minGroundedness * 100)}%)`);
    }
  }

  if (q && a) {
    const nq = qTokens.join(' ');
    const na = aTokens.join(' ');
    // Whole-token containment: "10" must not match inside "2010".
    if (na && ` ${nq} `.includes(` ${na} `)) add('answer_repeats_question', 'answer is contained in the question');
    else if (jaccard(qTokens, aTokens) >= 0.8) add('answer_repeats_question', 'answer mostly repeats the question words');
  }

  const nq = normalizeQuestion(q);
  if (nq && seenQuestions.has(nq)) add('duplicate', 'question was already asked');

  if (a) {
    const nonSpace = [...a].filter((c) => !/\s/u.test(c));
    const letters = nonSpace.filter((c) => /\p{L}/u.test(c)).length;
    if (letters < nonSpace.length * 0.5) {
      add('non_text', `letters are ${Math.round((letters / nonSpace.length) * 100)}% of the answer (min 50%)`);
    }
  }

  // Only a pair that passes claims its question: a rejected one must not block a later good one.
  if (nq && problems.size === 0) seenQuestions.add(nq);
  const reasons = RejectReason.options.filter((r) => problems.has(r));
  const detail = reasons.flatMap((r) => problems.get(r) ?? []).join('; ');
  return { reasons, detail };
}

function jaccard(a: string[], b: string[]): number {
  const sa = new Set(a);
  const sb = new Set(b);
  if (sa.size === 0 && sb.size === 0) return 0;
  let inter = 0;
  for (const t of sa) if (sb.has(t)) inter++;
  return inter / (sa.size + sb.size - inter);
}

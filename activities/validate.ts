/**
 * Rule-based checks on a generated pair. Every applicable reason is reported (not only the
 * first) so rejected.jsonl explains each problem; reasons follow the RejectReason enum order so
 * the primary reason is stable whatever order the checks run in. Duplicates are found elsewhere
 * (activities/dedup.ts), across the whole corpus.
 */
import { RejectReason } from '../schemas/index.js';
import type { Chunk } from '../schemas/index.js';
import { codePoints, locateEvidence, sliceCodePoints, spanText, type Span } from './evidence.js';
import { selfContainedProblem } from './selfContained.js';
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

/** Canonical form of a question (lowercase words) for comparing questions, also across documents. */
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

// An answer stops where it introduces what it should contain: "…such as", "…you need to run".
// Tested on the answer's last words only, so the cost does not grow with the answer. Case
// matters: "Plan A" and "logical OR" are whole answers.
const DANGLING_END =
  /(?:[:,;–—]|\p{L}-|\b(?:such as|including|for example|for instance|e\.g\.?|i\.e\.?|like|namely|the following|as follows|and|or|but|nor|to|of|with|than|the|a|an)|\b(?:to|must|should|then|just|simply) (?:run|type|enter|execute|invoke))$/u;

/** The answer's last 40 characters or so, starting at a word so no cut word looks like "and". */
function lastWords(a: string): string {
  if (a.length <= 40) return a;
  const tail = a.slice(-40);
  return tail.slice(tail.search(/\s/) + 1);
}

// A question mark may be followed by a closing quote or bracket: "What does 'x' mean?'".
const ENDS_WITH_QUESTION_MARK = /\?['"”’»)\]]*$/u;
// An answer this long that is most of its chunk is the chunk, not an answer.
const CHUNK_SHARE_MAX = 0.6;
const CHUNK_SHARE_MIN_CHARS = 400;
// A located quote supports the answer when it holds this share of the answer's content words.
const QUOTE_SUPPORT_MIN = 0.8;
const FUNCTION_WORDS = new Set('a an the of to in on at for from by with and or is are was were be it its this that as'.split(' '));

type Grounding = { evidence?: Span; problems: string[] };

/**
 * Pins the answer to its evidence. A span given by the generator must hold exactly the answer;
 * otherwise the quote (or, without one, the answer itself) must be found in the chunk, and the
 * answer's words must come from the quote or, failing that, from the chunk.
 */
function ground(pair: CandidatePair, answer: string, aTokens: string[], chunk: Chunk, minGroundedness: number): Grounding {
  if (pair.evidence) {
    const { start, end } = pair.evidence;
    if (spanText(sliceCodePoints(chunk.text, start, end)) === answer) return { evidence: { start, end }, problems: [] };
    return { problems: [`the answer is not the text of its evidence span [${start}, ${end})`] };
  }
  const quote = pair.quote?.trim();
  const evidence = locateEvidence(quote || answer, chunk.text);
  if (!evidence) {
    return { problems: [quote ? `the supporting quote “${clip(quote)}” is not in the chunk` : 'the answer is not in the chunk, not even approximately'] };
  }
  if (quote) {
    // The quote is the evidence: an answer it does not hold is made up, however many of its
    // words the rest of the chunk happens to contain. Words of the question may be repeated.
    const content = aTokens.filter((t) => !FUNCTION_WORDS.has(t));
    const support = new Set([...tokens(quote), ...tokens(pair.question)]);
    const held = share(content, support);
    if (held >= QUOTE_SUPPORT_MIN) return { evidence, problems: [] };
    return { evidence, problems: [`only ${Math.round(held * 100)}% of the answer's content words are in its supporting quote (min ${Math.round(QUOTE_SUPPORT_MIN * 100)}%)`] };
  }
  // Second line: the answer's words must still be in the chunk (a fuzzy match lets some differ).
  const ratio = share(aTokens, chunkTokenSet(chunk));
  if (aTokens.length === 0 || ratio >= minGroundedness) return { evidence, problems: [] };
  return { evidence, problems: [`only ${Math.round(ratio * 100)}% of answer words are in the chunk (min ${Math.round(minGroundedness * 100)}%)`] };
}

/** Share of `words` found in `set`; 1 for no words (nothing is unsupported). */
function share(words: string[], set: Set<string>): number {
  return words.length === 0 ? 1 : words.filter((t) => set.has(t)).length / words.length;
}

const clip = (s: string): string => (codePoints(s) <= 60 ? s : `${sliceCodePoints(s, 0, 57)}…`);

export function validatePair(
  pair: CandidatePair,
  chunk: Chunk,
  limits?: Partial<ValidationLimits>,
): ValidationVerdict & { evidence?: Span } {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const q = pair.question.trim();
  const a = pair.answer.trim();
  const problems = new Map<RejectReason, string[]>();
  const add = (r: RejectReason, msg: string): void => {
    problems.set(r, [...(problems.get(r) ?? []), msg]);
  };

  if (!q) add('empty', 'question is empty');
  if (!a) add('empty', 'answer is empty');

  const qLen = codePoints(q);
  const aLen = codePoints(a);
  const chunkLen = codePoints(chunk.text);
  if (q && qLen < lim.minQuestionChars) add('too_short', `question is ${qLen} chars (min ${lim.minQuestionChars})`);
  if (a && aLen < lim.minAnswerChars) add('too_short', `answer is ${aLen} chars (min ${lim.minAnswerChars})`);
  if (qLen > lim.maxQuestionChars) add('too_long', `question is ${qLen} chars (max ${lim.maxQuestionChars})`);
  if (aLen > lim.maxAnswerChars) add('too_long', `answer is ${aLen} chars (max ${lim.maxAnswerChars})`);
  if (aLen > CHUNK_SHARE_MIN_CHARS && aLen >= CHUNK_SHARE_MAX * chunkLen) {
    add('too_long', `answer holds most of the chunk (${aLen} of its ${chunkLen} chars)`);
  }

  const qTokens = tokens(q);
  const aTokens = tokens(a);
  if (q) {
    if (!ENDS_WITH_QUESTION_MARK.test(q.slice(-8))) add('not_a_question', "question does not end with '?'");
    const first = qTokens[0] ?? '';
    const hasWh = qTokens.slice(0, WH_WINDOW).some((t) => WH_WORDS.has(t));
    if (!QUESTION_STARTS.has(first) && !hasWh) {
      add('not_a_question', `question does not start with a question word ('${first}')`);
    }
    const pointer = selfContainedProblem(q);
    if (pointer) add('not_self_contained', pointer);
  }

  let evidence: Span | undefined;
  if (a) {
    const grounding = ground(pair, a, aTokens, chunk, lim.minGroundedness);
    evidence = grounding.evidence;
    for (const p of grounding.problems) add('not_grounded', p);
    if (DANGLING_END.test(lastWords(a))) add('incomplete_answer', 'answer stops where it introduces what it should contain');
  }

  if (q && a) {
    const nq = qTokens.join(' ');
    const na = aTokens.join(' ');
    // Whole-token containment: "10" must not match inside "2010".
    if (na && ` ${nq} `.includes(` ${na} `)) add('answer_repeats_question', 'answer is contained in the question');
    else if (jaccard(qTokens, aTokens) >= 0.8) add('answer_repeats_question', 'answer mostly repeats the question words');
  }

  if (a) {
    const nonSpace = codePoints(a.replace(/\s+/gu, ''));
    const letters = codePoints(a.replace(/\P{L}+/gu, ''));
    if (letters < nonSpace * 0.5) {
      add('non_text', `letters are ${Math.round((letters / nonSpace) * 100)}% of the answer (min 50%)`);
    }
  }

  const reasons = RejectReason.options.filter((r) => problems.has(r));
  const detail = reasons.flatMap((r) => problems.get(r) ?? []).join('; ');
  return evidence ? { reasons, detail, evidence } : { reasons, detail };
}

function jaccard(a: string[], b: string[]): number {
  const sa = new Set(a);
  const sb = new Set(b);
  if (sa.size === 0 && sb.size === 0) return 0;
  let inter = 0;
  for (const t of sa) if (sb.has(t)) inter++;
  return inter / (sa.size + sb.size - inter);
}

/**
 * Answers are spans: the text of a UTF-16 range of the chunk, as spanText() renders it. A span
 * that would make a bad answer (cut mid-list, broken words, dangling ":") gives no answer.
 */
import { spanText } from '../../evidence.js';
import type { Block } from './blocks.js';
import type { Sentence } from './sentences.js';

export interface Answer {
  answer: string;
  start: number; // UTF-16 range of the chunk text; converted to code points only for the pairs kept
  end: number;
}

const MAX_ANSWER = 900;
const MAX_LIST_ITEMS = 12;
// PDF hyphenation left in the text: "conver- sion".
const BROKEN_WORD = /\p{Ll}- \p{Ll}/u;
// An answer must end like a statement, not introduce more text.
const DANGLING = /(?::|\b(?:such as|including|for example|e\.g\.|i\.e\.|as follows|the following))$/i;
const MISSED_SENTENCE_END = /\p{Ll}{2,}\. \p{Ll}/u;
const ABBREVIATION_DOTS = /\b(?:e\.g|i\.e|etc|vs|cf|approx)\./g;
const LONE_QUOTES = /^[^“”"]*[“"][^”"]*$/;

/**
 * `statement: false` for a name answer (a signature line answering "Which function …?"),
 * which need not end like a sentence.
 */
export function spanAnswer(text: string, start: number, end: number, opts: { statement?: boolean } = {}): Answer | undefined {
  const answer = spanText(text.slice(start, end));
  if (!answer || answer.length > MAX_ANSWER || BROKEN_WORD.test(answer) || DANGLING.test(answer)) return undefined;
  if (opts.statement !== false && !/[.!?]["'”’)]*$/.test(answer.split('\n').at(-1)!) && !/[.;]$/.test(answer)) {
    // The last line of an answer that ends on a list item may lack a period; prose may not.
    if (!/\n/.test(answer)) return undefined;
  }
  if (LONE_QUOTES.test(answer)) return undefined; // a quotation cut in half
  // "… last command executed. and and or lists are …": a sentence end the splitter could not
  // see (a lowercase start), so the span holds more than one fact and a fragment.
  if (MISSED_SENTENCE_END.test(answer.replace(ABBREVIATION_DOTS, ''))) return undefined;
  return { answer, start, end };
}

/**
 * The answer for a sentence: the sentence itself, or, when it introduces a list (ends in ":"
 * and items follow), the sentence and its items. A sentence ending in ":" before code or prose
 * gives nothing: its answer would be cut where it matters.
 */
export function sentenceAnswer(text: string, s: Sentence, blocks: Block[], blockIndex: number, isLast: boolean): Answer | undefined {
  if (!s.text.endsWith(':')) return spanAnswer(text, s.start, s.end);
  if (!isLast) return undefined;
  let j = blockIndex + 1;
  while (blocks[j]?.kind === 'item') j++;
  const items = j - blockIndex - 1;
  // A list running to the end of the chunk probably continues in the next one.
  if (items < 2 || items > MAX_LIST_ITEMS || j === blocks.length) return undefined;
  return spanAnswer(text, s.start, blocks[j - 1]!.end);
}

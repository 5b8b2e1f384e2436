/** Sentences of a prose block, as UTF-16 ranges of the chunk text (so they are real spans). */
import { spanText } from '../../evidence.js';

export interface Sentence {
  start: number;
  end: number; // exclusive, after the end mark
  text: string; // spanText of the range
}

const ABBREVIATIONS = new Set(
  'e.g i.e etc vs cf al approx mr mrs ms dr prof inc ltd co corp jr sr st no nos fig figs sec ch vol pp ed eds u.s'.split(' '),
);

// An end mark, closing quotes/brackets, whitespace, then something that can start a sentence.
const BOUNDARY = /[.!?]+["'”’)\]]*(?=\s+["“'‘(\[]?[\p{Lu}\p{N}])/gu;

export function sentencesIn(text: string, from: number, to: number): Sentence[] {
  const block = text.slice(from, to);
  const out: Sentence[] = [];
  let start = 0;
  BOUNDARY.lastIndex = 0;
  for (let m = BOUNDARY.exec(block); m; m = BOUNDARY.exec(block)) {
    const before = /(\S+)$/.exec(block.slice(Math.max(start, m.index - 20), m.index))?.[1] ?? '';
    const word = before.toLowerCase().replace(/^[("'“‘]+/, '');
    // "e.g. Foo", "J. Smith", "No. 5" are not sentence ends.
    if (m[0].startsWith('.') && (ABBREVIATIONS.has(word) || /^\p{L}$/u.test(word) || /^(?:\p{L}\.)+\p{L}$/u.test(word))) continue;
    push(start, m.index + m[0].length);
    start = m.index + m[0].length;
  }
  push(start, block.length);
  return out;

  function push(a: number, b: number): void {
    const raw = block.slice(a, b);
    const lead = raw.length - raw.trimStart().length;
    const s = from + a + lead;
    const e = from + a + raw.trimEnd().length;
    if (e > s) out.push({ start: s, end: e, text: spanText(text.slice(s, e)) });
  }
}

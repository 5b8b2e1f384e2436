/**
 * Glossary entries run into their paragraph, as manuals print variable and option lists:
 * "COMPREPLY An array variable from which Bash reads …" → "In Bash, what is the `COMPREPLY`
 * variable?", answered by the description's first sentence (the span after the term).
 */
import { spanAnswer } from '../answers.js';
import type { Block } from '../blocks.js';
import { framed, type Frame } from '../frame.js';
import { sentencesIn } from '../sentences.js';
import type { Candidate } from './types.js';

const ENTRY = /^(?<term>[A-Z][A-Z0-9_]{2,30})\s+(?=(?:A|An|The)\s)/;

export function glossaryEntries(text: string, blocks: Block[], frame: Frame | undefined, section: string[] | undefined): Candidate[] {
  // The section says what the terms are: "5.2 Bash Variables" → "the `HOME` variable".
  const what = /\bvariables\b/i.test(section?.at(-1) ?? '') ? 'variable' : /\boptions\b/i.test(section?.at(-1) ?? '') ? 'option' : undefined;
  const out: Candidate[] = [];
  for (const b of blocks) {
    if (b.kind !== 'prose') continue;
    const m = ENTRY.exec(text.slice(b.start, b.end));
    if (!m) continue;
    const first = sentencesIn(text, b.start + m[0].length, b.end)[0];
    const answer = first && spanAnswer(text, first.start, first.end);
    const term = `\`${m.groups!.term}\``;
    const question = answer && framed(what ? `What is the ${term} ${what}` : `What is ${term}`, term, frame);
    if (question) out.push({ kind: 'glossary', question, answer, priority: 78 });
  }
  return out;
}

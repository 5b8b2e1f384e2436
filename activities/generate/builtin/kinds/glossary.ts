/**
 * Glossary entries run into their paragraph, as manuals print variable and option lists:
 * "COMPREPLY An array variable from which Bash reads …" → "In Bash, what is the `COMPREPLY`
 * variable?", answered by the description's first sentence (the span after the term).
 */
import { spanAnswer } from '../answers.js';
import { words, type Block } from '../blocks.js';
import { pointsOutside } from '../subjects.js';
import { thirdPerson } from './api.js';
import { framed, type Frame } from '../frame.js';
import { sentencesIn } from '../sentences.js';
import type { Candidate } from './types.js';

const ENTRY = /^(?<term>[A-Z][A-Z0-9_]{2,30})\s+(?=(?:A|An|The)\s)/;
// A manual's command entry: the name, its synopsis, then what it does, in one paragraph:
// "logout logout [n] Exit a login shell, returning a status of n to the shell’s parent."
const COMMAND = /^(?<name>[a-z][\w-]{1,20}) \k<name>\b[^A-Z\n]{0,200}?\s(?=[A-Z][a-z]+\s[a-z])/;
const NOT_A_VERB = /^(?:The|This|These|If|When|For|In|On|At|It|A|An|Options|Note|See|Each|All|Any|Some|Unless|With|As)\s/;

export function glossaryEntries(text: string, blocks: Block[], frame: Frame | undefined, section: string[] | undefined): Candidate[] {
  // The section says what the terms are: "5.2 Bash Variables" → "the `HOME` variable".
  const what = /\bvariables\b/i.test(section?.at(-1) ?? '') ? 'variable' : /\boptions\b/i.test(section?.at(-1) ?? '') ? 'option' : undefined;
  const command = /\b(?:builtins?|commands?)\b/i.test(section?.at(-1) ?? '') ? 'builtin' : undefined;
  const out: Candidate[] = [];
  for (const b of blocks) {
    if (b.kind !== 'prose') continue;
    const c = command ? COMMAND.exec(text.slice(b.start, b.end)) : null;
    if (c && !NOT_A_VERB.test(text.slice(b.start + c[0].length, b.end))) {
      const first = sentencesIn(text, b.start + c[0].length, b.end)[0];
      const answer = first && spanAnswer(text, first.start, first.end);
      const name = `\`${c.groups!.name}\``;
      const question = answer && framed(`What does the ${name} ${command} do`, name, frame);
      if (question) out.push({ kind: 'glossary', question, answer, priority: 79, group: b.start });
      // And the other way round, answered by the name: "Which builtin in Bash exits from a … loop?"
      const does = first && words(first.text).length >= 6 && !/[;:]/.test(first.text) ? thirdPerson(first.text) : undefined;
      const nameAnswer = spanAnswer(text, b.start, b.start + c.groups!.name!.length, { statement: false });
      // A "sentence" that runs on past a period ("… to the left by n. The positional …") was not
      // split at an initial-looking letter: no question can hold it.
      if (frame && does && nameAnswer && !pointsOutside(does) && !/\.\s/.test(does)) {
        out.push({ kind: 'which', question: `Which ${command} in ${frame.phrase} ${does}?`, answer: nameAnswer, priority: 80, group: b.start });
      }
      continue;
    }
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

/** Definitions: `"Licensor" shall mean …`, `“The Program” refers to …`, `Copyleft means …`. */
import { framed } from '../frame.js';
import { nounSubject } from '../subjects.js';
import { ask, type SentenceKind } from './types.js';

const VERB = 'shall mean|means|shall refer to|refers to|shall be defined as|is defined as';
// A parenthesis after the term (`"You" (or "Your")`) is matched but left out of the question.
const QUOTED = new RegExp(
  `^(?<pre>(?:[A-Z][^"“”]{0,60},\\s+)?(?:(?:[Tt]he|[Aa]n?|[Tt]o)\\s+)?)["“](?<term>[^"“”]{1,60})["”](?:\\s*\\([^()]{0,60}\\))?(?<post>(?:\\s+[a-z][\\w-]*)?)\\s+(?:also\\s+)?(?<verb>${VERB})\\s+(?<def>\\S.*)$`,
);
const PLAIN = new RegExp(`^(?<x>[\\p{Lu}][^,;:"“”]{0,60}?)\\s+(?<verb>${VERB})\\s+(?<def>\\S.*)$`, 'u');

function core(verb: string, term: string, toForm: boolean): string {
  if (/refer/.test(verb)) return `What does ${term} refer to`;
  if (/defined/.test(verb)) return `How is ${term} defined`;
  return toForm ? `What does it mean to ${term}` : `What does ${term} mean`;
}

export const definition: SentenceKind = (ctx) => {
  const q = QUOTED.exec(ctx.sentence)?.groups;
  if (q) {
    if (/^(?:that|the following)\b/.test(q.def!) || /:$/.test(ctx.sentence)) return undefined;
    const term = `“${q.term!.trim()}”${q.post ?? ''}`;
    const toForm = /(?:^|,\s+)[Tt]o\s+$/.test(q.pre ?? '');
    // A quoted term is defined by this document: always name the document.
    const question = framed(core(q.verb!, term, toForm), term, ctx.frame, { needsFrame: true });
    return question ? { kind: 'definition', question, answer: ctx.answer, priority: 100 } : undefined;
  }
  const p = PLAIN.exec(ctx.sentence)?.groups;
  const x = p && nounSubject(p.x!.replace(/^The term\s+/, ''), 6, ctx.frame?.key);
  // "Classes provide a means of …": "means" is a noun after an article or a verb.
  if (!p || !x || /^(?:that|you|we|it|to)\b/.test(p.def!) || /\b(?:a|an|the|by|of|provide|provides|offer|offers|give|gives)$/i.test(p.x!)) return undefined;
  return ask('definition', core(p.verb!, x, false), x, ctx, 95);
};

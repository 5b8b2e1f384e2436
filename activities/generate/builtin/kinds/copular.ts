/**
 * "X is a Y." → "What is X?". The answer is the whole sentence, so its qualifiers ("In most
 * cases", "usually") stay with the fact.
 */
import { words } from '../blocks.js';
import { nounSubject } from '../subjects.js';
import { ask, LEAD, NP, type SentenceKind } from './types.js';

const COPULAR = new RegExp(`^${LEAD}(?<x>${NP})\\s+(?<be>is|are)\\s+(?:(?:usually|often|typically|generally|essentially|simply|basically)\\s+)?(?<y>(?:a|an|the|one of the)\\s+.+)$`, 'u');
// Predicates that say nothing on their own ("is the same", "is a good idea").
const EMPTY =
  /^(?:a|an|the)\s+(?:(?:same|case|default|one|only|best|first|last|other|following|result|reason|problem|answer|exception|key|rule|norm|goal|way|thing|part|lot|bit|number|set|list|kind|sort|type)\b|(?:great|good|nice|simple|easy|better|common|bad|handy|quick)\s+(?:way|idea|choice|option|thing|practice|place|start)\b)/;

// "The keyword ‘elif’ is short for ‘else if’" and "X is used to …" say what X is for.
const SHORT_FOR = new RegExp(`^${LEAD}(?<x>${NP})\\s+(?<be>is|are)\\s+(?:(?<short>short for|an abbreviation (?:of|for))|(?:mainly |mostly |typically |often |commonly |usually )?used (?:to|for))\\s+\\S`, 'u');

export const copular: SentenceKind = (ctx) => {
  const u = SHORT_FOR.exec(ctx.sentence)?.groups;
  const ux = u && nounSubject(u.x!, 6, ctx.frame?.key);
  if (u && ux && /\.$/.test(ctx.sentence)) return ask('copular', `What ${u.be} ${ux} ${u.short ? 'short for' : 'used for'}`, ux, ctx, 76);
  const g = COPULAR.exec(ctx.sentence)?.groups;
  if (!g || !/\.$/.test(ctx.sentence)) return undefined;
  const x = nounSubject(g.x!, 6, ctx.frame?.key);
  // "GNU Parallel is a tool to do just that.": the predicate points back at the text before.
  if (!x || words(g.y!).length < 4 || EMPTY.test(g.y!) || /\b(?:that|this|these|those|it|them|so)\.$/.test(g.y!)) return undefined;
  // "A product is a consumer product …" classifies rather than defines.
  const head = words(x).at(-1)!.toLowerCase();
  if (/^an?\s/.test(x) && words(x).length <= 2 && words(g.y!).slice(0, 4).some((t) => t.toLowerCase() === head)) return undefined;
  return ask('copular', `What ${g.be} ${x}`, x, ctx, 75);
};

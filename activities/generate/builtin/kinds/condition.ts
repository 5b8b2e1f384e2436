/**
 * Conditions stated before the fact, as manuals state behaviour: "When no arguments are given,
 * popd removes the top directory from the stack …" → "When does `popd` remove the top directory
 * from the stack?", answered by the whole sentence (the condition is the answer). Only a main
 * clause whose subject is a noun phrase and whose verb is in the third person, after "will" or
 * a passive ("… the word is regarded as a pattern" → "When is the word regarded as a pattern?").
 */
import { words } from '../blocks.js';
import { baseVerb, nounSubject, pointsOutside } from '../subjects.js';
import { DANGLING_END } from './yesNo.js';
import { ask, NP, type SentenceKind } from './types.js';

const CONDITIONAL = new RegExp(
  `^(?<c>If|When|Whenever) (?<cond>[^,;:()]{6,120}),\\s+(?:then\\s+)?(?<x>${NP})\\s+(?:(?<pass>is|are|will be)\\s+(?<pv>[a-z]{3,}ed)|(?<will>will)\\s+(?<bv>[a-z]{3,})|(?<v>[a-z]{3,}s))\\s+(?<rest>[^,;:()]{3,80}?)(?:\\s+\\([^()]{0,80}\\))?\\.$`,
  'u',
);
const ELLIPTIC = /^(?:not\s+)?(?:set|unset|enabled|disabled|supplied|given|present|specified|omitted|true|false|there (?:is|are) no|no (?:arguments?|options?|value|name))\b/;
// "If the variable does not exist": which variable, the question cannot say.
const UNNAMED = /^(?:the|this|that|such an?) (?:variable|option|argument|value|parameter|name|pattern|word|setting)\b/i;
// Third-person forms that are not a plain action verb of the subject.
const NOT_VERBS = new Set('is was has does its this thus less unless always perhaps also process class address access status'.split(' '));

export const condition: SentenceKind = (ctx) => {
  const g = CONDITIONAL.exec(ctx.sentence)?.groups;
  if (!g) return undefined;
  const verb = g.v ?? g.bv ?? g.pv!;
  // "If it does, …", "When this happens, …": the condition points at the text before.
  if (NOT_VERBS.has(verb) || pointsOutside(g.cond!) || pointsOutside(g.rest!) || DANGLING_END.test(g.rest!)) return undefined;
  // "… the positional parameters are unset": the verb was a noun of a longer subject.
  if (/(?:^|\s)(?:is|are|was|were|will|do|does|did|has|have|had|can|may|must|should|be|been)\b/.test(g.rest!) || /^not\b/.test(g.rest!) || g.bv === 'not') return undefined;
  if (/\b(?:the|a|an|of|in|on|to|for|with|against|and|or)$/i.test(g.x!) || /\s(?:and|or)\s/.test(g.x!)) return undefined;
  // "Readline never rings …": an adverb is no part of the subject.
  if (/\b(?:never|always|also|only|then|usually|often|still|either|just|now)$/i.test(g.x!)) return undefined;
  // Conditions on an unnamed setting or argument ("If set to ‘on’", "If n is zero", "If -a is
  // supplied", "If there are no options") need the entry they belong to, which the question lacks.
  if (ELLIPTIC.test(g.cond!) || UNNAMED.test(g.cond!) || words(g.cond!).length < 3 || /(?:^|\s)(?:[-+]\w+|[a-z])(?=\s|$)/.test(g.cond!)) return undefined;
  // A second condition in the predicate ("… when an interactive login shell exits") makes the question ambiguous.
  // A predicate of two clauses ("… and returns …") or too short to tell one fact from another
  // ("When does Bash report an error?") is no question.
  if (/\b(?:if|when|whenever|unless|otherwise|and|or)\b/.test(g.rest!) || words(g.rest!).length > 14 || words(g.rest!).length < 3) return undefined;
  const x = nounSubject(g.x!, 6, ctx.frame?.key);
  if (!x) return undefined;
  // "If the ‘;;’ operator is used, the word is regarded as a pattern." → "When is the word regarded as a pattern?"
  if (g.pass) return ask('when', `When ${g.pass === 'will be' ? 'is' : g.pass} ${x} ${verb} ${g.rest}`, x, ctx, 84);
  const base = g.v ? baseVerb(verb) : verb;
  if (base === 'be' || base === 'have') return undefined;
  // "… Readline will …" is singular, "… the positional parameters will …" is not.
  const plural = g.will !== undefined && /[^s]s$/.test(words(x).at(-1)!) && !/`/.test(x);
  return ask('when', `When ${plural ? 'do' : 'does'} ${x} ${base} ${g.rest}`, x, ctx, 84);
};

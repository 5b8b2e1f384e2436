/**
 * Yes/no questions from explicit statements: "X does not support Y, …" → "Does X support Y?",
 * answered by the statement itself. Only where the statement says more than the question
 * repeats (else the validator rightly calls the answer a copy of the question).
 */
import { normalizeQuestion } from '../../../validate.js';
import { words } from '../blocks.js';
import { baseVerb, nounSubject, pointsOutside } from '../subjects.js';
import { ask, LEAD, NP, type SentenceKind } from './types.js';

// The rest of the predicate stops before a clause, a parenthesis or the end of the sentence.
const REST = "(?<rest>[^,;:.()?]{2,80}?)(?=\\s*(?:[,;:.(]|$|\\s(?:because|unless|when|if|and then|which)\\b))";
const NEG_DO = new RegExp(`^(?<x>${NP})\\s+(?<aux>does not|doesn't|do not|don't)\\s+(?<v>[a-z]+)\\s+${REST}`, 'u');
const CAN = new RegExp(`^(?<x>${NP})\\s+(?<aux>cannot|can't|can not|can|can also|can only)\\s+(?<v>be\\s+[a-z]+ed|[a-z]+)\\s+${REST}`, 'u');
const BE_NOT = new RegExp(`^(?<x>${NP})\\s+(?<aux>is not|isn't|are not|aren't|is never|are never)\\s+${REST}`, 'u');
// Obligations and permissions, as licenses and manuals state them: "You must give …", "The
// name must not contain …".
const MODAL = new RegExp(`^${LEAD}(?<x>You|${NP})\\s+(?<m>must not|must|may not|may|shall not|shall|are required to|is required to|are not allowed to|is not allowed to)\\s+(?<v>[a-z]+)\\s+${REST}`, 'u');
// "Ordinarily, variables are shared between a function and its caller." (passive, maybe negated)
const PASSIVE = new RegExp(`^${LEAD}(?<x>${NP})\\s+(?<aux>is|are)\\s+(?<neg>not\\s+)?(?:(?:always|usually|normally|only|also|never)\\s+)?(?<v>[a-z]{3,}ed)\\s+${REST}`, 'u');
const POSITIVE = new RegExp(`^(?<x>${NP})\\s+(?<v>supports|requires|accepts|allows|provides|includes|preserves|guarantees|implements|handles|ignores)\\s+${REST}`, 'u');

// A predicate cut at a comma in the middle of a phrase: "allowed to read from or".
export const DANGLING_END = /\b(?:or|and|from|to|of|with|by|the|a|an|in|on|for|as|than|at|into|onto|over|about|between|under|upon|through|across|without|within|well|either|both|not|in addition)$/;

function tokens(s: string): Set<string> {
  return new Set(normalizeQuestion(s).split(' ').filter(Boolean));
}

/** How much of the answer the question already says (the validator rejects at 0.8). */
function overlap(q: string, a: string): number {
  const sq = tokens(q);
  const sa = tokens(a);
  let inter = 0;
  for (const t of sq) if (sa.has(t)) inter++;
  return inter / (sq.size + sa.size - inter);
}

export const yesNo: SentenceKind = (ctx) => {
  const s = ctx.sentence;
  // "False is also returned if …" continues a sentence the reader has not seen.
  if (/\b(?:also|too|either|as well)\b/.test(s)) return undefined;
  let core: string | undefined;
  let x: string | undefined;
  const plural = (raw: string): boolean => /[^s]s$/.test(words(raw).at(-1) ?? '') && !/^`/.test(words(raw).at(-1)!);
  const n = NEG_DO.exec(s)?.groups;
  const c = n ? undefined : CAN.exec(s)?.groups;
  const b = n || c ? undefined : BE_NOT.exec(s)?.groups;
  const md = n || c || b ? undefined : MODAL.exec(s)?.groups;
  const p = n || c || b || md ? undefined : POSITIVE.exec(s)?.groups;
  const pv = n || c || b || md || p ? undefined : PASSIVE.exec(s)?.groups;
  const g = n ?? c ?? b ?? md ?? p ?? pv;
  if (!g || pointsOutside(g.rest!) || words(g.rest!).length > 12 || DANGLING_END.test(g.rest!)) return undefined;
  // The predicate must end on a word, not inside "name=(…)" or "date2.year".
  const after = s.slice(s.indexOf(g.rest!) + g.rest!.length);
  if (!/[\p{L}\p{N}’'`”]$/u.test(g.rest!) || /^\.\S/u.test(after)) return undefined;
  x = g.x === 'You' ? 'you' : nounSubject(g.x!, 6, ctx.frame?.key);
  if (!x || (x === 'you' && !md)) return undefined;
  const rest = g.rest!.trim();
  if (n) core = `${/^does/.test(n.aux!) ? 'Does' : 'Do'} ${x} ${n.v} ${rest}`;
  else if (c) core = `Can ${x} ${c.aux === 'can only' ? 'only ' : ''}${c.v} ${rest}`;
  else if (b) core = `${/^is/.test(b.aux!) ? 'Is' : 'Are'} ${x} ${/never/.test(b.aux!) ? 'ever ' : ''}${rest}`;
  else if (md) {
    // "You may not copy, modify, …": a verb list cut at its first comma says too little.
    if (md.v === 'not' || words(rest).length < 3) return undefined;
    const permission = /may|allowed/.test(md.m!);
    const forbidden = /not/.test(md.m!);
    if (x === 'you') core = `${permission || forbidden ? 'Are you allowed to' : 'Do you have to'} ${md.v} ${rest}`;
    else if (permission && !forbidden) return undefined; // "X may contain …" is a possibility, not a rule
    else core = `${forbidden ? 'Can' : 'Must'} ${x} ${md.v} ${rest}`;
  } else if (p) core = `${plural(g.x!) ? 'Do' : 'Does'} ${x} ${baseVerb(p.v!)} ${rest}`;
  else core = `${pv!.aux === 'is' ? 'Is' : 'Are'} ${x} ${pv!.v} ${rest}`;
  if (overlap(core, ctx.answer.answer) >= 0.7) return undefined;
  return ask('yes_no', core, x, ctx, 80);
};

/**
 * Procedures and means stated in one sentence: "To do X, …" → "How do you do X?"; "X can be
 * done by/using Y" → "How can X be done?"; "You can do X by …" → "How can you do X?"; "Use Y to
 * do X." → "How do you do X?". The answer is the whole sentence (with the list it introduces).
 */
import { words } from '../blocks.js';
import { nounSubject, pointsOutside } from '../subjects.js';
import { DANGLING_END } from './yesNo.js';
import { ask, NP, type SentenceCtx, type SentenceKind } from './types.js';

const TO_DO = /^To (?<v>[a-z]+)(?<o>(?:\s+[^,;:]{1,80})?),\s+(?<rest>\S.*)$/u;
// "by typing …" says how; "by Handlers" only says who, so "by" needs a gerund.
const CAN_BE_DONE = new RegExp(`^(?<x>${NP})\\s+(?<m>can|may) (?:also )?be (?<v>[a-z]+ed)(?<o>(?:\\s+[^,;:()]{1,40}?)??),?\\s+(?:by\\s+[a-z]+ing|using|with|via|through)\\s+\\S`, 'u');
// The rest of "To do X, …" must tell the reader what to do ("run …", "you can …", "X can be
// set …"), not state a purpose ("the operating system maintains …", "we want …").
const NOT_AN_INSTRUCTION = /^(?:the|a|an|this|these|that|it|its|we|i|there|each|all|most|some|one|their|our|in|on|at|for|of|by|with|when|if|as)\b/i;
const MEANS = /\b(?:can be|should be|must be|is necessary|are necessary|need to|needs to|is required)\b/;
// "Bash uses a hash table to remember the full pathnames …" → "How does Bash remember the full pathnames …?"
const USES_TO = new RegExp(`^(?<x>${NP})\\s+(?<v>uses|use|relies on|rely on)\\s+[^,;:]{2,60}?\\s+to\\s+(?<goal>[a-z][^,;:()]{4,80}?)(?=\\s*[.,;(]|\\s+(?:and|but|so|because)\\b|$)`, 'u');
const YOU_CAN = /^You can (?:also )?(?<goal>[a-z][^,;:()]{4,80}?),? by (?:\w+ing)\b/u;
const USE_TO = /^Use (?<tool>[^,;:]{2,50}?) to (?<goal>[a-z][^,;:()]{4,80}?)(?=\s*[.,;(]|$)/u;
// "To date", "To summarize": not a goal. "To be …" reads badly as "How do you be …?".
const NOT_A_GOAL = new Set('be date summarize sum recap conclude illustrate begin start understand see explain clarify put say this that'.split(' '));
const MARKUP = /[*#<>[\]{}|=\\]/;

function goodGoal(goal: string): boolean {
  return words(goal).length <= 12 && !pointsOutside(goal) && !MARKUP.test(goal) && !/\b(?:you|your|we|our|what to|so)\b/.test(goal) && !DANGLING_END.test(goal);
}

function howTo(goal: string, ctx: SentenceCtx, priority: number): ReturnType<SentenceKind> {
  return goodGoal(goal) ? ask('how', `How do you ${goal}`, goal, ctx, priority) : undefined;
}

export const how: SentenceKind = (ctx) => {
  const s = ctx.sentence;
  // "X can also be done by …" is one way among others the text gave before: not the answer.
  if (/\balso\b/.test(s)) return undefined;
  const t = TO_DO.exec(s)?.groups;
  if (t) {
    const rest = t.rest!;
    const instructs = /^you\b/i.test(rest) || !NOT_AN_INSTRUCTION.test(rest) || MEANS.test(words(rest).slice(0, 7).join(' '));
    // "To match a paragraph, run or table …": the comma was inside a list, not after the goal.
    if (NOT_A_GOAL.has(t.v!) || !instructs || /^(?:we|i)\b/i.test(rest) || /^[a-z]+(?: [a-z]+)? (?:or|and) /.test(rest)) return undefined;
    return howTo(`${t.v}${t.o ?? ''}`.trim(), ctx, 87);
  }
  const u = USE_TO.exec(s)?.groups;
  if (u) return howTo(u.goal!, ctx, 86);
  const y = YOU_CAN.exec(s)?.groups;
  if (y) return goodGoal(y.goal!) ? ask('how', `How can you ${y.goal}`, y.goal!, ctx, 86) : undefined;
  const w = USES_TO.exec(s)?.groups;
  const wx = w && nounSubject(w.x!, 6, ctx.frame?.key);
  // "Readline uses this value to …": what is used must be named in the sentence.
  if (w && wx && goodGoal(w.goal!) && !/^(?:be|do|make)\b/.test(w.goal!) && !pointsOutside(s.slice(0, s.indexOf(' to ')))) {
    return ask('how', `How ${/s$/.test(w.v!.split(' ')[0]!) ? 'does' : 'do'} ${wx} ${w.goal}`, wx, ctx, 85);
  }
  const c = CAN_BE_DONE.exec(s)?.groups;
  const x = c && nounSubject(c.x!, 6, ctx.frame?.key);
  if (!c || !x || !goodGoal(`${c.v}${c.o ?? ''}`)) return undefined;
  return ask('how', `How ${c.m} ${x} be ${c.v}${c.o ?? ''}`, x, ctx, 85);
};

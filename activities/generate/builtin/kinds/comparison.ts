/** Comparisons stated in one sentence: "X is faster than Y" → "Which is faster, X or Y?". */
import { nounSubject } from '../subjects.js';
import { ask, NP, type SentenceKind } from './types.js';

const ER = 'faster|slower|smaller|larger|bigger|simpler|easier|safer|cheaper|lighter|heavier|shorter|longer|newer|older|stronger|weaker|better|worse|quicker|harder|more \\w+|less \\w+';
const THAN = new RegExp(
  `^(?<x>${NP})\\s+(?:is|are)\\s+(?:(?:much|significantly|slightly|generally|usually|often|typically|considerably|far|up to|about|roughly|\\d+(?:\\.\\d+)?(?:%|x| times))\\s+)*(?<adj>${ER})\\s+than\\s+(?<y>[^,;:.()]{1,50}?)(?=[,;:.(]|\\s+(?:and|but|when|for|because|if|while|in|on|at)\\b|$)`,
  'u',
);
const UNLIKE = new RegExp(`^Unlike (?<y>[^,]{2,50}),\\s+(?<x>${NP})\\s+(?<v>is|are|does|do|has|have|can|[a-z]+s)\\s`, 'u');

export const comparison: SentenceKind = (ctx) => {
  const t = THAN.exec(ctx.sentence)?.groups;
  if (t) {
    const x = nounSubject(t.x!, 5, ctx.frame?.key);
    // The other side is often a plain noun ("lists") or a lowercase package name ("pako").
    const y = nounSubject(t.y!, 5, t.y!.split(' ')[0]!.toLowerCase());
    if (!x || !y || /^(?:more|less) (?:than|of|and|or)$/.test(t.adj!)) return undefined;
    return ask('comparison', `Which is ${t.adj}, ${x} or ${y}`, `${x} ${y}`, ctx, 90);
  }
  const u = UNLIKE.exec(ctx.sentence)?.groups;
  const x = u && nounSubject(u.x!, 5, ctx.frame?.key);
  const y = u && nounSubject(u.y!, 5, u.y!.split(' ')[0]!.toLowerCase());
  if (!x || !y) return undefined;
  return ask('comparison', `How does ${x} differ from ${y}`, `${x} ${y}`, ctx, 90);
};

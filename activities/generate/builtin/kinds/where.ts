/** Locations, files and paths: "X is stored in Y", "X can be found in Y" → "Where is X stored?". */
import { nounSubject } from '../subjects.js';
import { ask, NP, type SentenceKind } from './types.js';

const WHERE = new RegExp(
  `^(?<x>${NP})\\s+(?<aux>is|are|was|were|can be|may be|must be|should be|will be)\\s+(?:(?:usually|typically|normally|always|also|then|by default)\\s+)?(?<v>stored|located|kept|saved|installed|placed|found|cached|written|read|loaded|searched for|looked up|defined|declared|available)\\s+(?<p>in|at|under|inside|into|on|from)\\s+(?<loc>\\S[^;]{2,})$`,
  'u',
);

export const where: SentenceKind = (ctx) => {
  const g = WHERE.exec(ctx.sentence)?.groups;
  const x = g && nounSubject(g.x!, 7, ctx.frame?.key);
  if (!g || !x || /^(?:this|the following|each|which)\b/.test(g.loc!)) return undefined;
  const [aux, ...rest] = g.aux!.split(' ');
  const from = g.p === 'from' ? ' from' : '';
  return ask('where', `Where ${aux} ${x} ${[...rest, g.v].join(' ')}${from}`, x, ctx, 86);
};

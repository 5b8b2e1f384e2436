/** Reasons stated outright: "X is Y because …", "X should V so that …" → "Why is X Y?". */
import { words } from '../blocks.js';
import { baseVerb, nounSubject, pointsOutside } from '../subjects.js';
import { ask, NP, type SentenceKind } from './types.js';

const REASON = '(?:because|so that|in order to|since)\\s';
const BE = new RegExp(`^(?<x>${NP})\\s+(?<be>is|are|was|were)\\s+(?<p>[^,;:]{2,60}?),?\\s+${REASON}`, 'u');
const MODAL = new RegExp(`^(?<x>${NP}|You)\\s+(?<m>cannot|can't|can|should not|shouldn't|should|must not|must|will not|won't|will|may|need to|needs to)\\s+(?<p>[^,;:]{2,60}?),?\\s+${REASON}`, 'u');
const VERB = new RegExp(`^(?<x>${NP})\\s+(?<v>[a-z]{3,}s)\\s+(?<p>[^,;:]{2,60}?),?\\s+${REASON}`, 'u');
const NOT_VERBS = new Set('this is was has does its process class address access status always perhaps unless less thus'.split(' '));
const MODAL_Q: Record<string, string> = {
  cannot: "can't", "can't": "can't", can: 'can', 'should not': "shouldn't", "shouldn't": "shouldn't", should: 'should',
  'must not': 'must not', must: 'must', 'will not': "won't", "won't": "won't", will: 'will', may: 'may',
};

export const why: SentenceKind = (ctx) => {
  const s = ctx.sentence;
  const b = BE.exec(s)?.groups;
  const m = b ? undefined : MODAL.exec(s)?.groups;
  const v = b || m ? undefined : VERB.exec(s)?.groups;
  const g = b ?? m ?? v;
  if (!g || pointsOutside(g.p!) || words(g.p!).length > 10) return undefined;
  const x = g.x === 'You' ? 'you' : nounSubject(g.x!, 6, ctx.frame?.key);
  if (!x) return undefined;
  let core: string;
  if (b) core = `Why ${b.be} ${x} ${b.p}`;
  else if (m) {
    if (/need/.test(m.m!)) core = `Why ${x === 'you' || !/s$/.test(m.m!) ? 'do' : 'does'} ${x} need to ${m.p}`;
    else if (m.m! === 'may') return undefined; // "Why may X …?" is not how people ask
    else core = `Why ${MODAL_Q[m.m!]} ${x} ${m.p}`;
  } else {
    if (NOT_VERBS.has(v!.v!)) return undefined;
    core = `Why does ${x} ${baseVerb(v!.v!)} ${v!.p}`;
  }
  return ask('why', core, x, ctx, 89);
};

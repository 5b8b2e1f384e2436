/**
 * Numbers with their unit: "X has three built-in functions …" → "How many built-in functions
 * does X have?". The answer is the whole sentence, so "about", "at least", "over" stay.
 */
import { words } from '../blocks.js';
import { baseVerb, nounSubject, pointsOutside } from '../subjects.js';
import { ask, NP, type SentenceKind } from './types.js';

const NUMBER = '(?:\\d{1,3}(?:,\\d{3})*|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|fifty|hundred)';
const VERBS = 'has|have|takes|take|accepts|accept|supports|support|contains|contain|includes|include|provides|provide|defines|define|offers|offer|exports|export|uses|use|requires|require|returns|return|recognizes|recognize|comes with|come with|consists of|consist of';
const COUNT = new RegExp(
  `^(?<x>${NP})\\s+(?<v>${VERBS})\\s+(?:(?<q>over|more than|about|exactly|at least|up to|only|approximately|roughly|nearly|around|fewer than|less than)\\s+)?(?<n>${NUMBER})\\s+(?<np>[a-z][a-z-]*(?:\\s+[a-z][a-z-]*){0,2})`,
  'u',
);
const THERE_ARE = new RegExp(`^There (?<be>are|were) (?:(?:over|more than|about|exactly|at least|only)\\s+)?(?<n>${NUMBER})\\s+(?<np>[a-z][a-z-]*(?:\\s+[a-z][a-z-]*){0,2}?)\\s+(?<p>in|of|for|to)\\s+(?<loc>[^,;:.]{3,60})[.,;:]`, 'u');
const NP_STOP = new Set('of in for and or that which with to from on at by as per the a an is are was were than into'.split(' '));

/** The counted noun: the shortest run of words ending in a plural ("built-in functions"). */
function countedNoun(np: string): string | undefined {
  const w = words(np);
  const stop = w.findIndex((t) => NP_STOP.has(t));
  const head = stop === -1 ? w : w.slice(0, stop);
  const plural = head.findIndex((t) => /[^s']s$/.test(t));
  return plural === -1 ? undefined : head.slice(0, plural + 1).join(' ');
}

export const howMany: SentenceKind = (ctx) => {
  const c = COUNT.exec(ctx.sentence)?.groups;
  const x = c && nounSubject(c.x!, 7, ctx.frame?.key);
  const np = c && countedNoun(c.np!);
  if (c && x && np) {
    const [v, ...rest] = c.v!.split(' ');
    const base = [baseVerb(v!), ...rest].join(' ');
    const aux = base === c.v ? 'do' : 'does';
    return ask('how_many', `How many ${np} ${aux} ${x} ${base}`, x, ctx, 88);
  }
  const t = THERE_ARE.exec(ctx.sentence)?.groups;
  const tnp = t && countedNoun(t.np!);
  if (!t || !tnp || pointsOutside(t.loc!)) return undefined;
  const loc = nounSubject(t.loc!.replace(/^(?:the|a|an)\s/i, (d) => d.toLowerCase()), 6);
  if (!loc) return undefined;
  return ask('how_many', `How many ${tnp} ${t.p} ${loc} ${t.be} there`, loc, ctx, 84);
};

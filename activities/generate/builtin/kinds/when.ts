/** Dates and versions: "X was released in 2004", "X was added in Python 3.4" → "When was X released?". */
import { nounSubject } from '../subjects.js';
import { ask, NP, type SentenceKind } from './types.js';

const MONTH = '(?:January|February|March|April|May|June|July|August|September|October|November|December)';
const DATE = `(?:${MONTH}\\s+\\d{1,2},?\\s+\\d{4}|\\d{1,2}\\s+${MONTH},?\\s+\\d{4}|${MONTH},?\\s+\\d{4}|(?:1[89]|20)\\d{2}|(?:version|Python|release|v)\\s*\\d+(?:\\.\\d+)*)`;
const PARTICIPLE = 'released|published|introduced|added|created|founded|written|developed|started|designed|deprecated|removed|announced|launched|standardized|adopted|first released|first published|invented|conceived';
const WHEN = new RegExp(
  `^(?<x>${NP})\\s+(?<be>was|were)\\s+(?:(?:first|originally|initially|officially|publicly)\\s+)?(?<v>${PARTICIPLE})\\s+(?:[^,.;]{0,40}?\\s)?(?:in|on|since|with)\\s+(?<date>${DATE})\\b`,
  'u',
);

export const when: SentenceKind = (ctx) => {
  const g = WHEN.exec(ctx.sentence)?.groups;
  const x = g && nounSubject(g.x!, 7, ctx.frame?.key);
  if (!g || !x) return undefined;
  return ask('when', `When ${g.be} ${x} ${g.v}`, x, ctx, 88);
};

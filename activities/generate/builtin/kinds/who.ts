/** Authors and organisations: "X was written by Y", "X is maintained by Y" → "Who wrote X?". */
import { nounSubject } from '../subjects.js';
import { ask, NP, type SentenceKind } from './types.js';

// Participle → [past, present third person].
const VERBS: Record<string, [string, string]> = {
  written: ['wrote', 'writes'], developed: ['developed', 'develops'], created: ['created', 'creates'],
  designed: ['designed', 'designs'], maintained: ['maintained', 'maintains'], authored: ['authored', 'authors'],
  founded: ['founded', 'founds'], invented: ['invented', 'invents'], started: ['started', 'starts'],
  built: ['built', 'builds'], sponsored: ['sponsored', 'sponsors'], funded: ['funded', 'funds'],
  published: ['published', 'publishes'], owned: ['owned', 'owns'], managed: ['managed', 'manages'],
  distributed: ['distributed', 'distributes'], administered: ['administered', 'administers'],
};
const WHO = new RegExp(
  `^(?<x>${NP})\\s+(?<be>is|are|was|were|has been|have been)\\s+(?:(?:originally|first|mainly|primarily|currently|actively|now|jointly)\\s+)?(?<v>${Object.keys(VERBS).join('|')})\\s+by\\s+(?<y>[\\p{Lu}][^.;]{1,80})`,
  'u',
);

export const who: SentenceKind = (ctx) => {
  const g = WHO.exec(ctx.sentence)?.groups;
  const x = g && nounSubject(g.x!, 7, ctx.frame?.key);
  if (!g || !x) return undefined;
  const [past, present] = VERBS[g.v!]!;
  const verb = /^(?:is|are)$/.test(g.be!) ? present : past;
  return ask('who', `Who ${verb} ${x}`, x, ctx, 88);
};

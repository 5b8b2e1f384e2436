/**
 * How many pairs a chunk gets and which ones: the budget grows with the chunk's prose (so long
 * dense chunks are not left at zero or one), capped by maxPairs; the picks go round the question
 * kinds (best of each kind first) so one chunk gives a mix, and never two answers on one span.
 */
import { questionForm } from '../../questionForm.js';
import { normalizeQuestion } from '../../validate.js';
import type { Block } from './blocks.js';
import { words } from './blocks.js';
import type { Candidate } from './kinds/types.js';

// About one pair per two sentences of prose: candidates are already filtered for quality, the
// budget only keeps one dense chunk from dominating a document.
const WORDS_PER_PAIR = 35;

export function pairBudget(blocks: Block[], maxPairs: number): number {
  const proseWords = blocks.filter((b) => b.kind === 'prose' || b.kind === 'item').reduce((n, b) => n + words(b.text).length, 0);
  // One more than the prose alone would give: a short API entry has both a description and a version note.
  return Math.max(0, Math.min(maxPairs, Math.ceil(proseWords / WORDS_PER_PAIR) + 1));
}

export function pick(candidates: Candidate[], budget: number): Candidate[] {
  // Stable: by priority, then text order.
  const ranked = candidates.map((c, i) => ({ c, i })).sort((a, b) => b.c.priority - a.c.priority || a.c.answer.start - b.c.answer.start || a.i - b.i);
  const byKind = new Map<string, Candidate[]>();
  for (const { c } of ranked) {
    const list = byKind.get(c.kind);
    if (list) list.push(c);
    else byKind.set(c.kind, [c]);
  }
  const next = new Map<string, number>(); // read position in each kind's list
  const chosen: Candidate[] = [];
  const questions = new Set<string>();
  const groups = new Set<number>();
  // "What …?" questions are the easy kind on reference pages: at most half of a chunk's picks,
  // so the other kinds get their turn where the text supports them.
  const maxWhat = Math.max(1, Math.floor(budget / 2));
  let whats = 0;
  const overlaps = (c: Candidate): boolean => chosen.some((d) => c.answer.start < d.answer.end && d.answer.start < c.answer.end);
  for (let round = 0; chosen.length < budget; round++) {
    let progressed = false;
    for (const [kind, list] of byKind) {
      if (chosen.length >= budget) break;
      for (let k = next.get(kind) ?? 0; k < list.length; k = next.get(kind)!) {
        const c = list[k]!;
        next.set(kind, k + 1);
        const nq = normalizeQuestion(c.question);
        const isWhat = questionForm(c.question) === 'what';
        if (questions.has(nq) || overlaps(c) || (isWhat && whats >= maxWhat)) continue;
        if (c.group !== undefined && groups.has(c.group)) continue;
        if (c.group !== undefined) groups.add(c.group);
        if (isWhat) whats++;
        chosen.push(c);
        questions.add(nq);
        progressed = true;
        break;
      }
    }
    if (!progressed) break;
  }
  // Text order reads naturally in the output.
  return chosen.sort((a, b) => a.answer.start - b.answer.start);
}

/**
 * The built-in QA generator: deterministic, offline, pattern based.
 *
 * It reads a chunk as blocks (headings, prose, list items, API signatures; code is skipped),
 * splits prose into sentence spans, and asks each question kind whether the sentence supports
 * it. Every answer is a span of the chunk (spanText of its evidence), whole sentences with their
 * qualifiers, and every question names its subject (document title, section) so it stands
 * alone. It prefers emitting nothing to emitting an awkward question.
 */
import type { Chunk } from '../../../schemas/index.js';
import { toCodePointIndex } from '../../evidence.js';
import type { CandidatePair } from '../../types.js';
import type { ChunkGeneration, Generator } from '../contract.js';
import { sentenceAnswer } from './answers.js';
import { toBlocks, words } from './blocks.js';
import { pairBudget, pick } from './budget.js';
import { documentFrame } from './frame.js';
import { apiEntries } from './kinds/api.js';
import { comparison } from './kinds/comparison.js';
import { condition } from './kinds/condition.js';
import { copular } from './kinds/copular.js';
import { definition } from './kinds/definition.js';
import { glossaryEntries } from './kinds/glossary.js';
import { headingQuestions } from './kinds/headings.js';
import { how } from './kinds/how.js';
import { howMany } from './kinds/howMany.js';
import { listEntries } from './kinds/listEntries.js';
import type { Candidate, SentenceKind } from './kinds/types.js';
import { when } from './kinds/when.js';
import { where } from './kinds/where.js';
import { who } from './kinds/who.js';
import { why } from './kinds/why.js';
import { yesNo } from './kinds/yesNo.js';
import { sentencesIn } from './sentences.js';

export const builtinGenerator: Generator = {
  id: 'builtin-v3',
  concurrent: false,
  async generateChunk(chunk: Chunk, ctx: { maxPairs: number }): Promise<ChunkGeneration> {
    return { pairs: generatePairs(chunk, ctx.maxPairs) };
  },
};

// Sentence kinds in order of how specific their match is: the first that matches a sentence wins.
const SENTENCE_KINDS: SentenceKind[] = [definition, who, when, where, comparison, why, howMany, how, condition, yesNo, copular];
const MAX_SENTENCE = 600;

export type ChunkInput = Pick<Chunk, 'text'> & Partial<Pick<Chunk, 'heading' | 'title' | 'section'>>;

/** All pairs for one chunk, at most `maxPairs`, fewer for a chunk with little prose. */
export function generatePairs(chunk: ChunkInput, maxPairs: number): CandidatePair[] {
  const { text } = chunk;
  const blocks = toBlocks(text, [...(chunk.section ?? []), ...(chunk.heading ? [chunk.heading] : [])]);
  const frame = documentFrame(chunk.title);
  const candidates: Candidate[] = [
    ...apiEntries(text, blocks, frame, chunk.section),
    ...glossaryEntries(text, blocks, frame, chunk.section),
    ...listEntries(text, blocks, frame, chunk.section),
    ...headingQuestions(text, blocks, frame, chunk.title),
  ];
  blocks.forEach((b, i) => {
    if (b.kind !== 'prose' && b.kind !== 'item') return;
    const sents = sentencesIn(text, b.start, b.end);
    sents.forEach((s, k) => {
      if (words(s.text).length < 4 || s.text.length > MAX_SENTENCE) return;
      const answer = sentenceAnswer(text, s, blocks, i, k === sents.length - 1);
      if (!answer) return;
      for (const kind of SENTENCE_KINDS) {
        const c = kind({ sentence: s.text, answer, ...(frame ? { frame } : {}) });
        if (c) {
          candidates.push(c);
          break;
        }
      }
    });
  });
  // Code-point offsets cost a scan of the text: computed for the few pairs kept, not every candidate.
  return pick(candidates, pairBudget(blocks, maxPairs)).map((c) => ({
    question: c.question,
    answer: c.answer.answer,
    evidence: { start: toCodePointIndex(text, c.answer.start), end: toCodePointIndex(text, c.answer.end) },
  }));
}

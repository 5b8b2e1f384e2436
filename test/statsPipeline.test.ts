/**
 * What a shard records for the stats (activities/pipeline.ts): evidence offsets in the
 * document's code points, the question form, the document's words, and duplicates within the
 * document in chunk order, with a generator written for the test so nothing depends on the
 * built-in one's output.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { codePoints, sliceCodePoints, spanText, toCodePointIndex } from '../activities/evidence.js';
import { extractAndChunkHere } from '../activities/extract/extractAndChunk.js';
import { closeExtractionPool } from '../activities/extract/pool.js';
import type { Generator } from '../activities/generate/index.js';
import { processDocument } from '../activities/pipeline.js';
import { questionForm } from '../activities/questionForm.js';
import { OutputSettings, type Chunk } from '../schemas/index.js';

afterAll(() => closeExtractionPool());

const FOOTER = 'Lantern is maintained by the Example Project and released under the Apache License.';
// Astral characters (😀) before the facts: code-point and UTF-16 offsets differ from there on.
const DOC = [
  'Lantern 😀 notes',
  '',
  ...Array.from({ length: 6 }, (_, i) => [
    `Lantern release ${i + 1} came out in March 202${i} 😀 after a long beta.`,
    FOOTER,
    '',
  ].join('\n')),
].join('\n');

/**
 * One pair per sentence of the chunk, pinned to it: the answer is spanText of the span, as the
 * built-in generator does. The last sentence of every chunk also gets a pair whose evidence does
 * not hold (the answer is not the span's text).
 */
const sentenceGenerator: Generator = {
  id: 'test-sentences',
  concurrent: false,
  async generateChunk(chunk: Chunk) {
    const pairs = [];
    for (const m of chunk.text.matchAll(/[^\n.]+\./g)) {
      const start = toCodePointIndex(chunk.text, m.index);
      const span = { start, end: start + codePoints(m[0]) };
      const answer = spanText(m[0]);
      const question = /came out/.test(answer) ? `When did ${answer.split(' ').slice(0, 3).join(' ')} come out?` : 'Who maintains Lantern?';
      pairs.push({ question, answer, evidence: span });
    }
    const last = pairs.at(-1);
    if (last) pairs.push({ question: 'Does the evidence hold for this pair?', answer: `${last.answer} Not quite.`, evidence: last.evidence });
    return { pairs };
  },
};

const settings = OutputSettings.parse({ generateQa: true, chunkSize: 200, chunkOverlap: 60 });

async function run() {
  const bytes = new TextEncoder().encode(DOC);
  // The pool takes the bytes it is given (their buffer is transferred): each call gets a copy.
  const extracted = await extractAndChunkHere(bytes.slice(), 'text', { chunkSize: settings.chunkSize, chunkOverlap: settings.chunkOverlap, idPrefix: 'abababababab' });
  const { shard } = await processDocument(bytes.slice(), 'text', 'ab'.repeat(32), settings, { generator: sentenceGenerator });
  if (shard.status !== 'ok' || !extracted.ok) throw new Error('the document did not load');
  return { shard, text: extracted.text, chunks: extracted.chunks };
}

describe('shard figures', () => {
  it('pins answers to the document text in code points; evidence that does not hold is -1', async () => {
    const { shard, text, chunks } = await run();
    expect(chunks.length).toBeGreaterThan(2);
    const held = shard.pairs.filter((p) => !p.question.startsWith('Does the evidence'));
    expect(held.length).toBeGreaterThan(0);
    for (const p of held) {
      expect(p.answerStart).toBeGreaterThanOrEqual(p.charStart);
      expect(p.answerEnd).toBeLessThanOrEqual(p.charEnd);
      expect(spanText(sliceCodePoints(text, p.answerStart, p.answerEnd))).toBe(p.answer);
    }
    const broken = shard.pairs.filter((p) => p.question.startsWith('Does the evidence'));
    expect(broken.length).toBe(chunks.length);
    for (const p of broken) expect([p.answerStart, p.answerEnd]).toEqual([-1, -1]);
    for (const p of shard.pairs) expect(p.questionForm).toBe(questionForm(p.question));
  });

  it('counts the words of the extracted text', async () => {
    const { shard, text } = await run();
    expect(shard.words).toBe(text.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length);
  });

  it('marks repeats of an earlier passed answer as duplicates, in chunk order, naming the kept question', async () => {
    const { shard } = await run();
    const footers = shard.pairs.filter((p) => p.answer === FOOTER);
    expect(footers.length).toBeGreaterThan(1);
    const passedFooters = footers.filter((p) => p.reasons.length === 0);
    expect(passedFooters).toHaveLength(1);
    expect(passedFooters[0]).toBe(footers[0]);
    for (const p of footers.slice(1)) {
      expect(p.reasons).toEqual(['duplicate']);
      expect(p.detail).toContain(JSON.stringify(footers[0]!.question));
    }
    // The release sentences are distinct facts; the same one seen again in a chunk overlap is not.
    const releases = shard.pairs.filter((p) => /came out in March/.test(p.answer));
    const distinct = new Set(releases.map((p) => p.answer));
    expect(releases.filter((p) => p.reasons.length === 0).map((p) => p.answer).sort()).toEqual([...distinct].sort());
    for (const p of releases.filter((r) => r.reasons.length > 0)) expect(p.reasons).toEqual(['duplicate']);
  });
});

describe('cancellation of a long document', () => {
  it('stops CPU generation at its next yield, not after the last chunk', async () => {
    const text = Array.from({ length: 400 }, (_, i) => `Paragraph ${i} says that station ${i} records the wind every hour.`).join('\n\n');
    const controller = new AbortController();
    let calls = 0;
    const cancelling: Generator = {
      id: 'test-cancel',
      concurrent: false,
      async generateChunk() {
        if (++calls === 30) controller.abort(new Error('cancelled by the test'));
        return { pairs: [] };
      },
    };
    const bytes = new TextEncoder().encode(text);
    await expect(processDocument(bytes, 'text', 'cd'.repeat(32), settings, { generator: cancelling, signal: controller.signal }))
      .rejects.toThrow('cancelled by the test');
    // 200-character chunks of 400 paragraphs: far more chunks than the 20 between two yields.
    expect(calls).toBeGreaterThanOrEqual(30);
    expect(calls).toBeLessThan(50);
  });
});

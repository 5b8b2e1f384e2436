/** page_start / page_end: every chunk of a PDF knows the pages its text is on. */
import { describe, expect, it } from 'vitest';
import { extractAndChunkHere, setPages } from '../activities/extract/extractAndChunk.js';
import type { Chunk } from '../schemas/index.js';
import { makePdf } from './helpers/pdf.js';

// Lines that differ only in their digits would be taken for running headers: each page's words differ.
const ROCKS = ['basalt', 'granite', 'obsidian', 'pumice'];
const TOPICS = ['forms where lava cools quickly', 'holds large crystals of quartz', 'breaks with sharp curved edges', 'floats on water because of its pores'];
const sentence = (page: number, i: number) => `The ${ROCKS[page - 1]} marker ${ROCKS[i]} note says it ${TOPICS[(page + i) % 4]} in most places.`;
const page = (n: number) => [...[0, 1, 2, 3].map((i) => sentence(n, i))];

describe('pages of chunks', () => {
  it('gives each PDF chunk the pages its text is on', async () => {
    const res = await extractAndChunkHere(makePdf([page(1), page(2), page(3), page(4)]), 'pdf', { chunkSize: 200, chunkOverlap: 0, idPrefix: 'p' });
    if (!res.ok) throw new Error(res.detail);
    expect(res.chunks.length).toBeGreaterThan(4);
    for (const c of res.chunks) {
      const onPages = [1, 2, 3, 4].filter((p) => c.text.includes(`The ${ROCKS[p - 1]} marker`));
      expect(onPages.length, c.text).toBeGreaterThan(0);
      expect(c.pageStart, c.text).toBe(Math.min(...onPages));
      expect(c.pageEnd, c.text).toBe(Math.max(...onPages));
    }
    expect(res.chunks[0]!.pageStart).toBe(1);
    expect(res.chunks.at(-1)!.pageEnd).toBe(4);
  });

  it('leaves sources without pages without them', async () => {
    const res = await extractAndChunkHere(new TextEncoder().encode(page(1).join('\n')), 'text', { chunkSize: 200, chunkOverlap: 0, idPrefix: 't' });
    if (!res.ok) throw new Error(res.detail);
    for (const c of res.chunks) expect(c.pageStart).toBeUndefined();
  });

  it('puts a chunk that starts where an empty page ends on the next page', () => {
    // Page 2 has no text: it "starts" where page 3 does.
    const chunks = [{ charStart: 0, charEnd: 10 }, { charStart: 10, charEnd: 25 }, { charStart: 25, charEnd: 30 }] as Chunk[];
    setPages(chunks, [0, 10, 10, 20]);
    expect(chunks.map((c) => [c.pageStart, c.pageEnd])).toEqual([[1, 1], [3, 4], [4, 4]]);
  });
});

import { describe, expect, it } from 'vitest';
import { chunkText } from '../activities/chunk.js';
import type { Chunk, Heading } from '../schemas/index.js';
import { rng } from './helpers/syntheticCorpus.js';

const opts = (chunkSize: number, chunkOverlap = 0) => ({ chunkSize, chunkOverlap, idPrefix: 'doc' });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Properties every chunking must have, whatever the input. */
function checkInvariants(text: string, chunks: Chunk[], chunkSize: number, chunkOverlap: number): void {
  const cps = [...text];
  let prev: Chunk | undefined;
  // Code-point coverage: every non-space character belongs to some chunk.
  const covered = new Uint8Array(cps.length);
  chunks.forEach((c, i) => {
    expect(c.index).toBe(i);
    expect(c.chunkId).toBe(`doc-${String(i).padStart(4, '0')}`);
    expect(c.text.length).toBeGreaterThan(0);
    expect(c.text).toBe(c.text.trim());
    expect(c.text.length).toBeLessThanOrEqual(chunkSize);
    expect(cps.slice(c.charStart, c.charEnd).join('')).toBe(c.text);
    expect(LONE_SURROGATE.test(c.text)).toBe(false);
    for (let k = c.charStart; k < c.charEnd; k++) covered[k] = 1;
    if (prev) {
      // Progress: both ends move forward.
      expect(c.charStart).toBeGreaterThan(prev.charStart);
      expect(c.charEnd).toBeGreaterThan(prev.charEnd);
      // Overlap is bounded and is a suffix of the previous chunk.
      const overlap = prev.charEnd - c.charStart;
      expect(overlap).toBeLessThanOrEqual(chunkOverlap);
      if (overlap > 0) expect(prev.text.endsWith(cps.slice(c.charStart, prev.charEnd).join(''))).toBe(true);
    }
    prev = c;
  });
  cps.forEach((ch, k) => {
    if (!/\s/.test(ch)) expect(covered[k], `char ${k} ${JSON.stringify(ch)} not covered`).toBe(1);
  });
}

const para = (n: number, word = 'word') =>
  Array.from({ length: n }, (_, i) => `Sentence ${i} has a ${word} in it.`).join(' ');

describe('chunkText', () => {
  it('returns no chunks for empty or whitespace-only text', () => {
    expect(chunkText('', [], opts(200))).toEqual([]);
    expect(chunkText('\n'.repeat(5000), [], opts(200, 50))).toEqual([]);
    expect(chunkText(' \n \n\t\n\n  ', [], opts(200, 50))).toEqual([]);
  });

  it('packs whole paragraphs up to chunkSize', () => {
    const paras = Array.from({ length: 10 }, (_, i) => `Paragraph ${i} is here. It has two sentences.`);
    const text = paras.join('\n\n');
    const chunks = chunkText(text, [], opts(200));
    checkInvariants(text, chunks, 200, 0);
    // Each paragraph is 44-45 chars: four fit (4*45 + 3*2 = 186), five do not.
    expect(chunks[0]!.text).toBe(paras.slice(0, 4).join('\n\n'));
    // No paragraph is cut: every chunk starts and ends on a paragraph boundary.
    for (const c of chunks) {
      expect(c.text.startsWith('Paragraph')).toBe(true);
      expect(c.text.endsWith('two sentences.')).toBe(true);
    }
  });

  it('splits a long paragraph at sentence boundaries', () => {
    const text = para(40);
    const chunks = chunkText(text, [], opts(300));
    checkInvariants(text, chunks, 300, 0);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.text).toMatch(/^Sentence \d+/);
      expect(c.text).toMatch(/in it\.$/);
    }
  });

  it('starts each later chunk with whole trailing sentences of the previous one', () => {
    const text = para(60);
    const chunks = chunkText(text, [], opts(300, 80));
    checkInvariants(text, chunks, 300, 80);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!;
      const cur = chunks[i]!;
      expect(cur.charStart).toBeLessThan(prev.charEnd); // there is overlap: sentences are ~32 chars
      expect(cur.text).toMatch(/^Sentence \d+/);
    }
  });

  it('falls back to word overlap when no sentence fits', () => {
    const words = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
    const chunks = chunkText(words, [], opts(200, 30));
    checkInvariants(words, chunks, 200, 30);
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i]!.charStart).toBeLessThan(chunks[i - 1]!.charEnd);
      expect(chunks[i]!.text).toMatch(/^w\d+ /); // starts on a whole word
    }
  });

  it('hard-splits one giant word and terminates', () => {
    const text = 'x'.repeat(10_000);
    const chunks = chunkText(text, [], opts(200, 100));
    checkInvariants(text, chunks, 200, 100);
    expect(chunks).toHaveLength(50);
    expect(chunks.map((c) => c.text).join('')).toBe(text);
  });

  it('handles lines without spaces and long newline runs', () => {
    const text = Array.from({ length: 300 }, (_, i) => `line${i}`).join('\n') + '\n'.repeat(1000) + 'end';
    const chunks = chunkText(text, [], opts(200, 50));
    checkInvariants(text, chunks, 200, 50);
    expect(chunks.at(-1)!.text.endsWith('end')).toBe(true);
  });

  it('uses code point offsets (astral characters before and inside chunks)', () => {
    const text = '😀😀😀 Emoji first.\n\n' + para(20) + '\n\n𝒜 math 𝒜 letters 😀.';
    const chunks = chunkText(text, [], opts(200, 40));
    checkInvariants(text, chunks, 200, 40);
    const last = chunks.at(-1)!;
    // UTF-16 and code point offsets differ by the number of astral characters before.
    expect(text.indexOf(last.text)).toBeGreaterThan(last.charStart);
    expect([...text].slice(last.charStart, last.charEnd).join('')).toBe(last.text);
  });

  it('never splits a surrogate pair when hard-splitting', () => {
    const text = '😀'.repeat(1000);
    const chunks = chunkText(text, [], opts(201, 0));
    checkInvariants(text, chunks, 201, 0);
    expect(chunks.map((c) => c.text).join('')).toBe(text);
  });

  it('moves a heading that would end a chunk to the next chunk', () => {
    const body = (n: number) => `Body ${n} text goes here and keeps going for a while.`;
    const parts = [body(0), body(1), body(2), 'Usage', body(3), body(4)];
    const text = parts.join('\n\n');
    const start = text.indexOf('Usage');
    const headings: Heading[] = [{ text: 'Usage', level: 2, start, end: start + 5 }];
    // 3 bodies (~55 chars each) + heading fit in 180; the 4th body does not.
    const chunks = chunkText(text, headings, opts(180, 60));
    checkInvariants(text, chunks, 180, 60);
    expect(chunks[0]!.text.endsWith('Usage')).toBe(false);
    const withHeading = chunks.find((c) => c.text.includes('Usage'))!;
    expect(withHeading.text.startsWith('Usage')).toBe(true);
    expect(withHeading.heading).toBe('Usage');
  });

  it('names the nearest heading at or before the chunk start, or omits the key', () => {
    const text = `Intro text that has no heading above it at all.\n\nInstall\n\n${para(12)}\n\nLicense\n\n${para(12)}`;
    const h = (t: string): Heading => ({ text: t, level: 2, start: text.indexOf(t), end: text.indexOf(t) + t.length });
    const chunks = chunkText(text, [h('License'), h('Install')], opts(250, 50));
    checkInvariants(text, chunks, 250, 50);
    expect('heading' in chunks[0]!).toBe(false);
    const lic = text.indexOf('License');
    // BMP-only text: code point offsets equal UTF-16 offsets here.
    for (const c of chunks.slice(1)) expect(c.heading).toBe(c.charStart >= lic ? 'License' : 'Install');
    expect(chunks.some((c) => c.heading === 'Install')).toBe(true);
    expect(chunks.some((c) => c.heading === 'License')).toBe(true);
  });

  it('is deterministic and clamps an overlap larger than the chunk', () => {
    const text = para(50);
    const a = chunkText(text, [], opts(200, 5000));
    const b = chunkText(text, [], opts(200, 5000));
    expect(a).toEqual(b);
    checkInvariants(text, a, 200, 5000);
  });

  it('keeps invariants on random adversarial text', () => {
    const pieces = ['a', 'bb', 'word', 'Sentence.', 'end!', ' ', ' ', '  ', '\n', '\n\n', '\n\n\n', '😀', '𝒜', 'x'.repeat(300), '- item', '. '];
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const n = Math.floor(r() * 400);
      let text = '';
      for (let i = 0; i < n; i++) text += pieces[Math.floor(r() * pieces.length)];
      const size = 200 + Math.floor(r() * 300);
      const overlap = Math.floor(r() * 200);
      const chunks = chunkText(text, [], { chunkSize: size, chunkOverlap: overlap, idPrefix: 'doc' });
      checkInvariants(text, chunks, size, overlap);
    }
  });

  it('chunks ~5 MB of text', () => {
    const paragraph = para(8, 'token');
    const parts: string[] = [];
    let len = 0;
    for (let i = 0; len < 5_000_000; i++) {
      const p = i % 50 === 0 ? `Section ${i}` : i % 97 === 0 ? 'z'.repeat(4000) : paragraph;
      parts.push(p);
      len += p.length + 2;
    }
    const text = parts.join('\n\n');
    const chunks = chunkText(text, [], opts(1500, 150));
    expect(chunks.length).toBeGreaterThan(3000);
    expect(chunks.at(-1)!.charEnd).toBe([...text].length);
    // BMP-only text: code point offsets equal UTF-16 offsets, so slice() checks grounding cheaply.
    for (const c of chunks.filter((_, i) => i % 97 === 0)) {
      expect(text.slice(c.charStart, c.charEnd)).toBe(c.text);
      expect(c.text.length).toBeLessThanOrEqual(1500);
    }
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chunkText } from '../activities/chunk.js';
import { builtinGenerator, generatePairs } from '../activities/generate/builtin/index.js';
import { sliceCodePoints, spanText } from '../activities/evidence.js';
import { createGenerator } from '../activities/generate/index.js';
import { validatePair } from '../activities/validate.js';
import type { CandidatePair } from '../activities/types.js';
import { OutputSettings, type Chunk, type Heading } from '../schemas/index.js';

const ctx = { source: 'doc.txt', maxPairs: 20 };

/** Every answer is exactly the text of its evidence span. */
function expectGrounded(pairs: CandidatePair[], text: string): void {
  for (const p of pairs) {
    expect(p.evidence, p.question).toBeDefined();
    expect(spanText(sliceCodePoints(text, p.evidence!.start, p.evidence!.end)), p.question).toBe(p.answer);
  }
}

function expectWellFormed(pairs: CandidatePair[]): void {
  for (const p of pairs) {
    expect(p.question).toMatch(/^\p{Lu}.*\?$/u);
    expect(p.answer).toBe(p.answer.trim());
  }
}

// The question kinds, one by one, and the issue 12 regressions are in test/builtin.test.ts; the
// evidence property over real documents in test/builtinEvidence.test.ts.
describe('builtin generator', () => {
  it('is what createGenerator gives for the built-in settings', async () => {
    const g = createGenerator(OutputSettings.parse({ generateQa: true }), { outDir: '/nowhere' });
    expect(g).toBe(builtinGenerator);
    expect(g.id).toBe('builtin-v3');
    expect(g.concurrent).toBe(false);
    const chunk: Chunk = { chunkId: 'd-0000', index: 0, text: 'Redis is an in-memory data store used as a cache.', charStart: 0, charEnd: 50 };
    const usage = {};
    expect((await g.generateChunk(chunk, { ...ctx, usage })).pairs).toEqual([
      { question: 'What is Redis?', answer: 'Redis is an in-memory data store used as a cache.', evidence: { start: 0, end: 49 } },
    ]);
    expect((await g.generateChunk(chunk, { ...ctx, usage, maxPairs: 0 })).pairs).toEqual([]);
    expect(usage).toEqual({}); // the built-in generator costs nothing
  });
});

// ---------------------------------------------------------------------------------------------
// Real prose from this machine: licenses and package READMEs.

interface Doc {
  text: string;
  headings: Heading[];
}

/** Joins paragraphs with one blank line, recording which ones are headings. */
function assemble(paras: Array<{ text: string; heading: boolean }>): Doc {
  let text = '';
  const headings: Heading[] = [];
  for (const p of paras) {
    if (!p.text) continue;
    if (text) text += '\n\n';
    if (p.heading) headings.push({ text: p.text, level: 2, start: text.length, end: text.length + p.text.length });
    text += p.text;
  }
  return { text, headings };
}

/** A plain-text license: trimmed lines; short title-like one-line paragraphs are headings. */
function plainDoc(raw: string): Doc {
  const paras = raw
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.split('\n').map((l) => l.trim()).join('\n').trim());
  return assemble(paras.map((p) => ({ text: p, heading: !p.includes('\n') && p.length <= 80 && /^(?:\d+\.\s+)?[A-Z][A-Za-z ,]*\.?$/.test(p) })));
}

/** Crude Markdown → text, roughly what the loader produces: no HTML, links as text, "- " lists. */
function markdownDoc(raw: string): Doc {
  const paras: Array<{ text: string; heading: boolean }> = [];
  let cur: string[] = [];
  const flush = () => {
    if (cur.length) paras.push({ text: cur.join('\n'), heading: false });
    cur = [];
  };
  const lines = raw.replace(/\r\n?/g, '\n').replace(/<!--[\s\S]*?-->/g, '').split('\n');
  let fence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(```|~~~)/.test(line)) {
      flush();
      fence = !fence;
      continue;
    }
    if (fence) {
      if (line.trim()) cur.push(line.trimEnd());
      continue;
    }
    const setext = /^(=+|-+)\s*$/.test(lines[i + 1] ?? '') && line.trim() !== '' && !/^\s*[-*]/.test(line);
    const clean = line
      .replace(/<[^>]+>/g, '')
      .replace(/\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)|!\[[^\]]*\]\([^)]*\)/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/\*\*([^*]+)\*\*|`([^`]+)`/g, '$1$2')
      .replace(/^\s*[*+]\s+/, '- ')
      .replace(/^\s*>\s?/, '')
      .trimEnd();
    if (/^#{1,6}\s/.test(line) || setext) {
      flush();
      paras.push({ text: clean.replace(/^#{1,6}\s+/, '').replace(/\s+#+$/, '').trim(), heading: true });
      if (setext) i++;
    } else if (!clean.trim()) flush();
    else cur.push(clean);
  }
  flush();
  return assemble(paras);
}

const LICENSES = ['/usr/share/common-licenses/Apache-2.0', '/usr/share/common-licenses/GPL-3'].filter(existsSync);
const READMES = ['chai', 'cli-progress', 'picomatch', 'zod', 'terser', 'htmlparser2', 'iconv-lite', 'typescript', 'postcss', 'marked']
  .map((p) => `node_modules/${p}/README.md`)
  .filter(existsSync);

interface Outcome {
  file: string;
  pair: CandidatePair;
  passed: boolean;
}

async function runPipeline(file: string): Promise<Outcome[]> {
  const raw = readFileSync(file, 'utf8');
  const doc = file.endsWith('.md') ? markdownDoc(raw) : plainDoc(raw);
  const chunks = chunkText(doc.text, doc.headings, { chunkSize: 1500, chunkOverlap: 150, idPrefix: 'd' });
  const out: Outcome[] = [];
  for (const chunk of chunks) {
    const pairs = generatePairs(chunk, 8);
    expectWellFormed(pairs);
    expectGrounded(pairs, chunk.text);
    for (const pair of pairs) out.push({ file, pair, passed: validatePair(pair, chunk).reasons.length === 0 });
  }
  return out;
}

describe.skipIf(LICENSES.length + READMES.length === 0)('builtin generator on real text', () => {
  it('yields mostly valid, sensible pairs from licenses and READMEs', async () => {
    const outcomes = (await Promise.all([...LICENSES, ...READMES].map(runPipeline))).flat();
    const passed = outcomes.filter((o) => o.passed);
    const rate = passed.length / outcomes.length;
    expect(outcomes.length).toBeGreaterThan(LICENSES.length > 0 ? 50 : 10);
    expect(rate).toBeGreaterThanOrEqual(0.6);

    const apache = outcomes.filter((o) => o.file.endsWith('Apache-2.0')).map((o) => o.pair);
    if (LICENSES.some((f) => f.endsWith('Apache-2.0'))) {
      expect(apache.find((p) => p.question === 'In the Apache License, what does “License” mean?')?.answer).toMatch(/^"License" shall mean the terms and conditions for use/);
      expect(apache.find((p) => p.question === 'In the Apache License, what does “Licensor” mean?')).toBeDefined();
      expect(apache.filter((p) => /^In the Apache License, what does “[^”]+”.* mean\?$/.test(p.question)).length).toBeGreaterThanOrEqual(8);
    }
    if (READMES.length > 0) expect(outcomes.some((o) => o.file.endsWith('.md') && o.passed)).toBe(true);

    // 15 samples spread over the files, for a human to judge.
    const step = Math.max(1, Math.floor(passed.length / 15));
    const sample = passed.filter((_, i) => i % step === 0).slice(0, 15);
    console.log(
      `${passed.length}/${outcomes.length} pairs passed validation (${Math.round(rate * 100)}%)\n` +
        sample.map((o) => `[${o.file.split('/').slice(-2).join('/')}]\n  Q: ${o.pair.question}\n  A: ${o.pair.answer}`).join('\n'),
    );
  });
});

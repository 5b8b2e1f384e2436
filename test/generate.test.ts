import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chunkText } from '../activities/chunk.js';
import { builtinGenerator, generatePairs } from '../activities/generate/builtin.js';
import { createGenerator } from '../activities/generate/index.js';
import { validatePair } from '../activities/validate.js';
import type { CandidatePair } from '../activities/types.js';
import { OutputSettings, type Chunk, type Heading } from '../schemas/index.js';

const collapse = (s: string) => s.replace(/\s+/g, ' ').trim();
const ctx = { source: 'doc.txt', maxPairs: 20 };
const gen = (text: string, heading?: string, maxPairs = 20) => generatePairs(text, heading, maxPairs);
const find = (pairs: CandidatePair[], question: string) => pairs.find((p) => p.question === question);

/** Every answer is verbatim in the chunk, up to whitespace; list answers item by item. */
function expectGrounded(pairs: CandidatePair[], text: string): void {
  const hay = collapse(text);
  for (const p of pairs) {
    const parts = p.answer.includes('; ') ? p.answer.split('; ') : [p.answer];
    for (const part of parts) expect(hay, `${p.question} → ${part}`).toContain(part);
  }
}

function expectWellFormed(pairs: CandidatePair[]): void {
  for (const p of pairs) {
    expect(p.question).toMatch(/^\p{Lu}.*\?$/u);
    expect(p.answer).toBe(p.answer.trim());
  }
}

describe('builtin generator patterns', () => {
  it('asks for quoted definitions', () => {
    const text =
      '"License" shall mean the terms and conditions for use, reproduction,\nand distribution.\n\n' +
      '"Source" form shall mean the preferred form for making modifications.\n\n' +
      '"You" (or "Your") shall mean an individual or Legal Entity.\n\n' +
      'The "Program" refers to any copyrightable work licensed under this License.\n\n' +
      'To "modify" a work means to copy from or adapt all or part of the work.\n\n' +
      'For the purposes of this definition, "control" means the power to direct.';
    const pairs = gen(text);
    expect(find(pairs, 'What does “License” mean?')?.answer).toBe('the terms and conditions for use, reproduction, and distribution');
    expect(find(pairs, 'What does “Source” form mean?')?.answer).toBe('the preferred form for making modifications');
    expect(find(pairs, 'What does “You” mean?')?.answer).toBe('an individual or Legal Entity');
    expect(find(pairs, 'What does “Program” refer to?')?.answer).toBe('any copyrightable work licensed under this License');
    expect(find(pairs, 'What does it mean to “modify” a work?')?.answer).toBe('to copy from or adapt all or part of the work');
    expect(find(pairs, 'What does “control” mean?')?.answer).toBe('the power to direct');
    expectGrounded(pairs, text);
    expectWellFormed(pairs);
  });

  it('asks for unquoted definitions and "X is a Y" but not for pronouns or clauses', () => {
    const text =
      'Copyleft refers to a licensing method that keeps derivative works free. A widget is defined as a small reusable component. ' +
      'Redis is an in-memory data store used as a cache. The GNU General Public License is a free, copyleft license for software. ' +
      'It is a library for parsing. This is a very common mistake. And Rust is a systems programming language. ' +
      'In determining whether a product is a consumer product, doubtful cases are resolved in favor of coverage. ' +
      'A product is a consumer product regardless of its use. It is a good idea to pin versions.';
    const pairs = gen(text);
    const qs = pairs.map((p) => p.question);
    expect(find(pairs, 'What does Copyleft refer to?')?.answer).toBe('a licensing method that keeps derivative works free');
    expect(find(pairs, 'How is a widget defined?')?.answer).toBe('a small reusable component');
    expect(find(pairs, 'What is Redis?')?.answer).toBe('an in-memory data store used as a cache');
    expect(find(pairs, 'What is the GNU General Public License?')?.answer).toBe('a free, copyleft license for software');
    expect(qs).toHaveLength(4);
    expectGrounded(pairs, text);
  });

  it('turns an intro line and its items into a list question', () => {
    const text =
      'The following options are supported:\n\n- verbose: print more output\n- quiet: print nothing;\n- color: force colors.\n\n' +
      'You can use the following commands:\n\n1. build the project\n2. run the tests\n\n' +
      'Features\n\n- Fast startup\n- Small bundle\n\n' +
      'Requirements:\n- Linux or macOS\n- 2 GB of memory\n\nClosing words of this short document.';
    const pairs = gen(text);
    expect(find(pairs, 'Which options are supported?')?.answer).toBe('verbose: print more output; quiet: print nothing; color: force colors');
    expect(find(pairs, 'Which commands can you use?')?.answer).toBe('build the project; run the tests');
    expect(find(pairs, 'What are the features?')?.answer).toBe('Fast startup; Small bundle');
    expect(find(pairs, 'What are the requirements?')?.answer).toBe('Linux or macOS; 2 GB of memory');
    expectGrounded(pairs, text);
  });

  it('skips lists without an intro, nested lists and code-like items', () => {
    const text =
      '- orphan one\n- orphan two\n\nSupport for:\n\n- Platforms:\n- Linux\n\nParams:\n\n- input {String}: text\n- glob {RegExp}: pattern\n\nThe end of it all.';
    expect(gen(text)).toEqual([]);
  });

  it('asks about headings and the sentences under them', () => {
    const text =
      'Custom Formatters\n\nInstead of a static format string you can pass a callback. It receives the options.\n\n' +
      'Grant of Copyright License\n\nEach Contributor grants to You a perpetual copyright license.\n\n' +
      'Why use Foo?\n\nFoo is small and fast. It has no dependencies.\n\n' +
      '::increment()\n\nIncreases the current progress value by a specified amount.\n\n' +
      '3. Grant of Patent License. Each Contributor hereby grants to You a patent license. It ends on litigation.';
    const pairs = gen(text, 'Custom Formatters');
    expect(find(pairs, 'What is said about custom formatters?')?.answer).toBe(
      'Instead of a static format string you can pass a callback. It receives the options.',
    );
    expect(find(pairs, 'What does the section “Grant of Copyright License” say?')?.answer).toBe(
      'Each Contributor grants to You a perpetual copyright license.',
    );
    expect(find(pairs, 'Why use Foo?')?.answer).toBe('Foo is small and fast. It has no dependencies.');
    expect(find(pairs, 'What does the section “Grant of Patent License” say?')?.answer).toBe(
      'Each Contributor hereby grants to You a patent license. It ends on litigation.',
    );
    expect(pairs.some((p) => p.question.includes('increment'))).toBe(false);
    expectGrounded(pairs, text);
  });

  it('asks about dates, counts and versions only on clean matches', () => {
    const text =
      'The project was first released in March 2019. The Eiffel Tower was completed on 31 March 1889. ' +
      'The library was published in 2004. It was released in 2010. ' +
      'The parser supports 12 languages out of the box. Each worker has 4 threads. The CLI requires Node.js 18 or later. ' +
      'This plugin needs Python 3.10 to build.\n\nApache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/';
    const pairs = gen(text);
    expect(find(pairs, 'When was the project first released?')?.answer).toBe('March 2019');
    // Answers keep enough words to be mostly letters (the validator's non_text rule).
    expect(find(pairs, 'When was the Eiffel Tower completed?')?.answer).toBe('on 31 March 1889');
    expect(find(pairs, 'When was the library published?')?.answer).toBe('published in 2004');
    expect(find(pairs, 'How many languages does the parser support?')?.answer).toBe('12 languages');
    expect(find(pairs, 'How many threads does each worker have?')?.answer).toBe('4 threads');
    expect(find(pairs, 'Which version of Node.js does the CLI require?')?.answer).toBe('Node.js 18 or later');
    expect(find(pairs, 'What is the date of the Apache License, Version 2.0?')?.answer).toBe('January 2004');
    expect(pairs).toHaveLength(7); // nothing for "It was …" or "This plugin …"
    expectGrounded(pairs, text);
  });

  it('skips code, table rows and bare URLs', () => {
    const text =
      'const lib = require("lib"); // Lib is a library for things\n\nname | is | a table row\n\n' +
      'https://example.com/Example-is-a-page\n\n$ npm install lib\n\nfunction x() { return 1; }';
    expect(gen(text)).toEqual([]);
  });

  it('caps at maxPairs, best patterns first, without duplicates, deterministically', () => {
    const defs = Array.from({ length: 12 }, (_, i) => `"Term${i}" shall mean the thing number ${i} in this text.`).join('\n\n');
    const text = `Usage Notes\n\nRedis is an in-memory data store used as a cache.\n\n${defs}\n\n"Term0" shall mean the thing number 0 in this text.`;
    const pairs = gen(text, undefined, 5);
    expect(pairs).toHaveLength(5);
    expect(pairs.every((p) => p.question.startsWith('What does “Term'))).toBe(true);
    expect(new Set(pairs.map((p) => p.question)).size).toBe(5);
    expect(gen(text, undefined, 5)).toEqual(pairs);
    expect(gen(text).filter((p) => p.question === 'What does “Term0” mean?')).toHaveLength(1);
  });

  it('asks about genus-and-difference definitions but not bare classifications', () => {
    const qs = generatePairs('A spring tide is a tide with the largest range. A product is a product sold to consumers.', undefined, 8);
    expect(qs).toContainEqual({ question: 'What is a spring tide?', answer: 'a tide with the largest range' });
    expect(qs.some((p) => /product/.test(p.question))).toBe(false);
  });

  it('reads a title, a byline and an intro that a second paragraph completes (MIT style)', () => {
    const text = 'MIT License\n\nCopyright (c) 2024 Someone\n\nPermission is hereby granted to any person, subject to the following conditions:\n\nThe above notice shall be included in all copies.';
    const [pair] = generatePairs(text, undefined, 8);
    expect(pair?.question).toBe('What does the section “MIT License” say?');
    expect(pair?.answer).toBe('Permission is hereby granted to any person, subject to the following conditions: The above notice shall be included in all copies.');
  });

  it('asks which conditions must be met when a list follows "provided that the following conditions are met:"', () => {
    const text = 'Use is permitted provided that the following conditions are met:\n1. Keep the notice in copies.\n2. Do not use our name.';
    expect(generatePairs(text, undefined, 8)).toContainEqual({
      question: 'Which conditions must be met?',
      answer: 'Keep the notice in copies; Do not use our name',
    });
  });

  it('turns glossary entries (a term line, then "A/An …") into questions', () => {
    const text = 'ffi_type_uint8 ¶\n\nAn unsigned, 8-bit integer type.\n\nffi_type_sint8 ¶\n\nA signed, 8-bit integer type.';
    expect(generatePairs(text, undefined, 8)).toEqual([
      { question: 'What is ffi_type_uint8?', answer: 'An unsigned, 8-bit integer type' },
      { question: 'What is ffi_type_sint8?', answer: 'A signed, 8-bit integer type' },
    ]);
  });

  it('treats a prose sentence that names a function() as prose, not code', () => {
    const text = 'Caching\n\nWe often get questions about how the deflate() and inflate() functions should be used by callers.';
    expect(generatePairs(text, undefined, 8).length).toBeGreaterThan(0);
  });

  it('is what createGenerator gives for the built-in settings', async () => {
    const g = createGenerator(OutputSettings.parse({ generateQa: true }), { outDir: '/nowhere' });
    expect(g).toBe(builtinGenerator);
    expect(g.id).toBe('builtin-v1');
    expect(g.concurrent).toBe(false);
    const chunk: Chunk = { chunkId: 'd-0000', index: 0, text: 'Redis is an in-memory data store used as a cache.', charStart: 0, charEnd: 50 };
    const usage = {};
    expect((await g.generateChunk(chunk, { ...ctx, usage })).pairs).toEqual([{ question: 'What is Redis?', answer: 'an in-memory data store used as a cache' }]);
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
  const seen = new Set<string>(); // per document, as the pipeline does
  const out: Outcome[] = [];
  for (const chunk of chunks) {
    const pairs = generatePairs(chunk.text, chunk.heading, 8);
    expectWellFormed(pairs);
    expectGrounded(pairs, chunk.text);
    for (const pair of pairs) out.push({ file, pair, passed: validatePair(pair, chunk, seen).reasons.length === 0 });
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
      expect(apache.find((p) => p.question === 'What does “License” mean?')?.answer).toMatch(/^the terms and conditions for use/);
      expect(apache.find((p) => p.question === 'What does “Licensor” mean?')).toBeDefined();
      expect(apache.filter((p) => /^What does “[^”]+”.* mean\?$/.test(p.question)).length).toBeGreaterThanOrEqual(8);
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

/**
 * Property: over every chunk of several real-shaped documents, each built-in pair's answer is
 * exactly spanText() of its evidence span (code points, end exclusive), and no question is a
 * heading template or points outside itself. Documents are generated here (Markdown, HTML,
 * plain text with astral characters, so code points and UTF-16 differ), plus licenses and
 * READMEs when this machine has them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { codePoints, sliceCodePoints, spanText } from '../activities/evidence.js';
import { extractAndChunkHere } from '../activities/extract/extractAndChunk.js';
import { kindFromPath } from '../activities/extract/index.js';
import { generatePairs } from '../activities/generate/builtin/index.js';
import { questionForm } from '../activities/questionForm.js';

const README = `# fastserve 🚀

fastserve is a small HTTP server for static files. It was written by Jane Doe and is maintained by the Acme Foundation.

## Installation

To install fastserve globally, run the installer with administrator rights. The configuration is stored in ~/.config/fastserve/config.json on Linux.

## Why fastserve?

fastserve is about 3 times faster than nginx for small files, because it keeps every file in memory. It does not support HTTP/3 yet, so clients fall back to HTTP/2 automatically.

## Features

The server provides four features out of the box:

- gzip and brotli compression of every response
- caching headers computed from file hashes
- directory listings for folders without an index
- a live reload mode for development

\`\`\`js
const server = require('fastserve');
server.listen(8080);
\`\`\`

Version 2.0 was released in March 2024. 𝒳 is the letter used for the 𝒳-mode, a mode that logs every request to the console.
`;

const HTML = `<!doctype html><html><head><title>tool — Command-line helpers</title></head><body>
<h1>tool — Command-line helpers</h1>
<p>This module provides helpers for writing command-line programs.</p>
<h2>Parser Objects</h2>
<dl><dt>parse(args, strict=False)</dt><dd><p>Parses the argument list and returns a namespace of the options found.</p>
<p>New in version 3.2.</p></dd>
<dt>format_help()</dt><dd><p>Returns the help text of the parser, wrapped to the width of the terminal.</p></dd></dl>
<p>The parser cannot be reused after an error, because its state is left incomplete by the failed parse.</p>
<p>To add a subcommand, call add_subparsers() on the parser and then add_parser() on the result.</p>
</body></html>`;

const PLAIN = `Widget Library Manual

1. Definitions.

"Widget" shall mean any reusable component distributed with this library, including its documentation.

"Host" shall mean the program that embeds a Widget, whether or not it modifies the Widget.

2. Usage.

A widget is a component that renders one part of a page and keeps its own state. Widgets are usually smaller than pages, and a page holds many of them. The renderer uses a queue to schedule updates in order. The cache is kept in memory and is never written to disk unless persistence is enabled.
`;

async function chunksOf(name: string, bytes: Uint8Array) {
  const res = await extractAndChunkHere(bytes, kindFromPath(name), { chunkSize: 600, chunkOverlap: 80, idPrefix: 'd' });
  if (!res.ok) throw new Error(`${name}: ${res.detail}`);
  return res.chunks;
}

const onMachine = [
  '/usr/share/common-licenses/Apache-2.0',
  '/usr/share/common-licenses/GPL-3',
  '/usr/share/common-licenses/MPL-2.0',
  'node_modules/zod/README.md',
  'node_modules/htmlparser2/README.md',
].filter(existsSync);

const TEMPLATE = /^(?:What does the section\b|What is said about\b|What is listed under\b)/;
const POINTING = /\b(?:the following|the latter|the former|this section|each arg)\b|^(?:What|Who|How) (?:is|are|does) (?:it|this|they)\b(?! mean to)/i;

describe('built-in answers are their evidence spans', () => {
  it('holds over every chunk of generated and on-machine documents', async () => {
    const docs: Array<[string, Uint8Array]> = [
      ['README.md', new TextEncoder().encode(README)],
      ['page.html', new TextEncoder().encode(HTML)],
      ['manual.txt', new TextEncoder().encode(PLAIN)],
      ...onMachine.map((f): [string, Uint8Array] => [f, readFileSync(f)]),
    ];
    const GENERATED = 3;
    let pairs = 0;
    const kinds = new Set<string>();
    for (const [d, [name, bytes]] of docs.entries()) {
      for (const chunk of await chunksOf(name, bytes)) {
        for (const p of generatePairs(chunk, 8)) {
          if (d < GENERATED) {
            pairs++;
            kinds.add(questionForm(p.question));
          }
          const ev = p.evidence!;
          expect(ev, `${name}: ${p.question}`).toBeDefined();
          expect(ev.start).toBeGreaterThanOrEqual(0);
          expect(ev.end).toBeLessThanOrEqual(codePoints(chunk.text));
          expect(spanText(sliceCodePoints(chunk.text, ev.start, ev.end)), `${name}: ${p.question}`).toBe(p.answer);
          expect(p.question).toMatch(/^\p{Lu}.*\?$/u);
          expect(p.question).not.toMatch(TEMPLATE);
          expect(p.question).not.toMatch(POINTING);
          expect(p.answer).not.toMatch(/:$|\p{Ll}- \p{Ll}/u);
        }
      }
    }
    // The generated documents alone (what CI always has) hold facts of several kinds; an empty
    // run would prove nothing.
    console.log(`generated documents: ${pairs} pairs, forms ${[...kinds].join(', ')}`);
    expect(pairs).toBeGreaterThanOrEqual(10);
    expect(kinds.size).toBeGreaterThanOrEqual(5);
  });

  it('counts offsets in code points after astral characters', async () => {
    const text = '𝒳 and 𝒴 are letters. Redis is an in-memory data store used as a cache.';
    const [pair] = generatePairs({ text }, 8);
    expect(pair?.question).toBe('What is Redis?');
    expect(pair?.evidence).toEqual({ start: 21, end: 70 }); // 𝒳 and 𝒴 count one each, two UTF-16 units each
    expect(sliceCodePoints(text, 21, 70)).toBe('Redis is an in-memory data store used as a cache.');
  });
});

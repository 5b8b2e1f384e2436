/**
 * Extraction in worker threads (activities/extract/pool.ts): pathological documents end as
 * error rows (too_complex, timeout) without disturbing the ordinary document processed beside
 * them, aborts are prompt, terminated threads are replaced, and for ordinary documents the
 * output is exactly what extractText + chunkText give in the calling thread.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chunkText, type ChunkOptions } from '../activities/chunk.js';
import { extractText } from '../activities/extract/index.js';
import { countWords, setPages } from '../activities/extract/extractAndChunk.js';
import { markdownNestingBound } from '../activities/extract/limits.js';
import {
  closeExtractionPool,
  extractAndChunk,
  ExtractionPool,
  setExtractionPoolSize,
  withoutTsxHooks,
  type IsolatedResult,
} from '../activities/extract/pool.js';
import type { DocumentKind } from '../schemas/index.js';
import { deepHtmlDivs, deepMarkdownList, deepMarkdownQuote, flateBombPdf, hugeSingleLine } from './helpers/pathological.js';
import { brokenPdf, makePdf } from './helpers/pdf.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const CHUNKS: ChunkOptions = { chunkSize: 400, chunkOverlap: 60, idPrefix: 'abcdef012345' };

/**
 * Pools by their options, started once and shared by the tests that use them (every thread
 * start costs about a second); pool() has the default limits and two threads.
 */
const pools = new Map<string, ExtractionPool>();
function pool(options: ConstructorParameters<typeof ExtractionPool>[0] = { size: 2 }): ExtractionPool {
  const key = JSON.stringify(options);
  let p = pools.get(key);
  if (!p) pools.set(key, (p = new ExtractionPool(options)));
  return p;
}
/** A pool of its own, for tests that close it or count its threads. */
const fresh: ExtractionPool[] = [];
function freshPool(options: ConstructorParameters<typeof ExtractionPool>[0]): ExtractionPool {
  const p = new ExtractionPool(options);
  fresh.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all([...pools.values(), ...fresh].map((p) => p.close()));
  await closeExtractionPool();
});

/** What the pipeline computes today, in this thread. */
async function direct(bytes: Uint8Array, kind: DocumentKind, opts: ChunkOptions = CHUNKS): Promise<IsolatedResult> {
  const r = await extractText(bytes, kind);
  if (!r.ok) return r;
  const chunks = chunkText(r.text, r.headings, opts);
  if (r.pages) setPages(chunks, r.pages);
  return { ok: true, text: r.text, words: countWords(r.text), headings: r.headings, chunks };
}

function failure(r: IsolatedResult): Extract<IsolatedResult, { ok: false }> {
  if (r.ok) expect.fail(`expected a failure, got ${r.text.length} characters of text`);
  return r;
}

function ok(r: IsolatedResult): Extract<IsolatedResult, { ok: true }> {
  if (!r.ok) expect.fail(`expected ok, got ${r.reason}: ${r.detail}`);
  return r;
}

const ordinaryMarkdown = utf8(
  [
    '---',
    'title: Notes',
    '---',
    '# Installation',
    '',
    'Run the installer. It *asks* for a directory; the default is fine.',
    '',
    '- first step',
    '  - nested step with `code`',
    '- second step',
    '',
    '> A quote with **bold** text.',
    '',
    '| Key | Value |',
    '| --- | ----- |',
    '| a   | 1     |',
    '',
    '```js',
    'console.log("hi");',
    '```',
    '',
    '## Usage',
    '',
    'Café, naïve, 日本語, emoji 🎉 and more words. '.repeat(30),
  ].join('\n'),
);

const ORDINARY: [string, DocumentKind, Uint8Array][] = [
  [
    'text',
    'text',
    utf8(
      'TERMS AND CONDITIONS\r\n\r\n1. Definitions.\r\n\r\n"License" shall mean the terms.\tTabbed.\r\n\r\n' +
        'A long paragraph of words that goes on. '.repeat(40),
    ),
  ],
  ['markdown', 'markdown', ordinaryMarkdown],
  [
    'html',
    'html',
    utf8(
      '<!doctype html><html><head><title>T</title><style>p{}</style></head><body><nav>menu</nav>' +
        '<h1>Main &amp; Title</h1><p>First <b>paragraph</b> &mdash; with entities.</p><ul><li>one<li>two</ul>' +
        '<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>' +
        '<h2>Section</h2>' +
        '<p>More text in a section, repeated. '.repeat(40) +
        '<script>var x = 1;</script></body></html>',
    ),
  ],
  ['pdf', 'pdf', makePdf([['Page one, first line.', 'Second line of page one.'], ['Page two.', 'Last line.']])],
  ['empty', 'text', new Uint8Array(0)],
  ['binary', 'text', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 1, 2, 3])],
  ['invalid UTF-8', 'markdown', Uint8Array.from([0x61, 0x62, 0xff, 0x63])],
  ['broken PDF', 'pdf', brokenPdf()],
  ['unsupported', 'other', utf8('whatever')],
];

describe('extractAndChunk gives exactly what extractText + chunkText give', () => {
  it.each(ORDINARY)('%s', async (_name, kind, bytes) => {
    const expected = await direct(bytes, kind);
    // A copy: the pool transfers (detaches) the bytes it is given.
    const isolated = await pool().run(bytes.slice(), kind, CHUNKS);
    expect(isolated).toEqual(expected);
    expect(JSON.stringify(isolated)).toBe(JSON.stringify(expected)); // byte identity, key order included
  });

  it('through the shared pool, several documents at once, with other chunk settings', async () => {
    setExtractionPoolSize(2);
    const opts: ChunkOptions = { chunkSize: 150, chunkOverlap: 30, idPrefix: '0123456789ab' };
    const results = await Promise.all(ORDINARY.map(([, kind, bytes]) => extractAndChunk(bytes.slice(), kind, opts)));
    for (const [i, [, kind, bytes]] of ORDINARY.entries()) {
      expect(JSON.stringify(results[i])).toBe(JSON.stringify(await direct(bytes, kind, opts)));
    }
    await closeExtractionPool();
  });

  it('detaches the bytes it was given (transferred, not copied)', async () => {
    const bytes = utf8('Some text.');
    ok(await pool().run(bytes, 'text', CHUNKS));
    expect(bytes.byteLength).toBe(0);
  });

  it('copies a view on part of a larger buffer instead of detaching the buffer', async () => {
    const backing = utf8('xxxxSome text.yyyy');
    const view = backing.subarray(4, 14);
    expect(ok(await pool().run(view, 'text', CHUNKS)).text).toBe('Some text.');
    expect(backing.byteLength).toBe(18);
  });

  it('keeps Markdown nested up to the limit (100 levels) as it was', async () => {
    const bytes = deepMarkdownList(100);
    expect(markdownNestingBound(new TextDecoder().decode(bytes))).toBe(100);
    const r = ok(await pool().run(bytes.slice(), 'markdown', CHUNKS));
    expect(JSON.stringify(r)).toBe(JSON.stringify(await direct(bytes, 'markdown')));
    expect(r.text).toContain('item 99');
  });
});

describe('pathological documents become error rows; the ordinary document beside them is unaffected', () => {
  // Each case runs alongside an ordinary document in a pool of two threads.
  async function withNeighbour(p: ExtractionPool, bytes: Uint8Array, kind: DocumentKind): Promise<IsolatedResult> {
    const [bad, good] = await Promise.all([p.run(bytes, kind, CHUNKS), p.run(ordinaryMarkdown.slice(), 'markdown', CHUNKS)]);
    expect(JSON.stringify(good)).toBe(JSON.stringify(await direct(ordinaryMarkdown, 'markdown')));
    return bad;
  }

  it('a Markdown list nested 3,000 levels deep (9 MB; crashed a 4 GB heap) is too_complex', async () => {
    const r = failure(await withNeighbour(pool(), deepMarkdownList(3000), 'markdown'));
    expect(r.reason).toBe('too_complex');
    expect(r.detail).toMatch(/nested up to 3000 levels deep \(limit: 100 levels\)/);
  });

  it('block quotes nested 10,000 levels deep are too_complex', async () => {
    const r = failure(await withNeighbour(pool(), deepMarkdownQuote(10_000), 'markdown'));
    expect(r.reason).toBe('too_complex');
    expect(r.detail).toContain('(limit: 100 levels)');
  });

  it('HTML of 100,000 nested divs is too_complex (the parser cost is quadratic in depth)', async () => {
    const r = failure(await withNeighbour(pool(), deepHtmlDivs(100_000), 'html'));
    expect(r.reason).toBe('too_complex');
    expect(r.detail).toBe('HTML elements nested more than 512 levels deep (limit: 512 levels)');
  });

  it('unclosed divs count as nesting (the check follows the parser, implied closes included)', async () => {
    const r = failure(await withNeighbour(pool(), utf8('<div>x'.repeat(10_000)), 'html'));
    expect(r.reason).toBe('too_complex');
    // ...while unclosed <p> and <li> close each other and stay flat.
    const flat = ok(await pool().run(utf8('<p>para '.repeat(2000) + '<ul>' + '<li>item'.repeat(2000)), 'html', CHUNKS));
    expect(flat.text).toContain('para');
  });

  it('a flate-bomb PDF is too_complex, not gigabytes of memory', async () => {
    // 16 MB of decoded content in a ~16 KB file; the budget is lowered to 4 MB to keep this cheap.
    const bomb = flateBombPdf(16 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(100_000);
    const r = failure(await withNeighbour(pool({ size: 2, limits: { maxPdfDecodedMb: 4 } }), bomb, 'pdf'));
    expect(r.reason).toBe('too_complex');
    expect(r.detail).toContain('(limit: 4 MB decoded');
  });

  it('a two-layer flate bomb is counted through both layers', async () => {
    const bomb = flateBombPdf(64 * 1024 * 1024, 2);
    expect(bomb.length).toBeLessThan(10_000);
    const r = failure(await pool({ size: 2, limits: { maxPdfDecodedMb: 4 } }).run(bomb, 'pdf', CHUNKS));
    expect(r.reason).toBe('too_complex');
  });

  it('the same PDF under the budget is read as usual', async () => {
    const pdf = flateBombPdf(1024 * 1024);
    const r = ok(await pool({ size: 2, limits: { maxPdfDecodedMb: 4 } }).run(pdf.slice(), 'pdf', CHUNKS));
    expect(r.text).toBe('Bomb page');
    expect(JSON.stringify(r)).toBe(JSON.stringify(await direct(pdf, 'pdf')));
  });

  it('a huge single line (6 MB, no line break) is big but fine: its text comes out', async () => {
    const line = hugeSingleLine(1_000_000);
    const r = ok(await withNeighbour(pool(), line.slice(), 'text'));
    expect(r.text.length).toBe(line.length);
    expect(r.chunks.length).toBeGreaterThan(1000);
    expect(r.chunks.every((c) => c.text.length <= CHUNKS.chunkSize)).toBe(true);
  });

  it('a document over the heap limit is too_complex naming the limit; the thread is replaced', async () => {
    const p = freshPool({ size: 2, heapMb: 48, heapPerInputMb: 0 });
    const r = failure(await withNeighbour(p, hugeSingleLine(1_000_000), 'text'));
    expect(r.reason).toBe('too_complex');
    expect(r.detail).toBe('extraction needed more memory than a document may use (limit: 48 MB heap)');
    expect(ok(await p.run(utf8('still working'), 'text', CHUNKS)).text).toBe('still working');
    expect(p.threads).toBeLessThanOrEqual(2);
  });

  it('a big document gets a thread of its own with a heap scaled by its size', async () => {
    const p = freshPool({ size: 1, heapMb: 48, heapPerInputMb: 64, maxHeapMb: 512 });
    expect(p.heapFor(1024 * 1024)).toBe(64);
    expect(p.heapFor(100 * 1024 * 1024)).toBe(512);
    expect(p.heapFor(1000)).toBe(48);
    const line = hugeSingleLine(1_000_000); // 6 MB: too much for 48 MB (above), fine in 351 MB
    expect(p.heapFor(line.length)).toBe(351);
    expect(ok(await p.run(line, 'text', CHUNKS)).text.length).toBe(5_750_000);
    // Its thread is gone; the next small document gets an ordinary one.
    expect(ok(await p.run(utf8('small again'), 'text', CHUNKS)).text).toBe('small again');
    expect(p.threads).toBe(1);
  });

  it('a stack overflow in a parser is too_complex, not unreadable', async () => {
    // The depth check is lifted so that html-to-text's recursion runs out of (a small) stack.
    const p = pool({ size: 2, stackMb: 1, limits: { maxHtmlDepth: 1e9 } });
    const r = failure(await withNeighbour(p, deepHtmlDivs(8000), 'html'));
    expect(r.reason).toBe('too_complex');
    expect(r.detail).toBe('nesting too deep to parse: the call stack was exhausted (limit: 1 MB stack)');
  });

  it('a parse that runs past its time budget is a timeout naming the budget; the pool goes on', async () => {
    // Without the depth check, 300,000 unclosed divs take htmlparser2 minutes (O(depth) per tag).
    const p = pool({ size: 2, limits: { maxHtmlDepth: 1e9 }, timeBaseMs: 500, timePerMbMs: 0 });
    const r = failure(await withNeighbour(p, utf8('<div>'.repeat(300_000)), 'html'));
    expect(r.reason).toBe('timeout');
    expect(r.detail).toBe('extraction did not finish in time (limit: 0.5 s for 1.4 MB: 0.5 s + 0 s per MB)');
    expect(ok(await p.run(utf8('after the timeout'), 'text', CHUNKS)).text).toBe('after the timeout');
  });
});

describe('abort and recovery', () => {
  const stuck = () => utf8('<div>'.repeat(300_000));

  it('an abort terminates a stuck parse at once and rejects with the reason; the pool recovers', async () => {
    const p = pool({ size: 2, limits: { maxHtmlDepth: 1e9 } });
    ok(await p.run(utf8('warm up'), 'text', CHUNKS)); // the thread is ready: the next run starts at once
    const controller = new AbortController();
    const running = p.run(stuck(), 'html', CHUNKS, { signal: controller.signal });
    const reason = new Error('Ctrl-C');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(ok(await p.run(utf8('next document'), 'text', CHUNKS)).text).toBe('next document');
  });

  it('an abort of a queued document removes it without touching the one running', async () => {
    const p = freshPool({ size: 1 });
    const controller = new AbortController();
    const first = p.run(ordinaryMarkdown.slice(), 'markdown', CHUNKS);
    const queued = p.run(utf8('never runs'), 'text', CHUNKS, { signal: controller.signal });
    controller.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    expect(JSON.stringify(await first)).toBe(JSON.stringify(await direct(ordinaryMarkdown, 'markdown')));
  });

  it('an already aborted signal rejects without starting anything', async () => {
    const p = freshPool({ size: 1 });
    await expect(p.run(utf8('x'), 'text', CHUNKS, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(p.threads).toBe(0);
  });

  it('closing the pool rejects documents in flight and queued', async () => {
    const p = freshPool({ size: 1, limits: { maxHtmlDepth: 1e9 } });
    const running = p.run(stuck(), 'html', CHUNKS);
    const queued = p.run(utf8('queued'), 'text', CHUNKS);
    const rejected = [expect(running).rejects.toThrow(/closed/), expect(queued).rejects.toThrow(/closed/)];
    await p.close();
    await Promise.all(rejected);
    await expect(p.run(utf8('x'), 'text', CHUNKS)).rejects.toThrow(/closed/);
  });

  it('documents beyond the pool size wait for a thread, and all come out right', async () => {
    const p = pool();
    const docs = Array.from({ length: 7 }, (_, i) => utf8(`Document number ${i}. It has a sentence.`));
    const results = await Promise.all(docs.map((d) => p.run(d.slice(), 'text', CHUNKS)));
    results.forEach((r, i) => expect(ok(r).text).toBe(`Document number ${i}. It has a sentence.`));
    expect(p.threads).toBe(2);
  });

  it('resizing down retires idle threads', async () => {
    const p = freshPool({ size: 3 });
    p.warm();
    expect(p.threads).toBe(3);
    p.configure({ size: 1 });
    expect(p.threads).toBe(1);
    expect(ok(await p.run(utf8('one thread'), 'text', CHUNKS)).text).toBe('one thread');
  });
});

describe('starting worker threads under tsx', () => {
  it("drops tsx's own hooks from the flags a thread inherits, and nothing else", () => {
    expect(
      withoutTsxHooks([
        '--require',
        '/x/node_modules/tsx/dist/preflight.cjs',
        '--import',
        'file:///x/node_modules/tsx/dist/loader.mjs',
        '--enable-source-maps',
        '--import=tsx',
        '--conditions=dev',
        '-r',
        './setup.cjs',
      ]),
    ).toEqual(['--enable-source-maps', '--conditions=dev', '-r', './setup.cjs']);
  });
});

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractText, kindFromPath, normalizeText } from '../activities/extract/index.js';
import type { ExtractResult } from '../activities/types.js';
import { brokenPdf, encryptedPdf, makePdf } from './helpers/pdf.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: (number[] | Uint8Array)[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

function utf16(s: string, order: 'le' | 'be'): Uint8Array {
  const out: number[] = order === 'le' ? [0xff, 0xfe] : [0xfe, 0xff];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (order === 'le') out.push(c & 0xff, c >> 8);
    else out.push(c >> 8, c & 0xff);
  }
  return Uint8Array.from(out);
}

/** Narrows to the success case, failing the test with the reason otherwise. */
function ok(r: ExtractResult): Extract<ExtractResult, { ok: true }> {
  if (!r.ok) expect.fail(`expected ok, got ${r.reason}: ${r.detail}`);
  return r;
}

/** Properties every successful extraction must have, whatever the input. */
function expectSane(r: ExtractResult): void {
  const { text, headings } = ok(r);
  expect(text.length).toBeGreaterThan(0);
  expect(normalizeText(text)).toBe(text); // already in canonical form
  expect(text).not.toMatch(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\r]/);
  expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  expect(text).not.toMatch(/\n{3,}/);
  let previousEnd = 0;
  for (const h of headings) {
    expect(text.slice(h.start, h.end)).toBe(h.text);
    expect(h.start).toBeGreaterThanOrEqual(previousEnd);
    expect(h.level).toBeGreaterThanOrEqual(1);
    expect(h.level).toBeLessThanOrEqual(6);
    // Each heading is its own paragraph.
    expect(h.start === 0 || text.slice(h.start - 2, h.start) === '\n\n').toBe(true);
    expect(h.end === text.length || text.slice(h.end, h.end + 2) === '\n\n').toBe(true);
    previousEnd = h.end;
  }
}

describe('kindFromPath', () => {
  it.each([
    ['notes.txt', 'text'],
    ['a/b/NOTES.TXT', 'text'],
    ['doc.rst', 'text'],
    ['server.log', 'text'],
    ['LICENSE', 'text'],
    ['dir.v2/COPYING', 'text'],
    ['README.md', 'markdown'],
    ['x.Markdown', 'markdown'],
    ['page.mdx', 'markdown'],
    ['index.HTML', 'html'],
    ['old.htm', 'html'],
    ['a.xhtml', 'html'],
    ['paper.PDF', 'pdf'],
    ['image.png', 'other'],
    ['archive.tar.gz', 'other'],
    ['.bashrc', 'other'],
    ['/usr/share/common-licenses/Apache-2.0', 'text'],
    ['LGPL-2.1', 'text'],
    ['C:\\docs\\file.md', 'markdown'],
  ])('%s → %s', (path, kind) => {
    expect(kindFromPath(path)).toBe(kind);
  });
});

describe('decoding', () => {
  it('strips a UTF-8 BOM and normalizes CRLF', async () => {
    const r = ok(await extractText(concat([0xef, 0xbb, 0xbf], utf8('Hello\r\nworld\r\n\r\n\r\n\r\nNext\rline\r\n')), 'text'));
    expect(r.text).toBe('Hello\nworld\n\nNext\nline');
  });

  it('decodes UTF-16 LE and BE with a BOM', async () => {
    const s = 'Héllo wörld\r\nLine 2 — ✓ 😀';
    for (const order of ['le', 'be'] as const) {
      const r = ok(await extractText(utf16(s, order), 'text'));
      expect(r.text).toBe('Héllo wörld\nLine 2 — ✓ 😀');
    }
  });

  it('reads UTF-16 with an odd byte count, dropping the last byte with a warning', async () => {
    const r = await extractText(concat([0xff, 0xfe, 0x41, 0x00, 0x42]), 'text');
    expect(r).toMatchObject({ ok: true, text: 'A', encoding: 'utf-16le' });
    expect(r.ok && r.warnings).toEqual(['UTF-16LE: odd number of bytes: the last byte was dropped']);
  });

  it('reads mostly-valid UTF-8 with the bad sequences replaced, and says where the first one was', async () => {
    const r = await extractText(concat(utf8('hello wörld '), [0xc3, 0x28], utf8(' more')), 'text');
    expect(r).toEqual({
      ok: true, text: 'hello wörld \uFFFD( more', headings: [], encoding: 'utf-8',
      warnings: ['1 invalid UTF-8 sequence replaced with U+FFFD (first at byte 13)'],
    });
  });

  it('decodes legacy single-byte text (cp1252) instead of refusing it', async () => {
    const cases: [number[], string, number][] = [
      [[0x63, 0x61, 0x66, 0xe9], 'café', 3],
      [[0x61, 0x62, 0xed, 0xa0, 0x80], 'abí\u00a0€', 2],
    ];
    for (const [bytes, text, at] of cases) {
      const res = await extractText(Uint8Array.from(bytes), 'markdown');
      expect(res).toMatchObject({ ok: true, text, encoding: 'windows-1252', warnings: [`not UTF-8 (first invalid byte at ${at}): decoded as windows-1252`] });
    }
  });

  it('counts the BOM in the reported offset (it is a file offset)', async () => {
    const r = await extractText(concat([0xef, 0xbb, 0xbf], utf8('ab'), [0xff]), 'text');
    expect(r).toMatchObject({ ok: true, text: 'ab\uFFFD', warnings: ['1 invalid UTF-8 sequence replaced with U+FFFD (first at byte 5)'] });
  });

  it('rejects binary files: PNG header, NUL bytes, mostly control characters', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);
    const r = await extractText(png, 'text');
    expect(r).toMatchObject({ ok: false, reason: 'binary' });
    expect(!r.ok && r.detail).toMatch(/NUL bytes \(binary\)/);

    expect(await extractText(concat(utf8('text'), [0], utf8('more')), 'html')).toMatchObject({ reason: 'binary' });
    const controls = concat(utf8('abcdefgh'), [1, 2, 3, 4, 5, 6, 7, 8, 0x0e, 0x0f]);
    const c = await extractText(controls, 'text');
    expect(c).toMatchObject({ ok: false, reason: 'binary' });
    expect(!c.ok && c.detail).toMatch(/control characters/);
  });

  it('fails empty and whitespace-only files', async () => {
    expect(await extractText(new Uint8Array(0), 'text')).toEqual({
      ok: false,
      reason: 'empty',
      detail: 'file is empty (0 bytes)',
    });
    expect(await extractText(new Uint8Array(0), 'pdf')).toMatchObject({ reason: 'empty' });
    for (const kind of ['text', 'markdown', 'html'] as const) {
      expect(await extractText(utf8(' \n\t \r\n \u00a0 \n'), kind)).toMatchObject({ ok: false, reason: 'empty' });
    }
    // Only markup, or only front matter, is empty too.
    expect(await extractText(utf8('<html><script>x()</script><p> </p></html>'), 'html')).toMatchObject({ reason: 'empty' });
    expect(await extractText(utf8('---\ntitle: x\n---\n'), 'markdown')).toMatchObject({ reason: 'empty' });
  });

  it('refuses unsupported types without reading them', async () => {
    expect(await extractText(utf8('hello'), 'other')).toMatchObject({ ok: false, reason: 'unsupported_type' });
  });
});

describe('normalization', () => {
  it('applies NFC, removes controls, expands tabs, trims lines and collapses blank lines', async () => {
    const input = '  \n\nCafe\u0301 \u0007ok\u0000\t\n\ta\tb  \n\n\n\n\nend\u000C page\u2028two   \n\n';
    expect(normalizeText(input)).toBe('Café ok\n    a   b\n\nend\n\n page\ntwo');
    const r = ok(await extractText(utf8('Cafe\u0301\u0085x \u009b\u200b'), 'text'));
    expect(r.text).toBe('Café\nx \u200b'); // zero-width space is not a control character
  });

  it('never produces lone surrogates', () => {
    expect(normalizeText('a\uD800b\uDC00c😀')).toBe('a\uFFFDb\uFFFDc😀');
  });

  it('is idempotent', () => {
    const samples = ['a\r\n\r\n\r\nb\t c  ', '\u00a0x\u00a0\n\n\n\u0301y', 'e\u0007\u0301'];
    for (const s of samples) expect(normalizeText(normalizeText(s))).toBe(normalizeText(s));
  });
});

describe('plain text', () => {
  const license = [
    '                                 Apache License',
    '                           Version 2.0, January 2004',
    '',
    '   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION',
    '',
    '   1. Definitions.',
    '',
    '      "License" shall mean the terms and conditions for use, reproduction,',
    '      and distribution as defined by Sections 1 through 9 of this document.',
    '',
    '   2. Grant of Copyright License. Subject to the terms and conditions of',
    '      this License, each Contributor hereby grants to You a perpetual.',
    '',
    '   2.1 Scope of the Grant',
    '',
    '   Section 3',
    '',
    '   1. Download the file and unpack it.',
    '',
    '   100 Main Street',
    '',
    '   ALL RIGHTS RESERVED.',
    '',
    '   MAX_SIZE=100',
    '',
    '   END OF TERMS AND CONDITIONS',
    '',
  ].join('\n');

  it('finds ALL CAPS and numbered headings, conservatively', async () => {
    const r = ok(await extractText(utf8(license), 'text'));
    expectSane(r);
    expect(r.headings.map((h) => [h.level, h.text])).toEqual([
      [1, 'TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION'],
      [2, '1. Definitions.'],
      [3, '2.1 Scope of the Grant'],
      [2, 'Section 3'],
      [1, 'END OF TERMS AND CONDITIONS'],
    ]);
    expect(r.text.startsWith('Apache License\n')).toBe(true);
    // Body text keeps its indentation and its words.
    expect(r.text).toContain('\n\n      "License" shall mean');
    expect(r.text).toContain('2. Grant of Copyright License. Subject to');
  });

  it('detects setext headings and drops their underline', async () => {
    const src = 'Project Title\n=============\nIntro text.\n\nUsage\n-----\n\nRun it.\n\n=======\nRST Title\n=======\n\nA sentence that ends with a period.\n---\n';
    const r = ok(await extractText(utf8(src), 'text'));
    expectSane(r);
    expect(r.text).toBe('Project Title\n\nIntro text.\n\nUsage\n\nRun it.\n\nRST Title\n\nA sentence that ends with a period.\n---');
    expect(r.headings.map((h) => [h.level, h.text])).toEqual([
      [1, 'Project Title'],
      [2, 'Usage'],
      [1, 'RST Title'],
    ]);
  });
});

describe('markdown', () => {
  const md = [
    '---',
    'title: Secret front matter',
    'tags: [a, b]',
    '---',
    '',
    '# Main *Title*',
    '',
    'Some **bold** text with a [link](https://example.com/page) and ![alt text](img.png) and `inline code`.',
    '',
    '## Table & Things',
    '',
    '| Name | Value |',
    '|------|------:|',
    '| alpha | 1 |',
    '| beta | 2 |',
    '',
    '- item one',
    '- item [two](http://example.org)',
    '',
    '```js',
    'function f() {',
    '\treturn "**not bold**";',
    '}',
    '```',
    '',
    '> quoted text',
    '',
    'Setext Heading',
    '--------------',
    '',
    'The end.',
  ].join('\n');

  it('removes markup, keeps code, tables, lists and headings with exact offsets', async () => {
    const r = ok(await extractText(utf8(md), 'markdown'));
    expectSane(r);
    const { text } = r;
    expect(text).not.toContain('Secret front matter');
    expect(text).not.toContain('title:');
    expect(text).not.toMatch(/^#/m);
    expect(text).not.toContain('](');
    expect(text).not.toContain('example.com');
    expect(text).not.toContain('img.png');
    expect(text.replace('"**not bold**"', '')).not.toContain('**');
    expect(text).toContain('Some bold text with a link and');
    expect(text).toContain('inline code');
    expect(text).toContain('Name | Value\nalpha | 1\nbeta | 2');
    expect(text).toContain('- item one\n- item two');
    expect(text).toContain('function f() {\n    return "**not bold**";\n}'); // code verbatim, tab expanded
    expect(text).toContain('quoted text');
    expect(text).not.toContain('>');
    expect(text.startsWith('Main Title\n\n')).toBe(true);
    expect(r.headings.map((h) => [h.level, h.text])).toEqual([
      [1, 'Main Title'],
      [2, 'Table & Things'],
      [2, 'Setext Heading'],
    ]);
    expect(r.headings[0]).toEqual({ text: 'Main Title', level: 1, start: 0, end: 10 });
  });

  it('treats a leading --- rule without metadata as content, not front matter', async () => {
    const r = ok(await extractText(utf8('---\nJust text\n---\nMore'), 'markdown'));
    expect(r.text).toContain('Just text');
  });

  it('drops raw HTML scripts embedded in markdown', async () => {
    const r = ok(await extractText(utf8('Hello\n\n<script>alert("x")</script>\n\n<div>raw html</div>\n'), 'markdown'));
    expect(r.text).toBe('Hello\n\nraw html');
  });
});

describe('html', () => {
  const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Doc title</title>
    <style>body { color: red }</style></head>
    <body><nav><a href="/">Home</a> | <a href="/about">About</a></nav>
    <h1>Fish &amp; Chips</h1>
    <p>Tom &amp; Jerry &lt;3 caf&eacute; <a href="https://example.com">read more</a> <img src="x.png" alt="pic"></p>
    <script>var x = "<p>not text</p>";</script>
    <h2 id="a">Second <em>level</em><br>heading</h2>
    <table><thead><tr><th>Col A</th><th>Col B</th></tr></thead>
      <tbody><tr><td>1</td><td><p>two</p></td></tr></tbody></table>
    <ul><li>one</li><li>two</li></ul>
    <pre>  keep
    indentation</pre>
    <h3> </h3>
    <dl><dt>Term</dt><dd>Definition</dd></dl>
    </body></html>`;

  it('drops script/style/nav, decodes entities, keeps heading case and offsets', async () => {
    const r = ok(await extractText(utf8(html), 'html'));
    expectSane(r);
    const { text } = r;
    expect(text).not.toMatch(/Home|About|color: red|not text|Doc title|example\.com|x\.png/);
    expect(text.startsWith('Fish & Chips\n\nTom & Jerry <3 café read more')).toBe(true);
    expect(text).toContain('Col A | Col B\n1 | two');
    expect(text).toContain('- one\n- two');
    expect(text).toContain('  keep\n    indentation');
    expect(text).toContain('Term\nDefinition');
    expect(r.headings.map((h) => [h.level, h.text])).toEqual([
      [1, 'Fish & Chips'],
      [2, 'Second level heading'],
    ]);
  });

  it('cannot be fooled into fake headings by surrogate entities; keeps astral characters', async () => {
    const src = '<p>a &#xDBFF;1 b &#xDC00; c &#55296;</p><h2>Linear B \u{10000} &#x10000; \u{1F600}</h2>';
    const r = ok(await extractText(utf8(src), 'html'));
    expectSane(r);
    expect(r.text).toBe('a \uFFFD1 b \uFFFD c \uFFFD\n\nLinear B \u{10000} \u{10000} \u{1F600}');
    expect(r.headings).toEqual([{ text: 'Linear B \u{10000} \u{10000} \u{1F600}', level: 2, start: 14, end: 31 }]);
  });

  it('handles headings nested in headings (invalid HTML) without leaking markers', async () => {
    const r = ok(await extractText(utf8('<h1>Outer <h2>Inner</h2> tail</h1><p>x</p>'), 'html'));
    expectSane(r);
    expect(r.headings.map((h) => h.text)).toEqual(['Inner']);
    expect(r.text).toContain('Outer');
    expect(r.text).toContain('tail');
  });
});

describe('pdf', () => {
  it('extracts two pages in order, separated by a blank line', async () => {
    const bytes = makePdf([
      ['First page, line one', 'Line two (with parens) and a backslash \\ café'],
      ['Second page text'],
    ]);
    const r = ok(await extractText(bytes, 'pdf'));
    expectSane(r);
    // Lines of a page are joined into a paragraph; pages stay apart.
    expect(r.text).toBe('First page, line one Line two (with parens) and a backslash \\ café\n\nSecond page text');
    expect(r.headings).toEqual([]);
    // pdfjs detaches the buffer it is given; ours must hand it a copy.
    expect(bytes.length).toBeGreaterThan(0);
    expect(String.fromCharCode(...bytes.subarray(0, 5))).toBe('%PDF-');
  });

  it('reports a broken PDF as pdf_broken with the parser message', async () => {
    const r = await extractText(brokenPdf(), 'pdf');
    expect(r).toMatchObject({ ok: false, reason: 'pdf_broken' });
    expect(!r.ok && r.detail).toMatch(/^PDF could not be parsed: \S/);
  });

  it('reports an encrypted PDF as pdf_broken', async () => {
    const r = await extractText(encryptedPdf(), 'pdf');
    expect(r).toMatchObject({ ok: false, reason: 'pdf_broken' });
    expect(!r.ok && r.detail).toMatch(/password/i);
  });

  it('reports a PDF without text as no_text', async () => {
    expect(await extractText(makePdf([[], []]), 'pdf')).toEqual({
      ok: false,
      reason: 'no_text',
      detail: 'no text after extraction (scanned PDF?): 2 pages',
    });
  });

  it('handles concurrent extractions and is deterministic', async () => {
    const docs = [0, 1, 2, 3].map((i) => makePdf([[`Document ${i}`], [`Page two of ${i}`]]));
    const first = await Promise.all(docs.map((d) => extractText(d, 'pdf')));
    const second = await Promise.all(docs.map((d) => extractText(d, 'pdf')));
    expect(second).toEqual(first);
    first.forEach((r, i) => expect(ok(r).text).toBe(`Document ${i}\n\nPage two of ${i}`));
  });
});

describe('files on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'extract-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('extracts real files written to a temp dir, by kind from path', async () => {
    const files: Record<string, Uint8Array> = {
      'LICENSE': utf8('MIT License\n\nPERMISSION NOTICE\n\nPermission is hereby granted.\n'),
      'notes.md': utf8('# Notes\n\nBody.\n'),
      'page.html': utf8('<h1>Page</h1><p>Body.</p>'),
      'doc.pdf': makePdf([['PDF body.']]),
      'pic.png': Uint8Array.from([0x89, 0x50, 0x4e, 0x47]),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    const results = Object.fromEntries(
      await Promise.all(
        Object.keys(files).map(async (name) => [name, await extractText(readFileSync(join(dir, name)), kindFromPath(name))] as const),
      ),
    );
    expect(ok(results['LICENSE']!).headings.map((h) => h.text)).toEqual(['PERMISSION NOTICE']);
    expect(ok(results['notes.md']!).text).toBe('Notes\n\nBody.');
    expect(ok(results['page.html']!).text).toBe('Page\n\nBody.');
    expect(ok(results['doc.pdf']!).text).toBe('PDF body.');
    expect(results['pic.png']).toMatchObject({ ok: false, reason: 'unsupported_type' });
  });
});

describe('real files on this machine (skipped when absent)', () => {
  const pick = (dir: string, re: RegExp, n: number): string[] => {
    try {
      return readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => re.test(f))
        .sort()
        .slice(0, n)
        .map((f) => join(dir, f));
    } catch {
      return [];
    }
  };
  const nm = join(import.meta.dirname, '..', 'node_modules');
  const candidates = [
    '/usr/share/common-licenses/Apache-2.0',
    '/usr/share/common-licenses/GPL-3',
    '/usr/share/common-licenses/MPL-2.0',
    ...['commander', 'marked', 'zod', 'html-to-text', 'vitest'].map((p) => join(nm, p, 'README.md')),
    join(nm, 'commander', 'Readme.md'),
    ...pick('/usr/share/doc', /\.html?$/, 5),
    ...pick('/usr/share/doc', /\.pdf$/, 2),
  ].filter((f, i, all) => existsSync(f) && all.indexOf(f) === i);

  it.skipIf(candidates.length === 0).each(candidates)('%s', async (file) => {
    const bytes = readFileSync(file);
    const r = await extractText(bytes, kindFromPath(file));
    expectSane(r);
    // Same bytes, same output.
    expect(await extractText(bytes, kindFromPath(file))).toEqual(r);
  });

  it.skipIf(!existsSync('/usr/share/common-licenses/Apache-2.0'))('finds the Apache-2.0 section headings', async () => {
    const r = ok(await extractText(readFileSync('/usr/share/common-licenses/Apache-2.0'), 'text'));
    expect(r.headings.map((h) => h.text)).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(r.headings.map((h) => h.text)).toContain('1. Definitions.');
  });
});

/**
 * Issue #11: what comes out of extraction for web pages with chrome, laid-out PDFs, legacy and
 * wide encodings, office formats and MyST Markdown. Fixtures are made here (test/helpers).
 */
import { describe, expect, it } from 'vitest';
import { type Extraction, extractText, kindFromPath, repeatedBlocks } from '../activities/extract/index.js';
import { makeDocx, makeEpub, sphinxPage } from './helpers/documents.js';
import { makeLayoutPdf } from './helpers/pdf.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

function ok(r: Extraction): Extract<Extraction, { ok: true }> {
  if (!r.ok) expect.fail(`expected ok, got ${r.reason}: ${r.detail}`);
  for (const h of r.headings) expect(r.text.slice(h.start, h.end)).toBe(h.text);
  return r;
}

describe('HTML: the main content, not the page chrome', () => {
  it('a Sphinx page keeps its headings, list, table and code, and loses nav, sidebar, footer and permalinks', async () => {
    const r = ok(await extractText(utf8(sphinxPage()), 'html'));
    expect(r.text).toBe(
      [
        'Configuration',
        'pip reads its settings from configuration files, environment variables and the command line, in that order of precedence.',
        'Config file',
        'The file is named pip.conf on Unix and pip.ini on Windows.',
        '- Global: applies to every user.',
        '- User: applies to one user.',
        'Scope | Path\nglobal | /etc/pip.conf\nuser | ~/.config/pip/pip.conf',
        '[global]\ntimeout = 60',
      ].join('\n\n'),
    );
    expect(r.headings.map((h) => [h.level, h.text])).toEqual([
      [1, 'Configuration'],
      [2, 'Config file'],
    ]);
    expect(r.encoding).toBe('utf-8');
  });

  it('falls back to the declared main region when Readability finds too little', async () => {
    const html =
      '<html><body><nav><a href="/">Home</a></nav><main><h1>Short</h1><p>One line.</p></main>' +
      '<footer>© 2024 Example</footer></body></html>';
    const r = ok(await extractText(utf8(html), 'html'));
    expect(r.text).toBe('Short\n\nOne line.');
  });

  it('keeps an index page that is a list of links, not the footer Readability prefers to it', async () => {
    // Python's faq/index.html: the main region is a toctree; the footer has more prose.
    const html =
      '<html><body><div class="related" role="navigation"><a href="genindex.html">index</a></div>' +
      '<div class="body" role="main"><h1>Python Frequently Asked Questions</h1><ul>' +
      '<li><a href="general.html">General Python FAQ</a></li><li><a href="programming.html">Programming FAQ</a></li></ul></div>' +
      '<div class="footer">© Copyright 2001-2026, Python Software Foundation.<br>This page is licensed under the Python Software ' +
      'Foundation License Version 2. Examples, recipes, and other code in the documentation are additionally licensed under the ' +
      'Zero Clause BSD License. See History and License for more information.<br>The Python Software Foundation is a non-profit ' +
      'corporation. Please donate.</div></body></html>';
    const r = ok(await extractText(utf8(html), 'html'));
    expect(r.text).toBe('Python Frequently Asked Questions\n\n- General Python FAQ\n- Programming FAQ');
  });

  it("drops mdBook's keyboard-help popup and hidden elements", async () => {
    // The Rust book (mdBook 0.4): the popup opens the body, before the sidebar and <main>.
    const html =
      '<html><body><div id="mdbook-help-container"><div id="mdbook-help-popup"><h2 class="mdbook-help-title">Keyboard shortcuts</h2>' +
      '<div><p>Press <kbd>←</kbd> or <kbd>→</kbd> to navigate between chapters</p><p>Press <kbd>?</kbd> to show this help</p></div></div></div>' +
      '<nav id="mdbook-sidebar" class="sidebar"><ol><li><a href="ch01.html">Getting Started</a></li></ol></nav>' +
      '<div id="mdbook-content" class="content"><main><h1>Data Types</h1><p hidden>Loading…</p>' +
      '<p>Every value in Rust is of a certain data type, which tells Rust what kind of data is being specified so that it knows how to work with that data.</p>' +
      '<p>Keep in mind that Rust is a statically typed language, which means that it must know the types of all variables at compile time.</p></main></div>' +
      '</body></html>';
    const r = ok(await extractText(utf8(html), 'html'));
    expect(r.text).toMatch(/^Data Types\n\nEvery value in Rust/);
    expect(r.text).not.toMatch(/Keyboard shortcuts|Press|Loading/);
  });

  it("drops Texinfo's node navigation above every node of a one-page manual", async () => {
    // As makeinfo --html writes bashref.html (Texinfo 6: div.header; Texinfo 7: div.nav-panel).
    const nav = (next: string, up: string, cls: string) =>
      `<div class="${cls}"><p>Next: <a href="#${next}" accesskey="n" rel="next">${next}</a>, Up: <a href="#${up}" accesskey="u" rel="up">${up}</a> &nbsp; ` +
      '[<a href="#SEC_Contents" rel="contents">Contents</a>][<a href="#Indexes" rel="index">Index</a>]</p></div>';
    const html =
      `<html><body>${nav('Definitions', 'Top', 'header')}<h2 class="chapter">1 Introduction</h2><p>Bash is the shell.</p>` +
      `${nav('Quoting', 'Introduction', 'nav-panel')}<h3 class="section">1.1 Definitions</h3><p>A blank is a space or tab.</p>` +
      '<div class="header"><p> &nbsp; [<a href="#SEC_Contents" rel="contents">Contents</a>][<a href="#Indexes" rel="index">Index</a>]</p></div>' +
      '<div class="header"><p>A header that is not navigation stays.</p></div></body></html>';
    const r = ok(await extractText(utf8(html), 'html'));
    expect(r.text).toBe('1 Introduction\n\nBash is the shell.\n\n1.1 Definitions\n\nA blank is a space or tab.\n\nA header that is not navigation stays.');
  });

  it('removes permalink marks and skip links even on a page without chrome', async () => {
    const html = '<a href="#main">Skip to content</a><h2 id="x">Install<a href="#x">¶</a></h2><p>Run it.</p>';
    const r = ok(await extractText(utf8(html), 'html'));
    expect(r.text).toBe('Install\n\nRun it.');
    expect(r.headings).toEqual([{ text: 'Install', level: 2, start: 0, end: 7 }]);
  });
});

describe('PDF layout', () => {
  const pdf = makeLayoutPdf(
    [
      [
        { text: 'Tidal Energy', size: 20 },
        { text: 'Tides are driven by the gravitational pull of the moon and the', gapBefore: 6 },
        { text: 'sun. The resulting currents are a well-known and predict-' },
        { text: 'able source of energy for coastal communities around the' },
        { text: 'world, unlike wind.' },
        { text: 'Turbines', size: 15, gapBefore: 8 },
        { text: 'A turbine sits on the sea floor. Its design is well-', gapBefore: 4 },
        { text: 'known to engineers; the predictable output helps operators.' },
      ],
      [
        { text: 'Maintenance is the main cost of a tidal plant, and salt water' },
        { text: 'corrodes every exposed part of the machin-' },
        { text: 'ery over the years.' },
        { text: 'Steps:', gapBefore: 10 },
        { text: '1. Inspect the blades.' },
        { text: '2. Replace the seals.' },
      ],
      [{ text: 'Costs fall as the fleet grows.' }],
    ],
    { header: () => 'Renewable Energy Review 2024', footer: (n) => `Page ${n} of 3` },
  );

  it('drops running headers and page numbers, joins paragraphs and hyphenated words, keeps compounds and headings', async () => {
    const r = ok(await extractText(pdf, 'pdf'));
    const page1 =
      'Tidal Energy\n\n' +
      'Tides are driven by the gravitational pull of the moon and the sun. The resulting currents are a well-known and ' +
      'predictable source of energy for coastal communities around the world, unlike wind.\n\n' +
      'Turbines\n\n' +
      'A turbine sits on the sea floor. Its design is well-known to engineers; the predictable output helps operators.';
    const page2 =
      'Maintenance is the main cost of a tidal plant, and salt water corrodes every exposed part of the machinery over the years.\n\n' +
      'Steps:\n1. Inspect the blades.\n2. Replace the seals.';
    const page3 = 'Costs fall as the fleet grows.';
    expect(r.text).toBe(`${page1}\n\n${page2}\n\n${page3}`);
    expect(r.headings.map((h) => [h.level, h.text])).toEqual([
      [1, 'Tidal Energy'],
      [2, 'Turbines'],
    ]);
    expect(r.pages).toEqual([0, page1.length + 2, page1.length + 2 + page2.length + 2]);
    expect([...r.text].slice(r.pages![1]!, r.pages![1]! + 11).join('')).toBe('Maintenance');
  });
});

describe('encodings', () => {
  it('reads windows-1252 (curly quotes, é, €) instead of refusing it', async () => {
    const bytes = Uint8Array.from(Buffer.from('\x93Caf\xe9 cr\xe8me\x94 costs 5 \x80 \x96 a note written on Windows.\n', 'latin1'));
    const r = ok(await extractText(bytes, 'text'));
    expect(r.text).toBe('“Café crème” costs 5 € – a note written on Windows.');
    expect(r.encoding).toBe('windows-1252');
    expect(r.warnings).toEqual(['not UTF-8 (first invalid byte at 0): decoded as windows-1252']);
  });

  it('reads UTF-16 without a BOM, both byte orders', async () => {
    const s = 'Grüße aus Köln: a UTF-16 file saved without a byte order mark.';
    const le = Uint8Array.from(Buffer.from(s, 'utf16le'));
    const be = Uint8Array.from(Buffer.from(s, 'utf16le').swap16());
    const a = ok(await extractText(le, 'text'));
    expect([a.text, a.encoding]).toEqual([s, 'utf-16le']);
    const b = ok(await extractText(be, 'markdown'));
    expect([b.text, b.encoding]).toEqual([s, 'utf-16be']);
    expect(b.warnings).toEqual(['no byte order mark: detected as UTF-16BE']);
  });

  it('reads UTF-32 with a BOM', async () => {
    const s = 'Wide text ✓';
    const bytes = new Uint8Array(4 + [...s].length * 4);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, 0xfeff, true);
    [...s].forEach((ch, i) => view.setUint32(4 + i * 4, ch.codePointAt(0)!, true));
    const r = ok(await extractText(bytes, 'text'));
    expect([r.text, r.encoding]).toEqual([s, 'utf-32le']);
  });

  it('replaces one bad byte in UTF-8 text with U+FFFD and says so', async () => {
    const bytes = Uint8Array.from([...utf8('naïve café '), 0xff, ...utf8(' déjà vu')]);
    const r = ok(await extractText(bytes, 'text'));
    expect(r.text).toBe('naïve café \uFFFD déjà vu');
    expect(r.encoding).toBe('utf-8');
    expect(r.warnings).toEqual(['1 invalid UTF-8 sequence replaced with U+FFFD (first at byte 13)']);
  });

  it('still refuses binary content', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 1, 2, 3, 0xff, 0xfe]);
    expect(await extractText(png, 'text')).toMatchObject({ ok: false, reason: 'binary' });
    const controls = Uint8Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 0x01 : 0x41 + (i % 26)));
    expect(await extractText(controls, 'text')).toMatchObject({ ok: false, reason: 'binary' });
  });
});

describe('office formats and e-books', () => {
  it('maps .docx, .epub, .pptx to their kinds', () => {
    expect([kindFromPath('a/Report.DOCX'), kindFromPath('book.epub'), kindFromPath('slides.pptx')]).toEqual(['docx', 'epub', 'pptx']);
  });

  it('reads a .docx: headings from styles, paragraphs as text', async () => {
    const docx = makeDocx([
      { style: 'Heading1', text: 'Quarterly Report' },
      { text: 'Revenue grew by 12% in the third quarter.' },
      { style: 'Heading2', text: 'Outlook' },
      { text: 'We expect growth to continue.' },
    ]);
    const r = ok(await extractText(docx, 'docx'));
    expect(r.text).toBe('Quarterly Report\n\nRevenue grew by 12% in the third quarter.\n\nOutlook\n\nWe expect growth to continue.');
    expect(r.headings.map((h) => [h.level, h.text])).toEqual([
      [1, 'Quarterly Report'],
      [2, 'Outlook'],
    ]);
  });

  it('an unreadable or encrypted office file is a clear error', async () => {
    expect(await extractText(utf8('this is not a zip file at all'), 'docx')).toEqual({
      ok: false,
      reason: 'unreadable',
      detail: 'not a Word (.docx) file: it is not a zip archive',
    });
    // What Office writes for a password-protected .docx: an OLE compound file with an EncryptedPackage stream.
    const ole = new Uint8Array(1024);
    ole.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    ole.set(Buffer.from('EncryptedPackage', 'utf16le'), 512);
    expect(await extractText(ole, 'docx')).toEqual({ ok: false, reason: 'encrypted', detail: 'Word (.docx) file is encrypted (password-protected)' });
  });

  it('reads an .epub in spine order, with the chapter titles from the navigation document', async () => {
    const epub = makeEpub([
      { title: 'Chapter One: Departure', body: '<p>The ship left at dawn.</p>' },
      { title: 'Chapter Two', body: '<h1>Chapter Two</h1><p>The storm came at night.</p><p>All hands were on deck.</p>' },
    ]);
    const r = ok(await extractText(epub, 'epub'));
    expect(r.text).toBe('Chapter One: Departure\n\nThe ship left at dawn.\n\nChapter Two\n\nThe storm came at night.\n\nAll hands were on deck.');
    expect(r.headings.map((h) => [h.level, h.text])).toEqual([
      [1, 'Chapter One: Departure'],
      [1, 'Chapter Two'],
    ]);
  });
});

describe('MyST Markdown', () => {
  it('roles become their text, directives their content', async () => {
    const md = [
      '# Configuration',
      '',
      'See {doc}`../cli/pip_config` and {ref}`the install guide <install-guide>`; {py:func}`~pip.main.run` starts it.',
      '',
      '```{note}',
      'Files are read **first**.',
      '```',
      '',
      ':::{admonition} Careful',
      ':class: warning',
      'Do not {term}`break <Breakage>` things.',
      ':::',
      '',
      '```{code-block} ini',
      ':linenos:',
      '[global]',
      '```',
      '',
      '```{toctree}',
      ':maxdepth: 2',
      'intro',
      '```',
      '',
      'Literal `{doc}` stays, and so does this:',
      '',
      '```',
      '{doc}`x`',
      '```',
      '',
      '<div class="aside"><p>Inline <b>HTML</b> is read too.</p></div>',
    ].join('\n');
    const r = ok(await extractText(utf8(md), 'markdown'));
    expect(r.text).toBe(
      [
        'Configuration',
        'See ../cli/pip_config and the install guide; run starts it.',
        'Note',
        'Files are read first.',
        'Careful',
        'Do not break things.',
        '[global]',
        'Literal {doc} stays, and so does this:',
        '{doc}`x`',
        'Inline HTML is read too.',
      ].join('\n\n'),
    );
  });

  it('leaves Markdown without MyST syntax alone', async () => {
    const md = '# Title\n\nA {curly} brace, `code {x}` and a set {a, b}.\n';
    expect(ok(await extractText(utf8(md), 'markdown')).text).toBe('Title\n\nA {curly} brace, code {x} and a set {a, b}.');
  });
});

describe('repeatedBlocks', () => {
  it('finds blocks in most documents, digits and case aside, deterministically', () => {
    const docs = [
      'Intro one.\n\n© Copyright 2008-2024, PyPA.',
      'Another page.\n\n© copyright 2008-2023, PyPA.',
      'Third page here.\n\n© Copyright 2008-2024, PyPA.',
      'Unrelated content only.',
    ];
    expect(repeatedBlocks(docs)).toEqual(['© copyright 0-0, pypa.']);
    expect(repeatedBlocks([...docs].reverse())).toEqual(repeatedBlocks(docs));
  });
});

/**
 * Fixtures for the text-cleaning tests, made in code: a Sphinx-like HTML page with its chrome,
 * and minimal .docx and .epub files (zip archives written with fflate, stored uncompressed so
 * the bytes are easy to reason about).
 */
import { strToU8, zipSync } from 'fflate';

/** A page shaped like Sphinx's classic/alabaster output: related bar, sidebar, footer, permalinks. */
export function sphinxPage(): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Configuration &#8212; pip 24.0 documentation</title>
<link rel="stylesheet" href="_static/pygments.css"><script src="_static/doctools.js"></script></head>
<body>
<a class="skip-link" href="#main-content">Skip to content</a>
<div class="related" role="navigation" aria-label="related navigation">
  <h3>Navigation</h3>
  <ul><li class="right"><a href="genindex.html" title="General Index">index</a></li>
  <li class="right"><a href="cli.html" title="CLI">next</a> |</li>
  <li class="right"><a href="intro.html" title="Intro">previous</a> |</li>
  <li class="nav-item nav-item-0"><a href="index.html">pip 24.0 documentation</a> &#187;</li></ul>
</div>
<div class="document">
  <div class="documentwrapper"><div class="bodywrapper">
    <div class="body" role="main" id="main-content">
  <section id="configuration">
<h1>Configuration<a class="headerlink" href="#configuration" title="Link to this heading">¶</a></h1>
<p>pip reads its settings from configuration files, environment variables and the command line, in that order of precedence.</p>
<section id="config-file">
<h2>Config file<a class="headerlink" href="#config-file" title="Link to this heading">¶</a></h2>
<p>The file is named <code class="docutils literal notranslate"><span class="pre">pip.conf</span></code> on Unix and <code>pip.ini</code> on Windows.</p>
<ul class="simple">
<li><p>Global: applies to every user.</p></li>
<li><p>User: applies to one user.</p></li>
</ul>
<table class="docutils align-default">
<thead><tr class="row-odd"><th class="head"><p>Scope</p></th><th class="head"><p>Path</p></th></tr></thead>
<tbody><tr class="row-even"><td><p>global</p></td><td><p>/etc/pip.conf</p></td></tr>
<tr class="row-odd"><td><p>user</p></td><td><p>~/.config/pip/pip.conf</p></td></tr></tbody>
</table>
<div class="highlight-ini notranslate"><div class="highlight"><pre><span></span><span class="k">[global]</span>
<span class="na">timeout</span><span class="w"> </span><span class="o">=</span><span class="w"> </span><span class="s">60</span>
</pre></div></div>
</section>
</section>
    </div>
  </div></div>
  <div class="sphinxsidebar" role="navigation" aria-label="main navigation">
    <div class="sphinxsidebarwrapper">
  <div><h3><a href="index.html">Table of Contents</a></h3>
    <ul><li><a class="reference internal" href="#">Configuration</a></li></ul></div>
  <div><h4>Previous topic</h4><p class="topless"><a href="intro.html" title="previous chapter">Introduction</a></p></div>
  <div><h4>Next topic</h4><p class="topless"><a href="cli.html" title="next chapter">Command line</a></p></div>
  <div role="note" aria-label="source link"><h3>This Page</h3>
    <ul class="this-page-menu"><li><a href="_sources/config.rst.txt" rel="nofollow">Show Source</a></li>
    <li><a href="https://github.com/pypa/pip/issues">Report a Bug</a></li></ul></div>
  <div id="searchbox" style="display: none" role="search"><h3 id="searchlabel">Quick search</h3>
    <form class="search" action="search.html" method="get"><input type="text" name="q"><input type="submit" value="Go"></form></div>
    </div>
  </div>
  <div class="clearer"></div>
</div>
<div class="footer" role="contentinfo">&#169; Copyright 2008-2024, PyPA. Created using <a href="https://www.sphinx-doc.org/">Sphinx</a> 7.2.6.</div>
</body></html>`;
}

const enc = (s: string) => strToU8(s);

/** A minimal WordprocessingML package: a Heading1 paragraph, two body paragraphs, a list-less table. */
export function makeDocx(paragraphs: { style?: string; text: string }[]): Uint8Array {
  const body = paragraphs
    .map((p) => {
      const style = p.style ? `<w:pPr><w:pStyle w:val="${p.style}"/></w:pPr>` : '';
      return `<w:p>${style}<w:r><w:t xml:space="preserve">${xml(p.text)}</w:t></w:r></w:p>`;
    })
    .join('');
  return zipSync(
    {
      '[Content_Types].xml': enc(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
          '<Default Extension="xml" ContentType="application/xml"/>' +
          '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>' +
          '</Types>',
      ),
      '_rels/.rels': enc(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
          '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
          '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>' +
          '</Relationships>',
      ),
      'word/document.xml': enc(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
          '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">' +
          `<w:body>${body}</w:body></w:document>`,
      ),
    },
    { level: 0, mtime: new Date('2024-01-01T00:00:00Z') },
  );
}

/** An EPUB 3 with a nav document; `chapters` are listed in the manifest in reverse to check the spine order wins. */
export function makeEpub(chapters: { title: string; body: string }[]): Uint8Array {
  const files: Record<string, Uint8Array> = {
    mimetype: enc('application/epub+zip'),
    'META-INF/container.xml': enc(
      '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">' +
        '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
    ),
  };
  const items = chapters.map((_, i) => `<item id="c${i + 1}" href="text/ch${i + 1}.xhtml" media-type="application/xhtml+xml"/>`);
  files['OEBPS/content.opf'] = enc(
    '<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">' +
      '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">test</dc:identifier><dc:title>Test Book</dc:title></metadata>' +
      `<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>${items.reverse().join('')}</manifest>` +
      `<spine>${chapters.map((_, i) => `<itemref idref="c${i + 1}"/>`).join('')}</spine></package>`,
  );
  files['OEBPS/nav.xhtml'] = enc(
    '<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body>' +
      `<nav epub:type="toc"><ol>${chapters.map((c, i) => `<li><a href="text/ch${i + 1}.xhtml">${xml(c.title)}</a></li>`).join('')}</ol></nav></body></html>`,
  );
  chapters.forEach((c, i) => {
    files[`OEBPS/text/ch${i + 1}.xhtml`] = enc(
      `<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>${xml(c.title)}</title></head><body>${c.body}</body></html>`,
    );
  });
  return zipSync(files, { level: 0, mtime: new Date('2024-01-01T00:00:00Z') });
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

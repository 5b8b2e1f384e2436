/**
 * A fixture corpus written to a temp dir: a few real-looking documents of every supported type,
 * and one of every kind of bad file the tool must report without stopping.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { brokenPdf, makePdf } from './pdf.js';

export const GOOD_DOCS = {
  'guides/install.md': `---
title: Installing Lantern
---
# Installing Lantern

Lantern is a command-line tool that indexes log files for fast search. It runs on Linux and macOS.

## Requirements

Lantern requires the following software:

- Python 3.10 or later
- SQLite 3.35 or later
- About 200 MB of free disk space

## Configuration

The configuration file is a TOML document stored in your home directory. It controls which directories are indexed and how long entries are kept.

Lantern was first released in March 2021. The current stable version is 2.4.

| Option | Default |
| --- | --- |
| retention | 30 days |
`,
  'manual/caching.html': `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>HTTP caching</title>
<style>body { font-family: serif; }</style><script>console.log('ignored');</script></head>
<body><nav><a href="/">Home</a> | <a href="/docs">Docs</a></nav>
<h1>HTTP caching</h1>
<p>An HTTP cache is a store of responses that lets a client reuse an earlier answer instead of asking the server again. Caching reduces latency and network traffic.</p>
<h2>Freshness</h2>
<p>A fresh response is a response whose age has not yet exceeded its freshness lifetime. The <code>Cache-Control</code> header defines that lifetime with the <em>max-age</em> directive.</p>
<p>A stale response is one that is no longer fresh. Caches must validate a stale response with the origin server before they reuse it.</p>
<h2>Validation</h2>
<p>Validation means asking the origin server whether a stored response is still current. The ETag header carries an opaque identifier for one version of a resource &amp; lets the server answer with 304 Not Modified.</p>
</body></html>
`,
  'notes/tides.txt': `TIDES

A tide is the regular rise and fall of the sea level caused by the gravitational pull of the Moon and the Sun.

Most coasts have two high tides and two low tides every day. The difference between high and low water is called the tidal range.

A spring tide is a tide with the largest range, which occurs when the Sun, the Moon and the Earth are in line. A neap tide is a tide with the smallest range.

The Bay of Fundy in Canada has the highest tidal range in the world, about 16 metres.
`,
  'licenses/MIT.txt': `MIT License

Copyright (c) 2024 Example Authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the "Software"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
`,
  'licenses/definitions.txt': `Apache License

1. Definitions.

"License" shall mean the terms and conditions for use, reproduction, and distribution as defined by Sections 1 through 9 of this document.

"Licensor" shall mean the copyright owner or entity authorized by the copyright owner that is granting the License.

"Source" form shall mean the preferred form for making modifications, including but not limited to software source code, documentation source, and configuration files.

"Object" form shall mean any form resulting from mechanical transformation or translation of a Source form, including but not limited to compiled object code, generated documentation, and conversions to other media types.
`,
};

export const PDF_LINES = [
  [
    'Volcanoes',
    '',
    'A volcano is an opening in the crust of a planet through which molten rock escapes.',
    'Magma is molten rock that is stored beneath the surface of the Earth.',
  ],
  ['Lava is magma that has reached the surface.', 'Mount Vesuvius erupted in 79 AD and buried the town of Pompeii.'],
];

/** Bad files, with the reason each must be reported under. */
export const BAD_FILES: Record<string, string> = {
  'bad/empty.txt': 'empty',
  'bad/blank.md': 'empty',
  'bad/image.png': 'binary',
  'bad/broken.pdf': 'pdf_broken',
};

function write(root: string, rel: string, data: string | Uint8Array): void {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

export function writeGoodDocs(root: string): void {
  for (const [rel, text] of Object.entries(GOOD_DOCS)) write(root, rel, text);
  write(root, 'notes/volcanoes.pdf', makePdf(PDF_LINES));
}

export interface FixtureCorpus {
  root: string;
  goodSources: string[];
  badSources: Record<string, string>;
  /** An exact copy of a good document: every pair it gives is a cross-document duplicate. */
  duplicateSource: string;
}

export function writeFixtureCorpus(root: string): FixtureCorpus {
  writeGoodDocs(root);
  write(root, 'notes/zz-tides-copy.txt', GOOD_DOCS['notes/tides.txt']);
  write(root, 'bad/empty.txt', '');
  write(root, 'bad/blank.md', '   \n\n\t  \n');
  write(root, 'bad/image.png', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 1, 0]));
  // Not UTF-8, but legacy text is read (as windows-1252), not refused: a loaded document.
  write(root, 'legacy/latin1.txt', Buffer.from('Caf\xe9 cr\xe8me: a Latin-1 encoded note that is not UTF-8.\n', 'latin1'));
  write(root, 'bad/broken.pdf', brokenPdf());
  // Skipped during discovery with a warning, never an error row: hidden files, symlinks that
  // leave the input directory or loop.
  write(root, '.hidden/secret.txt', 'A hidden note is not part of the corpus.');
  symlinkSync('/etc', join(root, 'escape-link'));
  mkdirSync(join(root, 'loop'), { recursive: true });
  symlinkSync('..', join(root, 'loop', 'back-to-root'));
  symlinkSync('self-a', join(root, 'self-b'));
  symlinkSync('self-b', join(root, 'self-a'));
  return {
    root,
    goodSources: [...Object.keys(GOOD_DOCS), 'notes/volcanoes.pdf'].sort(),
    badSources: BAD_FILES,
    duplicateSource: 'notes/zz-tides-copy.txt',
  };
}

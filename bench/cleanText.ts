/**
 * npx tsx bench/cleanText.ts [dirs or files...]
 *
 * How clean the text is that generators get from real manuals (issue 11): every .html/.htm and
 * .pdf under the given paths (default: the Python docs, the Rust book, Bash's Texinfo HTML and the PDF
 * manuals found in /usr/share/doc) is extracted and chunked with the run's defaults, as a run does, and
 * - chrome: the share of chunks with a line that IS navigation, footer or permalink text
 *   (line detectors below; a copyright line counts only when it repeats across documents or
 *   pages, i.e. is a footer, not the notice a manual states once);
 * - hyphenation: the share of PDF chunks with a word broken at a line end ("charac- ters")
 *   whose joined form ("characters") is a word of the corpus itself;
 * - before: the same figures on the raw text (HTML through html-to-text with no main-content
 *   selection; PDF text as pdfjs gives it, line by line), and the share of bytes that
 *   main-content extraction removed.
 * Prints one JSON report, with a few chunk samples before/after. Standalone: not a test.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { convert } from 'html-to-text';
import { chunkText } from '../activities/chunk.js';
import { extractAndChunkHere } from '../activities/extract/extractAndChunk.js';
import { kindFromPath, normalizeText } from '../activities/extract/index.js';
import { loadPdfjs } from '../activities/extract/pdfjs.js';
import { OutputSettings } from '../schemas/index.js';

const { chunkSize, chunkOverlap } = OutputSettings.parse({});

function defaultPaths(): string[] {
  const rustBooks = (() => {
    try {
      const root = join(homedir(), '.rustup/toolchains');
      return readdirSync(root).filter((t) => t.startsWith('stable')).map((t) => join(root, t, 'share/doc/rust/html/book'));
    } catch {
      return [];
    }
  })();
  return [
    ...['library', 'tutorial', 'howto', 'faq'].map((d) => `/usr/share/doc/python3.11/html/${d}`),
    ...rustBooks.slice(0, 1),
    '/usr/share/doc/bash-doc/bash.html',
    '/usr/share/doc/bash-doc/bashref.html',
    '/usr/share/doc/bash/bashref.pdf',
    '/usr/share/doc/bash/bash.pdf',
    '/usr/share/doc/libtasn1-doc/libtasn1.pdf',
    '/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf',
  ].filter((p) => {
    try {
      statSync(p);
      return true;
    } catch {
      return false;
    }
  });
}

function filesUnder(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return [path];
  return readdirSync(path, { recursive: true, encoding: 'utf8' })
    .map((f) => join(path, f))
    .filter((f) => /\.(html?|pdf)$/i.test(f) && !/\/(_static|_sources|_images|genindex[^/]*|search\.html|print\.html|toc\.html)/.test(f))
    .sort();
}

/** Lines that are page chrome, whatever page they are on. */
const CHROME: [string, RegExp][] = [
  ['previous/next topic', /^(?:previous|next) (?:topic|chapter)$/i],
  ['this page / bug / source', /^(?:this page|report a bug|show source|show page source|view page source|edit on github|edit this page|suggest a change)$/i],
  ['navigation heading', /^(?:navigation|quick search|on this page|keyboard shortcuts)$/i],
  ['relbar', /^(?:(?:index|modules|next|previous)\s*\|\s*)+(?:index|modules|next|previous)?\s*\|?$|^(?:modules|next|previous)\s*\|$/i],
  ['breadcrumb', /\S »$|^«$|^»$/],
  ['permalink ¶', /¶/],
  ['texinfo nav', /^(?:next|previous|prev|up):\s.*,\s*(?:next|previous|prev|up):|^\[(?:contents|index)\](?:\[(?:contents|index)\])?$/i],
  ['skip to content', /^skip to (?:main )?content$/i],
  ['mdBook help', /^(?:press ← or → to navigate between chapters|press s or \/ to search in the book|press \? to show this help|press esc to hide this help|print this book)$/i],
  ['footer', /^(?:last updated on\b.*|created using sphinx\b.*|found a bug\?|this page is licensed under\b.*|.*please donate\.|built with mdbook\b.*)$/i],
];
const COPYRIGHT = /^(?:©|\(c\)|copyright\b).*\d{4}/i;

interface Doc {
  path: string;
  kind: 'html' | 'pdf';
  chunks: string[];
  rawChunks: string[];
  rawBytes: number;
  bytes: number;
}

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/^\s*(?:[*•\-]\s+)?/, '').trim()).filter(Boolean);
}

async function pdfRawText(bytes: Uint8Array): Promise<string> {
  const pdfjs = await loadPdfjs();
  const doc = await pdfjs.getDocument({ data: new Uint8Array(bytes), isEvalSupported: false, verbosity: 0 }).promise;
  const pages: string[] = [];
  for (let p = 1; p <= doc.numPages; p++) {
    const content = await (await doc.getPage(p)).getTextContent();
    pages.push(content.items.map((it) => ('str' in it ? it.str + (it.hasEOL ? '\n' : '') : '')).join(''));
  }
  await doc.destroy();
  return pages.join('\n\n');
}

async function load(path: string): Promise<Doc | { path: string; error: string }> {
  const bytes = readFileSync(path);
  const kind = kindFromPath(path);
  if (kind !== 'html' && kind !== 'pdf') return { path, error: `not html or pdf (${kind})` };
  const r = await extractAndChunkHere(bytes, kind, { chunkSize, chunkOverlap, idPrefix: 'bench' });
  if (!r.ok) return { path, error: `${r.reason}: ${r.detail}` };
  const raw = normalizeText(
    kind === 'html'
      ? convert(bytes.toString('utf8'), { wordwrap: false, selectors: [{ selector: 'a', options: { ignoreHref: true } }, { selector: 'img', format: 'skip' }] })
      : await pdfRawText(bytes),
  );
  return {
    path,
    kind,
    chunks: r.chunks.map((c) => c.text),
    rawChunks: chunkText(raw, [], { chunkSize, chunkOverlap, idPrefix: 'raw' }).map((c) => c.text),
    rawBytes: Buffer.byteLength(raw),
    bytes: Buffer.byteLength(r.text),
  };
}

/** Copyright lines (digits blanked) seen in 3+ documents, or 3+ times in one PDF: footers. */
function repeatedCopyright(docs: Doc[], which: 'chunks' | 'rawChunks'): Set<string> {
  const docsWith = new Map<string, number>();
  const footers = new Set<string>();
  for (const d of docs) {
    const seen = new Map<string, number>();
    // Overlapping chunks repeat a line: count each distinct line once per chunk start.
    for (const chunk of d[which]) for (const l of new Set(lines(chunk))) if (COPYRIGHT.test(l)) seen.set(key(l), (seen.get(key(l)) ?? 0) + 1);
    for (const [k, n] of seen) {
      docsWith.set(k, (docsWith.get(k) ?? 0) + 1);
      if (d.kind === 'pdf' && n >= 3) footers.add(k);
    }
  }
  for (const [k, n] of docsWith) if (n >= 3) footers.add(k);
  return footers;
}
const key = (line: string) => line.replace(/\d+/g, '#').toLowerCase();

function chromeOf(chunk: string, footers: Set<string>): string[] {
  const hits: string[] = [];
  for (const l of lines(chunk)) {
    const hit = CHROME.find(([, re]) => re.test(l));
    if (hit) hits.push(hit[0]);
    else if (COPYRIGHT.test(l) && footers.has(key(l))) hits.push('copyright footer');
  }
  return hits;
}

/** A word, a hyphen, then a line break or space, then the rest of the word in lower case. */
const BROKEN = /(\p{L}{2,})-\s+(\p{Ll}{2,})/gu;

/** Breaks whose joined form is a word of the corpus ("pre- and post-" joins to no word). */
function brokenWords(chunk: string, vocabulary: Map<string, number>): string[] {
  const out: string[] = [];
  for (const m of chunk.matchAll(BROKEN)) {
    if ((vocabulary.get((m[1]! + m[2]!).toLowerCase()) ?? 0) > 0) out.push(m[0].replace(/\s+/g, ' '));
  }
  return out;
}

function vocabularyOf(texts: Iterable<string>): Map<string, number> {
  const v = new Map<string, number>();
  for (const t of texts) for (const w of t.toLowerCase().match(/\p{L}+/gu) ?? []) v.set(w, (v.get(w) ?? 0) + 1);
  return v;
}

function share(n: number, of: number): number {
  return of === 0 ? 0 : Math.round((n / of) * 10000) / 100;
}

function clip(s: string, n = 500): string {
  return s.length <= n ? s : `${s.slice(0, n)}…`;
}

async function main(): Promise<void> {
  const paths = process.argv.slice(2).length ? process.argv.slice(2) : defaultPaths();
  const docs: Doc[] = [];
  const errors: { path: string; error: string }[] = [];
  for (const p of paths) {
    for (const f of filesUnder(p)) {
      const d = await load(f);
      if ('error' in d) errors.push(d);
      else docs.push(d);
    }
  }
  const footersAfter = repeatedCopyright(docs, 'chunks');
  const footersBefore = repeatedCopyright(docs, 'rawChunks');
  const vocabulary = vocabularyOf(docs.flatMap((d) => d.chunks));

  const report: Record<string, unknown> = { paths, chunkSize, chunkOverlap, errors };
  const samples: Record<string, unknown>[] = [];
  for (const kind of ['html', 'pdf'] as const) {
    const group = docs.filter((d) => d.kind === kind);
    const tally = (which: 'chunks' | 'rawChunks', footers: Set<string>) => {
      const byDetector: Record<string, number> = {};
      let withChrome = 0;
      let withBroken = 0;
      const examples: string[] = [];
      const brokenExamples: string[] = [];
      let total = 0;
      for (const d of group) {
        for (const c of d[which]) {
          total++;
          const hits = chromeOf(c, footers);
          if (hits.length) {
            withChrome++;
            for (const h of new Set(hits)) byDetector[h] = (byDetector[h] ?? 0) + 1;
            if (examples.length < 5) examples.push(`${d.path}: ${lines(c).find((l) => chromeOf(l, footers).length)}`);
          }
          if (kind === 'pdf') {
            const broken = brokenWords(c, vocabulary);
            if (broken.length) {
              withBroken++;
              if (brokenExamples.length < 8) brokenExamples.push(...broken.slice(0, 2));
            }
          }
        }
      }
      return {
        chunks: total,
        chunksWithChrome: withChrome,
        chromeSharePct: share(withChrome, total),
        byDetector,
        chromeExamples: examples,
        ...(kind === 'pdf' ? { chunksWithBrokenHyphenation: withBroken, brokenHyphenationSharePct: share(withBroken, total), brokenExamples } : {}),
      };
    };
    const rawBytes = group.reduce((n, d) => n + d.rawBytes, 0);
    const bytes = group.reduce((n, d) => n + d.bytes, 0);
    report[kind] = {
      documents: group.length,
      after: tally('chunks', footersAfter),
      before: tally('rawChunks', footersBefore),
      bytesBefore: rawBytes,
      bytesAfter: bytes,
      bytesRemovedPct: share(rawBytes - bytes, rawBytes),
    };
    for (const d of group.filter((_, i) => i % Math.max(1, Math.floor(group.length / 3)) === 0).slice(0, 3)) {
      samples.push({ path: d.path, before: clip(d.rawChunks[0] ?? ''), after: clip(d.chunks[0] ?? '') });
    }
  }
  report.samples = samples;
  console.log(JSON.stringify(report, null, 2));
}

await main();

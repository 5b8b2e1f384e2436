/**
 * PDF → text with pdfjs-dist. Lines are rebuilt from the positioned text items (pdfjs marks
 * most line ends with `hasEOL`; y jumps catch the rest), then laid out as a reader would:
 * - running headers and footers go: a line among the top or bottom two of a page whose text,
 *   digits aside ("Page 3", "Report 2024 - 7"), is on at least half of the pages (2 or more);
 *   so do bare page numbers there ("7", "- 7 -", "Page 7 of 9", "vii");
 * - lines join into paragraphs; a paragraph ends at a vertical gap (1.6 × the font size), a
 *   change of font size, or a line ending a sentence well short of the right margin; list
 *   items (•, 1., a)) keep their own lines;
 * - a word hyphenated at a line end is joined ("exam-" + "ple" → "example") unless it is a real
 *   compound: the hyphenated form is written elsewhere in the document ("well-known"), the
 *   joined form is not and the first part is a common compound prefix ("self-", "well-"), or
 *   the second part does not start with a lowercase letter ("Jean-" + "Paul", "COVID-" + "19");
 * - a line in a font clearly larger than the body text (1.15 ×, the body size being the most
 *   used one by characters) is a heading, consecutive such lines one heading; levels follow the
 *   sizes, largest first.
 * Pages stay separate blocks, so each page's start is known (`pageOf`, for `pages`).
 */
import type { DocumentErrorReason } from '../../schemas/index.js';
import type { Block } from './blocks.js';
import { DEFAULT_EXTRACT_LIMITS } from './limits.js';
import { checkPdfDecodedSize } from './pdfLimits.js';
import { CMAP_DIR, loadPdfjs } from './pdfjs.js';

export type PdfResult =
  | { ok: true; blocks: Block[]; pageOf: number[] }
  | { ok: false; reason: DocumentErrorReason; detail: string };

/** The subset of pdfjs' TextItem we use (TextMarkedContent items have no `str`). */
interface Item {
  str: string;
  hasEOL: boolean;
  height: number;
  width: number;
  transform: number[];
}

interface Line {
  text: string;
  y: number;
  size: number;
  x0: number;
  x1: number;
  /** Vertical distance from the previous line of the page (0 for the first). */
  gap: number;
}

/** A vertical move larger than this share of the font height starts a new line. */
const NEW_LINE = 0.5;
/** A vertical move larger than this multiple of the font height starts a new paragraph. */
const NEW_PARAGRAPH = 1.6;
/** Font size over body size from which a short line is a heading. */
const HEADING_RATIO = 1.15;
const MAX_HEADING_CHARS = 120;
/** A sentence-ending line shorter than this share of the text width ends its paragraph. */
const SHORT_LINE = 0.85;
/** First parts that make compounds more often than they are split words. */
const COMPOUND_PREFIXES = new Set('all anti best cross ex far full half high ill long low non over post pre quasi re self semi short so under well wide'.split(' '));
const PAGE_NUMBER = /^(?:page\s+)?(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:of|\/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$/i;
const LIST_ITEM = /^(?:[•◦▪‣∙·●○■□*–-]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s/;

export async function pdfToBlocks(bytes: Uint8Array, maxDecodedMb = DEFAULT_EXTRACT_LIMITS.maxPdfDecodedMb): Promise<PdfResult> {
  await checkPdfDecodedSize(bytes, maxDecodedMb);
  const pdfjs = await loadPdfjs();
  const task = pdfjs.getDocument({
    // A copy: pdfjs transfers (detaches) the buffer it is given, which would empty the caller's.
    data: new Uint8Array(bytes),
    useSystemFonts: false,
    isEvalSupported: false,
    disableFontFace: true,
    verbosity: 0, // pdfjs.VerbosityLevel.ERRORS: no "Warning: ..." lines on the console
    cMapUrl: CMAP_DIR,
    cMapPacked: true,
  });
  try {
    let doc;
    try {
      doc = await task.promise;
    } catch (err) {
      const name = (err as { name?: string } | null)?.name;
      if (name === 'PasswordException') return broken(`PDF is encrypted and needs a password (${message(err)})`);
      return broken(`PDF could not be parsed: ${message(err)}`);
    }
    if (doc.numPages === 0) return { ok: false, reason: 'no_text', detail: 'PDF has no pages' };
    const pages: Line[][] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      try {
        const page = await doc.getPage(n);
        const content = await page.getTextContent();
        const items = (content.items as unknown[]).filter(isTextItem);
        pages.push(pageLines(items));
        page.cleanup();
      } catch (err) {
        return broken(`PDF could not be parsed: page ${n}: ${message(err)}`);
      }
    }
    if (pages.every((lines) => lines.every((l) => l.text.trim() === ''))) {
      const count = doc.numPages === 1 ? '1 page' : `${doc.numPages} pages`;
      return { ok: false, reason: 'no_text', detail: `no text after extraction (scanned PDF?): ${count}` };
    }
    return { ok: true, ...layout(pages) };
  } finally {
    // Frees the document and the in-process worker; never let cleanup errors escape.
    await task.destroy().catch(() => undefined);
  }
}

function pageLines(items: Item[]): Line[] {
  const lines: Line[] = [];
  let line: Line | undefined;
  let lastY: number | undefined;
  let lastHeight = 0;
  let eol = false;
  for (const item of items) {
    const y = item.transform[5] ?? 0;
    const x = item.transform[4] ?? 0;
    const height = Math.abs(item.height || item.transform[3] || 0) || 1;
    if (item.str === '') {
      // pdfjs emits empty items whose only job is to carry an end-of-line flag.
      eol ||= item.hasEOL;
      continue;
    }
    if (line && lastY !== undefined && line.text !== '') {
      const dy = Math.abs(y - lastY);
      if (eol || dy > NEW_LINE * Math.max(height, lastHeight)) {
        lines.push(line);
        line = { text: '', y, size: height, x0: x, x1: x, gap: dy };
      }
    }
    line ??= { text: '', y, size: height, x0: x, x1: x, gap: 0 };
    line.text += item.str;
    line.size = Math.max(line.size, height);
    line.x0 = Math.min(line.x0, x);
    line.x1 = Math.max(line.x1, x + (item.width || 0));
    lastY = y;
    lastHeight = height;
    eol = item.hasEOL;
  }
  if (line && line.text !== '') lines.push(line);
  for (const l of lines) l.text = l.text.replace(/\s+$/, '');
  return lines.filter((l) => l.text.trim() !== '');
}

/** The whole document: chrome removed, paragraphs and headings built, one or more blocks per page. */
function layout(pages: Line[][]): { blocks: Block[]; pageOf: number[] } {
  const kept = removeRunningLines(pages);
  const all = kept.flat();
  const body = bodySize(all);
  const headingSizes = [...new Set(all.filter((l) => isHeadingLine(l, body)).map((l) => round(l.size)))].sort((a, b) => b - a);
  const words = wordCounts(all.map((l) => l.text));

  const blocks: Block[] = [];
  const pageOf: number[] = [];
  kept.forEach((lines, page) => {
    const left = Math.min(...lines.map((l) => l.x0));
    const right = Math.max(...lines.map((l) => l.x1));
    const width = right - left;
    let current: { kind: 'text' | 'heading'; text: string; size: number; last: Line } | undefined;
    const flush = () => {
      if (!current) return;
      if (current.kind === 'heading') {
        blocks.push({ kind: 'heading', level: Math.min(6, headingSizes.indexOf(round(current.size)) + 1), text: current.text });
      } else blocks.push({ kind: 'text', text: current.text });
      pageOf.push(page);
      current = undefined;
    };
    for (const line of lines) {
      const text = line.text.trim();
      const kind = isHeadingLine(line, body) ? 'heading' : 'text';
      if (current) {
        const prev = current.last;
        const breaks =
          current.kind !== kind ||
          Math.abs(line.size - prev.size) > 0.5 ||
          line.gap > NEW_PARAGRAPH * Math.max(line.size, prev.size) ||
          (kind === 'text' && !LIST_ITEM.test(text) && /[.!?:;]["'”’)\]]?$/.test(prev.text) && prev.x1 - left < SHORT_LINE * width);
        if (breaks) flush();
      }
      if (!current) {
        current = { kind, text, size: line.size, last: line };
        continue;
      }
      current.text = kind === 'text' && LIST_ITEM.test(text) ? `${current.text}\n${text}` : joinLines(current.text, text, words);
      current.last = line;
    }
    flush();
  });
  return { blocks, pageOf };
}

/** Running headers/footers and page numbers, at the top or bottom two lines of a page. */
function removeRunningLines(pages: Line[][]): Line[][] {
  if (pages.length < 2) return pages;
  const edges = pages.map((lines) => {
    const byY = [...lines].sort((a, b) => b.y - a.y);
    return new Set([...byY.slice(0, 2), ...byY.slice(-2)]);
  });
  const key = (l: Line) => l.text.toLowerCase().replace(/\d+/g, '#').replace(/\s+/g, ' ').trim();
  const onPages = new Map<string, number>();
  for (const edge of edges) for (const k of new Set([...edge].map(key))) onPages.set(k, (onPages.get(k) ?? 0) + 1);
  const need = Math.max(2, Math.ceil(pages.length / 2));
  // A title in a large font that the running header repeats (small) stays where it is large.
  const body = bodySize(pages.flat());
  return pages.map((lines, i) =>
    lines.filter(
      (l) =>
        !edges[i]!.has(l) ||
        !(PAGE_NUMBER.test(l.text.trim()) || ((onPages.get(key(l)) ?? 0) >= need && !isHeadingLine(l, body))),
    ),
  );
}

/** The most used font size, by characters (rounded to half points). */
function bodySize(lines: Line[]): number {
  const chars = new Map<number, number>();
  for (const l of lines) chars.set(round(l.size), (chars.get(round(l.size)) ?? 0) + l.text.length);
  let best = 0;
  let most = -1;
  for (const [size, n] of chars) if (n > most || (n === most && size < best)) [best, most] = [size, n];
  return best;
}

function isHeadingLine(line: Line, body: number): boolean {
  const t = line.text.trim();
  return line.size >= HEADING_RATIO * body && t.length <= MAX_HEADING_CHARS && /\p{L}/u.test(t) && !/[,;]$/.test(t);
}

function round(size: number): number {
  return Math.round(size * 2) / 2;
}

/** Words and hyphenated compounds as written inside lines (lowercase), for the hyphenation rule. */
function wordCounts(lines: string[]): Set<string> {
  const words = new Set<string>();
  for (const line of lines) {
    // A hyphen at the very end of a line is the thing being decided: not evidence.
    for (const m of line.replace(/\p{L}+[-\u00AD]$/u, '').matchAll(/\p{L}+(?:-\p{L}+)*/gu)) words.add(m[0].toLowerCase());
  }
  return words;
}

function joinLines(prev: string, next: string, words: Set<string>): string {
  const soft = /\u00AD$/.exec(prev);
  if (soft) return prev.slice(0, -1) + next;
  const m = /(\p{L}+)-$/u.exec(prev);
  if (!m) return `${prev} ${next}`;
  const second = /^\p{Ll}+/u.exec(next);
  const first = m[1]!.toLowerCase();
  if (!second) return prev + next; // "Jean-" + "Paul", "COVID-" + "19": the hyphen is part of it
  const part = second[0];
  const compound = `${first}-${part}`;
  const joined = first + part;
  const keepHyphen = words.has(compound) || (!words.has(joined) && COMPOUND_PREFIXES.has(first));
  return keepHyphen ? prev + next : prev.slice(0, -1) + next;
}

function isTextItem(item: unknown): item is Item {
  return typeof item === 'object' && item !== null && typeof (item as Item).str === 'string' && Array.isArray((item as Item).transform);
}

function broken(detail: string): PdfResult {
  return { ok: false, reason: 'pdf_broken', detail };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

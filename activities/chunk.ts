/**
 * Splits a document's text into overlapping chunks for QA generation.
 *
 * Two phases, both linear in the text length:
 *  1. cut the text into "units" — whole paragraphs, or, for a paragraph longer than chunkSize,
 *     its sentences (then lines, then words, then fixed-size pieces) — each at most chunkSize;
 *  2. pack consecutive units greedily into chunks of at most chunkSize, each chunk after the
 *     first starting with trailing whole sentences (or words) of the previous one as overlap.
 *
 * Work happens on UTF-16 indices (what JS strings use); sizes count UTF-16 code units. Only the
 * emitted charStart/charEnd are converted to code points, which is what Python slicing uses.
 */
import type { Chunk, Heading } from '../schemas/index.js';
import { detectLanguage } from './language.js';

export interface ChunkOptions {
  chunkSize: number;
  chunkOverlap: number;
  idPrefix: string;
  /** Detect the document's language for its chunks: only `--language auto` asks for it. */
  detectLanguage?: boolean;
}

interface Unit {
  start: number; // UTF-16, inclusive, at a non-space character
  end: number; // UTF-16, exclusive, just after a non-space character
  heading: boolean; // a whole heading paragraph
}

// Same whitespace set as String.prototype.trim, so trimmed ranges equal slice().trim().
// ASCII is decided by char code (hot path on large inputs); other characters by the regex.
const WS = /\s/;
function isWs(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return WS.test(text[i] ?? '');
}

// Paragraph breaks: a newline, optional blanks, another newline (and whatever space follows).
const PARA_BREAK = /\n[^\S\n]*\n\s*/g;
// Split levels for an over-long range: sentence ends, line breaks, any whitespace.
const SPLIT_LEVELS: RegExp[] = [/[.!?]["'”’)\]]*\s+/g, /\s*\n\s*/g, /\s+/g];
// Where a trailing sentence may start inside the previous chunk (for overlap).
const SENTENCE_START = /(?:[.!?]["'”’)\]]*\s+|\n\s*\n\s*)(?=\S)/g;
const WORD_START = /\s+(?=\S)/g;

export function chunkText(text: string, headings: Heading[], opts: ChunkOptions): Chunk[] {
  const size = Math.max(1, Math.floor(opts.chunkSize));
  // Overlap above half a chunk would mostly repeat text; the packer shrinks it further if needed.
  const overlap = Math.max(0, Math.min(Math.floor(opts.chunkOverlap), Math.floor(size / 2)));
  const sorted = [...headings].sort((a, b) => a.start - b.start || a.end - b.end);
  const units = toUnits(text, sorted, size);

  const chunks: Chunk[] = [];
  const title = documentTitle(text, sorted);
  // Once per document, over all of it: a chunk of code or a table alone could not tell.
  const language = opts.detectLanguage ? detectLanguage(text) : undefined;
  const toCpStart = codePointCursor(text);
  const toCpEnd = codePointCursor(text);
  let headingIdx = -1; // last heading with start <= current chunk start (starts only increase)
  let prev: { start: number; end: number } | undefined;
  let i = 0;
  while (i < units.length) {
    const first = units[i]!;
    let start = first.start;
    // A chunk that opens on a heading starts a new section: overlap from the previous section
    // would only put unrelated text in front of it.
    if (prev && overlap > 0 && !first.heading) {
      const from = Math.max(prev.start + 1, prev.end - overlap, first.end - size);
      start = overlapStart(text, from, prev.end) ?? start;
    }
    let j = i + 1;
    while (j < units.length && units[j]!.end - start <= size) j++;
    // Do not end a chunk on a heading whose content follows: move it to the next chunk, unless
    // that would leave this chunk with no new unit (then we would make no progress).
    if (j < units.length) {
      let k = j;
      while (k - 1 > i && units[k - 1]!.heading) k--;
      j = k;
    }
    const end = units[j - 1]!.end;
    while (headingIdx + 1 < sorted.length && sorted[headingIdx + 1]!.start <= start) headingIdx++;
    const heading = headingIdx >= 0 ? sorted[headingIdx]!.text : undefined;
    const section = headingIdx >= 0 ? sectionPath(sorted, headingIdx) : [];
    const index = chunks.length;
    chunks.push({
      chunkId: `${opts.idPrefix}-${String(index).padStart(4, '0')}`,
      index,
      text: text.slice(start, end),
      charStart: toCpStart(start),
      charEnd: toCpEnd(end),
      ...(heading !== undefined ? { heading } : {}),
      ...(title !== undefined ? { title } : {}),
      ...(section.length > 0 ? { section } : {}),
      ...(language !== undefined ? { language } : {}),
    });
    prev = { start, end };
    i = j;
  }
  return chunks;
}

/**
 * The document's title: its first line when that reads like a title ("Apache License",
 * "Bash Reference Manual"), else its first top-level heading. Generators name the subject of a
 * question with it, so it comes from the text alone (a shard never depends on the file's path).
 */
export function documentTitle(text: string, headings: Heading[]): string | undefined {
  const firstLine = /^\s*([^\n]*)/.exec(text)?.[1]?.trim() ?? '';
  if (looksLikeTitle(firstLine)) return firstLine.replace(/\s+/g, ' ');
  const top = Math.min(...headings.map((h) => h.level));
  const h = headings.find((x) => x.level === top)?.text.trim();
  return h && looksLikeTitle(h) ? h : undefined;
}

// Texinfo and Sphinx pages open on their navigation: "Next: Complex Type Example, Previous: …".
const NAVIGATION_LINE = /^(?:next|previous|prev|up|home|contents)\s*:|\b(?:previous|prev|up)\s*:/i;

function looksLikeTitle(line: string): boolean {
  const letters = line.replace(/[^\p{L}]/gu, '').length;
  return (
    line.length >= 2 && line.length <= 80 && line.split(/\s+/).length <= 10 && letters * 2 >= line.replace(/\s/g, '').length &&
    /^[\p{L}\p{N}]/u.test(line) && !/[.,;:]$/.test(line) && !/copyright|©|\(c\)|https?:|@|\.{4}/i.test(line) &&
    !NAVIGATION_LINE.test(line)
  );
}

/** Headings enclosing sorted[idx] (each of a lower level than the one inside it), outermost first. */
function sectionPath(sorted: Heading[], idx: number): string[] {
  const path = [sorted[idx]!];
  for (let k = idx - 1; k >= 0 && path[0]!.level > 1; k--) {
    if (sorted[k]!.level < path[0]!.level) path.unshift(sorted[k]!);
  }
  return path.map((h) => h.text.trim());
}

/** Earliest sentence start in [from, end), else earliest word start, else none. */
function overlapStart(text: string, from: number, end: number): number | undefined {
  if (from >= end) return undefined;
  // Look a few characters back so a boundary exactly at `from` is still recognized.
  const base = Math.max(0, from - 8);
  const window = text.slice(base, end);
  for (const re of [SENTENCE_START, WORD_START]) {
    re.lastIndex = 0;
    for (let m = re.exec(window); m; m = re.exec(window)) {
      const pos = base + m.index + m[0].length;
      if (pos >= from && pos < end) return pos;
      if (m[0].length === 0) re.lastIndex++;
    }
  }
  return undefined;
}

/** Cuts the text into trimmed units of at most `size` UTF-16 code units, in order. */
function toUnits(text: string, headings: Heading[], size: number): Unit[] {
  const units: Unit[] = [];
  let h = 0;
  const addParagraph = (a: number, b: number): void => {
    [a, b] = trimRange(text, a, b);
    if (a >= b) return;
    // A paragraph is a heading paragraph when a heading lies inside it (headings are sorted).
    while (h < headings.length && headings[h]!.end <= a) h++;
    const hd = headings[h];
    const isHeading = hd !== undefined && hd.start < b && hd.end > a && b - a <= size;
    if (b - a <= size) units.push({ start: a, end: b, heading: isHeading });
    else splitRange(text, a, b, 0, size, units);
  };
  PARA_BREAK.lastIndex = 0;
  let last = 0;
  for (let m = PARA_BREAK.exec(text); m; m = PARA_BREAK.exec(text)) {
    addParagraph(last, m.index);
    last = m.index + m[0].length;
  }
  addParagraph(last, text.length);
  return units;
}

/** Splits an over-long trimmed range at the given level, recursing into finer levels. */
function splitRange(text: string, a: number, b: number, level: number, size: number, out: Unit[]): void {
  const re = SPLIT_LEVELS[level];
  if (!re) return hardSplit(text, a, b, size, out);
  const slice = text.slice(a, b);
  re.lastIndex = 0;
  let m = re.exec(slice);
  if (!m) return splitRange(text, a, b, level + 1, size, out);
  let last = 0;
  const emit = (pa: number, pb: number): void => {
    const [ta, tb] = trimRange(text, pa, pb);
    if (ta >= tb) return;
    if (tb - ta <= size) out.push({ start: ta, end: tb, heading: false });
    else splitRange(text, ta, tb, level + 1, size, out);
  };
  for (; m; m = re.exec(slice)) {
    // The separator's non-space part (the period, a closing quote) stays with the piece before.
    const sep = m[0];
    const index = m.index;
    const next = index + sep.length;
    emit(a + last, a + index + sep.trimEnd().length);
    last = next;
    re.lastIndex = next; // the recursive call above may have used another regex, never this one
  }
  emit(a + last, b);
}

/** Fixed-size pieces for a run with no whitespace; never cuts a surrogate pair in two. */
function hardSplit(text: string, a: number, b: number, size: number, out: Unit[]): void {
  let s = a;
  while (s < b) {
    let e = Math.min(b, s + size);
    if (e < b && isLowSurrogate(text.charCodeAt(e)) && e - 1 > s) e--;
    out.push({ start: s, end: e, heading: false });
    s = e;
  }
}

function trimRange(text: string, a: number, b: number): [number, number] {
  while (a < b && isWs(text, a)) a++;
  while (b > a && isWs(text, b - 1)) b--;
  return [a, b];
}

const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;
const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;

/**
 * Converts increasing UTF-16 indices to code point indices in amortized O(1): it walks forward
 * from the last position, counting every code unit except the low half of a surrogate pair.
 */
function codePointCursor(text: string): (utf16: number) => number {
  let pos = 0;
  let cp = 0;
  return (target: number): number => {
    if (target < pos) {
      pos = 0;
      cp = 0;
    }
    for (; pos < target; pos++) {
      const c = text.charCodeAt(pos);
      if (!(isLowSurrogate(c) && pos > 0 && isHighSurrogate(text.charCodeAt(pos - 1)))) cp++;
    }
    return cp;
  };
}

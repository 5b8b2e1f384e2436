/**
 * Evidence: the span of extracted text an answer stands on. Offsets are Unicode code points
 * (like `char_start`), so Python's `text[answer_start:answer_end]` gives the span.
 */

// A line that starts a list item keeps its own line in an answer; other line breaks are wraps.
const LIST_LINE = /^(?:[-*•+]|\d{1,3}[.)]|[a-z][.)]|\((?:\d{1,3}|[a-z]{1,4})\))\s+/;

/**
 * The answer text a span stands for: whitespace runs inside a line become one space, wrapped
 * lines are joined, and a line that starts a list item stays on its own line. The built-in
 * generator's answers are exactly spanText(span); the card says so.
 */
export function spanText(span: string): string {
  const lines = span.split('\n').map((l) => l.replace(/\s+/g, ' ').trim()).filter(Boolean);
  let out = '';
  for (const line of lines) out += out === '' ? line : LIST_LINE.test(line) ? `\n${line}` : ` ${line}`;
  return out;
}

// Without a high surrogate every UTF-16 unit is a code point. The test is a quick scan (and
// instant on strings V8 stores as one byte per character), so most text skips the counting loop.
const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

/** Code-point length of a string (what offsets are counted in). */
export function codePoints(s: string): number {
  if (!HIGH_SURROGATE.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** UTF-16 index → code-point index in `s`. */
export function toCodePointIndex(s: string, utf16Index: number): number {
  return codePoints(s.slice(0, utf16Index));
}

/** Code-point index → UTF-16 index in `s`. */
export function toUtf16Index(s: string, cpIndex: number): number {
  if (!HIGH_SURROGATE.test(s)) return Math.max(0, Math.min(cpIndex, s.length));
  let i = 0;
  for (let n = 0; n < cpIndex && i < s.length; n++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
  }
  return i;
}

/** The text of a code-point span of `s`. */
export function sliceCodePoints(s: string, start: number, end: number): string {
  return s.slice(toUtf16Index(s, start), toUtf16Index(s, end));
}

/** A span of a chunk's text: code points, end exclusive. */
export interface Span {
  start: number;
  end: number;
}

// A fuzzy match must contain this share of the needle's tokens, in order.
const FUZZY_MIN_SHARE = 0.85;
// The fuzzy window may be this much longer than the needle: a quote that drops a few words.
const FUZZY_WINDOW_SLACK = 1.25;

interface Token {
  norm: string; // NFKC, lowercased: what is compared
  start: number; // UTF-16 offsets in the original text
  end: number;
}

/** Word tokens (letters, digits, marks) of `s` with their UTF-16 offsets. */
function wordTokens(s: string): Token[] {
  const out: Token[] = [];
  for (const m of s.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    const norm = m[0].normalize('NFKC').toLowerCase().replace(/\s+/g, '');
    out.push({ norm, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** A chunk's text prepared for matching; each form is built only when a level needs it. */
class Haystack {
  private runs?: { collapsed: string; collapsedStarts: number[]; starts: number[] };
  private toks?: { tokens: Token[]; joined: string; joinedStarts: number[]; ids: Int32Array; vocabulary: Map<string, number> };

  constructor(readonly text: string) {}

  /** The text with whitespace runs as single spaces, and where each non-space run came from. */
  get whitespace(): NonNullable<Haystack['runs']> {
    if (!this.runs) {
      const parts: string[] = [];
      const collapsedStarts: number[] = [];
      const starts: number[] = [];
      let at = 0;
      for (const m of this.text.matchAll(/\S+/g)) {
        collapsedStarts.push(at);
        starts.push(m.index);
        parts.push(m[0]);
        at += m[0].length + 1;
      }
      this.runs = { collapsed: parts.join(' '), collapsedStarts, starts };
    }
    return this.runs;
  }

  /**
   * Word tokens; their normalized forms joined by spaces (with a space at each end); and each
   * token's number in the chunk's vocabulary.
   */
  get words(): NonNullable<Haystack['toks']> {
    if (!this.toks) {
      const tokens = wordTokens(this.text);
      const joinedStarts: number[] = [];
      const ids = new Int32Array(tokens.length);
      const vocabulary = new Map<string, number>();
      let joined = ' ';
      for (const [i, t] of tokens.entries()) {
        joinedStarts.push(joined.length);
        joined += `${t.norm} `;
        let id = vocabulary.get(t.norm);
        if (id === undefined) vocabulary.set(t.norm, (id = vocabulary.size));
        ids[i] = id;
      }
      this.toks = { tokens, joined, joinedStarts, ids, vocabulary };
    }
    return this.toks;
  }

  span(utf16Start: number, utf16End: number): Span {
    const start = toCodePointIndex(this.text, utf16Start);
    return { start, end: start + codePoints(this.text.slice(utf16Start, utf16End)) };
  }
}

// Pairs are validated chunk after chunk: keep the last chunk's prepared text.
let lastHaystack: Haystack | undefined;
function haystackOf(text: string): Haystack {
  if (lastHaystack?.text !== text) lastHaystack = new Haystack(text);
  return lastHaystack;
}

/** Index of the last element of a sorted array that is <= x (0 when none is). */
export function floorIndex(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (sorted[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Exact match once whitespace runs are collapsed on both sides. */
function matchCollapsed(needle: string, hay: Haystack): Span | undefined {
  const n = needle.split(/\s+/).filter(Boolean).join(' ');
  const { collapsed, collapsedStarts, starts } = hay.whitespace;
  const at = n ? collapsed.indexOf(n) : -1;
  if (at < 0) return undefined;
  // Collapsing changes only whitespace, so an offset inside a run maps straight back.
  const toOriginal = (i: number): number => {
    const r = floorIndex(collapsedStarts, i);
    return starts[r]! + (i - collapsedStarts[r]!);
  };
  return hay.span(toOriginal(at), toOriginal(at + n.length - 1) + 1);
}

/** The same word tokens in the same order, whatever the case, punctuation and spacing. */
function matchTokens(needle: Token[], hay: Haystack): Span | undefined {
  const { tokens, joined, joinedStarts } = hay.words;
  const at = joined.indexOf(` ${needle.map((t) => t.norm).join(' ')} `);
  if (at < 0) return undefined;
  const first = floorIndex(joinedStarts, at + 1);
  return hay.span(tokens[first]!.start, tokens[first + needle.length - 1]!.end);
}

/**
 * The window of chunk tokens sharing the most tokens with the needle (a sliding count, linear
 * in the chunk), accepted when enough of the needle's tokens appear in it in order. Tokens are
 * compared as small integers: this runs for every answer that is not copied verbatim.
 */
function matchFuzzy(needle: Token[], hay: Haystack): Span | undefined {
  const { tokens, ids, vocabulary } = hay.words;
  const n = needle.length;
  const needleIds = needle.map((t) => vocabulary.get(t.norm) ?? -1);
  const wanted = new Int32Array(vocabulary.size);
  for (const id of needleIds) if (id >= 0) wanted[id]!++;
  // Most answers that are not in the chunk fail here, before any scan.
  if (needleIds.filter((id) => id >= 0).length < FUZZY_MIN_SHARE * n) return undefined;
  const width = Math.min(tokens.length, Math.ceil(n * FUZZY_WINDOW_SLACK));
  const inWindow = new Int32Array(vocabulary.size);
  let shared = 0; // sum over tokens of min(count in window, count in needle)
  let best = 0;
  let bestStart = -1;
  for (let k = 0; k < tokens.length; k++) {
    const id = ids[k]!;
    if (wanted[id]! > 0 && inWindow[id]!++ < wanted[id]!) shared++;
    if (k >= width) {
      const out = ids[k - width]!;
      if (wanted[out]! > 0 && --inWindow[out]! < wanted[out]!) shared--;
    }
    if (k >= width - 1 && shared > best) [best, bestStart] = [shared, k - width + 1];
  }
  if (best < FUZZY_MIN_SHARE * n) return undefined;
  // Trim the window to its first and last tokens that belong to the needle.
  let lo = bestStart;
  let hi = bestStart + width - 1;
  while (wanted[ids[lo]!] === 0) lo++;
  while (wanted[ids[hi]!] === 0) hi--;
  if (commonSubsequence(needleIds, ids.subarray(lo, hi + 1)) < FUZZY_MIN_SHARE * n) return undefined;
  return hay.span(tokens[lo]!.start, tokens[hi]!.end);
}

/** Length of the longest common subsequence (one row of the table at a time). */
function commonSubsequence(a: number[], b: Int32Array): number {
  let prev = new Uint32Array(b.length + 1);
  let row = new Uint32Array(b.length + 1);
  for (const x of a) {
    for (let j = 1; j <= b.length; j++) row[j] = x === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, row[j - 1]!);
    [prev, row] = [row, prev];
  }
  return prev[b.length]!;
}

/**
 * Where `needle` (an answer or an LLM's supporting quote) stands in `chunkText`, as code points:
 * an exact match once whitespace is collapsed, else the same words ignoring case and
 * punctuation, else the best fuzzy window. Undefined when none is close enough.
 */
export function locateEvidence(needle: string, chunkText: string): Span | undefined {
  const hay = haystackOf(chunkText);
  const exact = matchCollapsed(needle, hay);
  if (exact) return exact;
  const tokens = wordTokens(needle);
  if (tokens.length === 0) return undefined;
  return matchTokens(tokens, hay) ?? matchFuzzy(tokens, hay);
}

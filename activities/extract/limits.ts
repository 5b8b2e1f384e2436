/**
 * Bounds on how much structure a document may have before it is refused as `too_complex`.
 * Parsers (marked, htmlparser2 + html-to-text, pdfjs) cost time, memory and stack in
 * proportion to nesting depth or decoded size, not file size: a few megabytes of nesting are
 * enough to hang or kill a process. Each check here is linear in the input and runs before the
 * parser, so deep input is refused in milliseconds instead of minutes. The limits are far above
 * what real documents use, so ordinary documents are untouched (byte identity of output).
 */
import { Parser } from 'htmlparser2';

export interface ExtractLimits {
  /** Markdown lists / block quotes nested deeper than this are refused. */
  maxMarkdownNesting: number;
  /** HTML elements nested deeper than this (as htmlparser2 builds the tree) are refused. */
  maxHtmlDepth: number;
  /** Decoded size of a PDF's FlateDecode streams other than images and attachments, in MB. */
  maxPdfDecodedMb: number;
  /** Declared size of the entries of a .docx, .pptx or .epub (zip) archive, in MB. */
  maxArchiveDecodedMb: number;
}

export const DEFAULT_EXTRACT_LIMITS: Readonly<ExtractLimits> = Object.freeze({
  // marked re-lexes a list item's whole content at every level (cost: size × depth) and
  // recurses once per level; real documents stay below ~10 levels.
  maxMarkdownNesting: 100,
  // Blink caps its DOM depth at 512 too. html-to-text recurses a few frames per level and
  // htmlparser2's open-element stack costs O(depth) per tag; 512 keeps both small.
  maxHtmlDepth: 512,
  // pdfjs grows decode buffers by doubling, outside the JS heap (ArrayBuffers are not bound
  // by a worker's heap limit): a 1 MB flate bomb costs ~2 GB there.
  maxPdfDecodedMb: 512,
  // fflate and mammoth inflate entries into ArrayBuffers (outside the JS heap limit), as pdfjs does.
  maxArchiveDecodedMb: 512,
});

/** Thrown by a check (or mapped from a stack overflow); becomes `too_complex` with this message. */
export class TooComplexError extends Error {
  override readonly name = 'TooComplexError';
}

/** How a stack-overflow detail names its limit where the stack size is unknown (the pool fills it in). */
export const STACK_LIMIT = "the thread's stack size";
export const stackOverflowDetail = (limit: string = STACK_LIMIT): string =>
  `nesting too deep to parse: the call stack was exhausted (limit: ${limit})`;

/** V8's "Maximum call stack size exceeded": recursion as deep as the input's nesting. */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /Maximum call stack size exceeded/.test(err.message);
}

/**
 * An upper bound on the container nesting (list items, block quotes) of any line, in O(n).
 * A line opens containers only through its prefix: each `>` or list marker is at most one
 * level, and a nested list item must be indented at least two columns past its parent's
 * marker, so indentation contributes at most columns / 2 levels. Lines with no marker open
 * nothing (paragraph continuation, code), and a thematic break (`- - -`, `* * *`) is not a list.
 */
export function markdownNestingBound(md: string): number {
  let max = 0;
  const n = md.length;
  let i = 0;
  while (i < n) {
    let cols = 0;
    let markers = 0;
    let j = i;
    for (;;) {
      let c = md.charCodeAt(j);
      while (c === 32 || c === 9) {
        cols += c === 9 ? 4 - (cols % 4) : 1;
        c = md.charCodeAt(++j);
      }
      if (c === 62 /* > */) {
        markers++;
        j++;
        if (md.charCodeAt(j) === 32) j++; // the space after a marker belongs to it
        continue;
      }
      let k = j;
      if (c === 45 || c === 42 || c === 43 /* - * + */) k = j + 1;
      else {
        while (k - j < 9 && isDigit(md.charCodeAt(k))) k++;
        if (k > j && (md.charCodeAt(k) === 46 || md.charCodeAt(k) === 41) /* . ) */) k++;
        else k = j;
      }
      const after = md.charCodeAt(k);
      if (k > j && (after === 32 || after === 9 || after === 10 || after === 13 || Number.isNaN(after))) {
        if (markers === 0 && isThematicBreak(md, j)) break;
        markers++;
        j = k;
        if (md.charCodeAt(j) === 32) j++;
        continue;
      }
      break;
    }
    if (markers > 0) max = Math.max(max, markers + Math.floor(cols / 2));
    // Next line (marked treats a lone \r as a line break too).
    i = j;
    while (i < n && md.charCodeAt(i) !== 10 && md.charCodeAt(i) !== 13) i++;
    i++;
  }
  return max;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** `---`, `* * *`, `_ _ _` (three or more of one character, spaces allowed) up to the line end. */
function isThematicBreak(md: string, at: number): boolean {
  const ch = md.charCodeAt(at);
  let count = 0;
  for (let k = at; k < md.length; k++) {
    const c = md.charCodeAt(k);
    if (c === 10 || c === 13) break;
    if (c === ch) count++;
    else if (c !== 32 && c !== 9) return false;
  }
  return count >= 3;
}

export function checkMarkdownNesting(md: string, limit: number): void {
  const bound = markdownNestingBound(md);
  if (bound > limit) {
    throw new TooComplexError(`Markdown lists or block quotes nested up to ${bound} levels deep (limit: ${limit} levels)`);
  }
}

/**
 * Element depth exactly as html-to-text's parse will see it: the same parser (htmlparser2,
 * same options) emits open and close events, implied closes (`<p>`, `<li>`) and void elements
 * included. Stops at the first element past the limit, so its cost is bounded by the limit.
 */
export function checkHtmlDepth(html: string, limit: number): void {
  let depth = 0;
  const tooDeep = new TooComplexError(`HTML elements nested more than ${limit} levels deep (limit: ${limit} levels)`);
  const parser = new Parser(
    {
      onopentag() {
        if (++depth > limit) throw tooDeep;
      },
      onclosetag() {
        depth--;
      },
    },
    { decodeEntities: true },
  );
  try {
    parser.end(html);
  } catch (err) {
    if (err === tooDeep) throw err;
    // Anything else is the real parse's business (it reports it the usual way).
  }
}

/**
 * Text normalization shared by every extractor, so that chunk offsets, deduplication and
 * grounding checks downstream all see one canonical form of the same content.
 */

const TAB_WIDTH = 4;

/** Unpaired UTF-16 surrogates: they would break JSON writers and UTF-8 encoders downstream. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Controls other than \n and \t (C0, DEL, C1), stray BOMs, and Unicode noncharacters. */
const UNWANTED = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\uFEFF\uFDD0-\uFDEF\uFFFE\uFFFF]/g;

/**
 * Normalizes one block of text but keeps the indentation of its first line (code and
 * indented license sections read better with it). Use `normalizeText` for a whole document.
 */
export function normalizeBlock(input: string): string {
  let s = input.replace(LONE_SURROGATE, '\uFFFD');
  // Every kind of line break becomes \n; form feeds (page breaks in old text files) and the
  // Unicode paragraph separator become blank lines so words on either side do not merge.
  s = s.replace(/\r\n?|[\u000B\u0085\u2028]/g, '\n').replace(/[\f\u2029]/g, '\n\n');
  // Controls go before NFC: removing one between a letter and a combining mark afterwards
  // would leave a decomposed pair behind.
  s = nfc(s.replace(UNWANTED, ''));
  if (s.includes('\t')) s = s.split('\n').map(expandTabs).join('\n');
  s = s.replace(/[^\S\n]+$/gm, ''); // trailing whitespace; whitespace-only lines become empty
  s = s.replace(/\n{3,}/g, '\n\n');
  return s.replace(/^\n+/, '').trimEnd();
}

/** The canonical form of a whole document: `normalizeBlock`, then fully trimmed. */
export function normalizeText(input: string): string {
  return normalizeBlock(input).trim();
}

/** Above this many UTF-16 units, NFC goes line-aligned piece by piece (see nfc). */
const NFC_PIECE = 1 << 20;

/**
 * `s.normalize('NFC')`, returning `s` itself when it is normalized already (the usual case):
 * a copy of every block would be one more copy of the document while it is assembled. A long
 * string is normalized in pieces that end after a line break: ICU works on a UTF-16 copy of its
 * input, 600 MB for a 300 MB one-byte text, and no composition crosses a \n (a starter that
 * composes with nothing), so the pieces give exactly what the whole would.
 */
export function nfc(s: string): string {
  if (s.length <= NFC_PIECE) {
    const n = s.normalize('NFC');
    return n === s ? s : n;
  }
  // Unchanged pieces are kept as slices of `s` (no copy); only a change costs a join.
  const pieces: string[] = [];
  let changed = false;
  for (let start = 0; start < s.length;) {
    const cut = s.indexOf('\n', start + NFC_PIECE);
    const end = cut < 0 ? s.length : cut + 1;
    const piece = s.slice(start, end);
    const n = piece.normalize('NFC');
    if (n !== piece) changed = true;
    pieces.push(n === piece ? piece : n);
    start = end;
  }
  return changed ? pieces.join('') : s;
}

/** Tabs → spaces up to the next tab stop, so aligned columns and code indentation survive. */
function expandTabs(line: string): string {
  if (!line.includes('\t')) return line;
  let out = '';
  for (const ch of line) {
    if (ch === '\t') out += ' '.repeat(TAB_WIDTH - (out.length % TAB_WIDTH));
    else out += ch;
  }
  return out;
}

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
  s = s.replace(UNWANTED, '').normalize('NFC');
  if (s.includes('\t')) s = s.split('\n').map(expandTabs).join('\n');
  s = s.replace(/[^\S\n]+$/gm, ''); // trailing whitespace; whitespace-only lines become empty
  s = s.replace(/\n{3,}/g, '\n\n');
  return s.replace(/^\n+/, '').trimEnd();
}

/** The canonical form of a whole document: `normalizeBlock`, then fully trimmed. */
export function normalizeText(input: string): string {
  return normalizeBlock(input).trim();
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

/**
 * Plain text → blocks, with conservative heading detection. A false heading misleads the
 * chunker and the question generator more than a missed one, so every rule requires a short,
 * isolated line and rejects anything that reads like a sentence.
 */
import type { Block } from './blocks.js';
import { normalizeText } from './normalize.js';

const MAX_HEADING_CHARS = 80;
const UNDERLINE = /^ {0,3}(=+|-+)$/;
/** Small words that may stay lowercase in a Title Case heading ("Grant of Copyright License"). */
const MINOR_WORDS = new Set(
  'a an and as at but by for from in into nor of on or per the to via vs with without under over'.split(' '),
);

export function textToBlocks(raw: string): Block[] {
  return textToBlocksOf(raw).blocks;
}

/** The blocks, and the normalized text they were cut from (assemble's `source`). */
export function textToBlocksOf(raw: string): { blocks: Block[]; normalized: string } {
  const blocks: Block[] = [];
  const normalized = normalizeText(raw);
  // After normalization paragraphs are separated by exactly one blank line.
  for (const para of normalized.split('\n\n')) for (const b of paragraphBlocks(para.split('\n'))) blocks.push(b);
  return { blocks, normalized };
}

function paragraphBlocks(lines: string[]): Block[] {
  const setext = setextHeading(lines);
  if (setext) {
    const rest = lines.slice(setext.consumed);
    return [setext.heading, ...(rest.length ? paragraphBlocks(rest) : [])];
  }
  const only = lines.length === 1 ? lines[0]!.trim() : null;
  const level = only ? standaloneHeadingLevel(only) : 0;
  if (only && level) return [{ kind: 'heading', level, text: only }];
  return [{ kind: 'text', text: lines.join('\n') }];
}

/** "Title\n=====" (markdown/RST style), optionally with an RST overline, at a paragraph start. */
function setextHeading(lines: string[]): { heading: Block; consumed: number } | null {
  const overline = UNDERLINE.exec(lines[0] ?? '');
  const at = overline ? 1 : 0;
  const title = lines[at];
  const under = UNDERLINE.exec(lines[at + 1] ?? '');
  if (title === undefined || !under || !isTitleLine(title)) return null;
  const mark = under[1]!;
  if (overline && overline[1]![0] !== mark[0]) return null;
  // A 3-dash line under a long sentence is more likely a separator than an underline.
  if (mark.length < Math.max(3, Math.floor(title.trim().length / 2))) return null;
  const level = mark[0] === '=' ? 1 : 2;
  return { heading: { kind: 'heading', level, text: title.trim() }, consumed: at + 2 };
}

function isTitleLine(line: string): boolean {
  const t = line.trim();
  return (
    t.length >= 2 &&
    t.length <= MAX_HEADING_CHARS &&
    !/^ {4}/.test(line) && // indented code
    /\p{L}/u.test(t) &&
    !/[.,;:!]$/.test(t) &&
    !/^[-*+>#|]/.test(t) // list items, quotes, tables
  );
}

/** Level for a line that is a paragraph on its own, or 0 when it does not look like a heading. */
export function standaloneHeadingLevel(t: string): number {
  if (t.length < 2 || t.length > MAX_HEADING_CHARS) return 0;
  const numbered = numberedHeadingLevel(t);
  if (numbered) return numbered;
  return isAllCapsHeading(t) ? 1 : 0;
}

/** "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION", "NO WARRANTY". */
function isAllCapsHeading(t: string): boolean {
  if (/[.,;]$/.test(t)) return false;
  // Only letters, digits and title punctuation: rules out code (FOO_BAR=1), paths, banners.
  if (!/^[\p{Lu}\p{M}\p{Nd} ,&'’:()\/.-]+$/u.test(t)) return false;
  const upper = t.match(/\p{Lu}/gu)?.length ?? 0;
  return upper >= 4 && upper >= t.replace(/\s/g, '').length / 2;
}

/**
 * "1. Definitions.", "2.1 Scope", "Section 3", "ARTICLE IV. Term". A bare number needs a dot
 * ("1." or "1.2") so that "100 Main Street" is not a heading; the title must be Title Case so
 * that a numbered list step ("1. Download the file") is not one either.
 */
function numberedHeadingLevel(t: string): number {
  const keyword = /^(section|article|chapter|part|appendix|annex|schedule)\s+(\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,6}|[A-Z])\.?(?:\s*[:.\-–—]?\s+(.+))?$/i.exec(
    t,
  );
  if (keyword) {
    if (keyword[1]![0] !== keyword[1]![0]!.toUpperCase()) return 0; // "section 3 of the act"
    const title = keyword[3];
    if (title !== undefined && !isTitleCase(title)) return 0;
    return Math.min(6, 1 + depth(keyword[2]!));
  }
  const bare = /^(\d{1,3}(?:\.\d{1,3})*\.|\d{1,3}(?:\.\d{1,3})+)\s+(.+)$/.exec(t);
  if (bare && isTitleCase(bare[2]!)) return Math.min(6, 1 + depth(bare[1]!));
  return 0;
}

function depth(number: string): number {
  return number.replace(/\.$/, '').split('.').length;
}

function isTitleCase(title: string): boolean {
  const t = title.replace(/[.:]$/, '');
  // One phrase, not a sentence: no inner sentence breaks, no trailing list punctuation.
  if (/[.;!?]\s/.test(t) || /[,;]$/.test(t) || t.length === 0) return false;
  const words = t.split(/\s+/);
  if (words.length > 10) return false;
  if (!/^\p{Lu}/u.test(words[0]!)) return false;
  return words.every((w) => !/^\p{Ll}/u.test(w) || MINOR_WORDS.has(w.replace(/\W+$/, '')));
}

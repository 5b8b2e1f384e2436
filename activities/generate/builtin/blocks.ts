/**
 * A chunk read as blocks: headings, prose paragraphs, list items, API signature lines and code.
 * Every block keeps its UTF-16 range in the chunk text, so answers can be cut as real spans.
 */

export type BlockKind = 'heading' | 'prose' | 'item' | 'signature' | 'code';

export interface Block {
  kind: BlockKind;
  start: number; // UTF-16 index into the chunk text, at the first non-space character
  end: number; // exclusive, just after the last non-space character
  text: string; // whitespace collapsed (for matching only; answers come from spans)
  numbered?: boolean; // an item with "1." / "2)" markers
}

export const LIST_MARKER = /^(?:[-*•+]|(\d{1,3})[.)]|[a-z][.)]|\((?:\d{1,3}|[a-z]{1,4})\))\s+/;
const URL_ONLY = /^<?(?:https?:\/\/|www\.)\S+>?$/;
const TABLE_ROW = /(?:^\||\|$|\S\s\|\s\S|^[-:| ]{3,}$)/;
// Table-of-contents lines ("3.1 Shell Syntax . . . . . 7") are page furniture.
const DOT_LEADER = /(?:\.\s){4,}|\.{4,}/;
const CODE_START =
  /^(?:\$ |>>> |\.\.\. |#!|\/\/|\/\*|\*\/|(?:import|export|const|let|var|function|return|class \w+[:({]|def|npm|npx|yarn|pnpm|pip|git|cd|sudo|curl|apt|apt-get|node|from \S+ import)\s?)/;
const CODE_SIGNS = /[{}]\s*$|\);\s*$|^[})\]]|\s=\s|=>|&&|\|\||::|<\/?[a-z][\w-]*[ >]/;
// "debug(msg, *args, **kwargs)", "class logging.Handler", "csvwriter.dialect", "exception json.JSONDecodeError(msg, doc, pos)".
const SIGNATURE =
  /^(?:(?:class|exception|classmethod|staticmethod|abstractmethod|async|await|coroutine|property|method|function)\s+)*[A-Za-z_][\w.]*(?:\([^()]*(?:\([^()]*\)[^()]*)*\))?(?:\s*->\s*\S+)?$/;

export function words(s: string): string[] {
  return s.split(/\s+/).filter(Boolean);
}

/** A long line of words that ends like a sentence is prose, even if it names `deflate()`. */
function looksLikeProse(line: string): boolean {
  const w = words(line);
  return w.length >= 8 && /[.!?:]["'”’)]*$/.test(line) && w.filter((t) => /^[\p{L}"“(‘]/u.test(t)).length >= w.length * 0.75;
}

export function isCodeLine(line: string): boolean {
  if (CODE_START.test(line)) return !looksLikeProse(line);
  if (CODE_SIGNS.test(line)) return !looksLikeProse(line);
  const chars = line.replace(/\s/g, '');
  const symbols = chars.replace(/[\p{L}\p{N}.,;:!?'"“”‘’()%\-–—/]/gu, '').length;
  return chars.length > 0 && symbols / chars.length > 0.15;
}

/** A signature needs code-ish shape: parentheses, a dot or an underscore, not a plain word. */
function isSignature(line: string): boolean {
  return line.length <= 160 && SIGNATURE.test(line) && /[(._]/.test(line) && !/[.!?]$/.test(line.replace(/\)$/, ''));
}

/** A one-line paragraph that reads like a title: short, no end punctuation (numbered may end "."). */
function isHeadingLine(line: string, chunkHeadings: Set<string>): boolean {
  if (chunkHeadings.has(line)) return true;
  if (/^#{1,6}\s+\S/.test(line)) return true;
  if (line.length > 80 || /copyright|©|@|https?:/i.test(line) || LIST_MARKER.test(line)) return false;
  const numbered = /^(?:\d+(?:\.\d+)*\.?\s+)(.+)$/.exec(line);
  const body = numbered ? numbered[1]!.replace(/\.$/, '') : line;
  if (!numbered && /[.,;:!]$/.test(line)) return false;
  return /^[\p{Lu}\p{N}]/u.test(body) && words(body).length <= 10 && !/[.;:!](?:\s|$)/.test(body);
}

interface Line {
  start: number;
  end: number;
  text: string;
}

function linesOf(text: string, from: number, to: number): Line[] {
  const out: Line[] = [];
  let pos = from;
  while (pos < to) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0 || nl > to) nl = to;
    const raw = text.slice(pos, nl);
    const lead = raw.length - raw.trimStart().length;
    const t = raw.trim();
    if (t) out.push({ start: pos + lead, end: pos + lead + t.length, text: t });
    pos = nl + 1;
  }
  return out;
}

/** Blocks of a chunk, in text order. `headings` are the chunk's known heading texts. */
export function toBlocks(text: string, headings: Iterable<string>): Block[] {
  const known = new Set([...headings].map((h) => h.trim()));
  const blocks: Block[] = [];
  const paraBreak = /\n[^\S\n]*\n\s*/g;
  let paraStart = 0;
  const paras: Array<[number, number]> = [];
  for (let m = paraBreak.exec(text); m; m = paraBreak.exec(text)) {
    paras.push([paraStart, m.index]);
    paraStart = m.index + m[0].length;
  }
  paras.push([paraStart, text.length]);
  for (const [from, to] of paras) {
    const lines = linesOf(text, from, to);
    if (lines.length === 0) continue;
    if (lines.length === 1 && !DOT_LEADER.test(lines[0]!.text)) {
      const l = lines[0]!;
      if (isSignature(l.text)) {
        blocks.push({ kind: 'signature', start: l.start, end: l.end, text: l.text });
        continue;
      }
      if (isHeadingLine(l.text, known)) {
        blocks.push({ kind: 'heading', start: l.start, end: l.end, text: l.text.replace(/^#{1,6}\s+/, '') });
        continue;
      }
    }
    let cur: Block | undefined;
    const flush = (): void => {
      if (cur) blocks.push({ ...cur, text: cur.text.replace(/\s+/g, ' ').trim() });
      cur = undefined;
    };
    for (const line of lines) {
      const marker = LIST_MARKER.exec(line.text);
      const body = marker ? line.text.slice(marker[0].length) : line.text;
      if (URL_ONLY.test(line.text) || TABLE_ROW.test(line.text) || DOT_LEADER.test(line.text) || isCodeLine(body)) {
        if (cur?.kind === 'code') {
          cur.end = line.end;
          continue;
        }
        flush();
        cur = { kind: 'code', start: line.start, end: line.end, text: '' };
      } else if (marker) {
        flush();
        cur = { kind: 'item', start: line.start, end: line.end, text: body, numbered: marker[1] !== undefined };
      } else if (cur && (cur.kind === 'prose' || cur.kind === 'item')) {
        cur.end = line.end; // a wrapped line of the same paragraph or item
        cur.text += ' ' + line.text;
      } else {
        flush();
        cur = { kind: 'prose', start: line.start, end: line.end, text: line.text };
      }
    }
    flush();
  }
  return blocks;
}

/**
 * Extractors describe a document as a list of blocks; `assemble` turns them into the final
 * text and computes heading offsets in that exact text. Doing the layout in one place is what
 * guarantees `text.slice(h.start, h.end) === h.text` whatever the source format.
 */
import type { Heading } from '../../schemas/index.js';
import { normalizeBlock } from './normalize.js';

export type Block = { kind: 'text'; text: string } | { kind: 'heading'; level: number; text: string };

export interface Assembled {
  text: string;
  headings: Heading[];
  /** UTF-16 offset in `text` where each input block starts, -1 for a block that left no text. */
  blockStarts: number[];
}

const SEPARATOR = '\n\n';

/**
 * `source`, when given, is the text the blocks were cut from (plain text: the normalized
 * document). When the blocks joined are exactly that text, it is the result as it is: joining
 * them again would be a second copy of the document next to the first (300 MB more for a
 * 300 MB text file), for the same characters.
 */
export function assemble(blocks: readonly Block[], source?: string): Assembled {
  const parts: string[] = [];
  const headings: Heading[] = [];
  const blockStarts: number[] = [];
  let offset = 0;
  for (const block of blocks) {
    // A heading is one line: line breaks inside <h1> or a wrapped title would split it.
    const text =
      block.kind === 'heading' ? normalizeBlock(block.text).replace(/\s+/g, ' ').trim() : normalizeBlock(block.text);
    if (text.trim() === '') {
      blockStarts.push(-1);
      continue;
    }
    if (parts.length > 0) offset += SEPARATOR.length;
    blockStarts.push(offset);
    if (block.kind === 'heading') {
      const level = Math.min(6, Math.max(1, Math.round(block.level)));
      headings.push({ text, level, start: offset, end: offset + text.length });
    }
    parts.push(text);
    offset += text.length;
  }
  // Blocks keep their first-line indentation; the document as a whole is trimmed.
  const joined = source !== undefined && joinsTo(parts, source) ? source : parts.join(SEPARATOR);
  const text = joined.trimStart();
  const shift = joined.length - text.length;
  for (const h of headings) {
    h.start -= shift;
    h.end -= shift;
  }
  // The first block's leading indentation may have been trimmed: it still starts the text.
  for (let i = 0; i < blockStarts.length; i++) if (blockStarts[i]! >= 0) blockStarts[i] = Math.max(0, blockStarts[i]! - shift);
  return { text, headings, blockStarts };
}

/** Whether parts.join(SEPARATOR) === source, without making the join. */
function joinsTo(parts: readonly string[], source: string): boolean {
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) {
      if (!source.startsWith(SEPARATOR, at)) return false;
      at += SEPARATOR.length;
    }
    if (!source.startsWith(parts[i]!, at)) return false;
    at += parts[i]!.length;
  }
  return at === source.length;
}

/**
 * Turns a file's bytes into normalized plain text plus its headings. Never throws: every
 * failure is a stable reason code with a message a user can act on (it lands in errors.jsonl).
 */
import type { DocumentKind } from '../../schemas/index.js';
import type { ExtractResult } from '../types.js';
import { assemble, type Block } from './blocks.js';
import { decodeBytes } from './decode.js';
import { htmlToBlocks } from './html.js';
import { DEFAULT_EXTRACT_LIMITS, type ExtractLimits, isStackOverflow, stackOverflowDetail, TooComplexError } from './limits.js';
import { markdownToBlocks } from './markdown.js';
import { pdfToBlocks } from './pdf.js';
import { textToBlocks } from './plaintext.js';

export { normalizeText } from './normalize.js';
export { DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from './limits.js';

const KIND_BY_EXTENSION: Record<string, DocumentKind> = {
  '': 'text', // LICENSE, COPYING, README, NOTICE, AUTHORS: common in real corpora
  txt: 'text',
  text: 'text',
  rst: 'text',
  log: 'text',
  md: 'markdown',
  markdown: 'markdown',
  mdx: 'markdown',
  html: 'html',
  htm: 'html',
  xhtml: 'html',
  pdf: 'pdf',
};

/** Document kind from the file name's extension, case-insensitive. */
export function kindFromPath(path: string): DocumentKind {
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  // A leading dot is a hidden file (".bashrc"), not an extension: such files are 'other'.
  if (dot === 0) return 'other';
  // A numeric "extension" is a version, not a type: Apache-2.0, GPL-3, LGPL-2.1 are text.
  const ext = dot < 0 || /^\d+$/.test(name.slice(dot + 1)) ? '' : name.slice(dot + 1).toLowerCase();
  return KIND_BY_EXTENSION[ext] ?? 'other';
}

/**
 * `limits` bound nesting depth and decoded size (defaults: DEFAULT_EXTRACT_LIMITS); a document
 * past one, or deep enough to exhaust the call stack, is `too_complex` with the limit named.
 */
export async function extractText(bytes: Uint8Array, kind: DocumentKind, limits: Partial<ExtractLimits> = {}): Promise<ExtractResult> {
  try {
    return await extract(bytes, kind, { ...DEFAULT_EXTRACT_LIMITS, ...limits });
  } catch (err) {
    if (err instanceof TooComplexError) return { ok: false, reason: 'too_complex', detail: err.message };
    if (isStackOverflow(err)) {
      return { ok: false, reason: 'too_complex', detail: stackOverflowDetail() };
    }
    // Last line of defence: a library bug must fail one document, not the whole batch.
    const msg = err instanceof Error ? err.message : String(err);
    return { ok: false, reason: kind === 'pdf' ? 'pdf_broken' : 'unreadable', detail: `extraction failed: ${msg}` };
  }
}

async function extract(bytes: Uint8Array, kind: DocumentKind, limits: ExtractLimits): Promise<ExtractResult> {
  if (kind === 'other') return { ok: false, reason: 'unsupported_type', detail: 'unsupported file type' };
  if (bytes.length === 0) return { ok: false, reason: 'empty', detail: 'file is empty (0 bytes)' };

  let blocks: Block[];
  if (kind === 'pdf') {
    const pdf = await pdfToBlocks(bytes, limits.maxPdfDecodedMb);
    if (!pdf.ok) return pdf;
    blocks = pdf.blocks;
  } else {
    const decoded = decodeBytes(bytes);
    if (!decoded.ok) return decoded;
    if (kind === 'markdown') blocks = markdownToBlocks(decoded.text, limits);
    else if (kind === 'html') blocks = htmlToBlocks(decoded.text, limits.maxHtmlDepth, true);
    else blocks = textToBlocks(decoded.text);
  }

  const { text, headings } = assemble(blocks);
  if (text === '') {
    const detail = kind === 'pdf' ? 'no text after extraction (scanned PDF?)' : 'no text after extraction (only whitespace or markup)';
    return { ok: false, reason: kind === 'pdf' ? 'no_text' : 'empty', detail };
  }
  return { ok: true, text, headings };
}

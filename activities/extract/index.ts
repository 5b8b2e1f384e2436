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
import { docxToBlocks, epubToBlocks } from './office.js';
import { pdfToBlocks } from './pdf.js';
import { pptxToBlocks } from './pptx.js';
import { textToBlocksOf } from './plaintext.js';

export { normalizeText } from './normalize.js';
export { DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from './limits.js';
export { repeatedBlocks } from './repeated.js';

/**
 * ExtractResult (activities/types.ts) plus what only some formats know; every extra is
 * optional, so a caller that wants the plain ExtractResult can use this as one.
 * - pages: for PDFs, the code-point offset in `text` where each page starts (pages[0] is 0;
 *   a page with no text starts where the next one does).
 * - encoding: the encoding the text was decoded from (e.g. "utf-8", "windows-1252", "utf-16le").
 * - warnings: what was repaired or guessed (bad UTF-8 sequences replaced, a guessed encoding).
 */
export type ExtractOk = Extract<ExtractResult, { ok: true }> & { pages?: number[]; encoding?: string; warnings?: string[] };
export type Extraction = ExtractOk | Extract<ExtractResult, { ok: false }>;

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
  docx: 'docx',
  pptx: 'pptx',
  epub: 'epub',
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
export async function extractText(bytes: Uint8Array, kind: DocumentKind, limits: Partial<ExtractLimits> = {}, use: ExtractUse = {}): Promise<Extraction> {
  try {
    return await extract(bytes, kind, { ...DEFAULT_EXTRACT_LIMITS, ...limits }, use);
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

/** Zip-based formats, like PDFs, can be decompression bombs: never extracted outside the pool's threads. */
export function needsIsolation(kind: DocumentKind): boolean {
  return kind === 'pdf' || kind === 'docx' || kind === 'epub' || kind === 'pptx';
}

export interface ExtractUse {
  /**
   * The caller needs the bytes no more (an extraction thread): once decoded, their memory is
   * let go (the buffer is detached, every view on it becomes empty). The frames of this call
   * would otherwise keep a 300 MB input alive next to its text until the chunks are made.
   */
  consumeBytes?: boolean;
}

/** Detaches the buffer under `bytes` and drops its memory. */
function releaseBytes(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return;
  structuredClone(buffer, { transfer: [buffer] });
}

async function extract(bytes: Uint8Array, kind: DocumentKind, limits: ExtractLimits, use: ExtractUse): Promise<Extraction> {
  if (kind === 'other') return { ok: false, reason: 'unsupported_type', detail: 'unsupported file type' };
  if (bytes.length === 0) return { ok: false, reason: 'empty', detail: 'file is empty (0 bytes)' };

  let blocks: Block[];
  let pageOf: number[] | undefined; // the page of each block, for PDFs
  let source: string | undefined; // the text the blocks were cut from, when there is one
  const extras: { encoding?: string; warnings?: string[] } = {};
  if (kind === 'pdf') {
    const pdf = await pdfToBlocks(bytes, limits.maxPdfDecodedMb);
    if (!pdf.ok) return pdf;
    blocks = pdf.blocks;
    pageOf = pdf.pageOf;
  } else if (kind === 'docx' || kind === 'epub' || kind === 'pptx') {
    const office = kind === 'docx' ? await docxToBlocks(bytes, limits) : kind === 'epub' ? epubToBlocks(bytes, limits) : pptxToBlocks(bytes, limits);
    if (!office.ok) return office;
    blocks = office.blocks;
    if (office.warnings.length) extras.warnings = office.warnings;
  } else {
    const decoded = decodeBytes(bytes);
    if (!decoded.ok) return decoded;
    if (use.consumeBytes) releaseBytes(bytes);
    extras.encoding = decoded.encoding;
    if (decoded.warnings.length) extras.warnings = decoded.warnings;
    if (kind === 'markdown') blocks = markdownToBlocks(decoded.text, limits);
    else if (kind === 'html') blocks = htmlToBlocks(decoded.text, limits.maxHtmlDepth, true);
    else ({ blocks, normalized: source } = textToBlocksOf(decoded.text));
  }

  const { text, headings, blockStarts } = assemble(blocks, source);
  if (text === '') {
    const detail =
      kind === 'pdf' ? 'no text after extraction (scanned PDF?)' : kind === 'docx' || kind === 'epub' || kind === 'pptx' ? 'no text after extraction' : 'no text after extraction (only whitespace or markup)';
    return { ok: false, reason: kind === 'pdf' ? 'no_text' : 'empty', detail };
  }
  const result: ExtractOk = { ok: true, text, headings, ...extras };
  if (pageOf) result.pages = pageStarts(text, blockStarts, pageOf);
  return result;
}

/** Code-point offset where each page starts, from the UTF-16 start of each block and its page. */
function pageStarts(text: string, blockStarts: number[], pageOf: number[]): number[] {
  const pages = Math.max(0, ...pageOf.map((p) => p + 1));
  const starts: number[] = new Array<number>(pages).fill(-1);
  for (let i = 0; i < blockStarts.length; i++) {
    const page = pageOf[i]!;
    if (blockStarts[i]! >= 0 && starts[page] === -1) starts[page] = blockStarts[i]!;
  }
  // A page without text starts where the next page with text does (or at the end).
  let next = text.length;
  for (let p = pages - 1; p >= 0; p--) {
    if (starts[p] === -1) starts[p] = next;
    next = starts[p]!;
  }
  if (pages > 0) starts[0] = 0;
  return starts.map((u) => codePoints(text, u));
}

function codePoints(text: string, utf16: number): number {
  let n = 0;
  for (let i = 0; i < utf16; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 >= utf16) n++;
    else {
      n++;
      i++;
    }
  }
  return n;
}

/**
 * Load + chunk of one document in the current thread: exactly `extractText` then `chunkText`
 * (then the pages of each chunk, for sources with pages),
 * as activities/pipeline.ts does them. The pool runs this inside its worker threads; it is also
 * the in-process path and the reference the isolation tests compare against.
 */
import { performance } from 'node:perf_hooks';
import type { Chunk, DocumentKind, Heading } from '../../schemas/index.js';
import { chunkText, type ChunkOptions } from '../chunk.js';
import type { ExtractResult } from '../types.js';
import { extractText } from './index.js';
import { floorIndex } from '../evidence.js';
import type { ExtractLimits } from './limits.js';

export type IsolatedResult =
  | Extract<ExtractResult, { ok: false }>
  | {
      ok: true;
      /** The whole extracted text; '' when the caller said it does not need it (keepText false). */
      text: string;
      /** Words of the text (runs of letters and digits): the base of pairs per 1,000 words. */
      words: number;
      headings: Heading[];
      chunks: Chunk[];
      pages?: number[];
      encoding?: string;
      warnings?: string[];
    };

/** Time spent in each stage, in milliseconds (chunkMs is 0 when extraction failed). */
export interface StageTimings {
  loadMs: number;
  chunkMs: number;
}

export async function extractAndChunkHere(
  bytes: Uint8Array,
  kind: DocumentKind,
  chunkOptions: ChunkOptions,
  limits: Partial<ExtractLimits> = {},
  timings: StageTimings = { loadMs: 0, chunkMs: 0 },
  /** Also return what extractText knows beyond text and headings (pages, encoding, warnings), when it does. */
  meta = false,
  /**
   * Return the whole text too. The pipeline needs only the chunks and the word count: a text
   * sent back from a thread is one more copy of the document in each heap (300 MB for a 300 MB file).
   */
  keepText = true,
  /** The bytes are the callee's (a thread's copy): their memory goes once they are decoded. */
  consumeBytes = false,
): Promise<IsolatedResult> {
  const t0 = performance.now();
  const extracted = await extractText(bytes, kind, limits, { consumeBytes });
  const t1 = performance.now();
  timings.loadMs = t1 - t0;
  if (!extracted.ok) return extracted;
  const chunks = chunkText(extracted.text, extracted.headings, chunkOptions);
  if (extracted.pages) setPages(chunks, extracted.pages);
  timings.chunkMs = performance.now() - t1;
  const result: IsolatedResult = { ok: true, text: keepText ? extracted.text : '', words: countWords(extracted.text), headings: extracted.headings, chunks };
  if (meta) {
    if (extracted.pages) result.pages = extracted.pages;
    if (extracted.encoding) result.encoding = extracted.encoding;
    if (extracted.warnings) result.warnings = extracted.warnings;
  }
  return result;
}

/** Words of a text (runs of letters and digits). */
export function countWords(text: string): number {
  let n = 0;
  const re = /[\p{L}\p{N}]+(?:['’.-][\p{L}\p{N}]+)*/gu;
  while (re.exec(text)) n++;
  return n;
}

/**
 * The 1-based pages a chunk starts and ends on. `pageStarts[p]` is the code-point offset where
 * page p+1 starts (ascending; a page without text starts where the next one does).
 */
export function setPages(chunks: Chunk[], pageStarts: number[]): void {
  const pageAt = (cp: number): number => floorIndex(pageStarts, cp) + 1;
  for (const c of chunks) {
    c.pageStart = pageAt(c.charStart);
    c.pageEnd = pageAt(Math.max(c.charStart, c.charEnd - 1));
  }
}

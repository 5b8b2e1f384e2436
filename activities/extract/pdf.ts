/**
 * PDF → text with pdfjs-dist. Lines are rebuilt from the positioned text items (pdfjs marks
 * most line ends with `hasEOL`; y jumps catch the rest), large vertical gaps become paragraph
 * breaks, and pages are separated by a blank line. PDFs get no headings: font-size guesses
 * would be too unreliable.
 */
import type { DocumentErrorReason } from '../../schemas/index.js';
import type { Block } from './blocks.js';
import { DEFAULT_EXTRACT_LIMITS } from './limits.js';
import { checkPdfDecodedSize } from './pdfLimits.js';
import { CMAP_DIR, loadPdfjs } from './pdfjs.js';

export type PdfResult = { ok: true; blocks: Block[] } | { ok: false; reason: DocumentErrorReason; detail: string };

/** The subset of pdfjs' TextItem we use (TextMarkedContent items have no `str`). */
interface Item {
  str: string;
  hasEOL: boolean;
  height: number;
  transform: number[];
}

/** A vertical move larger than this share of the font height starts a new line. */
const NEW_LINE = 0.5;
/** A vertical move larger than this multiple of the font height starts a new paragraph. */
const NEW_PARAGRAPH = 1.6;

/** Throws TooComplexError when its streams decode to more than `maxDecodedMb` (checked first). */
export async function pdfToBlocks(bytes: Uint8Array, maxDecodedMb = DEFAULT_EXTRACT_LIMITS.maxPdfDecodedMb): Promise<PdfResult> {
  await checkPdfDecodedSize(bytes, maxDecodedMb);
  const pdfjs = await loadPdfjs();
  const task = pdfjs.getDocument({
    // A copy: pdfjs transfers (detaches) the buffer it is given, which would empty the caller's.
    data: new Uint8Array(bytes),
    useSystemFonts: false,
    isEvalSupported: false,
    disableFontFace: true,
    verbosity: 0, // pdfjs.VerbosityLevel.ERRORS: no "Warning: ..." lines on the console
    cMapUrl: CMAP_DIR,
    cMapPacked: true,
  });
  try {
    let doc;
    try {
      doc = await task.promise;
    } catch (err) {
      const name = (err as { name?: string } | null)?.name;
      if (name === 'PasswordException') return broken(`PDF is encrypted and needs a password (${message(err)})`);
      return broken(`PDF could not be parsed: ${message(err)}`);
    }
    if (doc.numPages === 0) return { ok: false, reason: 'no_text', detail: 'PDF has no pages' };
    const blocks: Block[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      try {
        const page = await doc.getPage(n);
        const content = await page.getTextContent();
        const items = (content.items as unknown[]).filter(isTextItem);
        blocks.push({ kind: 'text', text: pageText(items) });
        page.cleanup();
      } catch (err) {
        return broken(`PDF could not be parsed: page ${n}: ${message(err)}`);
      }
    }
    if (blocks.every((b) => b.text.trim() === '')) {
      const pages = doc.numPages === 1 ? '1 page' : `${doc.numPages} pages`;
      return { ok: false, reason: 'no_text', detail: `no text after extraction (scanned PDF?): ${pages}` };
    }
    return { ok: true, blocks };
  } finally {
    // Frees the document and the in-process worker; never let cleanup errors escape.
    await task.destroy().catch(() => undefined);
  }
}

function pageText(items: Item[]): string {
  let out = '';
  let line = '';
  let lastY: number | undefined;
  let lastHeight = 0;
  let eol = false;
  for (const item of items) {
    const y = item.transform[5] ?? 0;
    const height = Math.abs(item.height || item.transform[3] || 0) || 1;
    if (item.str === '') {
      // pdfjs emits empty items whose only job is to carry an end-of-line flag.
      eol ||= item.hasEOL;
      continue;
    }
    if (lastY !== undefined && line !== '') {
      const dy = Math.abs(y - lastY);
      const size = Math.max(height, lastHeight);
      if (eol || dy > NEW_LINE * size) {
        out += line + (dy > NEW_PARAGRAPH * size ? '\n\n' : '\n');
        line = '';
      }
    }
    line += item.str;
    lastY = y;
    lastHeight = height;
    eol = item.hasEOL;
  }
  return out + line;
}

function isTextItem(item: unknown): item is Item {
  return typeof item === 'object' && item !== null && typeof (item as Item).str === 'string' && Array.isArray((item as Item).transform);
}

function broken(detail: string): PdfResult {
  return { ok: false, reason: 'pdf_broken', detail };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

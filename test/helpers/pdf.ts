/**
 * A tiny, dependency-free PDF writer for tests and sample files: one standard Type1 Helvetica
 * font (no embedding), uncompressed content streams and a byte-exact xref table, so any
 * conforming reader (pdfjs included) opens it without falling back to repair mode.
 */

const PAGE_WIDTH = 612; // US Letter, points
const PAGE_HEIGHT = 792;
const MARGIN = 72;
const FONT_SIZE = 12;
const LEADING = 16;

/** Each page is a list of lines. Characters outside Latin-1 are written as "?". */
export function makePdf(pages: string[][], options: { trailerExtra?: string } = {}): Uint8Array {
  // Object numbers: 1 catalog, 2 page tree, 3 font, then a (page, content) pair per page.
  const pageIds = pages.map((_, i) => 4 + i * 2);
  const objects: string[] = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
  ];
  for (const [i, lines] of pages.entries()) {
    const contentId = pageIds[i]! + 1;
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PAGE_WIDTH} ${PAGE_HEIGHT}] ` +
        `/Resources << /Font << /F1 3 0 R >> >> /Contents ${contentId} 0 R >>`,
    );
    const stream = contentStream(lines);
    objects.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
  }

  return pdfFile(objects, options.trailerExtra);
}

/** Starts like a PDF, then garbage and a cut-off object: no xref, no trailer, no pages. */
export function brokenPdf(): Uint8Array {
  return latin1('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\n\x00\x13\xff garbage \x7f\x01 <<<< ]] (unterminated');
}

/**
 * A PDF whose trailer declares standard encryption with a user password we do not know
 * (the /U check fails for the empty password), so readers must ask for one.
 */
export function encryptedPdf(): Uint8Array {
  const hex32 = (b: string) => `<${b.repeat(32)}>`;
  const encrypt = ` /Encrypt << /Filter /Standard /V 1 /R 2 /O ${hex32('4f')} /U ${hex32('55')} /P -4 >>`;
  return makePdf([['secret']], { trailerExtra: `${encrypt} /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]` });
}

function contentStream(lines: string[]): string {
  const ops = ['BT', `/F1 ${FONT_SIZE} Tf`, `${LEADING} TL`, `${MARGIN} ${PAGE_HEIGHT - MARGIN} Td`];
  lines.forEach((line, i) => {
    if (i > 0) ops.push('T*'); // next line, LEADING points down
    ops.push(`(${pdfString(line)}) Tj`);
  });
  ops.push('ET');
  return ops.join('\n');
}

/** A PDF literal string body: escape the delimiters, octal-escape everything non-ASCII. */
function pdfString(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '(' || ch === ')') out += '\\' + ch;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code >= 0xa0 && code <= 0xff) out += '\\' + code.toString(8).padStart(3, '0');
    else out += '?';
  }
  return out;
}

function latin1(s: string): Uint8Array {
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i) & 0xff;
  return bytes;
}

/** A line of a laid-out page: its text, font size (default 12) and the extra space above it, in points. */
export interface PdfLine {
  text: string;
  size?: number;
  gapBefore?: number;
}

/**
 * Like makePdf, with per-line font sizes and gaps, and a running header and footer on every
 * page: `header(n)` / `footer(n)` (1-based page number) are drawn at the top and bottom margin,
 * outside the text flow, as a word processor would.
 */
export function makeLayoutPdf(
  pages: PdfLine[][],
  options: { header?: (page: number) => string; footer?: (page: number) => string } = {},
): Uint8Array {
  const pageIds = pages.map((_, i) => 4 + i * 2);
  const objects: string[] = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
  ];
  for (const [i, lines] of pages.entries()) {
    const ops: string[] = [];
    const text = (s: string, size: number, x: number, y: number) => ops.push('BT', `/F1 ${size} Tf`, `${x} ${y} Td`, `(${pdfString(s)}) Tj`, 'ET');
    if (options.header) text(options.header(i + 1), 9, MARGIN, PAGE_HEIGHT - 40);
    let y = PAGE_HEIGHT - MARGIN;
    for (const line of lines) {
      const size = line.size ?? FONT_SIZE;
      y -= (line.gapBefore ?? 0) + size * 1.3;
      text(line.text, size, MARGIN, y);
    }
    if (options.footer) text(options.footer(i + 1), 9, PAGE_WIDTH / 2, 30);
    const stream = ops.join('\n');
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PAGE_WIDTH} ${PAGE_HEIGHT}] ` +
        `/Resources << /Font << /F1 3 0 R >> >> /Contents ${pageIds[i]! + 1} 0 R >>`,
    );
    objects.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
  }
  return pdfFile(objects);
}

/**
 * A PDF file of these objects (numbered from 1, the first being the catalog) with a correct
 * cross-reference table. Every character is one byte (Latin-1), so string length = offset.
 */
export function pdfFile(objects: string[], trailerExtra = ''): Uint8Array {
  // The second line's high bytes tell tools the file is binary (PDF convention).
  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xrefAt = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  // Each entry is exactly 20 bytes: 10-digit offset, space, 5-digit generation, space, n, space, LF.
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${trailerExtra} >>\n`;
  out += `startxref\n${xrefAt}\n%%EOF\n`;
  return latin1(out);
}

/**
 * Generators of documents that are cheap to write but expensive to parse: deep nesting, a
 * decompression bomb, one enormous line. Sizes are parameters so tests stay small.
 */
import { deflateSync } from 'node:zlib';
import { pdfFile } from './pdf.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A Markdown list nested `depth` levels deep, one item per level ("  " more indent each). */
export function deepMarkdownList(depth: number): Uint8Array {
  const lines: string[] = [];
  for (let k = 0; k < depth; k++) lines.push(`${'  '.repeat(k)}- item ${k}`);
  return utf8(lines.join('\n') + '\n');
}

/** Blockquotes nested `depth` levels deep on one line ("> > > ... text"). */
export function deepMarkdownQuote(depth: number): Uint8Array {
  return utf8('> '.repeat(depth) + 'quoted\n');
}

/** `depth` nested <div>s around one word. */
export function deepHtmlDivs(depth: number, inner = 'deep'): Uint8Array {
  return utf8(`<html><body>${'<div>'.repeat(depth)}${inner}${'</div>'.repeat(depth)}</body></html>`);
}

/** One line of `words` words and no line break. */
export function hugeSingleLine(words: number): Uint8Array {
  const vocab = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
  const parts = new Array<string>(words);
  for (let i = 0; i < words; i++) parts[i] = vocab[i % vocab.length]!;
  return utf8(parts.join(' ') + '.');
}

/**
 * A one-page PDF whose content stream is `zeros` zero bytes, FlateDecode-compressed (about
 * 1000:1), drawn after a line of real text. `layers` > 1 compresses the stream again (a
 * [/FlateDecode /FlateDecode] chain): each layer multiplies the ratio.
 */
export function flateBombPdf(zeros: number, layers = 1): Uint8Array {
  let data: Buffer = Buffer.alloc(zeros, 0x20); // spaces: valid (empty) content-stream syntax
  for (let i = 0; i < layers; i++) data = deflateSync(data, { level: 9 });
  const filter = layers === 1 ? '/FlateDecode' : `[${' /FlateDecode'.repeat(layers)} ]`;
  const text = 'BT /F1 12 Tf 72 720 Td (Bomb page) Tj ET\n';
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [4 0 R] /Count 1 >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents [5 0 R 6 0 R] >>',
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
    `<< /Length ${data.length} /Filter ${filter} >>\nstream\n${data.toString('latin1')}\nendstream`,
  ];
  return pdfFile(objects);
}

/**
 * A decompression bomb check for PDFs, run before pdfjs. pdfjs decodes a FlateDecode stream
 * into one buffer that it grows by doubling and never streams, so a 1 MB file of compressed
 * zeros becomes gigabytes of ArrayBuffers, which no JS heap limit covers. Here every stream
 * pdfjs may decode for text (page contents, forms, fonts, object streams: everything but
 * images and attachments) is inflated by zlib into a counter, never kept; past the budget the
 * document is `too_complex`. Cost: one extra inflate of those streams, in constant memory.
 *
 * Not covered (left to the worker's heap and time limits): encrypted streams (inflate fails on
 * the ciphertext, so they are skipped), and chains that do not start with FlateDecode (LZW).
 */
import { createInflate, type Inflate } from 'node:zlib';
import { TooComplexError } from './limits.js';

const MB = 1024 * 1024;

export async function checkPdfDecodedSize(bytes: Uint8Array, limitMb: number): Promise<void> {
  const limit = limitMb * MB;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let total = 0;
  for (let at = buf.indexOf('stream', 0, 'latin1'); at >= 0; at = buf.indexOf('stream', at + 6, 'latin1')) {
    if (at >= 3 && buf.toString('latin1', at - 3, at) === 'end') continue;
    // The stream keyword is followed by CRLF or LF (a lone CR in broken files).
    let start = at + 6;
    if (buf[start] === 0x0d) start++;
    if (buf[start] === 0x0a) start++;
    if (start === at + 6) continue;
    const dict = buf.toString('latin1', Math.max(0, buf.lastIndexOf('obj', at, 'latin1'), at - 64 * 1024), at);
    const layers = leadingFlateLayers(dict);
    if (layers === 0 || /\/Subtype\s*\/Image\b|\/Type\s*\/EmbeddedFile\b/.test(dict)) continue;
    const end = buf.indexOf('endstream', start, 'latin1');
    const data = buf.subarray(start, end < 0 ? buf.length : end);
    total += await inflatedSize(data, layers, limit - total);
    if (total > limit) {
      throw new TooComplexError(
        `PDF streams decompress to more than ${limitMb} MB (limit: ${limitMb} MB decoded; a decompression bomb?)`,
      );
    }
    if (end < 0) break;
  }
}

/** How many FlateDecode filters open the stream's filter chain (`/Filter /FlateDecode`, `[/Fl /Fl]`). */
function leadingFlateLayers(dict: string): number {
  const m = /\/Filter\s*(\[[^\]]*\]|\/[A-Za-z0-9]+)/.exec(dict);
  if (!m) return 0;
  const names = m[1]!.match(/\/[A-Za-z0-9]+/g) ?? [];
  let n = 0;
  while (n < names.length && (names[n] === '/FlateDecode' || names[n] === '/Fl')) n++;
  return n;
}

/**
 * Bytes that `layers` rounds of inflate produce, counting past `budget` by at most one chunk.
 * Corrupt or truncated data counts what decoded before the error (pdfjs is lenient the same way).
 */
function inflatedSize(data: Uint8Array, layers: number, budget: number): Promise<number> {
  return new Promise((resolve) => {
    const chain: Inflate[] = [];
    for (let i = 0; i < layers; i++) chain.push(createInflate({ chunkSize: 256 * 1024 }));
    let count = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      for (const s of chain) s.destroy();
      resolve(count);
    };
    for (const s of chain) s.on('error', finish);
    for (let i = 0; i + 1 < chain.length; i++) chain[i]!.pipe(chain[i + 1]!);
    const last = chain[chain.length - 1]!;
    last.on('data', (chunk: Buffer) => {
      count += chunk.length;
      if (count > budget) finish();
    });
    last.on('end', finish);
    chain[0]!.end(data);
  });
}

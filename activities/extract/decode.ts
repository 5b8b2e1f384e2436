/**
 * Bytes → string. Strict on purpose: a file that is not valid text should fail loudly with a
 * reason the user can act on, rather than turn into mojibake that poisons the QA dataset.
 */
import type { DocumentErrorReason } from '../../schemas/index.js';

export type DecodeResult =
  | { ok: true; text: string }
  | { ok: false; reason: DocumentErrorReason; detail: string };

/** How much of the file the binary sniffing looks at; enough for any file header. */
const SNIFF_BYTES = 8192;
/** Above this share of control characters the file is treated as binary. */
const MAX_CONTROL_RATIO = 0.1;

export function decodeBytes(bytes: Uint8Array): DecodeResult {
  // UTF-16 is checked first: its ASCII text is full of NUL bytes, which would look binary.
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return decodeUtf16(bytes.subarray(2), 'le');
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return decodeUtf16(bytes.subarray(2), 'be');

  const hasUtf8Bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const body = hasUtf8Bom ? bytes.subarray(3) : bytes;

  const binary = sniffBinaryBytes(body.subarray(0, SNIFF_BYTES));
  if (binary) return { ok: false, reason: 'binary', detail: binary };

  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(body) };
  } catch {
    // TextDecoder does not say where the problem is; find it so the user can look.
    const at = firstInvalidUtf8(body);
    const offset = at < 0 ? '' : ` at byte ${at + (hasUtf8Bom ? 3 : 0)}`;
    return { ok: false, reason: 'invalid_utf8', detail: `invalid UTF-8${offset}` };
  }
}

/** Returns a human reason when the sample looks binary, else null. */
function sniffBinaryBytes(sample: Uint8Array): string | null {
  if (sample.length === 0) return null;
  const nul = sample.indexOf(0);
  if (nul >= 0) return `file contains NUL bytes (binary), first at byte ${nul}`;
  let control = 0;
  for (const b of sample) if (isControlByte(b)) control++;
  return tooManyControls(control, sample.length);
}

/** C0 controls and DEL, minus the ones plain text uses: \t \n \v \f \r and ESC (ANSI colours in logs). */
function isControlByte(b: number): boolean {
  return (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0b && b !== 0x0c && b !== 0x0d && b !== 0x1b) || b === 0x7f;
}

function tooManyControls(control: number, total: number): string | null {
  if (control / total <= MAX_CONTROL_RATIO) return null;
  const pct = Math.round((control / total) * 100);
  return `file looks binary: ${pct}% control characters in the first ${total} bytes`;
}

function decodeUtf16(body: Uint8Array, order: 'le' | 'be'): DecodeResult {
  const label = `UTF-16${order.toUpperCase()}`;
  if (body.length % 2 !== 0) {
    return { ok: false, reason: 'invalid_utf8', detail: `invalid ${label}: odd number of bytes (${body.length + 2})` };
  }
  // Swap to little endian ourselves: 'utf-16be' needs full ICU, which not every Node build has.
  const le = order === 'le' ? body : swapPairs(body);
  let text: string;
  try {
    text = new TextDecoder('utf-16le', { fatal: true }).decode(le);
  } catch {
    return { ok: false, reason: 'invalid_utf8', detail: `invalid ${label}: unpaired surrogate` };
  }
  // Binary sniffing on code units, since the bytes of UTF-16 text are half NULs.
  const sample = text.slice(0, SNIFF_BYTES / 2);
  if (sample.includes('\0')) return { ok: false, reason: 'binary', detail: `file contains NUL characters (binary ${label}?)` };
  let control = 0;
  for (let i = 0; i < sample.length; i++) if (isControlByte(sample.charCodeAt(i))) control++;
  const binary = sample.length ? tooManyControls(control, sample.length) : null;
  if (binary) return { ok: false, reason: 'binary', detail: binary };
  return { ok: true, text };
}

function swapPairs(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    out[i] = bytes[i + 1]!;
    out[i + 1] = bytes[i]!;
  }
  return out;
}

/**
 * Offset of the first byte that starts an invalid UTF-8 sequence, or -1. Follows the same rules
 * as TextDecoder (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf; // allowed range of the first continuation byte
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i; // truncated at end of file
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * Bytes → string, detecting the encoding instead of refusing: a BOM (UTF-8, UTF-16, UTF-32)
 * wins; otherwise UTF-16/32 without BOM is recognised by its NUL pattern; then strict UTF-8;
 * then mostly-valid UTF-8 with a few bad sequences (replaced by U+FFFD, counted in a warning);
 * then a legacy encoding named by a charset detector (chardet), e.g. windows-1252. Only
 * content that looks binary (NUL bytes, mostly control characters) is an error.
 */
import chardet from 'chardet';
import type { DocumentErrorReason } from '../../schemas/index.js';

export type DecodeResult =
  | { ok: true; text: string; encoding: string; warnings: string[] }
  | { ok: false; reason: DocumentErrorReason; detail: string };

/** How much of the file the binary sniffing looks at; enough for any file header. */
const SNIFF_BYTES = 8192;
/** Above this share of control characters the file is treated as binary. */
const MAX_CONTROL_RATIO = 0.1;
/** A BOM-less UTF-16/32 guess needs this share of the code units' NUL bytes where ASCII puts them. */
const MIN_NUL_PATTERN = 0.6;
/** ... and at most this share of NULs in the other positions. */
const MAX_NUL_ELSEWHERE = 0.02;

export function decodeBytes(bytes: Uint8Array): DecodeResult {
  // UTF-32 before UTF-16: FF FE 00 00 starts both BOMs.
  if (startsWith(bytes, [0xff, 0xfe, 0x00, 0x00])) return decodeUtf32(bytes.subarray(4), 'le', 'BOM');
  if (startsWith(bytes, [0x00, 0x00, 0xfe, 0xff])) return decodeUtf32(bytes.subarray(4), 'be', 'BOM');
  // UTF-16 is checked before binary sniffing: its ASCII text is full of NUL bytes.
  if (startsWith(bytes, [0xff, 0xfe])) return decodeUtf16(bytes.subarray(2), 'le', 'BOM');
  if (startsWith(bytes, [0xfe, 0xff])) return decodeUtf16(bytes.subarray(2), 'be', 'BOM');

  const hasUtf8Bom = startsWith(bytes, [0xef, 0xbb, 0xbf]);
  const body = hasUtf8Bom ? bytes.subarray(3) : bytes;

  if (!hasUtf8Bom) {
    const wide = guessWideEncoding(body.subarray(0, SNIFF_BYTES));
    if (wide) {
      const r = wide.unit === 4 ? decodeUtf32(body, wide.order, 'no BOM') : decodeUtf16(body, wide.order, 'no BOM');
      if (r.ok) return r;
    }
  }

  const binary = sniffBinaryBytes(body.subarray(0, SNIFF_BYTES));
  if (binary) return { ok: false, reason: 'binary', detail: binary };

  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(body), encoding: 'utf-8', warnings: [] };
  } catch {
    // Not strict UTF-8: a few bad sequences in UTF-8 text, or a legacy encoding.
  }
  const { valid, invalid, first } = countUtf8(body);
  const at = first + (hasUtf8Bom ? 3 : 0);
  if (hasUtf8Bom || valid >= invalid) {
    const text = new TextDecoder('utf-8').decode(body);
    const what = invalid === 1 ? '1 invalid UTF-8 sequence' : `${invalid} invalid UTF-8 sequences`;
    return { ok: true, text, encoding: 'utf-8', warnings: [`${what} replaced with U+FFFD (first at byte ${at})`] };
  }
  return decodeLegacy(body, at);
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/**
 * ASCII-range text in UTF-16LE has a NUL in every odd byte and none in the even ones (BE: the
 * reverse); UTF-32LE has three NULs after every byte. Binary data rarely keeps such a strict
 * pattern over thousands of bytes, and the decoded text must still pass the binary check.
 */
function guessWideEncoding(sample: Uint8Array): { unit: 2 | 4; order: 'le' | 'be' } | null {
  if (sample.length < 4) return null;
  const zeros = [0, 0, 0, 0];
  const n = sample.length - (sample.length % 4);
  for (let i = 0; i < n; i++) if (sample[i] === 0) zeros[i % 4]!++;
  const per = n / 4; // bytes at each position mod 4
  const share = (k: number) => zeros[k]! / per;
  if (share(1) >= MIN_NUL_PATTERN && share(2) >= 0.98 && share(3) >= 0.98 && share(0) <= MAX_NUL_ELSEWHERE) return { unit: 4, order: 'le' };
  if (share(2) >= MIN_NUL_PATTERN && share(0) >= 0.98 && share(1) >= 0.98 && share(3) <= MAX_NUL_ELSEWHERE) return { unit: 4, order: 'be' };
  const odd = (share(1) + share(3)) / 2;
  const even = (share(0) + share(2)) / 2;
  if (odd >= MIN_NUL_PATTERN && even <= MAX_NUL_ELSEWHERE) return { unit: 2, order: 'le' };
  if (even >= MIN_NUL_PATTERN && odd <= MAX_NUL_ELSEWHERE) return { unit: 2, order: 'be' };
  return null;
}

/** A legacy encoding, as the detector names it; Latin-1 is read as its superset windows-1252. */
function decodeLegacy(body: Uint8Array, firstInvalid: number): DecodeResult {
  const candidates = chardet.analyse(body.subarray(0, 64 * 1024));
  const top = candidates[0];
  // Short or ambiguous input: prefer the Western encoding when it scores close to the top.
  const western = candidates.find((c) => /^(windows-1252|ISO-8859-1)$/i.test(c.name));
  let name = top && !(western && western.confidence >= top.confidence * 0.75) ? top.name : 'windows-1252';
  if (/^ISO-8859-1$/i.test(name) || /^UTF-(8|16|32)/i.test(name)) name = 'windows-1252';
  let text: string;
  try {
    text = /^windows-1252$/i.test(name) ? decodeCp1252(body) : new TextDecoder(name.toLowerCase(), { fatal: true }).decode(body);
  } catch {
    name = 'windows-1252';
    text = decodeCp1252(body);
  }
  // Decoded characters must read as text: C1 controls mean the guess (or the file) is wrong.
  let control = 0;
  const sample = text.slice(0, SNIFF_BYTES);
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (isControlByte(c) || (c >= 0x80 && c <= 0x9f)) control++;
  }
  const binary = sample.length ? tooManyControls(control, sample.length) : null;
  if (binary) return { ok: false, reason: 'binary', detail: binary };
  return {
    ok: true,
    text,
    encoding: name.toLowerCase(),
    warnings: [`not UTF-8 (first invalid byte at ${firstInvalid}): decoded as ${name.toLowerCase()}`],
  };
}

/** 0x80-0x9F of windows-1252 (undefined bytes stay C1 controls, as in the WHATWG table). */
const CP1252_HIGH = '\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F' +
  '\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178';

/** Node 20's TextDecoder('windows-1252') decodes as ISO-8859-1 (0x80-0x9F become C1 controls): do it here. */
export function decodeCp1252(bytes: Uint8Array): string {
  let out = '';
  const CHUNK = 8192;
  for (let at = 0; at < bytes.length; at += CHUNK) {
    const codes: number[] = [];
    for (const b of bytes.subarray(at, at + CHUNK)) codes.push(b >= 0x80 && b <= 0x9f ? CP1252_HIGH.charCodeAt(b - 0x80) : b);
    out += String.fromCharCode(...codes);
  }
  return out;
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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function decodeUtf16(body: Uint8Array, order: 'le' | 'be', how: string): DecodeResult {
  const label = `UTF-16${order.toUpperCase()}`;
  const warnings: string[] = [];
  if (body.length % 2 !== 0) {
    warnings.push(`odd number of bytes: the last byte was dropped`);
    body = body.subarray(0, body.length - 1);
  }
  // Swap to little endian ourselves: 'utf-16be' needs full ICU, which not every Node build has.
  const le = order === 'le' ? body : swapPairs(body);
  let text = new TextDecoder('utf-16le').decode(le);
  const lone = text.match(LONE_SURROGATE)?.length ?? 0;
  if (lone > 0) {
    warnings.push(`${lone} unpaired surrogate${lone === 1 ? '' : 's'} replaced with U+FFFD`);
    text = text.replace(LONE_SURROGATE, '\uFFFD');
  }
  return checkWideText(text, label, how, warnings);
}

function decodeUtf32(body: Uint8Array, order: 'le' | 'be', how: string): DecodeResult {
  const label = `UTF-32${order.toUpperCase()}`;
  const warnings: string[] = [];
  const whole = body.length - (body.length % 4);
  if (whole !== body.length) warnings.push(`${body.length - whole} trailing byte(s) dropped`);
  const view = new DataView(body.buffer, body.byteOffset, whole);
  const parts: string[] = [];
  let bad = 0;
  for (let i = 0; i < whole; i += 4) {
    const cp = view.getUint32(i, order === 'le');
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      bad++;
      parts.push('\uFFFD');
    } else parts.push(String.fromCodePoint(cp));
  }
  if (bad) warnings.push(`${bad} invalid code point${bad === 1 ? '' : 's'} replaced with U+FFFD`);
  return checkWideText(parts.join(''), label, how, warnings);
}

/** Binary sniffing on code units, since the bytes of UTF-16/32 text are mostly NULs. */
function checkWideText(text: string, label: string, how: string, warnings: string[]): DecodeResult {
  const sample = text.slice(0, SNIFF_BYTES / 2);
  if (sample.includes('\0')) return { ok: false, reason: 'binary', detail: `file contains NUL characters (binary ${label}?)` };
  let control = 0;
  for (let i = 0; i < sample.length; i++) if (isControlByte(sample.charCodeAt(i))) control++;
  const binary = sample.length ? tooManyControls(control, sample.length) : null;
  if (binary) return { ok: false, reason: 'binary', detail: binary };
  if (how !== 'BOM') warnings.unshift(`no byte order mark: detected as ${label}`);
  return { ok: true, text, encoding: label.toLowerCase(), warnings: warnings.map((w) => (w.startsWith('no byte') ? w : `${label}: ${w}`)) };
}

function swapPairs(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    out[i] = bytes[i + 1]!;
    out[i + 1] = bytes[i]!;
  }
  return out;
}

/** Valid multi-byte sequences, invalid sequences (as TextDecoder replaces them), and the first bad offset. */
function countUtf8(bytes: Uint8Array): { valid: number; invalid: number; first: number } {
  let valid = 0;
  let invalid = 0;
  let first = -1;
  let i = 0;
  while (i < bytes.length) {
    const at = firstInvalidUtf8(bytes.subarray(i));
    const stop = at < 0 ? bytes.length : i + at;
    for (let k = i; k < stop; k++) if (bytes[k]! >= 0xc0) valid++;
    if (at < 0) break;
    if (first < 0) first = stop;
    invalid++;
    // One bad sequence: the byte and the stray continuation bytes after it (a count, not a decoder).
    i = stop + 1;
    while (i < bytes.length && bytes[i]! >= 0x80 && bytes[i]! <= 0xbf) i++;
  }
  return { valid, invalid, first };
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

/**
 * Opening an input file safely, for discovery (hashing) and for processing (reading).
 *
 * Between the walk and the read a file can be swapped for a symlink (to /etc/passwd), a FIFO
 * (which would block the read forever) or another file. So a document is opened with
 * O_NOFOLLOW (a symlink in its place fails the open) and O_NONBLOCK (a FIFO opens at once
 * instead of waiting for a writer), and the opened descriptor is checked before a byte is read:
 * a regular file, the device and inode discovery recorded, and (where the system says where a
 * descriptor points, /proc/self/fd on Linux) inside the input directory. Anything else is a
 * `changed_after_discovery` error.
 *
 * File names are bytes. A name that is not valid UTF-8 cannot be a JSON string as it is, so its
 * `source` is escaped: every byte that is not part of a valid UTF-8 sequence, and every `%`, is
 * written `%XX` (two upper-case hex digits); the rest stays as it is. The manifest marks such an
 * entry (`escapedSource`), and `sourcePathBytes` percent-decodes it back to the exact bytes, so
 * processing finds the file again. Valid names are never escaped: their sources do not change.
 */
import { createHash } from 'node:crypto';
import { constants, type BigIntStats } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { sep } from 'node:path';

/** The file is no longer the one discovery saw: a symlink, a FIFO, another file, or elsewhere. */
export class DocumentChanged extends Error {
  readonly reason = 'changed_after_discovery' as const;
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const SEP = Buffer.from(sep);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A file's identity as `dev:ino` (decimal; inodes can exceed 2^53). */
export function fileIdOf(s: { dev: bigint; ino: bigint }): string {
  return `${s.dev}:${s.ino}`;
}

export function typeOf(s: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (s.isFile()) return 'regular file';
  if (s.isDirectory()) return 'directory';
  if (s.isSymbolicLink()) return 'symbolic link';
  if (s.isFIFO()) return 'FIFO';
  if (s.isSocket()) return 'socket';
  if (s.isCharacterDevice()) return 'character device';
  if (s.isBlockDevice()) return 'block device';
  return 'special file';
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 if the byte there does not start one. */
function validSequenceAt(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > b.length) return 0;
  try {
    strictUtf8.decode(b.subarray(i, i + n)); // rejects overlongs, surrogates and > U+10FFFF
    return n;
  } catch {
    return 0;
  }
}

function hex2(byte: number): string {
  return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** `source` of a relative path given as bytes: as is when valid UTF-8, escaped otherwise. */
export function sourceFromBytes(rel: Uint8Array): { source: string; escaped: boolean } {
  try {
    return { source: strictUtf8.decode(rel), escaped: false };
  } catch {
    return { source: escapeBytes(rel), escaped: true };
  }
}

/** Percent-encodes `%` and every byte outside a valid UTF-8 sequence. */
export function escapeBytes(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const n = validSequenceAt(b, i);
    if (n === 0 || b[i] === 0x25) {
      out += hex2(b[i]!);
      i++;
    } else {
      out += strictUtf8.decode(b.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

/** The inverse of escapeBytes. */
export function unescapeToBytes(s: string): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of s.matchAll(/%([0-9A-F]{2})/g)) {
    parts.push(Buffer.from(s.slice(last, m.index), 'utf8'), Buffer.from([parseInt(m[1]!, 16)]));
    last = m.index! + 3;
  }
  parts.push(Buffer.from(s.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/** The bytes of a manifest entry's path relative to the input directory. */
export function sourcePathBytes(entry: { source: string; escapedSource?: boolean }): Buffer {
  return entry.escapedSource ? unescapeToBytes(entry.source) : Buffer.from(entry.source, 'utf8');
}

export function joinBytes(dir: Uint8Array, rel: Uint8Array): Buffer {
  return Buffer.concat([dir, SEP, rel]);
}

/** A path as fs takes it: a string when it is valid UTF-8 (the usual case), bytes otherwise. */
export function fsPath(b: Buffer): string | Buffer {
  try {
    return strictUtf8.decode(b);
  } catch {
    return b;
  }
}

export function isInsideBytes(child: Uint8Array, parent: Uint8Array): boolean {
  const c = Buffer.from(child.buffer, child.byteOffset, child.byteLength);
  const p = Buffer.from(parent.buffer, parent.byteOffset, parent.byteLength);
  if (c.equals(p)) return true;
  const prefix = p.length > 0 && p[p.length - 1] === SEP[0] ? p : Buffer.concat([p, SEP]);
  return c.length > prefix.length && c.subarray(0, prefix.length).equals(prefix);
}

export async function realPathBytes(path: string | Buffer): Promise<Buffer> {
  return realpath(path, { encoding: 'buffer' });
}

/** Where an open descriptor points, where the system says (Linux); undefined elsewhere. */
async function descriptorPath(handle: FileHandle): Promise<Buffer | undefined> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`, { encoding: 'buffer' });
  } catch {
    return undefined;
  }
}

export interface OpenedDocument {
  handle: FileHandle;
  size: number;
  fileId: string;
}

/**
 * Opens `path` for reading without following a symlink in its place or blocking on a FIFO, and
 * checks the descriptor: a regular file, the identity `expectFileId` when given, and inside
 * `rootReal` (the input directory's real path). Throws DocumentChanged when a check fails; other
 * errors (ENOENT, EACCES) are thrown as they are.
 */
export async function openDocument(path: string | Buffer, opts: { rootReal: Buffer; expectFileId?: string }): Promise<OpenedDocument> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ELOOP: the last component is a symlink (EMLINK on FreeBSD); ENXIO: a socket.
    if (code === 'ELOOP' || code === 'EMLINK') throw new DocumentChanged('the file was replaced by a symbolic link after discovery; not followed');
    if (code === 'ENXIO') throw new DocumentChanged('the file was replaced by a socket or device after discovery');
    throw err;
  }
  try {
    const st: BigIntStats = await handle.stat({ bigint: true });
    if (!st.isFile()) throw new DocumentChanged(`the file is now a ${typeOf(st)}, not a regular file; not read`);
    const id = fileIdOf(st);
    if (opts.expectFileId !== undefined && id !== opts.expectFileId) {
      throw new DocumentChanged(`the file was replaced after discovery (device:inode ${id}, discovery saw ${opts.expectFileId}); not read`);
    }
    const real = await descriptorPath(handle);
    if (real !== undefined && !isInsideBytes(real, opts.rootReal)) {
      throw new DocumentChanged(`the file now resolves outside the input directory (${real.toString('utf8')}); not read`);
    }
    return { handle, size: Number(st.size), fileId: id };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Reads the whole of an opened document, at most `limit` bytes (a file grown past it is changed).
 * The buffer is no larger than the file can be (plus the byte that tells it grew): a 1 MiB
 * buffer for every 200-byte document was a large part of the worker's garbage collection at
 * high --llm-concurrency.
 */
async function readAll(handle: FileHandle, limit: number, onChunk: (b: Buffer) => void, expectedSize = limit): Promise<number> {
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(1 << 20, expectedSize + 1)));
  let total = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, 0, buf.length, null);
    if (bytesRead === 0) return total;
    total += bytesRead;
    if (total > limit) throw new DocumentChanged(`the file grew past ${limit} bytes while it was read`);
    onChunk(Buffer.from(buf.subarray(0, bytesRead)));
  }
}

/**
 * Reads an opened document of `size` bytes (as discovery saw it) straight into one buffer of
 * its own: reading in pieces then joining them held the file twice (600 MB for a 300 MB file),
 * and a buffer of its own is transferred to the extraction thread, not copied. A file shorter
 * now gives fewer bytes (its sha256 then differs); one longer is changed.
 */
async function readExactly(handle: FileHandle, size: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafeSlow(size);
  let total = 0;
  while (total < size) {
    const { bytesRead } = await handle.read(bytes, total, Math.min(size - total, 1 << 24), null);
    if (bytesRead === 0) return bytes.subarray(0, total);
    total += bytesRead;
  }
  const { bytesRead } = await handle.read(Buffer.alloc(1), 0, 1, null);
  if (bytesRead > 0) throw new DocumentChanged(`the file grew past ${size} bytes while it was read`);
  return bytes;
}

/** Discovery: opens and hashes a file, returning its identity for processing to check. */
export async function hashDocument(path: string | Buffer, rootReal: Buffer, expectFileId?: string): Promise<{ sha256: string; fileId: string; size: number }> {
  const doc = await openDocument(path, { rootReal, ...(expectFileId !== undefined ? { expectFileId } : {}) });
  try {
    const hash = createHash('sha256');
    const size = await readAll(doc.handle, Number.MAX_SAFE_INTEGER, (b) => hash.update(b), doc.size);
    return { sha256: hash.digest('hex'), fileId: doc.fileId, size };
  } finally {
    await doc.handle.close().catch(() => undefined);
  }
}

export interface DocumentLocation {
  source: string;
  escapedSource?: boolean;
  /** Real path relative to the input directory's real path, escaped (files reached through a symlink). */
  target?: string;
  fileId?: string;
  size: number;
  sha256: string;
}

/**
 * Processing: reads a manifest entry's bytes, checked against what discovery recorded (the
 * descriptor checks above, then the size and the sha256). Throws DocumentChanged when the file is
 * not the one discovered; other I/O errors as they are.
 */
export async function readDocument(inputDir: string, entry: DocumentLocation): Promise<Uint8Array> {
  const rootReal = await realPathBytes(inputDir);
  const path = entry.target !== undefined
    ? joinBytes(rootReal, unescapeToBytes(entry.target))
    : joinBytes(Buffer.from(inputDir, 'utf8'), sourcePathBytes(entry));
  const doc = await openDocument(fsPath(path), { rootReal, ...(entry.fileId !== undefined ? { expectFileId: entry.fileId } : {}) });
  try {
    const bytes = await readExactly(doc.handle, entry.size);
    if (createHash('sha256').update(bytes).digest('hex') !== entry.sha256) {
      throw new DocumentChanged('file changed after discovery; run again to pick up the new content');
    }
    return bytes;
  } finally {
    await doc.handle.close().catch(() => undefined);
  }
}

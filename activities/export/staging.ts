/**
 * Files of an export written completely (and fsynced) under temporary names, not yet visible:
 * commit.ts renames them into place together, so a reader never sees half of the set.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, truncate, type FileHandle } from 'node:fs/promises';
import type { StagedFileProgress } from '../../schemas/localState.js';
import { dirname } from 'node:path';
import { sha256Hex, tempPathFor, writeTemp } from '../storage.js';

/** A file written completely (and fsynced) to its temporary path, not yet in place. */
export interface StagedFile {
  path: string;
  tmp: string;
  sha256: string;
}

/**
 * A file written line by line to a temporary path, hashed as it goes; `finish` makes it complete
 * on disk but leaves it under its temporary name: commitStaged renames it with the others.
 */
export class StagedLineWriter {
  private handle: FileHandle | undefined;
  readonly tmp: string;
  private buffer: string[] = [];
  private bufferedChars = 0;
  private readonly hash = createHash('sha256');
  rows = 0;
  /** Bytes handed to the file so far (the buffer not counted). */
  private bytes = 0;

  constructor(readonly path: string, tmp?: string) {
    this.tmp = tmp ?? tempPathFor(path);
  }

  /**
   * The writer of an export checkpoint's file, going on after its first `bytes`: what a killed
   * attempt wrote past them is cut off, and the kept bytes are hashed again (the hash's state
   * cannot be saved), so the file and its sha256 are the ones an uninterrupted export gives.
   */
  static async resume(saved: StagedFileProgress): Promise<StagedLineWriter> {
    const w = new StagedLineWriter(saved.path, saved.tmp);
    await truncate(saved.tmp, saved.bytes);
    if (saved.bytes > 0) for await (const chunk of createReadStream(saved.tmp)) w.hash.update(chunk as Buffer);
    w.handle = await open(saved.tmp, 'a');
    w.bytes = saved.bytes;
    w.rows = saved.rows;
    return w;
  }

  /** Everything written so far made durable, and how far that is: for an export checkpoint. */
  async checkpoint(): Promise<StagedFileProgress> {
    await this.flush();
    await this.handle?.sync();
    return { path: this.path, tmp: this.tmp, bytes: this.bytes, rows: this.rows };
  }

  async open(): Promise<this> {
    await mkdir(dirname(this.path), { recursive: true });
    this.handle = await open(this.tmp, 'w');
    return this;
  }

  async writeLine(line: string): Promise<void> {
    this.buffer.push(line, '\n');
    this.bufferedChars += line.length + 1;
    this.rows++;
    if (this.bufferedChars > 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.handle || this.buffer.length === 0) return;
    const chunk = this.buffer.join('');
    this.buffer = [];
    this.bufferedChars = 0;
    const bytes = Buffer.from(chunk, 'utf8');
    this.hash.update(bytes);
    await this.handle.write(bytes);
    this.bytes += bytes.byteLength;
  }

  /** Flush, fsync and close; the file stays at its temporary path. */
  async finish(): Promise<StagedFile> {
    await this.flush();
    if (!this.handle) throw new Error(`writer for ${this.path} was not opened`);
    await this.handle.sync();
    await this.handle.close();
    this.handle = undefined;
    return { path: this.path, tmp: this.tmp, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    if (this.handle) await this.handle.close().catch(() => undefined);
    this.handle = undefined;
    await rm(this.tmp, { force: true });
  }
}

/** A whole small file (the card, stats.json) staged at once. */
export async function stageFile(path: string, data: string): Promise<StagedFile> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  await writeTemp(tmp, data, true);
  return { path, tmp, sha256: sha256Hex(data) };
}

/** Removes what was staged and not committed (an export that failed half way). */
export async function discardStaged(staged: StagedFile[]): Promise<void> {
  await Promise.all(staged.map((f) => rm(f.tmp, { force: true })));
}

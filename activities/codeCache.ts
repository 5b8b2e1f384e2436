/**
 * An on-disk cache of built JavaScript (the workflow bundle, the extraction thread's bundle),
 * keyed by a hash of the sources it is built from. Several processes, and several checkouts of
 * the tool, share one directory, so a stored file is written whole under a name no other
 * process uses and renamed into place; it ends with a trailer naming its key, so a file cut
 * short (a crash between write and sync, a full disk) is seen as missing and built again.
 * Files that go unused are pruned, the least recently used first: a read marks a file used.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** What a build depends on: the sources under `dirs`, some single files, and tool versions. */
export interface SourceKeyInputs {
  root: string;
  /** Directories under root whose files named by `sources` are hashed with their paths. */
  dirs: readonly string[];
  sources: RegExp;
  /** Files under root hashed with their names when they exist (lockfile, package.json, tsconfig.json). */
  files: readonly string[];
  /** Tool versions and anything else that changes the output for the same sources. */
  tag: string;
}

/** A hash of everything a build is made from; throws when a source cannot be read. */
export function sourceKey({ root, dirs, sources, files, tag }: SourceKeyInputs): string {
  const h = createHash('sha256').update(tag);
  for (const d of dirs) {
    for (const f of filesUnder(join(root, d), sources)) h.update(`${relative(root, f)}\n`).update(readFileSync(f));
  }
  for (const f of files) if (existsSync(join(root, f))) h.update(`${f}\n`).update(readFileSync(join(root, f)));
  return h.digest('hex').slice(0, 32);
}

function filesUnder(dir: string, sources: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && sources.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export interface CodeCacheOptions {
  /** File name ending of the stored files, with its dot ('.js', '.mjs'). */
  extension: string;
  /** Names the files' kind in their trailer ('thread bundle'). */
  label: string;
  /** Files kept besides the one just stored (other checkouts of the tool may share the cache). */
  keep: number;
}

export class CodeCache {
  constructor(readonly dir: string, private readonly options: CodeCacheOptions) {}

  pathOf(key: string): string {
    return join(this.dir, `${key}${this.options.extension}`);
  }

  /** The stored file's path when it is there whole, marked as used; for a caller that loads it by path. */
  find(key: string): string | undefined {
    const file = this.pathOf(key);
    if (!endsWith(file, this.trailer(key))) return undefined;
    touch(file);
    return file;
  }

  /** The stored code (without its trailer) when it is there whole, marked as used. */
  read(key: string): string | undefined {
    const file = this.pathOf(key);
    const trailer = this.trailer(key);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
    if (!text.endsWith(trailer)) return undefined;
    touch(file);
    return text.slice(0, text.length - trailer.length);
  }

  /**
   * Stores `code` for `key` and prunes the least recently used others; returns the path. Throws
   * when it cannot be written (read-only cache, full disk): the caller goes without the cache.
   */
  store(key: string, code: string): string {
    const file = this.pathOf(key);
    mkdirSync(this.dir, { recursive: true });
    // Synced before the rename, so that the name never stands for less than the whole file.
    const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'wx');
    try {
      try {
        writeFileSync(fd, code + this.trailer(key));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    this.prune(file);
    return file;
  }

  private trailer(key: string): string {
    return `\n// corpus-qa ${this.options.label} ${key}\n`;
  }

  /** Keeps `keep` others, the least recently used going first: one another checkout runs now was stored or read recently. */
  private prune(current: string): void {
    try {
      const { extension, keep } = this.options;
      const others = readdirSync(this.dir)
        .filter((n) => n.endsWith(extension) && join(this.dir, n) !== current)
        .map((n) => ({ n, usedAt: statSync(join(this.dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
        .sort((a, b) => a.usedAt - b.usedAt);
      for (const { n } of others.slice(0, Math.max(0, others.length - keep))) rmSync(join(this.dir, n), { force: true });
    } catch {
      // Pruning is housekeeping: the file just stored is fine either way.
    }
  }
}

/** Marks a file as used now (best effort: a read-only cache still serves it). */
function touch(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    // not ours to change: it is still the right file
  }
}

/** Whether `file` is there and ends with `trailer`, reading only its end. */
function endsWith(file: string, trailer: string): boolean {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const tail = Buffer.alloc(Buffer.byteLength(trailer));
      readSync(fd, tail, 0, tail.length, Math.max(0, size - tail.length));
      return tail.toString('utf8') === trailer;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

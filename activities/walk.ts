/**
 * Walks an input directory and yields the files a run should consider, one at a time and in
 * source order (byte order of the relative path), so that discovery and the fingerprint never
 * hold a list of every file: at 1M documents the list and its sorted copy were ~300 MB.
 *
 * Source order falls out of the walk: each directory's entries are sorted by name, a directory
 * (or a symlink to one) as its name plus '/', since that is how its files' sources compare with
 * its siblings' ('a.txt' < 'a/b.txt' because '.' < '/'). Only one directory is listed at a time
 * per level of depth. Two directories whose names show the same (one is not valid UTF-8 and
 * escapes to the other) are walked one after the other, so their files are not interleaved.
 *
 * Symlinks are followed only while they stay inside the input directory and do not loop; a
 * directory reached twice is walked by the path that comes first in source order. Hidden entries
 * and the run's own output directory are skipped.
 *
 * Names are read as bytes: a name that is not valid UTF-8 is kept, with an escaped `source` and
 * a warning (see readDocument.ts for the escaping). FIFOs, sockets and devices are skipped with a
 * warning each.
 */
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import picomatch from 'picomatch';
import { escapeBytes, fsPath, isInsideBytes, joinBytes, realPathBytes, sourceFromBytes, typeOf } from './readDocument.js';

export interface WalkedFile {
  /** The path as walked (through symlinks): a string, or bytes when it is not valid UTF-8. */
  absPath: string | Buffer;
  source: string; // relative to the input directory, '/' separators; escaped when `escaped`
  /** The name is not valid UTF-8 and `source` is escaped. */
  escaped?: boolean;
  /** Reached through a symlink: the real path relative to the input's real path, escaped. */
  target?: string;
  /** What to open: the real path (for a file reached through a symlink) or absPath. */
  openPath: string | Buffer;
}

export interface WalkOptions {
  inputDir: string;
  globs: string[];
  excludeDirs: string[]; // absolute real paths never to enter (the output directory)
  onProgress?: (entriesSeen: number) => void;
}

const SLASH = Buffer.from('/');

function relJoin(dirRel: Buffer, name: Buffer): Buffer {
  return dirRel.length === 0 ? name : Buffer.concat([dirRel, SLASH, name]);
}

/** A symlink resolved: where it leads, or why it is skipped. */
type Resolved = { target: Buffer; info: Stats } | { skip: string } | { excluded: true };

/** One entry of a directory listing, with the key it sorts by. */
interface Listed {
  entry: Dirent<Buffer>;
  key: string;
  link?: Resolved;
}

const byKey = (a: Listed, b: Listed) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * `files()` yields the walk; `warnings` and `skipped` are complete once it has ended. Walk
 * warnings come in source order too.
 */
export class InputWalk {
  readonly warnings: string[] = [];
  skipped = 0;
  private entriesSeen = 0;
  private readonly visitedDirs = new Set<string>();
  private readonly matches: (source: string) => boolean;

  constructor(private readonly opts: WalkOptions) {
    this.matches = opts.globs.length > 0 ? picomatch(opts.globs, { dot: false }) : () => true;
  }

  async *files(): AsyncGenerator<WalkedFile> {
    const rootInfo = await lstat(this.opts.inputDir);
    if (!rootInfo.isDirectory() && !rootInfo.isSymbolicLink()) {
      throw new Error(`${this.opts.inputDir} is not a directory`);
    }
    const rootReal = await realPathBytes(this.opts.inputDir);
    const excludeReal = await Promise.all(this.opts.excludeDirs.map((d) => realPathBytes(d).catch(() => Buffer.from(d))));
    yield* this.visitDir({ rootReal, excludeReal }, Buffer.from(this.opts.inputDir, 'utf8'), Buffer.alloc(0), rootReal);
  }

  private skip(message: string): void {
    this.skipped++;
    this.warnings.push(message);
  }

  private async *visitDir(ctx: WalkContext, dirAbs: Buffer, dirRel: Buffer, dirReal: Buffer): AsyncGenerator<WalkedFile> {
    const key = dirReal.toString('latin1');
    if (this.visitedDirs.has(key)) {
      this.skip(`${shown(dirRel)}: skipped, directory already visited through another path (symlink)`);
      return;
    }
    this.visitedDirs.add(key);
    let entries: Array<Dirent<Buffer>>;
    try {
      entries = await readdir(fsPath(dirAbs), { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      this.skip(`${shown(dirRel)}: skipped, cannot list directory (${(err as Error).message})`);
      return;
    }
    const listed: Listed[] = [];
    for (const entry of entries) {
      if (entry.name[0] === 0x2e) continue; // hidden files and dirs, including .corpus-qa
      const name = sourceFromBytes(entry.name).source;
      if (entry.isDirectory()) {
        listed.push({ entry, key: `${name}/` });
      } else if (entry.isSymbolicLink()) {
        // Resolved before sorting: a symlink to a directory sorts as one.
        const link = await this.resolve(ctx, joinBytes(dirAbs, entry.name), relJoin(dirRel, entry.name));
        listed.push({ entry, link, key: 'info' in link && link.info.isDirectory() ? `${name}/` : name });
      } else {
        listed.push({ entry, key: name });
      }
    }
    listed.sort(byKey);
    for (const { entry, link } of listed) {
      if (++this.entriesSeen % 500 === 0) this.opts.onProgress?.(this.entriesSeen);
      const abs = joinBytes(dirAbs, entry.name);
      const rel = relJoin(dirRel, entry.name);
      if (link) {
        yield* this.visitSymlink(ctx, abs, rel, link);
      } else if (entry.isDirectory()) {
        const real = joinBytes(dirReal, entry.name);
        if (ctx.excludeReal.some((ex) => isInsideBytes(real, ex))) continue;
        yield* this.visitDir(ctx, abs, rel, real);
      } else if (entry.isFile()) {
        const file = this.fileAt(ctx, abs, rel, abs);
        if (file) yield file;
      } else if (entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice() || entry.isBlockDevice()) {
        if (this.matches(sourceFromBytes(rel).source)) this.skip(`${shown(rel)}: skipped, a ${typeOf(entry)} is not a document`);
      }
    }
  }

  private async resolve(ctx: WalkContext, abs: Buffer, rel: Buffer): Promise<Resolved> {
    let target: Buffer;
    try {
      target = await realPathBytes(fsPath(abs));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return {
        skip: code === 'ELOOP'
          ? `${shown(rel)}: skipped, symlink loop`
          : `${shown(rel)}: skipped, broken symlink (${code ?? (err as Error).message})`,
      };
    }
    if (!isInsideBytes(target, ctx.rootReal)) {
      return { skip: `${shown(rel)}: skipped, symlink leaves the input directory (-> ${sourceFromBytes(target).source})` };
    }
    if (ctx.excludeReal.some((ex) => isInsideBytes(target, ex))) return { excluded: true };
    const info = await stat(fsPath(target)).catch(() => undefined);
    return info ? { target, info } : { skip: `${shown(rel)}: skipped, symlink target vanished` };
  }

  private async *visitSymlink(ctx: WalkContext, abs: Buffer, rel: Buffer, link: Resolved): AsyncGenerator<WalkedFile> {
    if ('skip' in link) return this.skip(link.skip);
    if ('excluded' in link) return;
    if (link.info.isDirectory()) {
      yield* this.visitDir(ctx, abs, rel, link.target);
    } else if (link.info.isFile()) {
      const file = this.fileAt(ctx, abs, rel, link.target, link.target);
      if (file) yield file;
    } else if (this.matches(sourceFromBytes(rel).source)) {
      this.skip(`${shown(rel)}: skipped, symlink to a ${typeOf(link.info)}, which is not a document`);
    }
  }

  /** The file at `rel`, or undefined when the globs leave it out. */
  private fileAt(ctx: WalkContext, abs: Buffer, rel: Buffer, openPath: Buffer, target?: Buffer): WalkedFile | undefined {
    const { source, escaped } = sourceFromBytes(rel);
    if (!this.matches(source)) return undefined;
    const absPath = fsPath(abs);
    // One string when both are the same path (every file not reached through a symlink).
    const f: WalkedFile = { absPath, source, openPath: openPath === abs ? absPath : fsPath(openPath) };
    if (escaped) {
      f.escaped = true;
      this.warnings.push(`${source}: file name is not valid UTF-8; reported with its bad bytes and % percent-encoded`);
    }
    if (target) {
      const root = ctx.rootReal;
      f.target = escapeBytes(target.subarray(root.length + (root[root.length - 1] === SLASH[0] ? 0 : 1)));
    }
    return f;
  }
}

interface WalkContext {
  rootReal: Buffer;
  excludeReal: Buffer[];
}

const shown = (rel: Buffer) => sourceFromBytes(rel).source || '.';

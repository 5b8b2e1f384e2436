/**
 * Walks an input directory and yields the files a run should consider, in no particular order
 * (the manifest sorts them). Symlinks are followed only while they stay inside the input
 * directory and do not loop; hidden entries and the run's own output directory are skipped.
 *
 * Names are read as bytes: a name that is not valid UTF-8 is kept, with an escaped `source` and
 * a warning (see readDocument.ts for the escaping). FIFOs, sockets and devices are skipped with a
 * warning each.
 */
import type { Dirent } from 'node:fs';
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

export interface WalkResult {
  files: WalkedFile[];
  warnings: string[];
  skipped: number;
}

const SLASH = Buffer.from('/');

function relJoin(dirRel: Buffer, name: Buffer): Buffer {
  return dirRel.length === 0 ? name : Buffer.concat([dirRel, SLASH, name]);
}

export async function walkInput(opts: {
  inputDir: string;
  globs: string[];
  excludeDirs: string[]; // absolute real paths never to enter (the output directory)
  onProgress?: (filesSeen: number) => void;
}): Promise<WalkResult> {
  const rootReal = await realPathBytes(opts.inputDir);
  const excludeReal = await Promise.all(opts.excludeDirs.map((d) => realPathBytes(d).catch(() => Buffer.from(d))));
  const matches = opts.globs.length > 0 ? picomatch(opts.globs, { dot: false }) : () => true;
  const files: WalkedFile[] = [];
  const warnings: string[] = [];
  let skipped = 0;
  const visitedDirs = new Set<string>();

  const skip = (message: string) => {
    skipped++;
    warnings.push(message);
  };
  const shown = (rel: Buffer) => sourceFromBytes(rel).source || '.';

  const add = (abs: Buffer, rel: Buffer, openPath: Buffer, target?: Buffer) => {
    const { source, escaped } = sourceFromBytes(rel);
    if (!matches(source)) return;
    const absPath = fsPath(abs);
    // One string when both are the same path (every file not reached through a symlink).
    const f: WalkedFile = { absPath, source, openPath: openPath === abs ? absPath : fsPath(openPath) };
    if (escaped) {
      f.escaped = true;
      warnings.push(`${source}: file name is not valid UTF-8; reported with its bad bytes and % percent-encoded`);
    }
    if (target) f.target = escapeBytes(target.subarray(rootReal.length + (rootReal[rootReal.length - 1] === SLASH[0] ? 0 : 1)));
    files.push(f);
  };

  async function visitDir(dirAbs: Buffer, dirRel: Buffer, dirReal: Buffer): Promise<void> {
    const key = dirReal.toString('latin1');
    if (visitedDirs.has(key)) {
      skip(`${shown(dirRel)}: skipped, directory already visited through another path (symlink)`);
      return;
    }
    visitedDirs.add(key);
    let entries: Array<Dirent<Buffer>>;
    try {
      entries = await readdir(fsPath(dirAbs), { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      skip(`${shown(dirRel)}: skipped, cannot list directory (${(err as Error).message})`);
      return;
    }
    // Sorted by the name as reported (warnings come out in a stable order).
    const named = entries.map((e) => ({ e, shownName: sourceFromBytes(e.name).source }));
    named.sort((a, b) => (a.shownName < b.shownName ? -1 : a.shownName > b.shownName ? 1 : 0));
    for (const { e: entry } of named) {
      if (entry.name[0] === 0x2e) continue; // hidden files and dirs, including .corpus-qa
      const abs = joinBytes(dirAbs, entry.name);
      const rel = relJoin(dirRel, entry.name);
      if (entry.isSymbolicLink()) {
        await visitSymlink(abs, rel);
      } else if (entry.isDirectory()) {
        const real = joinBytes(dirReal, entry.name);
        if (excludeReal.some((ex) => isInsideBytes(real, ex))) continue;
        await visitDir(abs, rel, real);
      } else if (entry.isFile()) {
        add(abs, rel, abs);
      } else if (entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice() || entry.isBlockDevice()) {
        if (matches(sourceFromBytes(rel).source)) skip(`${shown(rel)}: skipped, a ${typeOf(entry)} is not a document`);
      }
      if (files.length % 500 === 0) opts.onProgress?.(files.length);
    }
  }

  async function visitSymlink(abs: Buffer, rel: Buffer): Promise<void> {
    let target: Buffer;
    try {
      target = await realPathBytes(fsPath(abs));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      skip(
        code === 'ELOOP'
          ? `${shown(rel)}: skipped, symlink loop`
          : `${shown(rel)}: skipped, broken symlink (${code ?? (err as Error).message})`,
      );
      return;
    }
    if (!isInsideBytes(target, rootReal)) {
      skip(`${shown(rel)}: skipped, symlink leaves the input directory (-> ${sourceFromBytes(target).source})`);
      return;
    }
    if (excludeReal.some((ex) => isInsideBytes(target, ex))) return;
    const info = await stat(fsPath(target)).catch(() => undefined);
    if (!info) {
      skip(`${shown(rel)}: skipped, symlink target vanished`);
    } else if (info.isDirectory()) {
      await visitDir(abs, rel, target);
    } else if (info.isFile()) {
      add(abs, rel, target, target);
    } else if (matches(sourceFromBytes(rel).source)) {
      skip(`${shown(rel)}: skipped, symlink to a ${typeOf(info)}, which is not a document`);
    }
  }

  const rootInfo = await lstat(opts.inputDir);
  if (!rootInfo.isDirectory() && !rootInfo.isSymbolicLink()) {
    throw new Error(`${opts.inputDir} is not a directory`);
  }
  await visitDir(Buffer.from(opts.inputDir, 'utf8'), Buffer.alloc(0), rootReal);
  return { files, warnings, skipped };
}

/**
 * Walks an input directory and yields the files a run should consider, in no particular order
 * (the manifest sorts them). Symlinks are followed only while they stay inside the input
 * directory and do not loop; hidden entries and the run's own output directory are skipped.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import picomatch from 'picomatch';

export interface WalkedFile {
  absPath: string;
  source: string; // relative to the input directory, '/' separators
}

export interface WalkResult {
  files: WalkedFile[];
  warnings: string[];
  skipped: number;
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
}

function toSource(inputDir: string, absPath: string): string {
  return relative(inputDir, absPath).split(sep).join('/');
}

export async function walkInput(opts: {
  inputDir: string;
  globs: string[];
  excludeDirs: string[]; // absolute real paths never to enter (the output directory)
  onProgress?: (filesSeen: number) => void;
}): Promise<WalkResult> {
  const rootReal = await realpath(opts.inputDir);
  const excludeReal = await Promise.all(opts.excludeDirs.map((d) => realpath(d).catch(() => d)));
  const matches = opts.globs.length > 0 ? picomatch(opts.globs, { dot: false }) : () => true;
  const files: WalkedFile[] = [];
  const warnings: string[] = [];
  let skipped = 0;
  const visitedDirs = new Set<string>();

  const skip = (message: string) => {
    skipped++;
    warnings.push(message);
  };

  async function visitDir(dirAbs: string, dirReal: string): Promise<void> {
    if (visitedDirs.has(dirReal)) {
      skip(`${toSource(opts.inputDir, dirAbs)}: skipped, directory already visited through another path (symlink)`);
      return;
    }
    visitedDirs.add(dirReal);
    let entries;
    try {
      entries = await readdir(dirAbs, { withFileTypes: true });
    } catch (err) {
      skip(`${toSource(opts.inputDir, dirAbs) || '.'}: skipped, cannot list directory (${(err as Error).message})`);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // hidden files and dirs, including .corpus-qa
      const abs = join(dirAbs, entry.name);
      const source = toSource(opts.inputDir, abs);
      if (entry.isSymbolicLink()) {
        await visitSymlink(abs, source);
      } else if (entry.isDirectory()) {
        if (excludeReal.some((ex) => isInside(join(dirReal, entry.name), ex))) continue;
        await visitDir(abs, join(dirReal, entry.name));
      } else if (entry.isFile()) {
        if (matches(source)) files.push({ absPath: abs, source });
      }
      if (files.length % 500 === 0) opts.onProgress?.(files.length);
    }
  }

  async function visitSymlink(abs: string, source: string): Promise<void> {
    let target: string;
    try {
      target = await realpath(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      skip(
        code === 'ELOOP'
          ? `${source}: skipped, symlink loop`
          : `${source}: skipped, broken symlink (${code ?? (err as Error).message})`,
      );
      return;
    }
    if (!isInside(target, rootReal)) {
      skip(`${source}: skipped, symlink leaves the input directory (-> ${target})`);
      return;
    }
    if (excludeReal.some((ex) => isInside(target, ex))) return;
    const info = await stat(target).catch(() => undefined);
    if (!info) {
      skip(`${source}: skipped, symlink target vanished`);
    } else if (info.isDirectory()) {
      await visitDir(abs, target);
    } else if (info.isFile()) {
      if (matches(source)) files.push({ absPath: abs, source });
    }
  }

  const rootInfo = await lstat(opts.inputDir);
  if (!rootInfo.isDirectory() && !rootInfo.isSymbolicLink()) {
    throw new Error(`${opts.inputDir} is not a directory`);
  }
  await visitDir(opts.inputDir, rootReal);
  return { files, warnings, skipped };
}

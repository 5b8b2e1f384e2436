/**
 * `rm -r` in bounded memory. Node's own recursive rm (fs.promises.rm, Node 20) starts a promise
 * for every entry of the whole tree at once: 426 MB of RSS for 200,000 files, 2.1 GB for a
 * million-document run's shards. This one goes depth first, one directory at a time, with at
 * most BATCH unlinks in flight.
 */
import { lstat, opendir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const BATCH = 64;

const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

/** Removes `path` (a file, a symlink but not what it points at, or a directory with all it holds); a missing path is no error. */
export async function removeTree(path: string, attempts = 3): Promise<void> {
  // lstat, not opendir first: opendir follows a symlink, and what a link points at is never removed.
  const stats = await lstat(path).catch((err: unknown) => {
    if (codeOf(err) === 'ENOENT') return undefined;
    throw err;
  });
  if (!stats) return;
  if (!stats.isDirectory()) return removeFile(path);
  const dir = await opendir(path);
  const files: string[] = [];
  // Symlinks are Dirents that are not directories: the link is removed, never what it points at.
  for await (const entry of dir) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await removeTree(child);
    else if (files.push(child) >= BATCH) await Promise.all(files.splice(0).map(removeFile));
  }
  await Promise.all(files.map(removeFile));
  try {
    await rmdir(path);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return;
    // An entry the listing did not give (one added, or skipped while others were removed): again.
    // A few times only: a directory something keeps writing into is an error, as for rm.
    if ((codeOf(err) === 'ENOTEMPTY' || codeOf(err) === 'EEXIST') && attempts > 1) return removeTree(path, attempts - 1);
    throw err;
  }
}

async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (codeOf(err) !== 'ENOENT') throw err;
  }
}

/**
 * The commit of an export (and of `review apply`): the only place where its files become visible.
 */
import { open, rename, rm } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { discardStaged, type StagedFile } from './staging.js';

async function syncDir(dir: string): Promise<void> {
  // Makes the renames durable in order; not every file system can fsync a directory.
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close().catch(() => undefined);
}

/**
 * Every staged file renamed into place, the files this export has no rows for removed, then
 * stats.json, whose hashes describe the new set. Until stats.json is renamed the directory may
 * mix old and new files, and the old stats.json's hashes say so. On a failure the temporary
 * files not renamed yet are removed and the error is rethrown.
 */
export async function commitStaged(
  outDir: string,
  staged: StagedFile[],
  remove: string[],
  stats: StagedFile,
  beforeRename: (file: string) => void | Promise<void> = () => undefined,
): Promise<void> {
  const rel = (p: string) => relative(outDir, p).split(sep).join('/');
  let done = 0;
  try {
    for (const f of staged) {
      await beforeRename(rel(f.path));
      await rename(f.tmp, f.path);
      done++;
    }
    for (const path of remove) {
      await beforeRename(rel(path));
      await rm(path, { force: true });
    }
    for (const dir of new Set(staged.map((f) => dirname(f.path)).concat(remove.map((p) => dirname(p))))) await syncDir(dir);
    await beforeRename(rel(stats.path));
    await rename(stats.tmp, stats.path);
    await syncDir(dirname(stats.path));
  } catch (err) {
    await discardStaged([...staged.slice(done), stats]);
    throw err;
  }
}

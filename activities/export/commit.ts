/**
 * The commit of an export (and of `review apply`): the only place where its files become visible.
 */
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { nameUnder, syncDirectory, type OutputStore } from '../storage.js';
import { discardStaged, type StagedFile } from './staging.js';

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
  const rel = (p: string) => nameUnder(outDir, p);
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
    // The renames made durable in order, where the file system can fsync a directory.
    for (const dir of new Set(staged.map((f) => dirname(f.path)).concat(remove.map((p) => dirname(p))))) await syncDirectory(dir, { tolerant: true });
    await beforeRename(rel(stats.path));
    await rename(stats.tmp, stats.path);
    await syncDirectory(dirname(stats.path), { tolerant: true });
  } catch (err) {
    await discardStaged([...staged.slice(done), stats]);
    throw err;
  }
}

/**
 * The commit into `store`: for a local <out> (where `dir` is <out>) the renames above; for a
 * bucket, the files staged in the local `dir` are uploaded in the same order, data files first
 * and stats.json last, each in one PutObject (never half an object). A crash in between leaves
 * the old stats.json, whose hashes do not match the new data files: the mix is detectable, as
 * in a local directory, and the next export repairs it.
 */
export async function commitStagedTo(
  store: OutputStore,
  dir: string,
  staged: StagedFile[],
  remove: string[],
  stats: StagedFile,
  beforeRename: (file: string) => void | Promise<void> = () => undefined,
): Promise<void> {
  if (store.kind === 'local') return commitStaged(dir, staged, remove, stats, beforeRename);
  const rel = (p: string) => nameUnder(dir, p);
  try {
    for (const f of staged) {
      await beforeRename(rel(f.path));
      await store.putFile(rel(f.path), f.tmp);
    }
    for (const path of remove) {
      await beforeRename(rel(path));
      await store.remove(rel(path));
    }
    await beforeRename(rel(stats.path));
    await store.putFile(rel(stats.path), stats.tmp);
  } finally {
    // Uploaded or not, the local copies are of no more use: the next export stages anew.
    await discardStaged([...staged, stats]);
  }
}

/**
 * One staged file (complete and fsynced) made visible as `rel` of `store`: renamed into place
 * in a local <out>, uploaded to a bucket in one PutObject (its local copy then removed).
 */
export async function commitStagedFile(store: OutputStore, rel: string, staged: StagedFile): Promise<void> {
  if (store.kind === 'local') return rename(staged.tmp, staged.path);
  await store.putFile(rel, staged.tmp);
  await discardStaged([staged]);
}

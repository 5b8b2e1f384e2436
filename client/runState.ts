/**
 * What the client remembers about an output directory between commands: the last run started
 * there (to say what changed when settings change), and a fingerprint of the corpus (to tell a
 * completed run from one whose input has changed since).
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { ResolvedRunInput } from '../schemas/index.js';
import { LastRun } from '../schemas/localState.js';
import { FilePlan } from '../activities/discover.js';
import { mapInOrderFrom } from '../activities/inOrder.js';
import { STATE_FILES, storeFor } from '../activities/storage.js';

export { LastRun } from '../schemas/localState.js';

export async function readLastRun(outDir: string): Promise<LastRun | undefined> {
  try {
    return LastRun.parse(JSON.parse((await storeFor(outDir).readText(STATE_FILES.lastRun)) ?? ''));
  } catch {
    return undefined;
  }
}

export async function writeLastRun(outDir: string, last: LastRun): Promise<void> {
  await storeFor(outDir).write(STATE_FILES.lastRun, `${JSON.stringify(last, null, 2)}\n`);
}

/** stat() calls in flight while fingerprinting: enough to keep libuv's thread pool busy. */
const FINGERPRINT_STATS = 16;

/**
 * Paths, sizes and modification times of the files a run would read: cheap (no file contents),
 * and it changes when a document is added, removed or edited.
 */
export async function corpusFingerprint(run: ResolvedRunInput): Promise<string> {
  const plan = new FilePlan({
    inputDir: run.inputDir,
    outDir: run.outDir,
    globs: run.globs,
    maxFileBytes: run.settings.maxFileBytes,
  });
  // The modification times, FINGERPRINT_STATS at a time (one after another, 10,000 files took
  // about half a second before the run could start); hashed in manifest order, as they always
  // were, as the walk goes (no list of every file).
  const lines = mapInOrderFrom(plan.files(), FINGERPRINT_STATS, (f) =>
    stat(f.absPath).then((s) => s.mtimeMs, () => 0).then((mtime) => `${f.source}\t${f.size}\t${mtime}\n`));
  const hash = createHash('sha256');
  for await (const line of lines) hash.update(line);
  return hash.digest('hex').slice(0, 32);
}

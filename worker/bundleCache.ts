/**
 * The workflow bundle, cached on disk. Bundling the workflow code with webpack takes 1.5–2 s of
 * every command; the code only changes with the sources it is built from, so the bundle is
 * stored under a hash of them (the workflow and schema sources, the lockfile, the SDK version)
 * and read back in milliseconds by the next command (activities/codeCache.ts).
 */
import { dirname, join } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { CodeCache, sourceKey } from '../activities/codeCache.js';

/** A hash of everything the bundle is built from; undefined when the sources cannot be read. */
export function bundleKey(workflowsPath: string, sdkVersion: string): string | undefined {
  try {
    return sourceKey({
      root: dirname(dirname(workflowsPath)),
      // The workflows import schemas; activities by type only.
      dirs: ['workflows', 'schemas'],
      sources: /\.(?:ts|js|mjs|json)$/,
      files: ['package-lock.json', 'package.json', 'tsconfig.json'],
      tag: `sdk ${sdkVersion}\n`,
    });
  } catch {
    return undefined;
  }
}

/** The cache under `cacheDir`; old bundles are kept besides the current one, as other checkouts of the tool may share it. */
export function workflowBundleCache(cacheDir: string): CodeCache {
  return new CodeCache(join(cacheDir, 'bundles'), { extension: '.js', label: 'workflow bundle', keep: 8 });
}

type Logger = Parameters<typeof bundleWorkflowCode>[0]['logger'];

/** The bundle from `cacheDir` when it is there whole for the current sources, else built and stored. */
export async function cachedWorkflowBundle(
  workflowsPath: string, sdkVersion: string, cacheDir: string | undefined, logger: Logger,
): Promise<WorkflowBundle> {
  const build = () => bundleWorkflowCode({ workflowsPath, logger });
  const key = cacheDir ? bundleKey(workflowsPath, sdkVersion) : undefined;
  if (!cacheDir || !key) return build();
  const cache = workflowBundleCache(cacheDir);
  const code = cache.read(key);
  if (code !== undefined) return { code };
  const bundle = await build();
  try {
    cache.store(key, bundle.code);
  } catch {
    // Read-only home, full disk: the next command bundles again.
  }
  return bundle;
}

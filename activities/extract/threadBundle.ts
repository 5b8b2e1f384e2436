/**
 * The extraction thread's code as one plain-JavaScript file, so that a thread starts without
 * tsx. Registering tsx in a thread costs ~28 MB of RSS per thread (its loader-hooks thread
 * and esbuild service stay for the thread's life even after `unregister`); the thread's own
 * code and parsers are ~35 MB (docs/scale.md). The file is built with esbuild (tsx's own
 * dependency, the transform tsx applies file by file), stored under a hash of the sources it can
 * include, and read back by the next run.
 *
 * Packages stay outside the bundle, imported by the absolute URL Node resolves them to from
 * here, so the same package files run as under tsx. When the bundle cannot be built or stored,
 * `threadBundle` says undefined and threads load the TypeScript through tsx as before; so it
 * does for the rest of the process once a thread could not start from it (`threadBundleFailed`).
 * The file is stored by the cache the workflow bundle uses too (../codeCache.ts).
 */
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CodeCache, sourceKey } from '../codeCache.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(dirname(HERE));
const ENTRY_TS = join(HERE, 'extractWorker.ts');

type Esbuild = typeof import('esbuild');

/** esbuild as tsx resolves it: tsx depends on it, so it is there wherever tsx is. */
function loadEsbuild(): Esbuild {
  const fromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
  return fromTsx('esbuild') as Esbuild;
}

/** A hash of what the bundle is built from: the TypeScript the thread can import (it imports schemas by type only, today), what esbuild reads besides, the tools' versions. */
function bundleKey(esbuildVersion: string): string {
  return sourceKey({
    root: ROOT,
    dirs: ['activities', 'schemas'],
    sources: /\.(?:ts|mjs|json)$/,
    // esbuild reads tsconfig.json; package.json says how packages and the project's files load.
    files: ['package-lock.json', 'package.json', 'tsconfig.json'],
    tag: `${ROOT}\nesbuild ${esbuildVersion}\nnode ${process.versions.node}\n`,
  });
}

/** Bundles extractWorker.ts and what it imports; packages become imports of their resolved file URLs. */
function build(esbuild: Esbuild): string {
  const result = esbuild.buildSync({
    entryPoints: [ENTRY_TS],
    bundle: true,
    format: 'esm',
    platform: 'node',
    // As tsx transforms: the running Node's syntax, function and class names kept.
    target: `node${process.versions.node}`,
    keepNames: true,
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'silent',
    // The only user (pdfjs.ts) resolves pdfjs-dist from its own directory, which is this one.
    define: { 'import.meta.url': JSON.stringify(new URL('./extractWorker.ts', import.meta.url).href) },
  });
  let code = result.outputFiles[0]!.text;
  const externals = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports) if (imp.external && !imp.path.startsWith('node:')) externals.add(imp.path);
  }
  for (const spec of externals) {
    const url = import.meta.resolve(spec);
    const quoted = JSON.stringify(spec);
    code = code.split(`from ${quoted}`).join(`from ${JSON.stringify(url)}`);
    code = code.split(`import(${quoted})`).join(`import(${JSON.stringify(url)})`);
    code = code.split(`import ${quoted}`).join(`import ${JSON.stringify(url)}`);
    if (code.includes(quoted)) throw new Error(`an import of ${spec} was left unresolved in the thread bundle`);
  }
  return code;
}

let cached: { path: string | undefined } | undefined;
/** Set once a thread could not start from the bundle: the threads of this process use tsx from then on. */
let failed = false;

/**
 * The path of the bundle for the current sources, built on first use in this process (about
 * 0.1 s) when no earlier run stored it. CORPUS_QA_THREAD_BUNDLE=0 turns it off (threads load
 * the TypeScript through tsx).
 */
export function threadBundle(): string | undefined {
  if (failed) return undefined;
  // Checked again at each thread start: another checkout sharing the cache may have pruned it
  // since (threads come and go over a long run), and then it is built again.
  if (cached?.path !== undefined && !existsSync(cached.path)) cached = undefined;
  cached ??= { path: findOrBuild() };
  return cached.path;
}

/**
 * A thread could not start from `bundle`: the file could not be loaded, or its code threw at
 * import. Its documents must not fail for it, so this process's threads load the TypeScript
 * through tsx from now on, with one warning. The file is removed, so that the next process
 * builds it again instead of trusting it.
 */
export function threadBundleFailed(bundle: string, why: string): void {
  if (failed) return;
  failed = true;
  console.error(`warning: an extraction thread could not start from its bundle ${bundle} (${why}); threads load the TypeScript through tsx instead`);
  try {
    rmSync(bundle, { force: true });
  } catch {
    // Not ours to remove (a read-only cache): this process does not use it again either way.
  }
}

function findOrBuild(): string | undefined {
  if (process.env.CORPUS_QA_THREAD_BUNDLE === '0') return undefined;
  try {
    const esbuild = loadEsbuild();
    const cacheRoot = process.env.CORPUS_QA_CACHE ?? join(homedir(), '.cache', 'corpus-qa');
    // Old bundles are kept besides the current one: other checkouts of the tool may share the cache.
    const cache = new CodeCache(join(cacheRoot, 'thread-bundles'), { extension: '.mjs', label: 'thread bundle', keep: 8 });
    const key = bundleKey(esbuild.version);
    return cache.find(key) ?? cache.store(key, build(esbuild));
  } catch (err) {
    if (process.env.CORPUS_QA_DEBUG_BUNDLE) console.error(err);
    // No esbuild, a read-only cache, a full disk: the threads use tsx, as they always could.
    return undefined;
  }
}

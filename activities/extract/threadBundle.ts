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
 * `threadBundle` says undefined and threads load the TypeScript through tsx as before.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(dirname(HERE));
const ENTRY_TS = join(HERE, 'extractWorker.ts');
/** Directories whose TypeScript the thread can import (it imports schemas by type only, today). */
const SOURCE_DIRS = ['activities', 'schemas'];
/** Old bundles kept besides the current one (other checkouts of the tool may share the cache). */
const KEEP_OLD = 8;

type Esbuild = typeof import('esbuild');

/** esbuild as tsx resolves it: tsx depends on it, so it is there wherever tsx is. */
function loadEsbuild(): Esbuild {
  const fromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
  return fromTsx('esbuild') as Esbuild;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(?:ts|mjs|json)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function bundleKey(esbuildVersion: string): string {
  const h = createHash('sha256').update(`${ROOT}\nesbuild ${esbuildVersion}\nnode ${process.versions.node}\n`);
  for (const d of SOURCE_DIRS) {
    for (const f of sourceFiles(join(ROOT, d))) h.update(`${relative(ROOT, f)}\n`).update(readFileSync(f));
  }
  // esbuild reads tsconfig.json; package.json says how packages and the project's files load.
  for (const f of ['package-lock.json', 'package.json', 'tsconfig.json']) if (existsSync(join(ROOT, f))) h.update(`${f}\n`).update(readFileSync(join(ROOT, f)));
  return h.digest('hex').slice(0, 32);
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

/**
 * The path of the bundle for the current sources, built on first use in this process (about
 * 0.1 s) when no earlier run stored it. CORPUS_QA_THREAD_BUNDLE=0 turns it off (threads load
 * the TypeScript through tsx).
 */
export function threadBundle(): string | undefined {
  // Checked again at each thread start: another checkout sharing the cache may have pruned it
  // since (threads come and go over a long run), and then it is built again.
  if (cached?.path !== undefined && !existsSync(cached.path)) cached = undefined;
  cached ??= { path: findOrBuild() };
  return cached.path;
}

function findOrBuild(): string | undefined {
  if (process.env.CORPUS_QA_THREAD_BUNDLE === '0') return undefined;
  try {
    const esbuild = loadEsbuild();
    const dir = join(process.env.CORPUS_QA_CACHE ?? join(homedir(), '.cache', 'corpus-qa'), 'thread-bundles');
    const key = bundleKey(esbuild.version);
    const file = join(dir, `${key}.mjs`);
    const trailer = `\n// corpus-qa thread bundle ${key}\n`;
    if (isWhole(file, trailer)) {
      touch(file);
      return file;
    }
    const code = build(esbuild) + trailer;
    mkdirSync(dir, { recursive: true });
    // Written whole (synced, then renamed) under a name no other process uses, so a reader sees
    // the whole bundle or none; one cut short anyway (its trailer missing) is built again.
    const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'wx');
    try {
      writeSync(fd, code);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    pruneOld(dir, file);
    return file;
  } catch (err) {
    if (process.env.CORPUS_QA_DEBUG_BUNDLE) console.error(err);
    // No esbuild, a read-only cache, a full disk: the threads use tsx, as they always could.
    return undefined;
  }
}

/** Marks a bundle as used now (best effort: a read-only cache still serves it). */
function touch(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    // not ours to change: it is still the right bundle
  }
}

/** Keeps KEEP_OLD other bundles, the oldest going first: one another checkout runs now was built or used recently. */
function pruneOld(dir: string, current: string): void {
  try {
    const old = readdirSync(dir)
      .filter((n) => n.endsWith('.mjs') && join(dir, n) !== current)
      .map((n) => ({ n, at: statSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
      .sort((a, b) => a.at - b.at);
    for (const { n } of old.slice(0, Math.max(0, old.length - KEEP_OLD))) rmSync(join(dir, n), { force: true });
  } catch {
    // Pruning is housekeeping: the bundle just stored is fine either way.
  }
}

/** Whether `file` is there and ends with its trailer (a bundle cut short by a crash does not). */
function isWhole(file: string, trailer: string): boolean {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const tail = Buffer.alloc(Buffer.byteLength(trailer));
      readSync(fd, tail, 0, tail.length, Math.max(0, size - tail.length));
      return tail.toString('utf8') === trailer;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

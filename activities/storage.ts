/**
 * How files under <out> are read and written so that a reader never sees half of one:
 * everything goes to a temporary file in the same directory, then rename(). Where each file
 * lives is activities/paths.ts (re-exported here: callers import both from storage).
 */
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, createReadStream, statSync } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { STATE_FILES } from './paths.js';
import { removeTree } from './storage/removeTree.js';
import { isS3Url, s3Store } from './storage/s3Store.js';

export * from './paths.js';
export { isS3Url } from './storage/s3Store.js';
export { removeTree } from './storage/removeTree.js';

/**
 * <out> as the code that reads and writes its files sees it: names relative to <out>
 * ('/'-separated, as paths.ts gives them), never joined paths. A local directory, or a bucket
 * and prefix for `--out s3://bucket/prefix` (activities/storage/s3Store.ts); storeFor picks one.
 */
export interface OutputStore {
  /** The directory, or the s3://bucket/prefix URL. */
  readonly root: string;
  readonly kind: 'local' | 's3';
  /** The local path of a name; only for code that must hand a path to a library (local stores only). */
  pathOf(rel: string): string;
  /** The name as messages give it: the local path, or the object's s3:// URL. */
  describe(rel: string): string;
  exists(rel: string): Promise<boolean>;
  /** The file's text, or undefined when there is none (other errors are thrown). */
  readText(rel: string): Promise<string | undefined>;
  /**
   * The file's bytes (not decoded: a check can see invalid UTF-8), or `length` bytes of it from
   * `offset` (fewer where it ends sooner, as a Parquet footer is read); undefined when there is none.
   */
  readBytes(rel: string, range?: { offset: number; length: number }): Promise<Uint8Array | undefined>;
  /** The file's size in bytes; undefined when there is none. */
  size(rel: string): Promise<number | undefined>;
  /** The names in a folder (not recursive); [] when there is no such folder. */
  list(relDir: string): Promise<string[]>;
  /** The sha256 (hex) of a file's bytes, read as a stream; undefined when there is none. */
  sha256(rel: string): Promise<string | undefined>;
  /** Written whole and made visible at once; `durable` adds an fsync, worth it for final outputs. */
  write(rel: string, data: string | Uint8Array, durable?: boolean): Promise<void>;
  /** A complete local file (staged by an export) made visible as `rel`; the local file is left as it is. */
  putFile(rel: string, localPath: string): Promise<void>;
  /** A file or a folder with everything in it; nothing when there is none. */
  remove(rel: string): Promise<void>;
  /** A folder of files made visible complete or not at all; kept as it is if it is there already. */
  writeDirectoryOnce(relDir: string, files: Array<{ name: string; data: string; durable: boolean }>): Promise<void>;
  /** Throws a clear error when the store cannot be used at all (an unreachable or forbidden bucket). */
  check(): Promise<void>;
}

export function outputStore(outDir: string): OutputStore {
  const pathOf = (rel: string) => join(outDir, rel);
  return {
    root: outDir,
    kind: 'local',
    pathOf,
    describe: pathOf,
    exists: (rel) => exists(pathOf(rel)),
    readText: (rel) => readTextIfExists(pathOf(rel)),
    readBytes: (rel, range) => orUndefinedIfMissing(range ? readFileRange(pathOf(rel), range.offset, range.length) : readFile(pathOf(rel))),
    size: async (rel) => (await orUndefinedIfMissing(stat(pathOf(rel))))?.size,
    list: (relDir) => readdir(pathOf(relDir)).catch(() => [] as string[]),
    sha256: (rel) => sha256OfStream(() => createReadStream(pathOf(rel))),
    write: (rel, data, durable) => writeFileAtomic(pathOf(rel), data, durable),
    putFile: async (rel, localPath) => {
      await mkdir(dirname(pathOf(rel)), { recursive: true });
      await copyFile(localPath, pathOf(rel));
    },
    remove: (rel) => removeTree(pathOf(rel)),
    writeDirectoryOnce: (relDir, files) => writeDirectoryOnce(pathOf(relDir), files),
    check: async () => undefined,
  };
}

const s3Stores = new Map<string, OutputStore>();

/** The store of a run's `outDir`: a bucket for an s3:// URL, else the local directory. */
export function storeFor(outDir: string): OutputStore {
  if (!isS3Url(outDir)) return outputStore(outDir);
  let store = s3Stores.get(outDir);
  if (!store) s3Stores.set(outDir, (store = s3Store(outDir)));
  return store;
}

/**
 * A local directory of this machine for work that needs real files (an export's staged files
 * before they are uploaded): CORPUS_QA_SCRATCH_DIR, else one under the system's temp directory.
 * Only runs with an s3:// <out> use it; each worker may have its own.
 */
export function scratchDir(): string {
  return process.env.CORPUS_QA_SCRATCH_DIR || join(tmpdir(), `corpus-qa-scratch-${process.getuid?.() ?? 'user'}`);
}

/** The sha256 of a stream's bytes; undefined when opening it finds no file (ENOENT, NoSuchKey). */
export async function sha256OfStream(open: () => AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array> | undefined>): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    const stream = await open();
    if (!stream) return undefined;
    for await (const chunk of stream) hash.update(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return hash.digest('hex');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A temporary name beside `path` that the orphan sweep below recognizes (`.tmp-<pid>-<8 hex>`):
 * the pid, then a per-process counter from a random start (unique within the process without a
 * randomBytes call per file, and apart from other processes that share the pid, as in containers).
 */
let tempCounter = randomBytes(4).readUInt32BE(0);
export function tempPathFor(path: string): string {
  tempCounter = (tempCounter + 1) >>> 0;
  return `${path}.tmp-${process.pid}-${tempCounter.toString(16).padStart(8, '0')}`;
}

/** Write a whole file atomically. `durable` adds an fsync, worth it for final outputs. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, durable = false): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    // The directory is made only when it is missing (the first write there, or after a clean):
    // a mkdir per write was one more trip through libuv's thread pool for every shard and reply.
    await onMissingDirectory(() => writeTemp(tmp, data, durable), dirname(path));
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes `data` to `tmp` (a temporary name of tempPathFor), fsynced when `durable`; the caller renames it. */
export async function writeTemp(tmp: string, data: string | Uint8Array, durable: boolean): Promise<void> {
  if (!durable) return writeFile(tmp, data);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * fsyncs a directory, so that the names made in it (a rename, a new file) survive a power cut.
 * Not every file system can fsync a directory: `tolerant` lets that pass (an export's renames,
 * worth making durable where the system can); without it the failure is thrown (the journal's
 * new segment, whose replies were paid for).
 */
export async function syncDirectory(dir: string, opts: { tolerant?: boolean } = {}): Promise<void> {
  if (opts.tolerant) {
    const fh = await open(dir, 'r').catch(() => undefined);
    if (!fh) return;
    await fh.sync().catch(() => undefined);
    await fh.close().catch(() => undefined);
    return;
  }
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function onMissingDirectory(write: () => Promise<void>, dir: string): Promise<void> {
  try {
    await write();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dir, { recursive: true });
    await write();
  }
}

/**
 * A directory of files made visible at once: written (fsynced) to a temporary sibling, then
 * renamed into place. If another attempt put the same directory there first, its copy is kept
 * (the callers key directories by their content, so the two are the same).
 */
export async function writeDirectoryOnce(dir: string, files: Array<{ name: string; data: string; durable: boolean }>): Promise<void> {
  if (await exists(dir)) return;
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const f of files) {
    if (f.durable) await writeFileAtomic(join(tmp, f.name), f.data, true);
    else await writeFile(join(tmp, f.name), f.data);
  }
  await rename(tmp, dir).catch(async (err) => {
    await rm(tmp, { recursive: true, force: true });
    if (!(await exists(dir))) throw err;
  });
}

/** `length` bytes of a file from `offset` (fewer where it ends sooner); ENOENT when there is none. */
export async function readFileRange(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/** A file of ours that must be there (a manifest page, a batch's requests): its text, or an error naming it. */
export async function readRequiredText(path: string, what: string): Promise<string> {
  const text = await readTextIfExists(path);
  if (text === undefined) throw new Error(`${path}: missing (${what})`);
  return text;
}

/** What only a run in progress needs: its manifest, shards, error rows in the making, batch records. */
const INTERMEDIATE = [STATE_FILES.shards, STATE_FILES.manifests, STATE_FILES.localErrors, STATE_FILES.batchApi];

/**
 * Removes what only a run in progress needs (manifest and shards), and any trash; keeps the
 * server database and the LLM journal (the replies paid for: a re-run with other settings reads
 * them back). Awaited: `corpus-qa clean` says it is done when it is.
 */
export async function removeIntermediate(outDir: string): Promise<void> {
  const out = storeFor(outDir);
  for (const rel of [...INTERMEDIATE, STATE_FILES.trash]) await out.remove(rel);
}

/** Deletions started by retireIntermediate in this process, not finished yet. */
const deletions = new Set<Promise<void>>();

/**
 * The end of a run: the same removal, without the run waiting for it. On a local store each
 * folder is renamed into <out>/.corpus-qa/trash (one rename: from then on no run sees it) and
 * deleted in the background; 10,000 shards took about a second to delete, which every run
 * paid before its result. A pending deletion keeps the process alive until it is done (the CLI
 * prints its result first), and what a killed process left in the trash the next run deletes
 * (emptyTrash, from discovery) or `corpus-qa clean` does. On S3, where a folder has no rename,
 * the removal is awaited as before. Idempotent: a retried call finds nothing left to rename.
 */
export async function retireIntermediate(outDir: string): Promise<void> {
  const out = storeFor(outDir);
  if (out.kind !== 'local') return removeIntermediate(outDir);
  // A folder of this call's own: never empty while it is in use, so the deletion of an earlier
  // one (which then removes the trash folder if it is empty) cannot take it away mid-way.
  const retired = join(out.pathOf(STATE_FILES.trash), `${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(retired, { recursive: true });
  for (const rel of INTERMEDIATE) {
    const source = out.pathOf(rel);
    try {
      await rename(source, join(retired, rel.slice(rel.lastIndexOf('/') + 1)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || (await exists(source))) throw err;
    }
  }
  deleteInBackground(retired);
}

/** Deletes what earlier runs left in <out>/.corpus-qa/trash (a process killed while deleting), in the background. */
export async function emptyTrash(outDir: string): Promise<void> {
  const out = storeFor(outDir);
  if (out.kind !== 'local') return;
  const trash = out.pathOf(STATE_FILES.trash);
  for (const name of await readdir(trash).catch(() => [] as string[])) deleteInBackground(join(trash, name));
}

function deleteInBackground(path: string): void {
  const deletion: Promise<void> = removeTree(path)
    // The trash folder too, once nothing else is in it (rmdir refuses a folder that is not empty).
    .then(() => rmdir(dirname(path)))
    .catch(() => undefined) // what is left stays in the trash for the next run
    .finally(() => deletions.delete(deletion));
  deletions.add(deletion);
}

/** Background deletions of this process not finished yet. */
export const deletionsPending = (): number => deletions.size;

/** Resolves once every background deletion this process started is done (for tests: the CLI's process simply stays alive until then). */
export async function deletionsDone(): Promise<void> {
  while (deletions.size > 0) await Promise.all([...deletions]);
}

const TEMP_SUFFIX = /\.tmp-\d+-[0-9a-f]{8}$/;

/**
 * Removes temporary files that a killed writer left in `dir` (never complete files: those were
 * only ever made visible by rename). Only one export runs per output directory at a time, so
 * any temp file found when it starts is an orphan, but for those in `keep` (an export checkpoint's).
 */
export async function removeOrphanTempFiles(dir: string, keep: ReadonlySet<string> = new Set()): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const orphans = names.filter((n) => TEMP_SUFFIX.test(n) && !keep.has(join(dir, n)));
  await Promise.all(orphans.map((n) => rm(join(dir, n), { force: true })));
  return orphans.length;
}

/** Removes every entry of `dir` whose name starts with `prefix` (a folder with what is in it); a missing `dir` has none. */
export async function removeEntriesStartingWith(dir: string, prefix: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(prefix)) await removeTree(join(dir, name));
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes the LLM journal; returns how many replies it held. */
export async function removeJournal(outDir: string): Promise<number> {
  const out = storeFor(outDir);
  let count = 0;
  for (const sub of await out.list(STATE_FILES.journal)) {
    const dir = `${STATE_FILES.journal}/${sub}`;
    for (const name of await out.list(dir)) {
      if (name.endsWith('.json')) count++; // one reply per file (earlier versions)
      // A segment (journal/log): one reply per complete line.
      else if (name.endsWith('.jsonl')) count += ((await out.readText(`${dir}/${name}`)) ?? '').split('\n').length - 1;
    }
  }
  await out.remove(STATE_FILES.journal);
  return count;
}

/** A file's text, or undefined when there is no such file (other errors are thrown). */
export function readTextIfExists(path: string): Promise<string | undefined> {
  return orUndefinedIfMissing(readFile(path, 'utf8'));
}

/** What a read of a local file gives, or undefined when there is no such file (other errors are thrown). */
async function orUndefinedIfMissing<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Why a local <out> cannot be created and written, in words that follow "cannot be written"
 * (": /a/b is a file", " (/a is not writable)"); undefined when it can. The directory, or its
 * nearest existing parent, must be a writable directory. Synchronous: the CLI checks it before
 * anything starts.
 */
export function localOutputProblem(outDir: string): string | undefined {
  let probe = outDir;
  for (;;) {
    let st;
    try {
      st = statSync(probe);
    } catch {
      const parent = dirname(probe);
      if (parent === probe) return undefined;
      probe = parent;
      continue;
    }
    if (!st.isDirectory()) return `: ${probe} is ${probe === outDir ? 'a file' : 'a file, not a directory'}`;
    try {
      accessSync(probe, constants.W_OK | constants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return ` (${probe} is ${code === 'EROFS' ? 'on a read-only file system' : 'not writable'})`;
    }
    return undefined;
  }
}

/** Whether `path` is a directory of this machine (<out> itself, before anything is read from it). */
export async function isLocalDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/**
 * Reads and parses a JSON file written by us. Missing: undefined. Unparseable or of the wrong
 * shape (cut short by a power loss, written by another version): undefined too, after `onCorrupt`
 * says so, because everything read back this way is a cache that can be rebuilt.
 */
export async function readParsedIfExists<T>(
  path: string,
  schema: ParseSchema<T>,
  onCorrupt?: (why: string) => void,
): Promise<T | undefined> {
  return parseOurJson(path, await readTextIfExists(path), schema, onCorrupt);
}

/** readParsedIfExists for a name in a store (a local <out> or a bucket). */
export async function readParsedFrom<T>(
  store: OutputStore,
  rel: string,
  schema: ParseSchema<T>,
  onCorrupt?: (why: string) => void,
): Promise<T | undefined> {
  return parseOurJson(store.describe(rel), await store.readText(rel), schema, onCorrupt);
}

/** readRequiredText for a name in a store. */
export async function readRequiredFrom(store: OutputStore, rel: string, what: string): Promise<string> {
  const text = await store.readText(rel);
  if (text === undefined) throw new Error(`${store.describe(rel)}: missing (${what})`);
  return text;
}

type ParseSchema<T> = { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } };

function parseOurJson<T>(path: string, text: string | undefined, schema: ParseSchema<T>, onCorrupt?: (why: string) => void): T | undefined {
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    onCorrupt?.(`${path}: not JSON (${(err as Error).message})`);
    return undefined;
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    onCorrupt?.(`${path}: unexpected content (${r.error.message.slice(0, 200)})`);
    return undefined;
  }
  return r.data;
}

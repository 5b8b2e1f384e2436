/**
 * Where a run keeps its intermediate state, and how files are written so that a reader never
 * sees half of one: everything goes to a temporary file in the same directory, then rename().
 *
 * Layout under <out>/.corpus-qa/:
 *   manifests/<key>/page-000000.jsonl   the sorted manifest, in pages so a batch reads one page
 *   shards/<ab>/<key>.json              one document's result, keyed by content + settings
 *   journal/<ab>/<key>.json             one answered LLM request, keyed by what decides its answer:
 *                                       the paid work, kept after export (see activities/generate/journal.ts)
 *   batch-api/<run>-round-<n>.jsonl     requests collected for a provider batch (--batch-api), and
 *                                       <file>.submitted.json, the batches made of them
 *   temporal.db                         the embedded dev server's database (client/)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const STATE_DIR_NAME = '.corpus-qa';
export const MANIFEST_PAGE_SIZE = 1000;

export function stateDir(outDir: string): string {
  return join(outDir, STATE_DIR_NAME);
}

export function manifestDir(outDir: string, manifestKey: string): string {
  return join(stateDir(outDir), 'manifests', manifestKey);
}

export function manifestPagePath(outDir: string, manifestKey: string, page: number): string {
  return join(manifestDir(outDir, manifestKey), `page-${String(page).padStart(6, '0')}.jsonl`);
}

export function shardPath(outDir: string, shardKey: string): string {
  return join(stateDir(outDir), 'shards', shardKey.slice(0, 2), `${shardKey}.json`);
}

export function journalDir(outDir: string): string {
  return join(stateDir(outDir), 'journal');
}

export function journalPath(outDir: string, requestKey: string): string {
  return join(journalDir(outDir), requestKey.slice(0, 2), `${requestKey}.json`);
}

/** Requests collected for a provider's Batch API, one file per round, and what was submitted. */
export function batchRequestsPath(outDir: string, runKey: string, round: number): string {
  return join(stateDir(outDir), 'batch-api', `${runKey}-round-${round}.jsonl`);
}

/**
 * A read failure that depends on this machine (permissions, I/O): recorded beside the shards but
 * never as a shard, so the document is tried again on the next run.
 */
export function localErrorPath(outDir: string, shardKey: string): string {
  return join(stateDir(outDir), 'local-errors', `${shardKey}.json`);
}

/** A reviewer's decisions (corpus-qa review apply), kept across runs: not run state, never removed by a run. */
export const REVIEW_DECISIONS_FILE = 'review/decisions.jsonl';

export function reviewDecisionsPath(outDir: string): string {
  return join(outDir, REVIEW_DECISIONS_FILE);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A temporary name beside `path` that the orphan sweep below recognizes (`.tmp-<pid>-<8 hex>`). */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Write a whole file atomically. `durable` adds an fsync, worth it for final outputs. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, durable = false): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    if (durable) {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    } else {
      await writeFile(tmp, data);
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Removes what only a run in progress needs (manifest and shards); keeps the server database and
 * the LLM journal (the replies paid for: a re-run with other settings reads them back).
 */
export async function removeIntermediate(outDir: string): Promise<void> {
  await rm(join(stateDir(outDir), 'shards'), { recursive: true, force: true });
  await rm(join(stateDir(outDir), 'manifests'), { recursive: true, force: true });
  await rm(join(stateDir(outDir), 'local-errors'), { recursive: true, force: true });
  await rm(join(stateDir(outDir), 'batch-api'), { recursive: true, force: true });
}

const TEMP_SUFFIX = /\.tmp-\d+-[0-9a-f]{8}$/;

/**
 * Removes temporary files that a killed writer left in `dir` (never complete files: those were
 * only ever made visible by rename). Only one export runs per output directory at a time, so
 * any temp file found when it starts is an orphan.
 */
export async function removeOrphanTempFiles(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const orphans = names.filter((n) => TEMP_SUFFIX.test(n));
  await Promise.all(orphans.map((n) => rm(join(dir, n), { force: true })));
  return orphans.length;
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
  let count = 0;
  for (const sub of await readdir(journalDir(outDir)).catch(() => [] as string[])) {
    count += (await readdir(join(journalDir(outDir), sub)).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).length;
  }
  await rm(journalDir(outDir), { recursive: true, force: true });
  return count;
}

/** A file's text, or undefined when there is no such file (other errors are thrown). */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Reads and parses a JSON file written by us. Missing: undefined. Unparseable or of the wrong
 * shape (cut short by a power loss, written by another version): undefined too, after `onCorrupt`
 * says so, because everything read back this way is a cache that can be rebuilt.
 */
export async function readParsedIfExists<T>(
  path: string,
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } },
  onCorrupt?: (why: string) => void,
): Promise<T | undefined> {
  const text = await readTextIfExists(path);
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

/**
 * A file written line by line and made visible only by commit(). Used by export for files that
 * can be far bigger than memory. Hashes what it writes so the caller can report a checksum.
 */
export class AtomicLineWriter {
  private handle: FileHandle | undefined;
  private readonly tmp: string;
  private buffer: string[] = [];
  private bufferedChars = 0;
  private readonly hash = createHash('sha256');
  rows = 0;

  constructor(readonly path: string) {
    this.tmp = tempPathFor(path);
  }

  async open(): Promise<this> {
    await mkdir(dirname(this.path), { recursive: true });
    this.handle = await open(this.tmp, 'w');
    return this;
  }

  async writeLine(line: string): Promise<void> {
    this.buffer.push(line, '\n');
    this.bufferedChars += line.length + 1;
    this.rows++;
    if (this.bufferedChars > 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.handle || this.buffer.length === 0) return;
    const chunk = this.buffer.join('');
    this.buffer = [];
    this.bufferedChars = 0;
    this.hash.update(chunk);
    await this.handle.write(chunk);
  }

  /** Flush, fsync and rename into place. Returns the sha256 of the file's bytes. */
  async commit(): Promise<string> {
    await this.flush();
    if (!this.handle) throw new Error(`writer for ${this.path} was not opened`);
    await this.handle.sync();
    await this.handle.close();
    this.handle = undefined;
    await rename(this.tmp, this.path);
    return this.hash.digest('hex');
  }

  async abort(): Promise<void> {
    if (this.handle) await this.handle.close().catch(() => undefined);
    this.handle = undefined;
    await rm(this.tmp, { force: true });
  }
}

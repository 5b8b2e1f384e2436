/**
 * Discovery: find the documents, hash them, and write the sorted manifest to storage. Only a
 * small summary goes back to the workflow; the manifest itself can hold millions of entries.
 */
import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { relative } from 'node:path';
import type { DiscoverySummary, ManifestEntry } from '../schemas/index.js';
import { kindFromPath } from './extract/index.js';
import { isS3Url, MANIFEST_PAGE_SIZE, manifestPageName } from './storage.js';
import { ManifestPageWriter } from './manifestPages.js';
import { mapInOrderFrom } from './inOrder.js';
import { DocumentChanged, fileIdOf, hashDocument, realPathBytes, typeOf } from './readDocument.js';
import { InputWalk, type WalkedFile } from './walk.js';

export interface DiscoverInput {
  inputDir: string;
  outDir: string;
  globs: string[];
  maxFileBytes: number;
}

export interface PlannedFile {
  source: string;
  /** The path as walked: a string, or bytes when the name is not valid UTF-8. */
  absPath: string | Buffer;
  kind: ManifestEntry['kind'];
  size: number;
  error?: ManifestEntry['error'];
  /** The name is not valid UTF-8; `source` is escaped (see readDocument.ts). */
  escaped?: boolean;
  /** Reached through a symlink: its real path relative to the input's real path, escaped. */
  target?: string;
  /** What to open (the real path for a file reached through a symlink). */
  openPath: string | Buffer;
  /** `dev:ino` as discovery saw it. */
  fileId?: string;
}

function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  if (e.code === 'ENOENT') return 'file vanished during discovery';
  if (e.code === 'EISDIR') return 'is a directory';
  return e.message ?? String(err);
}

/**
 * The names of a run's config file (client/config.ts). One at the top of the input directory
 * configures the run; it is not a document of the corpus, so it is never discovered.
 */
export const RUN_CONFIG_FILE_NAMES = ['corpus-qa.config.json', 'corpus-qa.config.yaml', 'corpus-qa.config.yml'] as const;

function isRunConfigFile(source: string): boolean {
  return (RUN_CONFIG_FILE_NAMES as readonly string[]).includes(source);
}

/**
 * The files a run would consider, with sizes, in source order, one at a time: nothing holds
 * the whole list (see walk.ts). `warnings` and `skipped` are complete once `files()` has ended:
 * the walk's first, then the plan's, as when the plan was a list.
 */
export class FilePlan {
  private readonly walk: InputWalk;
  private readonly planWarnings: string[] = [];

  constructor(private readonly input: DiscoverInput, onProgress?: (seen: number) => void) {
    // A bucket is never inside the input directory.
    const outInsideInput = !isS3Url(input.outDir) && !relative(input.inputDir, input.outDir).startsWith('..') &&
      relative(input.inputDir, input.outDir) !== '';
    this.walk = new InputWalk({
      inputDir: input.inputDir,
      globs: input.globs,
      excludeDirs: outInsideInput ? [input.outDir] : [],
      onProgress,
    });
  }

  get warnings(): string[] {
    return [...this.walk.warnings, ...this.planWarnings];
  }

  get skipped(): number {
    return this.walk.skipped;
  }

  async *files(): AsyncGenerator<PlannedFile> {
    let previousSource: string | undefined;
    for await (const f of this.walk.files()) {
      if (isRunConfigFile(f.source)) continue;
      if (previousSource === f.source) {
        // Only an escaped name can look like another (a valid name that spells the escape).
        this.planWarnings.push(`${f.source}: two files have this source (one name is not valid UTF-8 and escapes to the other)`);
      }
      previousSource = f.source;
      yield await this.planned(f);
    }
  }

  private async planned(f: WalkedFile): Promise<PlannedFile> {
    const planned: PlannedFile = { source: f.source, absPath: f.absPath, openPath: f.openPath, kind: kindFromPath(f.source), size: 0 };
    if (f.escaped) planned.escaped = true;
    if (f.target !== undefined) planned.target = f.target;
    try {
      // lstat: what is there now must still be the regular file the walk saw, not a symlink.
      const info = await lstat(f.openPath, { bigint: true });
      planned.size = Number(info.size);
      if (!info.isFile()) {
        planned.error = { reason: 'changed_after_discovery', detail: `the file is now a ${typeOf(info)}, not a regular file; not read` };
      } else {
        planned.fileId = fileIdOf(info);
        if (info.size > this.input.maxFileBytes) {
          planned.error = {
            reason: 'too_large',
            detail: `file is ${info.size} bytes, over the limit of ${this.input.maxFileBytes} (--max-file-mb)`,
          };
        }
      }
    } catch (err) {
      planned.error = { reason: 'unreadable', detail: describeIoError(err) };
    }
    return planned;
  }
}

/** The whole plan as a list: for --glob's check and tests, not for corpora of any size. */
export async function planFiles(input: DiscoverInput): Promise<{ files: PlannedFile[]; warnings: string[]; skipped: number }> {
  const plan = new FilePlan(input);
  const files: PlannedFile[] = [];
  for await (const f of plan.files()) files.push(f);
  return { files, warnings: plan.warnings, skipped: plan.skipped };
}

/** Files being hashed at once by discovery: enough to keep libuv's thread pool busy. */
const HASHES_IN_FLIGHT = 16;

/** Hashes every planned file and writes the manifest pages; returns the summary. */
export async function discoverCorpus(
  input: DiscoverInput,
  heartbeat: (details: unknown) => void = () => undefined,
): Promise<DiscoverySummary> {
  const plan = new FilePlan(input, (seen) => heartbeat({ phase: 'walk', seen }));
  const rootReal = await realPathBytes(input.inputDir);
  const byKind: Record<string, number> = {};
  let bytes = 0;
  // The key is the manifest's own hash: the same corpus gives the same key, so a retried or
  // re-run discovery finds its pages already in place. Hashed and paged as the entries come
  // (the lines joined by '\n', as one string would be), so that no list of every line is
  // held besides the pages themselves.
  const manifestHash = createHash('sha256');
  const pages = await ManifestPageWriter.open(input.outDir);
  let pageLines: string[] = [];
  const writePage = async () => {
    // fsynced: the pages are trusted as they are once the directory is in place.
    await pages.add({ name: manifestPageName(pages.written), data: pageLines.map((l) => `${l}\n`).join(''), durable: true });
    pageLines = [];
  };
  // Files are walked, planned and hashed HASHES_IN_FLIGHT at a time, ahead of the line being
  // written, and their lines written in manifest order: one at a time, each hash waited for its
  // file's open, read and close in turn (10,000 small files took about 3.5 s).
  type Hashed = { ok: Awaited<ReturnType<typeof hashDocument>> } | { err: unknown } | undefined;
  const hashOf = async (f: PlannedFile, i: number): Promise<{ f: PlannedFile; hashed: Hashed }> => {
    // Said before the first file is opened, and before the next is planned: progress, and
    // the point at which the safety tests swap files between the walk and the hashing.
    if (i === 0) heartbeat({ phase: 'hash', index: 0 });
    if (f.error) return { f, hashed: undefined };
    // Opened without following a symlink or blocking on a FIFO, and checked to be the file
    // the plan saw: what is hashed is what processing will be allowed to read.
    const hashed = await hashDocument(f.openPath, rootReal, f.fileId).then((ok) => ({ ok }), (err: unknown) => ({ err }));
    return { f, hashed };
  };
  let index = -1;
  try {
    for await (const { f, hashed } of mapInOrderFrom(plan.files(), HASHES_IN_FLIGHT, hashOf)) {
      index++;
      let entry: ManifestEntry = { index, source: f.source, kind: f.kind, size: f.size, sha256: '' };
      if (f.escaped) entry.escapedSource = true;
      if (f.target !== undefined) entry.target = f.target;
      if (f.error) {
        entry.error = f.error;
      } else if (hashed) {
        if ('ok' in hashed) {
          entry = { ...entry, size: hashed.ok.size, sha256: hashed.ok.sha256, fileId: hashed.ok.fileId };
        } else {
          const err = hashed.err;
          entry = err instanceof DocumentChanged
            ? { ...entry, error: { reason: err.reason, detail: err.message } }
            : { ...entry, error: { reason: 'unreadable', detail: describeIoError(err) } };
        }
      }
      byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
      bytes += entry.size;
      const line = JSON.stringify(entry);
      manifestHash.update(index === 0 ? line : `\n${line}`);
      pageLines.push(line);
      if (pageLines.length === MANIFEST_PAGE_SIZE) await writePage();
      if (index % 200 === 0 && index > 0) heartbeat({ phase: 'hash', index });
    }
  } catch (err) {
    await pages.discard(); // an input that is not a directory, a disk that is full
    throw err;
  }
  // The last page, short; or one empty page for an empty corpus.
  if (pageLines.length > 0 || pages.written === 0) await writePage();
  const documents = index + 1;
  const manifestKey = manifestHash.digest('hex').slice(0, 32);
  const warnings = plan.warnings;
  await pages.add({ name: 'warnings.json', data: JSON.stringify(warnings), durable: false });
  await pages.commit(manifestKey);
  return {
    manifestKey,
    documents,
    bytes,
    byKind,
    skipped: plan.skipped,
    warnings: warnings.slice(0, 20),
  };
}

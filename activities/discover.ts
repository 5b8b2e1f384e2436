/**
 * Discovery: find the documents, hash them, and write the sorted manifest to storage. Only a
 * small summary goes back to the workflow; the manifest itself can hold millions of entries.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type { DiscoverySummary, ManifestEntry } from '../schemas/index.js';
import { kindFromPath } from './extract/index.js';
import { MANIFEST_PAGE_SIZE, exists, manifestDir, manifestPagePath, sha256Hex, writeFileAtomic } from './storage.js';
import { walkInput } from './walk.js';

export interface DiscoverInput {
  inputDir: string;
  outDir: string;
  globs: string[];
  maxFileBytes: number;
}

export interface PlannedFile {
  source: string;
  absPath: string;
  kind: ManifestEntry['kind'];
  size: number;
  error?: ManifestEntry['error'];
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  if (e.code === 'ENOENT') return 'file vanished during discovery';
  if (e.code === 'EISDIR') return 'is a directory';
  return e.message ?? String(err);
}

/** The files a run would consider, with sizes, sorted. Shared by discovery and --dry-run. */
export async function planFiles(
  input: DiscoverInput,
  onProgress?: (seen: number) => void,
): Promise<{ files: PlannedFile[]; warnings: string[]; skipped: number }> {
  const outInsideInput = !relative(input.inputDir, input.outDir).startsWith('..') &&
    relative(input.inputDir, input.outDir) !== '';
  const walked = await walkInput({
    inputDir: input.inputDir,
    globs: input.globs,
    excludeDirs: outInsideInput ? [input.outDir] : [],
    onProgress,
  });
  // Byte order of the relative path, not locale order: the same on every machine.
  walked.files.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  const files: PlannedFile[] = [];
  for (const f of walked.files) {
    const kind = kindFromPath(f.source);
    try {
      const info = await stat(f.absPath);
      const planned: PlannedFile = { source: f.source, absPath: f.absPath, kind, size: info.size };
      if (info.size > input.maxFileBytes) {
        planned.error = {
          reason: 'too_large',
          detail: `file is ${info.size} bytes, over the limit of ${input.maxFileBytes} (--max-file-mb)`,
        };
      }
      files.push(planned);
    } catch (err) {
      files.push({
        source: f.source,
        absPath: f.absPath,
        kind,
        size: 0,
        error: { reason: 'unreadable', detail: describeIoError(err) },
      });
    }
  }
  return { files, warnings: walked.warnings, skipped: walked.skipped };
}

/** Hashes every planned file and writes the manifest pages; returns the summary. */
export async function discoverCorpus(
  input: DiscoverInput,
  heartbeat: (details: unknown) => void = () => undefined,
): Promise<DiscoverySummary> {
  const plan = await planFiles(input, (seen) => heartbeat({ phase: 'walk', seen }));
  const lines: string[] = [];
  const byKind: Record<string, number> = {};
  let bytes = 0;
  for (const [index, f] of plan.files.entries()) {
    let entry: ManifestEntry = { index, source: f.source, kind: f.kind, size: f.size, sha256: '' };
    if (f.error) {
      entry.error = f.error;
    } else {
      try {
        entry.sha256 = await hashFile(f.absPath);
      } catch (err) {
        entry = { ...entry, error: { reason: 'unreadable', detail: describeIoError(err) } };
      }
    }
    byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
    bytes += f.size;
    lines.push(JSON.stringify(entry));
    if (index % 200 === 0) heartbeat({ phase: 'hash', index });
  }

  // The key is the manifest's own hash: the same corpus gives the same key, so a retried or
  // re-run discovery finds its pages already in place.
  const manifestKey = sha256Hex(lines.join('\n')).slice(0, 32);
  const dir = manifestDir(input.outDir, manifestKey);
  if (!(await exists(dir))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    for (let page = 0; page * MANIFEST_PAGE_SIZE < lines.length || page === 0; page++) {
      const pageLines = lines.slice(page * MANIFEST_PAGE_SIZE, (page + 1) * MANIFEST_PAGE_SIZE);
      const target = manifestPagePath(input.outDir, manifestKey, page).replace(dir, tmp);
      // fsynced: the pages are trusted as they are once the directory is in place.
      await writeFileAtomic(target, pageLines.map((l) => `${l}\n`).join(''), true);
    }
    await writeFile(`${tmp}/warnings.json`, JSON.stringify(plan.warnings));
    await rename(tmp, dir).catch(async (err) => {
      // Another attempt won the race: its pages are identical, keep them.
      await rm(tmp, { recursive: true, force: true });
      if (!(await exists(dir))) throw err;
    });
  }
  return {
    manifestKey,
    documents: plan.files.length,
    bytes,
    byKind,
    skipped: plan.skipped,
    warnings: plan.warnings.slice(0, 20),
  };
}


/** Reads the manifest back, a page at a time, with a small cache: batches read neighbouring ranges. */
import { ManifestEntry } from '../schemas/index.js';
import { MANIFEST_PAGE_SIZE, readRequiredFrom, STATE_NAMES, storeFor } from './storage.js';

const pageCache = new Map<string, ManifestEntry[]>();
const PAGE_CACHE_LIMIT = 16;

async function readPage(outDir: string, manifestKey: string, page: number): Promise<ManifestEntry[]> {
  const store = storeFor(outDir);
  const name = STATE_NAMES.manifestPage(manifestKey, page);
  const path = store.describe(name);
  const cached = pageCache.get(path);
  if (cached) return cached;
  const text = await readRequiredFrom(store, name, 'a page of the run\'s manifest');
  const entries = text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => ManifestEntry.parse(JSON.parse(l)));
  if (pageCache.size >= PAGE_CACHE_LIMIT) pageCache.delete(pageCache.keys().next().value as string);
  pageCache.set(path, entries);
  return entries;
}

/** Entries with index in [start, end). */
export async function readManifestRange(
  outDir: string,
  manifestKey: string,
  start: number,
  end: number,
): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  for (let page = Math.floor(start / MANIFEST_PAGE_SIZE); page * MANIFEST_PAGE_SIZE < end; page++) {
    for (const e of await readPage(outDir, manifestKey, page)) {
      if (e.index >= start && e.index < end) out.push(e);
    }
  }
  return out;
}

/** Every entry in order, a page at a time, without holding the whole manifest. */
export async function* iterateManifest(
  outDir: string,
  manifestKey: string,
  documents: number,
  from = 0,
): AsyncGenerator<ManifestEntry> {
  // A page at a time; `from` (an export going on from a checkpoint) may be mid-page.
  for (let start = from; start < documents; ) {
    const pageEnd = (Math.floor(start / MANIFEST_PAGE_SIZE) + 1) * MANIFEST_PAGE_SIZE;
    yield* await readManifestRange(outDir, manifestKey, start, Math.min(documents, pageEnd));
    start = pageEnd;
  }
}

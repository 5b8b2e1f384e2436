/**
 * Discovery's manifest pages, written as they fill: a local <out> gets each page in a folder of
 * its own under manifests/ as soon as it is complete, and the folder is renamed to the
 * manifest's key (known only once every line is hashed) at the end. So discovery never holds
 * the manifest's text: at 1M documents that was ~250 MB. A bucket has no rename, so there the
 * pages are held and written at the end as before (writeDirectoryOnce).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exists, removeEntriesStartingWith, STATE_NAMES, storeFor, writeFileAtomic, type OutputStore } from './storage.js';

type Page = { name: string; data: string; durable: boolean };

const FOLDER_PREFIX = '.pages-';

export class ManifestPageWriter {
  private readonly held: Page[] = [];
  written = 0;

  private constructor(
    private readonly store: OutputStore,
    /** The local folder pages go to as they come; undefined for a bucket. */
    private readonly folder: string | undefined,
  ) {}

  /**
   * Only one discovery runs per output directory at a time, so a folder of pages an earlier
   * one left is a killed discovery's, and is removed.
   */
  static async open(outDir: string): Promise<ManifestPageWriter> {
    const store = storeFor(outDir);
    if (store.kind !== 'local') return new ManifestPageWriter(store, undefined);
    const manifests = store.pathOf(STATE_NAMES.manifestDir('')).replace(/\/$/, '');
    await removeEntriesStartingWith(manifests, FOLDER_PREFIX);
    const folder = join(manifests, `${FOLDER_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(folder, { recursive: true });
    return new ManifestPageWriter(store, folder);
  }

  async add(page: Page): Promise<void> {
    this.written++;
    if (!this.folder) this.held.push(page);
    else await writeFileAtomic(join(this.folder, page.name), page.data, page.durable);
  }

  /** The pages made visible as the manifest `manifestKey`; kept as they are if another discovery put them there first. */
  async commit(manifestKey: string): Promise<void> {
    const rel = STATE_NAMES.manifestDir(manifestKey);
    if (!this.folder) return this.store.writeDirectoryOnce(rel, this.held);
    const dir = this.store.pathOf(rel);
    if (await exists(dir)) return this.discard();
    await rename(this.folder, dir).catch(async (err) => {
      await this.discard();
      if (!(await exists(dir))) throw err;
    });
  }

  async discard(): Promise<void> {
    if (this.folder) await rm(this.folder, { recursive: true, force: true });
  }
}

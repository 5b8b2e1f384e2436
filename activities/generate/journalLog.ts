/**
 * Where the request journal keeps its entries: append-only segment files under
 * <out>/.corpus-qa/journal/log/, one per worker process, one JSON line per answered request.
 *
 * Written by group commit, in two loops. Replies that arrive while the previous write runs go
 * together in the next write; writes do not wait for the disk's sync, which runs behind them and
 * covers every line written before it started. `append` calls `written` once its line is in the
 * file (a kill -9 can no longer lose it: the request's slot is given back then) and resolves once
 * it is synced (a power cut cannot either: only then is the reply used). At 64 requests in flight
 * the disk sees a few syncs a second instead of a file, an fsync and a rename per reply, whose
 * queue in libuv's thread pool held each reply's slot for about a second (docs/llm-throughput.md).
 *
 * Read through an index, key → (segment, byte range), built from every segment the first time
 * the journal is used. It is refreshed from what other processes appended at most once a second,
 * on a miss. A line enters the index only once its whole group is durable. A line cut short by a
 * crash has no newline and is skipped. A new process never appends to an old segment, so a
 * torn tail never runs into a later line.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { journalDir, journalLogDir } from '../paths.js';
import { exists, readFileRange, syncDirectory } from '../storage.js';

interface Location {
  segment: string;
  offset: number;
  /** Bytes, without the newline. */
  length: number;
}

interface Pending {
  key: string;
  line: string;
  /** The line is in the file (the OS holds it): it survives a kill -9, not yet a power cut. */
  written?: () => void;
  done: (err?: unknown) => void;
  /** Times its segment was lost under it (sync error, removed): written again, up to a bound. */
  lost?: number;
}

/** A line whose segment failed this many times is given up on: the disk itself is failing. */
const MAX_REWRITES = 2;

interface Segment {
  name: string;
  fh: FileHandle;
  size: number;
  /** No more appends or syncs: its lines not yet synced are written again elsewhere. */
  abandoned?: boolean;
}

interface Written {
  pending: Pending;
  segment: Segment;
  offset: number;
  /** Bytes, without the newline. */
  length: number;
}

/** How stale the index may be about other processes' entries before a miss rescans. */
const RESCAN_MS = 1000;
export const SEGMENT_SUFFIX = '.jsonl';
/** JSON.stringify of a JournalEntry starts so (v, then key): the key is read without parsing the line. */
const KEY_PREFIX = '{"v":1,"key":"';
const LEGACY_FOLDER = /^[0-9a-f]{2}$/;

export class JournalLog {
  private readonly index = new Map<string, Location>();
  /** Bytes of each segment already indexed (whole lines only). */
  private readonly scanned = new Map<string, number>();
  /** The <ab> folders of one-file entries that earlier versions wrote. */
  private legacyFolders = new Set<string>();
  private loaded?: Promise<void>;
  private scanning?: Promise<void>;
  private lastScanAt = 0;
  private own?: Segment;
  private pending: Pending[] = [];
  private flushing = false;
  /** Written, waiting for the sync loop. */
  private unsynced: Written[] = [];
  private syncRunning = false;
  /** The running (or last) sync loop: a segment given up is closed after it. */
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    readonly outDir: string,
    private readonly rescanMs = RESCAN_MS,
  ) {}

  /** The stored line of `key` (a JournalEntry's JSON), or undefined. */
  async read(key: string): Promise<string | undefined> {
    await this.load();
    let at = this.index.get(key);
    if (!at && Date.now() - this.lastScanAt >= this.rescanMs) {
      // Another worker may have answered it since: one rescan serves every miss waiting on it.
      await (this.scanning ??= this.scan(false).finally(() => (this.scanning = undefined)));
      at = this.index.get(key);
    }
    if (!at) return undefined;
    try {
      return (await readFileRange(join(journalLogDir(this.outDir), at.segment), at.offset, at.length)).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The journal was removed under us (corpus-qa clean --journal): what the index holds is gone.
      this.reset();
      return undefined;
    }
  }

  /** Whether an earlier version may have stored `key` in a file of its own. */
  mayHaveOneFileEntry(key: string): boolean {
    return this.legacyFolders.has(key.slice(0, 2));
  }

  /**
   * Appends the line for `key`; resolves once it is on disk (with the other lines of its group).
   * `written` is called earlier, once the line is in the file but before the group's fdatasync:
   * from then on a kill -9 cannot lose it, so the caller may let the server take another request
   * while the disk syncs (only a power cut in that window could, and the reply is not used yet).
   */
  append(key: string, line: string, written?: () => void): Promise<void> {
    return new Promise((resolvePut, rejectPut) => {
      this.pending.push({ key, line: `${line}\n`, ...(written ? { written } : {}), done: (err) => (err === undefined ? resolvePut() : rejectPut(err)) });
      if (!this.flushing) void this.flush();
    });
  }

  private load(): Promise<void> {
    return (this.loaded ??= this.scan(true));
  }

  /**
   * The write loop: whatever is pending goes into the segment in one write as soon as the last
   * write is done, without waiting for the disk's sync, which the sync loop runs behind it.
   */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const group = this.pending;
        this.pending = [];
        let written: Written[];
        try {
          written = await this.writeGroup(group);
        } catch (err) {
          for (const p of group) p.done(err ?? new Error('journal write failed'));
          continue;
        }
        for (const w of written) w.pending.written?.();
        this.unsynced.push(...written);
        this.startSyncLoop();
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * The sync loop: one fdatasync covers every line written before it started, so lines written
   * while a sync runs wait for the next one only. A line enters the index once it is durable.
   */
  private startSyncLoop(): void {
    if (this.syncRunning) return;
    this.syncRunning = true;
    this.syncing = this.syncLoop();
  }

  private async syncLoop(): Promise<void> {
    // The flag is cleared in the same turn as the loop's last look at `unsynced` (the finally
    // of this very function), so a line written after that look always starts a new loop.
    try {
      while (this.unsynced.length > 0) await this.syncGroup();
    } finally {
      this.syncRunning = false;
    }
  }

  private async syncGroup(): Promise<void> {
    // One fdatasync per segment for every line written to it so far.
    const group = this.unsynced;
    this.unsynced = [];
    const lost = new Set<Segment>(group.filter((w) => w.segment.abandoned).map((w) => w.segment));
    let removed = false;
    for (const seg of new Set(group.map((w) => w.segment))) {
      if (lost.has(seg)) continue;
      try {
        await seg.fh.datasync();
        // Removed while we wrote (corpus-qa clean --journal): what the index holds is gone too.
        if (!(await exists(join(journalLogDir(this.outDir), seg.name)))) {
          lost.add(seg);
          removed = true;
        }
      } catch {
        // After a failed sync the same handle may say a later one succeeded (the kernel reports
        // a writeback error once): its lines go to a new segment instead.
        lost.add(seg);
      }
    }
    for (const w of group) {
      if (lost.has(w.segment)) this.writeAgain(w.pending);
      else {
        this.index.set(w.pending.key, { segment: w.segment.name, offset: w.offset, length: w.length });
        w.pending.done();
      }
    }
    if (lost.size > 0) {
      for (const seg of lost) this.abandon(seg);
      if (removed) this.reset();
      if (!this.flushing) void this.flush();
    }
  }

  /** A line whose segment was lost goes into a new one: the reply it holds was paid for. */
  private writeAgain(p: Pending): void {
    p.lost = (p.lost ?? 0) + 1;
    if (p.lost > MAX_REWRITES) p.done(new Error(`the journal could not be made durable in ${journalLogDir(this.outDir)} (${p.lost} segments lost: removed or failing to sync)`));
    else this.pending.push(p);
  }

  /** Writes the group's lines at the end of this process's segment (not yet synced). */
  private async writeGroup(group: Pending[]): Promise<Written[]> {
    await this.load(); // the index exists before anything is added to it
    const seg = (this.own ??= await this.createSegment());
    const data = Buffer.from(group.map((p) => p.line).join(''));
    try {
      for (let written = 0; written < data.length; ) written += (await seg.fh.write(data, written, data.length - written)).bytesWritten;
    } catch (err) {
      // A group that failed halfway may end in part of a line: never append after it.
      this.abandon(seg);
      throw err;
    }
    let offset = seg.size;
    const written = group.map((p) => {
      const length = Buffer.byteLength(p.line) - 1;
      const w = { pending: p, segment: seg, offset, length };
      offset += length + 1;
      return w;
    });
    seg.size = offset;
    return written;
  }

  /** No more appends to `seg`; its handle is closed once the lines written to it are synced. */
  private abandon(seg: Segment): void {
    if (seg.abandoned) return;
    seg.abandoned = true;
    if (this.own === seg) this.own = undefined;
    // After the sync loop running now: it may still hold lines of `seg`, which it sends to a new
    // segment without touching this handle (a write under way on it finishes before the close).
    void this.syncing.then(() => seg.fh.close().catch(() => undefined));
  }

  /** A new segment: the time first, so that in name order a later entry for a key wins, as a rewrite did. */
  private async createSegment(): Promise<Segment> {
    const dir = journalLogDir(this.outDir);
    await mkdir(dir, { recursive: true });
    const name = `${String(Date.now()).padStart(14, '0')}-${process.pid}-${randomBytes(4).toString('hex')}${SEGMENT_SUFFIX}`;
    const fh = await open(join(dir, name), 'a');
    // The segment's name must survive a power cut as well as its lines: sync its folder (and that
    // folder's, which mkdir may have just made) once.
    await syncDirectory(dir);
    await syncDirectory(journalDir(this.outDir));
    this.scanned.set(name, 0);
    return { name, fh, size: 0 };
  }

  /** Indexes what the segments hold beyond what was read already. `initial`: later entries win. */
  private async scan(initial: boolean): Promise<void> {
    this.lastScanAt = Date.now();
    const dir = journalLogDir(this.outDir);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(SEGMENT_SUFFIX)).sort();
    for (const name of names) {
      if (name === this.own?.name) continue; // ours is indexed as it is written
      const from = this.scanned.get(name) ?? 0;
      const size = (await stat(join(dir, name)).catch(() => undefined))?.size ?? 0;
      if (size <= from) continue;
      const data = await readFileRange(join(dir, name), from, size - from);
      let pos = 0;
      for (let nl = data.indexOf(10, pos); nl >= 0; nl = data.indexOf(10, pos)) {
        const key = keyOfLine(data, pos, nl);
        // On a rescan, what this process already uses stays: a shard must not change under a resume.
        if (key && (initial || !this.index.has(key))) this.index.set(key, { segment: name, offset: from + pos, length: nl - pos });
        pos = nl + 1;
      }
      this.scanned.set(name, from + pos);
    }
    const folders = await readdir(journalDir(this.outDir)).catch(() => [] as string[]);
    this.legacyFolders = new Set(folders.filter((n) => LEGACY_FOLDER.test(n)));
  }

  private reset(): void {
    this.index.clear();
    this.scanned.clear();
    this.legacyFolders.clear();
    if (this.own) this.abandon(this.own);
    this.loaded = undefined;
  }
}

function keyOfLine(data: Buffer, start: number, end: number): string | undefined {
  const head = data.toString('latin1', start, Math.min(end, start + KEY_PREFIX.length + 200));
  if (head.startsWith(KEY_PREFIX)) {
    const close = head.indexOf('"', KEY_PREFIX.length);
    if (close > KEY_PREFIX.length) return head.slice(KEY_PREFIX.length, close);
  }
  try {
    const key = (JSON.parse(data.toString('utf8', start, end)) as { key?: unknown }).key;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined; // not a line of ours: the entry is a miss, and is written again
  }
}

const logs = new Map<string, JournalLog>();

/** The process's one log per output directory: its group commits serve every batch and document. */
export function journalLogFor(outDir: string): JournalLog {
  const dir = resolve(outDir);
  let log = logs.get(dir);
  if (!log) logs.set(dir, (log = new JournalLog(dir)));
  return log;
}

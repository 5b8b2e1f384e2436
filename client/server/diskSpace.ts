/**
 * A full disk under `<out>` stops everything at once (shards, the journal, the server's
 * database), but the server only says so when one of its writes fails, often 45 s and dozens of
 * retries later. Watching the free space lets the CLI name the cause within seconds.
 */
import { statfsSync } from 'node:fs';

/** Below this many free bytes nothing useful can be written any more (a shard, a page of the db). */
export const FULL_BELOW_BYTES = 256 * 1024;

/** Bytes available to us on the filesystem holding `dir`, or undefined when it cannot be told. */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined; // not there yet, or a filesystem without statfs: say nothing
  }
}

/**
 * Calls `onFull` once the disk holding `dir` has stayed under FULL_BELOW_BYTES for two checks in
 * a row (one low reading can be a temporary file about to go). Returns the stop function.
 */
export function watchDiskSpace(dir: string, onFull: (free: number) => void, everyMs = 1000): () => void {
  let low = 0;
  const timer = setInterval(() => {
    const free = freeBytes(dir);
    low = free !== undefined && free < FULL_BELOW_BYTES ? low + 1 : 0;
    if (low >= 2) {
      clearInterval(timer);
      onFull(free!);
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

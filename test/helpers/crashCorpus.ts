/**
 * The corpus the crash tests kill runs over: the bench's prose documents (many small batches,
 * some cross-document duplicates), a few bad files (rows in errors.jsonl), and a few large
 * sparse binary files. These are read (hashed) by discovery, which makes discovery last long
 * enough for a kill to land in it, and are cheap to reject later (binary sniffing).
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeBenchCorpus } from './syntheticCorpus.js';

export interface CrashCorpus {
  root: string;
  /** Files in the corpus (all become a manifest entry). */
  files: number;
}

export function writeCrashCorpus(root: string, opts: { documents: number; largeFiles: number; largeFileMb: number }): CrashCorpus {
  writeBenchCorpus(root, opts.documents);
  mkdirSync(join(root, 'bad'), { recursive: true });
  writeFileSync(join(root, 'bad', 'empty.txt'), '');
  writeFileSync(join(root, 'bad', 'latin1.txt'), Buffer.from('Caf\xe9 cr\xe8me: a Latin-1 note that is not UTF-8.\n', 'latin1'));
  mkdirSync(join(root, 'scans'), { recursive: true });
  for (let i = 0; i < opts.largeFiles; i++) {
    // Sparse: no disk space used, but every byte is read when hashed. A distinct header (each
    // file its own content hash, so its own shard), then NUL bytes: "binary".
    const fd = openSync(join(root, 'scans', `scan-${i}.bin`), 'w');
    writeSync(fd, `SCAN ${i}\0`);
    ftruncateSync(fd, opts.largeFileMb * 1024 * 1024);
    closeSync(fd);
  }
  return { root, files: opts.documents + 2 + opts.largeFiles };
}

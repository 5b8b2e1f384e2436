/**
 * The chunk a pair was made from, for the reviewer to judge it by. The rows keep only the
 * chunk's id and offsets, and the shards are gone after a run, so the document is read again
 * from the input directory and chunked with the run's settings, in the extraction pool as a run
 * does. A document changed since the run (its sha256 no longer starts the chunk id) or gone
 * gives no context ('') rather than the wrong text.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { QaRow } from '../../schemas/index.js';
import { kindFromPath } from '../extract/index.js';
import { closeExtractionPool, extractAndChunk } from '../extract/pool.js';

export interface ChunkSettings {
  inputDir: string;
  chunkSize: number;
  chunkOverlap: number;
}

/** At most `max` code points of `text`, around the answer's evidence when it lies in the chunk. */
export function clipContext(text: string, max: number, focus?: { start: number; end: number }): string {
  if (max <= 0) return '';
  const cps = Array.from(text);
  if (cps.length <= max) return text;
  const mid = focus && focus.start >= 0 && focus.end <= cps.length ? Math.floor((focus.start + focus.end) / 2) : 0;
  const start = Math.max(0, Math.min(mid - Math.floor(max / 2), cps.length - max));
  return `${start > 0 ? '…' : ''}${cps.slice(start, start + max).join('')}${start + max < cps.length ? '…' : ''}`;
}

export class ChunkContext {
  // Rows come grouped by document: one document's chunks are kept at a time.
  private current: { key: string; chunks: Promise<Map<string, string> | undefined> } | undefined;
  /** Sources whose chunks could not be recovered (gone, changed, unreadable). */
  readonly missing = new Set<string>();

  constructor(private readonly settings: ChunkSettings, private readonly maxChars: number) {}

  private async chunksOf(source: string, sha12: string): Promise<Map<string, string> | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.settings.inputDir, source));
    } catch {
      return undefined;
    }
    if (createHash('sha256').update(bytes).digest('hex').slice(0, 12) !== sha12) return undefined;
    const kind = kindFromPath(source);
    const result = await extractAndChunk(bytes, kind === 'other' ? 'text' : kind, {
      chunkSize: this.settings.chunkSize,
      chunkOverlap: this.settings.chunkOverlap,
      idPrefix: sha12,
    }).catch(() => undefined);
    if (!result?.ok) return undefined;
    return new Map(result.chunks.map((c) => [c.chunkId, c.text]));
  }

  async of(row: QaRow): Promise<string> {
    const sha12 = row.chunk_id.split('-')[0] ?? '';
    const key = `${row.source}\u0000${sha12}`;
    if (this.current?.key !== key) this.current = { key, chunks: this.chunksOf(row.source, sha12) };
    const text = (await this.current.chunks)?.get(row.chunk_id);
    if (text === undefined) {
      this.missing.add(row.source);
      return '';
    }
    const focus = row.answer_start >= 0 ? { start: row.answer_start - row.char_start, end: row.answer_end - row.char_start } : undefined;
    return clipContext(text, this.maxChars, focus);
  }

  async close(): Promise<void> {
    await closeExtractionPool();
  }
}

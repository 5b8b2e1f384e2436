/**
 * `corpus-qa inspect-text <file>`: the text (and with --chunks, the chunks) that a run would hand
 * the generators for one document, so a user can see what extraction keeps and drops. It runs
 * exactly what a run runs: the kind from the file name as discovery names it, extraction and
 * chunking in the extraction pool, the chunk ids prefixed with the file's sha256 as in a shard.
 * A file a run could not read prints the reason code and detail its errors.jsonl row would have.
 * No Temporal server is involved.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { closeExtractionPool, extractAndChunk } from '../../activities/extract/pool.js';
import { kindFromPath } from '../../activities/extract/index.js';
import type { IsolatedResult } from '../../activities/extract/extractAndChunk.js';
import { typeOf } from '../../activities/readDocument.js';
import { UsageError } from '../errors.js';
import { OutputSettings, type Chunk, type DocumentErrorReason, type DocumentKind, type ErrorRow } from '../../schemas/index.js';

export interface InspectTextOptions {
  chunks?: boolean;
  chunkSize?: number;
  chunkOverlap?: number;
  json?: boolean;
}

export type InspectedText =
  | { ok: true; source: string; kind: DocumentKind; result: Extract<IsolatedResult, { ok: true }> }
  | { ok: false; source: string; kind: DocumentKind; error: ErrorRow };

const DEFAULTS = OutputSettings.parse({});

export async function inspectText(file: string, opts: InspectTextOptions = {}): Promise<InspectedText> {
  const chunkSize = opts.chunkSize ?? DEFAULTS.chunkSize;
  const chunkOverlap = opts.chunkOverlap ?? DEFAULTS.chunkOverlap;
  if (chunkOverlap >= chunkSize) throw new UsageError(`--chunk-overlap (${chunkOverlap}) must be smaller than --chunk-size (${chunkSize})`);
  const kind = kindFromPath(file);
  const failed = (reason: DocumentErrorReason, detail: string): InspectedText => ({ ok: false, source: file, kind, error: { source: file, stage: 'load', reason, detail } });

  let bytes: Buffer;
  try {
    // stat first: reading a FIFO would wait for a writer forever.
    const info = await stat(file);
    if (!info.isFile()) return failed('unreadable', `is a ${typeOf(info)}, not a regular file`);
    if (info.size > DEFAULTS.maxFileBytes) {
      return failed('too_large', `file is ${info.size} bytes, over the limit of ${DEFAULTS.maxFileBytes} (--max-file-mb)`);
    }
    bytes = await readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return failed('unreadable', e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.message);
  }
  try {
    // As activities/pipeline.ts does: an unknown extension is sniffed as text.
    const result = await extractAndChunk(bytes, kind === 'other' ? 'text' : kind, {
      chunkSize,
      chunkOverlap,
      idPrefix: createHash('sha256').update(bytes).digest('hex').slice(0, 12),
    }, { meta: true });
    if (!result.ok) return failed(result.reason, result.detail);
    return { ok: true, source: file, kind, result };
  } finally {
    await closeExtractionPool();
  }
}

/** What the command prints on stdout: the text, each chunk under a header line, or one JSON object. */
export function formatInspected(r: InspectedText, opts: InspectTextOptions = {}): string {
  if (!r.ok) return opts.json ? `${JSON.stringify(r.error)}\n` : '';
  const { result } = r;
  if (opts.json) {
    const out: Record<string, unknown> = { source: r.source, kind: r.kind };
    if (result.encoding) out.encoding = result.encoding;
    if (result.warnings) out.warnings = result.warnings;
    if (result.pages) out.pages = result.pages;
    out.headings = result.headings;
    out.text = result.text;
    if (opts.chunks) out.chunks = result.chunks;
    return `${JSON.stringify(out)}\n`;
  }
  if (!opts.chunks) return `${result.text}\n`;
  return result.chunks.map((c) => `${chunkHeader(c)}\n${c.text}\n`).join('\n');
}

/** "── chunk 0  3f2a…-0000  [0, 1480)  title: Bash Reference Manual  section: Introduction › What is Bash?" */
function chunkHeader(c: Chunk): string {
  const parts = [`── chunk ${c.index}`, c.chunkId, `[${c.charStart}, ${c.charEnd})`];
  if (c.title !== undefined) parts.push(`title: ${c.title}`);
  if (c.section?.length) parts.push(`section: ${c.section.join(' › ')}`);
  return parts.join('  ');
}

/** Writes to stdout; a reader that stops early (`| head`) ends the output, not with an EPIPE crash. */
export function writeOutput(text: string): Promise<void> {
  return new Promise((done) => {
    process.stdout.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      done();
    });
    process.stdout.write(text, () => done());
  });
}

/** One line for stderr: what was read and how, or the error row's reason and detail. */
export function summaryLine(r: InspectedText): string {
  if (!r.ok) return `error: ${r.source}: ${r.error.reason}: ${r.error.detail}`;
  const { result } = r;
  const facts = [`${r.kind}`, `${[...result.text].length} characters`, `${result.headings.length} headings`, `${result.chunks.length} chunks`];
  if (result.encoding) facts.push(result.encoding);
  if (result.pages) facts.push(`${result.pages.length} pages`);
  const warnings = (result.warnings ?? []).map((w) => `\nwarning: ${w}`).join('');
  return `${r.source}: ${facts.join(', ')}${warnings}`;
}

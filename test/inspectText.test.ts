/**
 * `corpus-qa inspect-text` as a user runs it: a real process. What it prints must be what a run
 * gets, so it is compared with a real run's chunks.jsonl and errors.jsonl over the same files.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChunkRow, ErrorRow } from '../schemas/index.js';
import { sphinxPage } from './helpers/documents.js';
import { readJsonl, tempDir } from './helpers/files.js';
import { brokenPdf } from './helpers/pdf.js';
import { makePptx } from './helpers/pptx.js';
import { temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'corpus-qa.mjs');

function cli(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, ...env }, timeout: 170_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ENCRYPTED = (() => {
  const ole = new Uint8Array(1024);
  ole.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
  ole.set(Buffer.from('EncryptedPackage', 'utf16le'), 512);
  return ole;
})();

describe('corpus-qa inspect-text', () => {
  let corpus: string;
  let out: string;

  beforeAll(() => {
    corpus = tempDir('inspect-corpus');
    mkdirSync(join(corpus, 'docs'));
    writeFileSync(join(corpus, 'docs/sphinx.html'), sphinxPage());
    writeFileSync(
      join(corpus, 'docs/deck.pptx'),
      makePptx({
        'slide1.xml': [{ ph: 'ctrTitle', paragraphs: ['Release Planning'] }],
        'slide2.xml': [{ ph: 'title', paragraphs: ['Schedule'] }, { paragraphs: ['The release branch is cut two weeks before the release.'] }],
      }),
    );
    writeFileSync(join(corpus, 'broken.pdf'), brokenPdf());
    writeFileSync(join(corpus, 'locked.pptx'), ENCRYPTED);
    writeFileSync(join(corpus, 'empty.md'), '');
    out = tempDir('inspect-out');
    const run = cli(['run', corpus, '--out', out, '--no-config', '--chunk-size', '300', '--chunk-overlap', '50', '--task-queue', uniqueTaskQueue()], corpus, {
      TEMPORAL_ADDRESS: temporalAddress(),
    });
    expect(run.code, run.stderr).toBe(0);
  }, 180_000);

  it('prints the main text of a page: what a run chunks, without the navigation', () => {
    const r = cli(['inspect-text', 'docs/sphinx.html'], corpus);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/Show Source|Previous topic|¶/);
    expect(r.stderr).toMatch(/^docs\/sphinx\.html: html, \d+ characters, \d+ headings, \d+ chunks, utf-8\n$/);
    // The run's chunks are slices of exactly this text.
    const text = r.stdout.replace(/\n$/, '');
    const rows = readJsonl(join(out, 'data/chunks.jsonl')).map((row) => ChunkRow.parse(row)).filter((row) => row.source === 'docs/sphinx.html');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect([...text].slice(row.char_start, row.char_end).join('')).toBe(row.text);
  });

  it('--chunks --json gives the chunks of a run with the same settings: ids, offsets, text', () => {
    for (const source of ['docs/sphinx.html', 'docs/deck.pptx']) {
      const r = cli(['inspect-text', source, '--chunks', '--json', '--chunk-size', '300', '--chunk-overlap', '50'], corpus);
      expect(r.code, r.stderr).toBe(0);
      const printed = JSON.parse(r.stdout) as { source: string; kind: string; chunks: { chunkId: string; text: string; charStart: number; charEnd: number }[] };
      expect(printed.source).toBe(source);
      const rows = readJsonl(join(out, 'data/chunks.jsonl')).map((row) => ChunkRow.parse(row)).filter((row) => row.source === source);
      expect(printed.chunks.map((c) => [c.chunkId, c.charStart, c.charEnd, c.text])).toEqual(rows.map((row) => [row.chunk_id, row.char_start, row.char_end, row.text]));
    }
  });

  it('--chunks prints each chunk under a line with its id, offsets, title and section', () => {
    const r = cli(['inspect-text', 'docs/deck.pptx', '--chunks', '--chunk-size', '200', '--chunk-overlap', '0'], corpus);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^── chunk 0 {2}[0-9a-f]{12}-0000 {2}\[0, \d+\) {2}title: Release Planning {2}section: Release Planning\nRelease Planning\n\nSchedule\n\nThe release branch/);
  });

  it('a file a run cannot read prints its errors.jsonl row and exits 1', () => {
    const errors = readJsonl(join(out, 'errors.jsonl')).map((row) => ErrorRow.parse(row));
    for (const source of ['broken.pdf', 'locked.pptx', 'empty.md']) {
      const row = errors.find((e) => e.source === source);
      expect(row, source).toBeDefined();
      const plain = cli(['inspect-text', source], corpus);
      expect(plain.code).toBe(1);
      expect(plain.stdout).toBe('');
      expect(plain.stderr).toBe(`error: ${source}: ${row!.reason}: ${row!.detail}\n`);
    }
    const json = cli(['inspect-text', 'locked.pptx', '--json'], corpus);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual(errors.find((e) => e.source === 'locked.pptx'));
    expect(errors.find((e) => e.source === 'locked.pptx')?.reason).toBe('encrypted');
  });

  it('a missing file and a bad flag are clear', () => {
    const missing = cli(['inspect-text', 'nope.md'], corpus);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: nope.md: unreadable: no such file\n');
    const bad = cli(['inspect-text', 'empty.md', '--chunk-size', '50'], corpus);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--chunk-size: must be between 200 and 100000 \(got 50\)/);
    const overlap = cli(['inspect-text', 'empty.md', '--chunk-size', '300', '--chunk-overlap', '300'], corpus);
    expect(overlap.code).toBe(2);
    expect(overlap.stderr).toMatch(/--chunk-overlap \(300\) must be smaller than --chunk-size \(300\)/);
  });
});

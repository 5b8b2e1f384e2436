/**
 * Run modes through the real workflow: glob selection, chunk export (no --generate-qa),
 * fail-fast, and continue-as-new forced by a small threshold.
 */
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workflowIdFor, resolveRunInput } from '../client/runOptions.js';
import { ChunkRow, QaRow } from '../schemas/index.js';
import { writeFixtureCorpus, writeGoodDocs } from './helpers/corpus.js';
import { readJsonl, tempDir, treeHashes } from './helpers/files.js';
import { hfCheck } from './helpers/hf.js';
import { runExport, temporalAddress } from './helpers/temporal.js';

describe('run modes', () => {
  it('selects files with repeatable --glob patterns', async () => {
    const corpus = writeFixtureCorpus(tempDir('glob'));
    const out = tempDir('glob-out');
    const { result } = await runExport({ inputDir: corpus.root, outDir: out, generateQa: true, globs: ['**/*.md', 'notes/*.pdf'] });
    expect(result.documents).toBe(3); // guides/install.md, bad/blank.md, notes/volcanoes.pdf
    const sources = new Set(readJsonl(join(out, 'data/train.jsonl')).map((r) => QaRow.parse(r).source));
    expect([...sources].sort()).toEqual(['guides/install.md', 'notes/volcanoes.pdf']);
    expect(readJsonl(join(out, 'errors.jsonl')).map((r) => r.source)).toEqual(['bad/blank.md']);
  });

  it('exports chunks with offsets when --generate-qa is off', async () => {
    const root = tempDir('chunks');
    writeGoodDocs(root);
    // Astral characters before the text move UTF-16 offsets but not code point offsets.
    writeFileSync(join(root, 'emoji.txt'), `${'🙂'.repeat(40)}\n\n${'Emoji come first in this paragraph of plain prose. '.repeat(60)}`);
    const out = tempDir('chunks-out');
    await runExport({ inputDir: root, outDir: out, chunkSize: 400, chunkOverlap: 50 });
    const rows = readJsonl(join(out, 'data/chunks.jsonl')).map((r) => ChunkRow.parse(r));
    expect(rows.length).toBeGreaterThan(6);
    const emojiRows = rows.filter((r) => r.source === 'emoji.txt');
    expect(emojiRows.length).toBeGreaterThan(3);
    for (const r of emojiRows) {
      expect(r.text.length).toBeLessThanOrEqual(400);
      expect(r.char_end - r.char_start).toBe([...r.text].length);
    }
    const ids = rows.map((r) => `${r.source}#${r.chunk_id}`);
    expect(new Set(ids).size).toBe(ids.length);
    const report = hfCheck(out);
    expect(report.files['data/chunks.jsonl']?.rows).toBe(rows.length);
    expect(report.configs.default?.splits?.train?.rows).toBe(rows.length);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    expect(stats.chunks).toBe(rows.length);
  });

  it('stops at the first bad document with --fail-fast and names it', async () => {
    const corpus = writeFixtureCorpus(tempDir('ff'));
    const out = tempDir('ff-out');
    const err = await runExport({ inputDir: corpus.root, outDir: out, generateQa: true, failFast: true, batchSize: 2, concurrency: 1 })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as { message: string; type?: string };
    // Manifest order is sorted by path: bad/blank.md is the first bad file.
    expect(cause.message).toMatch(/^bad\/blank\.md: empty: /);
    expect(cause.type).toBe('DocumentFailed');
    expect(() => readFileSync(join(out, 'data/train.jsonl'))).toThrow();
  });

  it('continues as new past the threshold and gives the same bytes as one run', async () => {
    const root = tempDir('can');
    writeGoodDocs(root);
    for (let i = 0; i < 12; i++) {
      writeFileSync(join(root, `extra-${String(i).padStart(2, '0')}.txt`),
        `Note ${i}\n\nA lighthouse keeper is a person who tends a lighthouse number ${i}. The lamp was first lit in ${1850 + i}.`);
    }
    const outA = tempDir('can-a');
    const outB = tempDir('can-b');
    const a = await runExport({ inputDir: root, outDir: outA, generateQa: true, batchSize: 2, concurrency: 2, continueAsNewAfter: 4 });
    await runExport({ inputDir: root, outDir: outB, generateQa: true, batchSize: 50 });
    const statsA = JSON.parse(readFileSync(join(outA, 'stats.json'), 'utf8'));
    expect(a.result.documents).toBe(18);
    expect(statsA.workflow.runs).toBe(Math.ceil(18 / 4));
    expect(statsA.workflow.runId).not.toBe(statsA.workflow.firstRunId);
    const ha = treeHashes(outA);
    const hb = treeHashes(outB);
    for (const f of ['data/train.jsonl', 'rejected/rejected.jsonl', 'README.md']) expect(ha[f], f).toBe(hb[f]);

    // The last run's history is small: it carried a cursor, not the corpus.
    const connection = await Connection.connect({ address: temporalAddress() });
    const client = new Client({ connection });
    const id = workflowIdFor(resolveRunInput({ inputDir: root, outDir: outA, generateQa: true }));
    const history = await client.workflow.getHandle(id).fetchHistory();
    expect(history.events?.length ?? 0).toBeLessThan(60);
    await connection.close();
  });

  it('parses the same bytes by their extension: a .md and a .txt copy give different text', async () => {
    const root = tempDir('kind');
    const text = '# Title\n\nSome **bold** words and a [link](http://example.com) in a paragraph of prose.\n';
    writeFileSync(join(root, 'same.md'), text);
    writeFileSync(join(root, 'same.txt'), text);
    const out = tempDir('kind-out');
    await runExport({ inputDir: root, outDir: out });
    const rows = readJsonl(join(out, 'data/chunks.jsonl')).map((r) => ChunkRow.parse(r));
    const md = rows.filter((r) => r.source === 'same.md').map((r) => r.text).join('\n');
    const txt = rows.filter((r) => r.source === 'same.txt').map((r) => r.text).join('\n');
    expect(md).not.toMatch(/\*\*|\]\(/);
    expect(txt).toContain('**bold**');
  });
});

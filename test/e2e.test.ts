/**
 * End to end on a real Temporal dev server, real files and the real Python `datasets`:
 * a fixture corpus with good documents of every type and one of every kind of bad file.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_DIR_NAME } from '../activities/paths.js';
import { ErrorRow, QaRow, RejectedRow } from '../schemas/index.js';
import { writeFixtureCorpus, type FixtureCorpus } from './helpers/corpus.js';
import { readJsonl, tempDir, treeHashes } from './helpers/files.js';
import { hfCheck } from './helpers/hf.js';
import { runExport } from './helpers/temporal.js';

const QA_COLUMNS = ['id', 'question', 'answer', 'source', 'chunk_id', 'char_start', 'char_end', 'page_start', 'page_end', 'answer_start', 'answer_end', 'question_type', 'generator'];

describe('corpus export with --generate-qa', () => {
  let corpus: FixtureCorpus;
  let out: string;
  let processed: string[];
  let result: Awaited<ReturnType<typeof runExport>>['result'];

  beforeAll(async () => {
    corpus = writeFixtureCorpus(tempDir('corpus'));
    out = tempDir('out');
    processed = [];
    ({ result } = await runExport(
      { inputDir: corpus.root, outDir: out, generateQa: true, batchSize: 3, concurrency: 2 },
      { onProcessDocument: (s) => processed.push(s) },
    ));
  });

  it('writes every documented output file', () => {
    for (const f of ['data/train.jsonl', 'rejected/rejected.jsonl', 'errors.jsonl', 'stats.json', 'README.md']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    // The fixture's generator output includes rejects: the rejected config is exercised for real.
    expect(readJsonl(join(out, 'rejected/rejected.jsonl')).length).toBeGreaterThan(0);
  });

  it('gives pairs for every readable document and one error row per bad file', () => {
    const train = readJsonl(join(out, 'data/train.jsonl')).map((r) => QaRow.parse(r));
    const sourcesWithPairs = new Set(train.map((r) => r.source));
    // The MIT license is three sentences of legalese whose subjects point back at the text ("The
    // above copyright notice and this permission notice …"): nothing to ask that stands alone.
    const askable = corpus.goodSources.filter((s) => s !== 'licenses/MIT.txt');
    for (const source of askable) expect(sourcesWithPairs, source).toContain(source);

    const errors = readJsonl(join(out, 'errors.jsonl')).map((r) => ErrorRow.parse(r));
    expect(Object.fromEntries(errors.map((e) => [e.source, e.reason]))).toEqual(corpus.badSources);
    for (const e of errors) expect(e.detail.length).toBeGreaterThan(5);
  });

  it('keeps one schema for every row and grounded answers', () => {
    const train = readJsonl(join(out, 'data/train.jsonl'));
    for (const row of train) {
      expect(Object.keys(row)).toEqual(QA_COLUMNS);
      const r = QaRow.parse(row);
      expect(r.question.endsWith('?')).toBe(true);
      expect(r.char_end).toBeGreaterThan(r.char_start);
      // Pages only where the source has them.
      if (r.source.endsWith('.pdf')) expect(r.page_start).toBeGreaterThanOrEqual(1);
      else expect([r.page_start, r.page_end]).toEqual([0, 0]);
      expect(r.page_end).toBeGreaterThanOrEqual(r.page_start);
    }
    expect(train.some((r) => String(r.source).endsWith('.pdf'))).toBe(true);
    const ids = train.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const rejected = readJsonl(join(out, 'rejected/rejected.jsonl')).map((r) => RejectedRow.parse(r));
    for (const r of rejected) expect(r.reasons[0]).toBe(r.reason);
  });

  it('rejects pairs that duplicate an earlier document, keeping the first in manifest order', () => {
    const train = readJsonl(join(out, 'data/train.jsonl')).map((r) => QaRow.parse(r));
    const rejected = readJsonl(join(out, 'rejected/rejected.jsonl')).map((r) => RejectedRow.parse(r));
    expect(train.filter((r) => r.source === corpus.duplicateSource)).toEqual([]);
    // The copy repeats, pair for pair, what the original gave: each of the original's pairs that
    // passed, or was a duplicate, has its copy rejected as a duplicate of the same kept row.
    const original = [...train, ...rejected.filter((r) => r.reason === 'duplicate')].filter((r) => r.source === 'notes/tides.txt');
    const copies = rejected.filter((r) => r.source === corpus.duplicateSource && r.reason === 'duplicate');
    expect(original.length).toBeGreaterThan(0);
    expect(copies.length).toBe(original.length);
    for (const o of original) {
      const keptId = 'duplicate_of' in o && o.duplicate_of ? o.duplicate_of : o.id;
      const copy = copies.find((c) => c.question === o.question && c.answer === o.answer);
      expect(copy?.duplicate_of, o.question).toBe(keptId);
      expect(train.some((t) => t.id === keptId)).toBe(true);
    }
  });

  it('asks sensible questions about real prose', () => {
    const train = readJsonl(join(out, 'data/train.jsonl')).map((r) => QaRow.parse(r));
    const licensor = train.find((r) => r.source === 'licenses/definitions.txt' && /Licensor/.test(r.question));
    expect(licensor?.answer).toMatch(/copyright owner/);
    const tides = train.filter((r) => r.source === 'notes/tides.txt').map((r) => r.question);
    expect(tides.some((q) => /spring tide/i.test(q))).toBe(true);
  });

  it('writes stats whose counts match the files', () => {
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    const lines = (f: string) => readJsonl(join(out, f)).length;
    expect(stats.pairs.passed).toBe(lines('data/train.jsonl'));
    expect(stats.pairs.rejected).toBe(lines('rejected/rejected.jsonl'));
    expect(stats.pairs.generated).toBe(stats.pairs.passed + stats.pairs.rejected);
    expect(stats.documents.failed).toBe(lines('errors.jsonl'));
    // + the copy of tides.txt and the Latin-1 note, both loaded.
    expect(stats.documents.discovered).toBe(corpus.goodSources.length + Object.keys(corpus.badSources).length + 2);
    expect(stats.documents.loaded).toBe(corpus.goodSources.length + 2);
    expect(stats.workflow.id).toBe(result.workflowId);
    expect(stats.temporal.server).toMatch(/\d+\.\d+/);
    expect(stats.documents.skippedDuringDiscovery).toBeGreaterThanOrEqual(3);
    expect(Object.values(stats.documents.failedByReason).reduce((a: number, b) => a + (b as number), 0)).toBe(lines('errors.jsonl'));
  });

  it('processes each document exactly once', () => {
    expect([...processed].sort()).toEqual([...new Set(processed)].sort());
  });

  it('loads every file with HuggingFace datasets, and the directory by its card', () => {
    const report = hfCheck(out);
    const lines = (f: string) => readJsonl(join(out, f)).length;
    for (const f of ['data/train.jsonl', 'rejected/rejected.jsonl', 'errors.jsonl']) {
      expect(report.files[f]?.ok, `${f}: ${report.files[f]?.error}`).toBe(true);
      expect(report.files[f]?.rows).toBe(lines(f));
    }
    expect(report.configs.default?.splits?.train?.rows).toBe(lines('data/train.jsonl'));
    expect(report.configs.default?.splits?.train?.columns).toEqual(
      QA_COLUMNS,
    );
    expect(report.configs.rejected?.splits?.train?.rows).toBe(lines('rejected/rejected.jsonl'));
  });

  it('gives byte-identical data/ and rejected/ on a second run into a new directory', async () => {
    const out2 = tempDir('out2');
    // A killed big export's partition folder: any later export removes it, whatever its size.
    const leftover = join(out2, STATE_DIR_NAME, 'shared-keys-1-0badf00d');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(join(leftover, '0.keys'), Buffer.alloc(64));
    await runExport({ inputDir: corpus.root, outDir: out2, generateQa: true, batchSize: 2, concurrency: 3 });
    expect(existsSync(leftover)).toBe(false);
    const a = treeHashes(out);
    const b = treeHashes(out2);
    for (const f of ['data/train.jsonl', 'rejected/rejected.jsonl', 'errors.jsonl', 'README.md']) {
      expect(b[f], f).toBe(a[f]);
    }
  });

  it('gives the same bytes when the export indexes only the shared keys, as it does for a big corpus', async () => {
    // From SHARED_KEYS_FROM_DOCUMENTS documents on, a first pass finds the keys more than one pair has.
    process.env.CORPUS_QA_SHARED_KEYS_FROM = '0';
    try {
      const out3 = tempDir('out3');
      await runExport({ inputDir: corpus.root, outDir: out3, generateQa: true, batchSize: 3, concurrency: 2 });
      const a = treeHashes(out);
      const b = treeHashes(out3);
      for (const f of ['data/train.jsonl', 'rejected/rejected.jsonl', 'errors.jsonl', 'README.md']) expect(b[f], f).toBe(a[f]);
      // The corpus has duplicates across documents, so the shared keys decided something.
      expect(readJsonl(join(out3, 'rejected/rejected.jsonl')).some((r) => (r as { duplicate_of?: string }).duplicate_of)).toBe(true);
    } finally {
      delete process.env.CORPUS_QA_SHARED_KEYS_FROM;
    }
  });

  it('gives the same bytes and leakage figures for split outputs when the leakage index takes only the shared keys', async () => {
    // Guides that ask the same questions with other answers: the leakage index has work to do.
    const guides = tempDir('guides');
    const parts = ['pump', 'valve', 'filter', 'motor'];
    const uses = ['moves cooling water through the plant', 'lifts crude oil from the lower tanks', 'cleans the air of the control room', 'drives the main conveyor'];
    for (let i = 0; i < 10; i++) {
      const sections = parts.map((p, j) => `## The ${p}\n\nThe ${p} is a device that ${uses[(i + j) % uses.length]} during every shift of building ${i}. The ${p} was installed in ${1950 + i + j} by the original builders.\n`);
      writeFileSync(join(guides, `guide${i}.md`), `# Site guide\n\n${sections.join('\n')}`);
    }
    const split = 'train=0.5,test=0.5';
    const everyKey = tempDir('out-split');
    await runExport({ inputDir: guides, outDir: everyKey, generateQa: true, split, batchSize: 3, concurrency: 2 });
    process.env.CORPUS_QA_SHARED_KEYS_FROM = '0';
    try {
      const sharedOnly = tempDir('out-split-shared');
      await runExport({ inputDir: guides, outDir: sharedOnly, generateQa: true, split, batchSize: 2, concurrency: 3 });
      const a = treeHashes(everyKey);
      const b = treeHashes(sharedOnly);
      for (const f of ['data/train.jsonl', 'data/test.jsonl', 'rejected/rejected.jsonl', 'errors.jsonl', 'README.md']) expect(b[f], f).toBe(a[f]);
      const leakage = (out: string) => JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')).quality.leakage;
      expect(leakage(sharedOnly)).toEqual(leakage(everyKey));
      expect(leakage(everyKey).pairs).toBeGreaterThan(0);
      expect(readJsonl(join(everyKey, 'data/test.jsonl')).length).toBeGreaterThan(0);
    } finally {
      delete process.env.CORPUS_QA_SHARED_KEYS_FROM;
    }
  });

  it('says already complete when the same command runs again, and leaves outputs untouched', async () => {
    const before = treeHashes(out);
    const processedAgain: string[] = [];
    const { handle } = await runExport(
      { inputDir: corpus.root, outDir: out, generateQa: true, batchSize: 3, concurrency: 2 },
      { onProcessDocument: (s) => processedAgain.push(s) },
    );
    expect(handle.status).toBe('completed');
    expect(processedAgain).toEqual([]);
    expect(treeHashes(out)).toEqual(before);
  });
});

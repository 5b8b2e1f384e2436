/**
 * HuggingFace conformance: outputs of real runs (every training format, document-level splits,
 * adversarial content) loaded with the real `datasets`, file by file, by the card's configs and
 * streaming; columns and types as declared, counts as in stats.json, and every string byte for
 * byte what we wrote.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitOf } from '../activities/splits.js';
import { TRAINING_FEATURES } from '../activities/datasetCard.js';
import { verifyOutput } from '../client/commands/verify.js';
import { contentWords } from '../activities/dedup.js';
import { ErrorRow, QaRow, RejectedRow, TRAINING_ROW_SCHEMAS, type TrainingFormat } from '../schemas/index.js';
import { writeAdversarialDocs, writeAllRejectedDoc } from './helpers/adversarial.js';
import { writeGoodDocs } from './helpers/corpus.js';
import { readJsonl, tempDir } from './helpers/files.js';
import { hfCheck, textDigest } from './helpers/hf.js';
import { runExport } from './helpers/temporal.js';

const SPLITS = [
  { name: 'train', fraction: 0.6 },
  { name: 'validation', fraction: 0.2 },
  { name: 'test', fraction: 0.2 },
];

function jsonlFiles(out: string): string[] {
  const found: string[] = [];
  for (const dir of ['data', 'rejected', '.']) {
    if (!existsSync(join(out, dir))) continue;
    for (const f of readdirSync(join(out, dir))) if (f.endsWith('.jsonl')) found.push(dir === '.' ? f : `${dir}/${f}`);
  }
  return found.sort();
}

describe.each(['qa', 'messages', 'alpaca', 'prompt-completion'] as TrainingFormat[])('format %s', (format) => {
  it('loads every file and config exactly as written, with the declared schema', async () => {
    const root = tempDir(`hf-${format}`);
    writeGoodDocs(root);
    writeAdversarialDocs(root);
    const out = tempDir(`hf-${format}-out`);
    await runExport({ inputDir: root, outDir: out, generateQa: true, format, split: SPLITS, batchSize: 4 });
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    const files = jsonlFiles(out);
    expect(files).toContain('errors.jsonl');

    // Our own rows: schema, column order, stable types.
    const columns = Object.keys(TRAINING_FEATURES[format]);
    const dataFiles = files.filter((f) => f.startsWith('data/'));
    expect(dataFiles.length).toBeGreaterThan(0);
    for (const f of dataFiles) {
      for (const row of readJsonl(join(out, f))) {
        expect(Object.keys(row)).toEqual(columns);
        TRAINING_ROW_SCHEMAS[format].parse(row);
      }
    }
    for (const row of readJsonl(join(out, 'errors.jsonl'))) ErrorRow.parse(row);
    if (files.includes('rejected/rejected.jsonl')) for (const row of readJsonl(join(out, 'rejected/rejected.jsonl'))) RejectedRow.parse(row);

    // Every document's pairs sit in one split, the one its path hashes to.
    for (const f of dataFiles) {
      const split = f.slice('data/'.length, -'.jsonl'.length);
      for (const row of readJsonl(join(out, f))) expect(splitOf(row.source as string, SPLITS)).toBe(split);
      expect(stats.pairs.splits[split]).toBe(readJsonl(join(out, f)).length);
    }

    // The bad inputs are accounted for, not written as broken text.
    const errors = Object.fromEntries(readJsonl(join(out, 'errors.jsonl')).map((e) => [e.source, e.reason]));
    expect(errors['encodings/nul-inside.txt']).toBe('binary');
    const all = dataFiles.flatMap((f) => readJsonl(join(out, f)));
    const text = JSON.stringify(all);
    expect(text).toContain('😀');
    expect(text).toContain('שלום');
    expect(text).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/); // control chars stripped
    // UTF-16 input is decoded; a lone surrogate is repaired (U+FFFD, with a warning), and no
    // lone surrogate ever reaches a file (datasets would refuse the UTF-8).
    expect(all.some((r) => r.source === 'encodings/utf16.txt')).toBe(true);
    expect(errors['encodings/utf16-broken.txt']).toBeUndefined();
    expect(text).not.toMatch(/[\ud800-\udfff]/u);

    // The real `datasets`: each file alone, each config of the card, and streaming.
    const report = hfCheck(out);
    for (const f of files) {
      const r = report.files[f];
      expect(r?.ok, `${f}: ${r?.error}`).toBe(true);
      const rows = readJsonl(join(out, f));
      expect(r?.rows, f).toBe(rows.length);
      expect(r?.text_digest, `${f}: text changed on load`).toBe(textDigest(rows));
    }
    const def = report.configs.default;
    expect(def?.ok, def?.error).toBe(true);
    for (const f of dataFiles) {
      const split = f.slice('data/'.length, -'.jsonl'.length);
      const rows = readJsonl(join(out, f));
      expect(def?.splits?.[split]?.columns).toEqual(columns);
      expect(def?.splits?.[split]?.text_digest).toBe(textDigest(rows));
      expect(def?.streaming?.[split]?.text_digest).toBe(textDigest(rows));
      expect(def?.splits?.[split]?.features?.char_start).toMatch(/int64/);
      expect(def?.splits?.[split]?.features?.answer_start).toMatch(/int64/);
      expect(def?.splits?.[split]?.features?.question_type).toMatch(/string/);
    }
    if (format === 'messages') {
      // The shape TRL's SFTTrainer takes: a list of {role, content} structs.
      const split = Object.keys(def?.splits ?? {})[0]!;
      expect(def?.splits?.[split]?.features?.messages).toMatch(/role.*Value\('string'\).*content.*Value\('string'\)/s);
    }
    expect(report.configs.errors?.ok).toBe(true);

    // And our own verifier agrees, with and without datasets.
    await expect(verifyOutput(out, { withDatasets: true })).resolves.toBeDefined();
  });
});

describe('runs that pass nothing', () => {
  it('writes loadable files when every pair is rejected, and the default config says so', async () => {
    const root = tempDir('hf-rejected');
    writeAllRejectedDoc(root);
    const out = tempDir('hf-rejected-out');
    const { result } = await runExport({ inputDir: root, outDir: out, generateQa: true });
    expect(result.export.pairsPassed).toBe(0);
    expect(result.export.pairsRejected).toBeGreaterThan(0);
    expect(existsSync(join(out, 'data/train.jsonl'))).toBe(false);
    const rejected = readJsonl(join(out, 'rejected/rejected.jsonl')).map((r) => RejectedRow.parse(r));
    expect(rejected.every((r) => r.reason === 'non_text')).toBe(true);

    const report = hfCheck(out);
    expect(report.files['rejected/rejected.jsonl']?.ok).toBe(true);
    expect(report.files['rejected/rejected.jsonl']?.rows).toBe(rejected.length);
    expect(Object.keys(report.configs)).toEqual(['default']);
    // No silent fallback to the rejected rows as "train": the default config names the data
    // file that a run with passed pairs would have written.
    expect(report.configs.default?.ok).toBe(false);
    expect(report.configs.default?.error).toMatch(/train\.jsonl|data files|no data/i);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toMatch(/No pair passed validation/);
    await expect(verifyOutput(out, { withDatasets: false })).resolves.toBeDefined();
  });
});

describe('corpus-wide deduplication', () => {
  it('keeps the first pair in manifest order and points duplicates of its answer at it', async () => {
    const root = tempDir('hf-dup');
    writeGoodDocs(root);
    // A later document repeats a fact of notes/tides.txt with other punctuation and a title of
    // its own: whatever question a generator asks about it, the answer is the same fact.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(root, 'zz-tides.txt'), 'Tide tables\n\nA spring tide is a tide with the largest range which occurs when the Sun the Moon and the Earth are in line.\n');
    const out = tempDir('hf-dup-out');
    await runExport({ inputDir: root, outDir: out, generateQa: true });
    const train = readJsonl(join(out, 'data/train.jsonl')).map((r) => QaRow.parse(r));
    const rejected = readJsonl(join(out, 'rejected/rejected.jsonl')).map((r) => RejectedRow.parse(r));
    const dups = rejected.filter((r) => r.source === 'zz-tides.txt' && r.reason === 'duplicate');
    expect(dups.length).toBeGreaterThan(0);
    const crossDocument = dups.filter((d) => /of an earlier document/.test(d.detail));
    expect(crossDocument.length).toBeGreaterThan(0);
    for (const dup of dups) {
      const kept = train.find((r) => r.id === dup.duplicate_of);
      expect(kept?.source).toBe('notes/tides.txt');
      // Across documents the answers are the same fact; within zz-tides.txt a duplicate repeats
      // one of its own pairs, and names the row that one repeats in its turn.
      const sameFactAs = crossDocument.includes(dup) ? dup : crossDocument.find((d) => d.duplicate_of === dup.duplicate_of);
      expect(sameFactAs, dup.detail).toBeDefined();
      expect(contentWords(kept!.answer)).toEqual(contentWords(sameFactAs!.answer));
    }
    for (const r of rejected) expect(r.duplicate_of === '' || r.reasons.includes('duplicate')).toBe(true);
  });
});

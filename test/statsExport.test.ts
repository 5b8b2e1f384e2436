/**
 * The quality figures of stats.json and the card (activities/exportStats.ts): computed while
 * the export streams, they must equal what the written files say when counted afterwards, and
 * the leakage check must find what a brute-force pass over the rows finds.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentWords, normalizeText } from '../activities/dedup.js';
import { discoverCorpus } from '../activities/discover.js';
import { LEAK_MIN_WORDS, QualityStats } from '../activities/exportStats.js';
import { resolveRunInput } from '../client/runOptions.js';
import { QaRow, QuestionForm, RejectedRow, StatsJson } from '../schemas/index.js';
import { writeGoodDocs } from './helpers/corpus.js';
import { processAndExport } from './helpers/directRun.js';
import { readJsonl, tempDir } from './helpers/files.js';

const SPLITS = [
  { name: 'train', fraction: 0.5 },
  { name: 'validation', fraction: 0.25 },
  { name: 'test', fraction: 0.25 },
];

type Row = QaRow & { split: string };

/** Passed rows as the export met them: manifest order (sorted paths), file order within a document. */
function passedRows(out: string): Row[] {
  const rows = readdirSync(join(out, 'data')).flatMap((f) =>
    readJsonl(join(out, 'data', f)).map((r) => ({ ...QaRow.parse(r), split: f.replace(/\.jsonl$/, '') })),
  );
  const bySource = new Map<string, Row[]>();
  for (const r of rows) bySource.set(r.source, [...(bySource.get(r.source) ?? []), r]);
  return [...bySource.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).flatMap((s) => bySource.get(s)!);
}

/** The leakage check done the slow way: every row against every earlier row. */
function bruteForceLeaks(rows: Row[]): { pairs: number; byQuestion: number; byAnswer: number } {
  const out = { pairs: 0, byQuestion: 0, byAnswer: 0 };
  const answerKey = (r: Row) => (contentWords(r.answer).length >= LEAK_MIN_WORDS ? contentWords(r.answer).join(' ') : undefined);
  rows.forEach((r, i) => {
    const earlier = rows.slice(0, i).filter((e) => e.split !== r.split);
    const q = earlier.some((e) => normalizeText(e.question) === normalizeText(r.question));
    const a = answerKey(r) !== undefined && earlier.some((e) => answerKey(e) === answerKey(r));
    if (q) out.byQuestion++;
    if (a) out.byAnswer++;
    if (q || a) out.pairs++;
  });
  return out;
}

describe('quality figures of an export', () => {
  it('equal what the written files say, and the card prints them', async () => {
    const root = tempDir('stats');
    writeGoodDocs(root);
    // Documents under many names, so several splits get some, with facts repeated across them.
    for (let i = 0; i < 8; i++) {
      writeFileSync(join(root, `faq-${i}.txt`), `Lantern FAQ ${i}\n\nLantern was first released in March 2021. The configuration file is a TOML document stored in your home directory.\n\nA neap tide is a tide with the smallest range of week ${i + 1}.\n`);
    }
    const out = tempDir('stats-out');
    const run = resolveRunInput({ inputDir: root, outDir: out, generateQa: true, split: SPLITS });
    const discovery = await discoverCorpus({ inputDir: run.inputDir, outDir: out, globs: [], maxFileBytes: run.settings.maxFileBytes });
    const summary = await processAndExport(run, discovery);
    const stats = StatsJson.parse(JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')));
    const q = stats.quality!;
    expect(summary.quality).toEqual(q);

    const rows = passedRows(out);
    expect(rows.length).toBe(stats.pairs.passed);
    expect(new Set(rows.map((r) => r.split)).size).toBeGreaterThan(1);

    const forms = Object.fromEntries(QuestionForm.options.map((f) => [f, rows.filter((r) => r.question_type === f).length]));
    expect(q.questionForms).toEqual(forms);
    const top = Math.max(...Object.values(forms));
    expect(q.largestForm?.share).toBe(Math.round((top / rows.length) * 1e4) / 1e4);
    expect(forms[q.largestForm!.form]).toBe(top);

    const pinned = rows.filter((r) => r.answer_start >= 0);
    expect(q.evidence.pinned).toBe(pinned.length);
    for (const r of pinned) expect(r.answer_end).toBeGreaterThan(r.answer_start);

    expect(q.coverage.chunks).toBe(stats.chunks);
    expect(q.coverage.chunksWithPairs).toBe(new Set(rows.map((r) => `${r.source}\u0000${r.chunk_id}`)).size);
    expect(q.coverage.documents).toBe(stats.documents.loaded);
    expect(q.coverage.documentsWithPairs).toBe(new Set(rows.map((r) => r.source)).size);
    expect(q.coverage.words).toBeGreaterThan(0);
    expect(q.coverage.pairsPer1000Words).toBe(Math.round((rows.length / q.coverage.words) * 1e5) / 100);

    // Duplicates: counted as written, and every one names a kept row that carries the same fact.
    const rejected = readJsonl(join(out, 'rejected/rejected.jsonl')).map((r) => RejectedRow.parse(r));
    const dups = rejected.filter((r) => r.reason === 'duplicate');
    expect(q.duplicates.withinDocuments + q.duplicates.acrossDocuments).toBe(dups.length);
    expect(q.duplicates.acrossDocuments).toBe(stats.pairs.duplicatesAcrossDocuments);
    expect(dups.length).toBeGreaterThan(0);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const d of dups) {
      const kept = byId.get(d.duplicate_of);
      expect(kept, `${d.id} → ${d.duplicate_of}`).toBeDefined();
      const sameFact =
        normalizeText(kept!.answer) === normalizeText(d.answer) ||
        contentWords(kept!.answer).join(' ') === contentWords(d.answer).join(' ') ||
        (kept!.source === d.source && kept!.answer_start >= 0 && d.answer_start >= 0 &&
          Math.min(kept!.answer_end, d.answer_end) > Math.max(kept!.answer_start, d.answer_start));
      expect(sameFact, `${d.answer} / ${kept!.answer}`).toBe(true);
    }

    const leaks = bruteForceLeaks(rows);
    expect({ pairs: q.leakage.pairs, byQuestion: q.leakage.byQuestion, byAnswer: q.leakage.byAnswer }).toEqual(leaks);
    for (const e of q.leakage.examples) {
      expect(byId.get(e.id)?.split).toBe(e.split);
      expect(byId.get(e.collidesWith)?.split).toBe(e.otherSplit);
      expect(e.otherSplit).not.toBe(e.split);
    }

    const card = readFileSync(join(out, 'README.md'), 'utf8');
    expect(card).toContain(`${q.coverage.chunksWithPairs} of ${q.coverage.chunks} chunks`);
    expect(card).toContain(`${q.evidence.pinned} of ${rows.length} passed answers`);
    expect(card).toContain(q.duplicates.rule);
    expect(card).toMatch(/`answer_start`, `answer_end`: .*code points/);
  });
});

describe('leakage check', () => {
  const pair = (id: string, question: string, answer: string) => ({
    id, chunkId: 'c', question, answer, questionForm: 'what' as const, answerStart: -1,
  });
  const id = (n: number) => n.toString(16).padStart(16, '0');

  it('counts a pair whose question or answer words another split already had, and names that pair', () => {
    const s = new QualityStats(['train', 'test']);
    s.startDocument(1, 10);
    s.pass(pair(id(1), 'What is the default port?', '8080'), 'train');
    s.pass(pair(id(2), 'Which port is the default?', 'the port of the admin console'), 'train');
    s.startDocument(1, 10);
    s.pass(pair(id(3), 'What is the default port?', '5432'), 'test'); // same question
    s.pass(pair(id(4), 'What does the console use?', 'The port of the Admin Console.'), 'test'); // same answer words
    s.pass(pair(id(5), 'What is the default user?', 'postgres'), 'test');
    s.startDocument(1, 10);
    s.pass(pair(id(6), 'What is the default port?', '3306'), 'train'); // collides with 3 (test), not only 1
    const r = s.result({ generated: 6, withinDocuments: 0, acrossDocuments: 0 });
    expect(r.leakage).toMatchObject({ pairs: 3, byQuestion: 2, byAnswer: 1 });
    expect(r.leakage.examples).toEqual([
      { id: id(3), split: 'test', collidesWith: id(1), otherSplit: 'train', by: 'question' },
      { id: id(4), split: 'test', collidesWith: id(2), otherSplit: 'train', by: 'answer' },
      { id: id(6), split: 'train', collidesWith: id(3), otherSplit: 'test', by: 'question' },
    ]);
    expect(r.coverage).toMatchObject({ chunks: 3, chunksWithPairs: 3, documents: 3, documentsWithPairs: 3, words: 30, pairsPer1000Words: 200 });
  });

  it('does not count the same question within one split', () => {
    const s = new QualityStats(['train', 'test']);
    s.startDocument(2, 100);
    s.pass(pair(id(1), 'What is the default port?', '8080'), 'train');
    s.startDocument(2, 100);
    s.pass(pair(id(2), 'What is the default port?', '5432'), 'train');
    s.startDocument(3, 100);
    const r = s.result({ generated: 4, withinDocuments: 1, acrossDocuments: 1 });
    expect(r.leakage.pairs).toBe(0);
    expect(r.coverage).toMatchObject({ chunks: 7, chunksWithPairs: 2, chunkShare: 0.2857, documents: 3, documentsWithPairs: 2, documentShare: 0.6667 });
    expect(r.duplicates.shareOfGenerated).toBe(0.5);
  });
});

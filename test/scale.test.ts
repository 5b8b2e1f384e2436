/**
 * Issue 15's memory work keeps what it changes: discovery writes its pages as it hashes (the
 * manifest key is still the hash of every line joined by '\n'), and the corpus-wide duplicate
 * index of fixed-size keys gives the verdicts a Map of the key strings gives.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorpusDuplicates, dedupKeys, type DedupPair } from '../activities/dedup.js';
import { discoverCorpus } from '../activities/discover.js';
import { iterateManifest } from '../activities/manifest.js';
import { MANIFEST_PAGE_SIZE, manifestDir } from '../activities/paths.js';
import { sharedKeysOf } from '../activities/export/sharedKeys.js';
import { QualityStats } from '../activities/exportStats.js';
import type { ShardPair } from '../schemas/index.js';
import { rng } from './helpers/syntheticCorpus.js';

async function* each(pairs: DedupPair[]): AsyncGenerator<ShardPair> {
  for (const p of pairs) yield { ...p, reasons: [], detail: '' } as unknown as ShardPair;
}

const work = mkdtempSync(join(tmpdir(), 'corpus-qa-scale-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function discover(name: string, documents: number) {
  const inputDir = join(work, name, 'in');
  const outDir = join(work, name, 'out');
  mkdirSync(inputDir, { recursive: true });
  for (let i = 0; i < documents; i++) {
    const dir = join(inputDir, `d${i % 7}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.txt`), `document ${i}\n`);
  }
  const summary = await discoverCorpus({ inputDir, outDir, globs: [], maxFileBytes: 1 << 20 });
  const dir = manifestDir(outDir, summary.manifestKey);
  const pages = readdirSync(dir).filter((f) => f.startsWith('page-')).sort();
  return { summary, outDir, pages: pages.map((p) => readFileSync(join(dir, p), 'utf8')) };
}

describe('discovery written page by page', () => {
  it('fills whole pages, ends with the rest, and keys the manifest by the hash of all its lines', async () => {
    const n = 2 * MANIFEST_PAGE_SIZE + 37;
    const { summary, outDir, pages } = await discover('paged', n);
    expect(summary.documents).toBe(n);
    expect(pages.map((p) => p.split('\n').length - 1)).toEqual([MANIFEST_PAGE_SIZE, MANIFEST_PAGE_SIZE, 37]);
    const lines = pages.join('').split('\n').slice(0, -1);
    // The key as it was defined when all lines were held: sha256 of them joined by '\n'.
    expect(summary.manifestKey).toBe(createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 32));
    const entries = [];
    for await (const e of iterateManifest(outDir, summary.manifestKey, n)) entries.push(e);
    expect(entries.map((e) => e.index)).toEqual([...Array(n).keys()]);
    const sources = entries.map((e) => e.source);
    expect(sources).toEqual([...sources].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(sources).size).toBe(n);
  }, 120_000);

  it('writes its pages before the key is known: a killed discovery\'s folder is removed, a manifest already there is kept', async () => {
    const first = await discover('again', 1500);
    const manifests = join(first.outDir, '.corpus-qa', 'manifests');
    // What a discovery killed mid-way leaves: pages in a folder not yet named by the key.
    mkdirSync(join(manifests, '.pages-999-0badf00d'));
    writeFileSync(join(manifests, '.pages-999-0badf00d', 'page-000000.jsonl'), '{"half":');
    const page0 = join(manifestDir(first.outDir, first.summary.manifestKey), 'page-000000.jsonl');
    const before = statSync(page0).mtimeMs;
    const again = await discoverCorpus({ inputDir: join(work, 'again', 'in'), outDir: first.outDir, globs: [], maxFileBytes: 1 << 20 });
    expect(again.manifestKey).toBe(first.summary.manifestKey);
    expect(readdirSync(manifests)).toEqual([first.summary.manifestKey]);
    expect(statSync(page0).mtimeMs).toBe(before);
    expect(readdirSync(manifestDir(first.outDir, first.summary.manifestKey)).sort()).toEqual(['page-000000.jsonl', 'page-000001.jsonl', 'warnings.json']);
  });

  it('an empty corpus still has one (empty) page, keyed by the hash of nothing', async () => {
    const { summary, pages } = await discover('empty', 0);
    expect(pages).toEqual(['']);
    expect(summary.manifestKey).toBe(createHash('sha256').update('').digest('hex').slice(0, 32));
  });
});

/** The index as a Map of the key strings: what the fixed-size keys must agree with. */
class ReferenceDuplicates {
  private readonly byKey = new Map<string, string>();

  check(p: DedupPair, id: string): { of: string; kind: 'exact' | 'near' } | undefined {
    const keys = dedupKeys(p);
    const exact = this.byKey.get(keys.exact);
    if (exact !== undefined) return { of: exact, kind: 'exact' };
    const near = keys.near !== undefined ? this.byKey.get(keys.near) : undefined;
    if (near !== undefined) return { of: near, kind: 'near' };
    this.byKey.set(keys.exact, id);
    if (keys.near !== undefined) this.byKey.set(keys.near, id);
    return undefined;
  }
}

describe('compact corpus-wide duplicate index', () => {
  it('gives the verdicts of a Map of key strings on pairs with exact, near and short duplicates, with every key or only the shared ones', async () => {
    const r = rng(15);
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
    const facts = Array.from({ length: 400 }, (_, i) => `The harbour crane ${i} was restored in ${1800 + (i % 200)} by the city engineers.`);
    const shortAnswers = ['Yes', '2004', 'forty rooms', 'the old mill'];
    const pairs: DedupPair[] = [];
    for (let i = 0; i < 20_000; i++) {
      const fact = pick(facts);
      const variant = Math.floor(r() * 5);
      const answer =
        variant === 0 ? fact // exact
          : variant === 1 ? `  ${fact.toUpperCase()}!` // exact after normalization
            : variant === 2 ? fact.replace('The ', 'A ').replace(' was ', ' is ') // near: other function words
              : variant === 3 ? pick(shortAnswers) // short: a fact only with its question
                : `${fact} Unique detail ${i}.`; // another fact
      pairs.push({ question: `Question ${Math.floor(r() * 50)} about the crane?`, answer, answerStart: -1, answerEnd: -1 });
    }
    const compact = new CorpusDuplicates();
    const reference = new ReferenceDuplicates();
    // The index of a big corpus, which holds only the keys more than one pair has.
    const shared = await sharedKeysOf(each(pairs), false, work);
    const sharedOnly = new CorpusDuplicates(shared);
    const verdicts = { exact: 0, near: 0, kept: 0 };
    for (const [i, p] of pairs.entries()) {
      const id = i.toString(16).padStart(16, '0');
      const expected = reference.check(p, id);
      expect(compact.check(p, id), `pair ${i}: ${p.answer}`).toEqual(expected);
      expect(sharedOnly.check(p, id), `pair ${i} (shared keys only): ${p.answer}`).toEqual(expected);
      verdicts[expected?.kind ?? 'kept']++;
    }
    // Unique facts are most keys, and the shared table holds none of them.
    expect(shared.size).toBeGreaterThan(400);
    expect(shared.size).toBeLessThan(pairs.length / 4);
    expect(readdirSync(work).filter((n) => n.startsWith('shared-keys-'))).toEqual([]);
    // The corpus exercises every verdict, many times.
    expect(verdicts.exact).toBeGreaterThan(5000);
    expect(verdicts.near).toBeGreaterThan(100);
    expect(verdicts.kept).toBeGreaterThan(4000);
  });
});

describe('leakage across splits with only the shared keys', () => {
  it('counts the same leaks and examples as with every key', async () => {
    const r = rng(16);
    const questions = Array.from({ length: 300 }, (_, i) => `What did engineer ${i} restore?`);
    const answers = Array.from({ length: 300 }, (_, i) => `the harbour crane number ${i} near the mill`);
    const pairs = Array.from({ length: 5000 }, (_, i) => ({
      question: r() < 0.3 ? questions[Math.floor(r() * questions.length)]! : `Unique question ${i}?`,
      answer: r() < 0.3 ? answers[Math.floor(r() * answers.length)]! : `unique answer words ${i} here`,
      answerStart: -1,
      answerEnd: -1,
    }));
    const splits = ['train', 'validation', 'test'];
    const shared = await sharedKeysOf(each(pairs), true, work);
    const all = new QualityStats(splits);
    const sharedOnly = new QualityStats(splits, shared);
    for (const [i, p] of pairs.entries()) {
      const pass = { id: i.toString(16).padStart(16, '0'), chunkId: `c${i}`, question: p.question, answer: p.answer, questionForm: 'what' as const, answerStart: -1 };
      const split = splits[Math.floor(r() * splits.length)]!;
      all.pass(pass, split);
      sharedOnly.pass(pass, split);
    }
    const d = { generated: pairs.length, withinDocuments: 0, acrossDocuments: 0 };
    const expected = all.result(d);
    expect(expected.leakage.pairs).toBeGreaterThan(500);
    expect(sharedOnly.result(d)).toEqual(expected);
  });
});

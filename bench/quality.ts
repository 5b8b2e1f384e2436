/**
 * npm run bench -- --quality OUT_DIR [--sample 60] [--seed 12]
 *
 * What a person would check first in an exported dataset, measured on its files: the issue-12
 * figures (heading-template questions, questions that point outside themselves, broken words,
 * question forms, duplicates, coverage, answers pinned to evidence), plus a seeded sample of
 * passed pairs to score by hand. Works on exports of older versions too (missing columns are
 * reported as such). Prints one JSON report.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { questionForm } from '../activities/questionForm.js';
import { selfContainedProblem } from '../activities/selfContained.js';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--quality'),
  allowPositionals: true,
  options: { sample: { type: 'string', default: '60' }, seed: { type: 'string', default: '12' } },
});
const out = positionals[0];
if (!out) throw new Error('usage: npm run bench -- --quality OUT_DIR [--sample 60] [--seed 12]');

type Row = Record<string, unknown> & { question: string; answer: string; source: string; chunk_id: string };
const jsonl = (path: string): Row[] =>
  readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
const passed = ['train', 'validation', 'test'].flatMap((s) => {
  try {
    return jsonl(join(out, 'data', `${s}.jsonl`));
  } catch {
    return [];
  }
});
const rejected = jsonl(join(out, 'rejected', 'rejected.jsonl'));
const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as {
  chunks?: number; quality?: { coverage?: unknown; questionForms?: unknown }; [k: string]: unknown;
};

// The templates the old generator made from headings; the issue counts them.
const HEADING_TEMPLATE = /^What does the section “.*” say\?$|^What is said about |^What is listed under |^What is (?:\p{Lu}\p{Ll}+ )+\p{Lu}\p{Ll}+s?\?$/u;
const BROKEN_WORD = /\p{Ll}- \p{Ll}/u;
const share = (n: number, d: number) => (d === 0 ? 0 : Math.round((n / d) * 1000) / 1000);

const forms: Record<string, number> = {};
for (const r of passed) {
  const f = questionForm(r.question);
  forms[f] = (forms[f] ?? 0) + 1;
}
const generated = passed.length + rejected.filter((r) => r.question !== '').length;
// Identical documents share chunk ids: count a chunk once per source.
const chunksWithPair = new Set(passed.map((r) => `${r.source}\u0000${r.chunk_id}`)).size;
const docsWithPair = new Set(passed.map((r) => r.source)).size;
const pinned = passed.filter((r) => typeof r.answer_start === 'number' && (r.answer_start as number) >= 0).length;

// A seeded shuffle (mulberry32): the same sample for the same export and seed.
let seed = Number(values.seed) >>> 0;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const order = passed.map((_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [order[i], order[j]] = [order[j]!, order[i]!];
}
const sample = order.slice(0, Number(values.sample)).map((i) => {
  const r = passed[i]!;
  return { source: r.source, question: r.question, answer: r.answer.length > 300 ? `${r.answer.slice(0, 300)}…` : r.answer };
});

const sortedForms = Object.fromEntries(Object.entries(forms).sort((a, b) => b[1] - a[1]));
console.log(JSON.stringify({
  out,
  passed: passed.length,
  rejected: rejected.length,
  rejectedBy: rejected.reduce<Record<string, number>>((m, r) => ((m[String(r.reason)] = (m[String(r.reason)] ?? 0) + 1), m), {}),
  headingTemplateShare: share(passed.filter((r) => HEADING_TEMPLATE.test(r.question)).length, passed.length),
  pointsOutsideShare: share(passed.filter((r) => selfContainedProblem(r.question) !== undefined).length, passed.length),
  brokenWordAnswers: passed.filter((r) => BROKEN_WORD.test(r.answer)).length,
  forms: sortedForms,
  formsAtLeast3pct: Object.values(forms).filter((n) => n >= passed.length * 0.03).length,
  largestFormShare: share(Math.max(0, ...Object.values(forms)), passed.length),
  duplicateShareOfGenerated: share(rejected.filter((r) => r.reason === 'duplicate').length, generated),
  chunksWithPairShare: typeof stats.chunks === 'number' ? share(chunksWithPair, stats.chunks) : undefined,
  documentsWithPair: docsWithPair,
  pinnedShare: share(pinned, passed.length),
  // What the export itself reported (absent in exports of older versions).
  statsQuality: stats.quality,
  sample,
}, null, 2));

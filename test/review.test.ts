/**
 * The review loop: the CSV module on its own, then a round trip through the real CLI on a real
 * Temporal server: run, `review export`, edit the file as a spreadsheet would (Python's csv
 * module re-saves it), `review apply`, and a later run over the same corpus that keeps the
 * decisions.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BOM, CsvError, parseCsv, writeCsv } from '../activities/review/csv.js';
import { clipContext } from '../activities/review/context.js';
import type { ReviewableOutput } from '../activities/review/output.js';
import { decisionsFromCsv } from '../activities/review/reviewFile.js';
import type { QaRow } from '../schemas/index.js';
import { writeFixtureCorpus } from './helpers/corpus.js';
import { readJsonl, tempDir, treeHashes } from './helpers/files.js';
import { hfCheck, venvPython } from './helpers/hf.js';
import { temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'corpus-qa.mjs');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress() },
    timeout: 170_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('review CSV', () => {
  it('writes a BOM, quotes every field, doubles quotes and ends lines with CRLF', () => {
    const text = writeCsv(['a', 'b'], [['say "hi"', 'x,y'], ['', 'two\nlines']]);
    expect(text.startsWith(BOM)).toBe(true);
    expect(text.slice(1)).toBe('"a","b"\r\n"say ""hi""","x,y"\r\n"","two\nlines"\r\n');
  });

  it('reads back what it wrote: quotes, commas, newlines inside fields, non-ASCII', () => {
    const rows = [['id', 'text'], ['1', 'He said "no", then left.\nNext line\r\nand a CRLF'], ['2', 'Ünïcödé — “quotes” 🐙'], ['3', '']];
    const parsed = parseCsv(writeCsv(rows[0]!, rows.slice(1)));
    expect(parsed.map((r) => r.fields)).toEqual(rows);
    // Line numbers count the newlines inside quoted fields.
    expect(parsed.map((r) => r.line)).toEqual([1, 2, 5, 6]);
  });

  it('reads a file as a spreadsheet saves it: no BOM, LF or CRLF, quotes only where needed, blank lines', () => {
    expect(parseCsv('id,decision\nabc,drop\n\n"d,e",\n').map((r) => r.fields)).toEqual([['id', 'decision'], ['abc', 'drop'], ['d,e', '']]);
    expect(parseCsv(`${BOM}id,decision\r\nabc,"edit"\r\n`).map((r) => r.fields)).toEqual([['id', 'decision'], ['abc', 'edit']]);
    // A last line without a line end, and a record of one empty quoted field (not a blank line).
    expect(parseCsv('a\r\n""\r\nb').map((r) => r.fields)).toEqual([['a'], [''], ['b']]);
  });

  it('names the line of a broken field', () => {
    expect(() => parseCsv('id,decision\nabc,"open\nstill open')).toThrow(CsvError);
    expect(() => parseCsv('id,decision\nabc,"open\nstill open')).toThrow(/line 2: a quoted field is not closed/);
    expect(() => parseCsv('id\nab"c\n')).toThrow(/line 2: a quote inside an unquoted field/);
    expect(() => parseCsv('id\n"abc"x\n')).toThrow(/line 2: text after the closing quote/);
  });

  it('clips context around the answer, in code points', () => {
    const text = `${'a'.repeat(50)}ANSWER${'b'.repeat(50)}`;
    expect(clipContext(text, 200)).toBe(text);
    expect(clipContext(text, 0)).toBe('');
    const clipped = clipContext(text, 20, { start: 50, end: 56 });
    expect(clipped).toContain('ANSWER');
    expect(clipped.startsWith('…') && clipped.endsWith('…')).toBe(true);
    expect(Array.from(clipContext('🐙'.repeat(30), 10))).toHaveLength(11); // 10 and the ellipsis
  });
});

describe('review file decisions', () => {
  const pair = (id: string): QaRow => ({
    id, question: `Q ${id}?`, answer: `A ${id}.`, source: 'a.txt', chunk_id: 'abc-0000', char_start: 0, char_end: 10, page_start: 0, page_end: 0,
    answer_start: -1, answer_end: -1, question_type: 'what', generator: 'builtin-v2',
  });
  const rejected = (id: string, reason: 'duplicate' | 'reviewer_rejected') => ({ ...pair(id), reason, reasons: [reason], detail: '', duplicate_of: '' });
  const output = {
    outDir: '/out',
    passed: [{ split: 'train', base: pair('p1'), edited: false }, { split: 'train', base: pair('p2'), edited: false }],
    rejected: [rejected('r1', 'duplicate'), rejected('d1', 'reviewer_rejected')],
    stored: new Map([['d1', { id: 'd1', decision: 'drop' as const, question: 'Q d1?', answer: 'A d1.', question_edit: '', answer_edit: '' }]]),
  } as unknown as ReviewableOutput;
  const read = (body: string) => decisionsFromCsv('r.csv', `answer_edit,ID,Decision,question_edit,extra\n${body}`, output);

  it('finds columns by name, takes decisions in any case, an empty one as keep, and keeps stored decisions', () => {
    const d = read(',p1,KEEP,,x\n"",p2,,"  Better question?\r\n ",y\n');
    expect(d.get('p1')).toMatchObject({ decision: 'keep', question: 'Q p1?', question_edit: '' });
    // An edit typed in without a decision is an edit; spreadsheet line ends and padding go.
    expect(d.get('p2')).toMatchObject({ decision: 'edit', question_edit: 'Better question?', answer_edit: '' });
    expect(d.get('d1')?.decision).toBe('drop');
    // Rejected pairs left as they are, or dropped, change nothing.
    expect(read(',r1,,,\n,d1,drop,,\n').size).toBe(1);
  });

  it('names the line of what cannot be applied', () => {
    expect(() => read(',p1,edit,,\n')).toThrow(/r\.csv:2: decision edit for pair p1, but question_edit and answer_edit are both empty/);
    expect(() => read(',p1,keep,New?,\n')).toThrow(/r\.csv:2: decision keep for pair p1, but question_edit or answer_edit is filled in/);
    expect(() => read(',p1,keep,,\n,p2,,,\n,p1,drop,,\n')).toThrow(/r\.csv:4: pair p1 is also on line 2/);
    expect(() => read(',r1,keep,,\n')).toThrow(/r\.csv:2: pair r1 was rejected by validation \(duplicate\)/);
    expect(() => read(',d1,keep,,\n')).toThrow(/r\.csv:2: pair d1 was dropped by an earlier review .*--fresh/);
    expect(() => read(',nope,keep,,\n')).toThrow(/r\.csv:2: pair nope is not in \/out/);
    expect(() => decisionsFromCsv('r.csv', 'id,decision\n', output)).toThrow(/r\.csv:1: no "question_edit" column/);
  });
});

/** Re-saves the review file the way a spreadsheet would (Python's csv: minimal quoting, CRLF), after `edit` changed its rows. */
function resaveWithPython(csvPath: string, edits: Record<string, { decision: string; question_edit?: string; answer_edit?: string }>, outPath: string): void {
  const script = `
import csv, json, sys
edits = json.loads(sys.argv[3])
with open(sys.argv[1], encoding='utf-8-sig', newline='') as f:
    rows = list(csv.DictReader(f))
for r in rows:
    e = edits.get(r['id'])
    if e:
        r['decision'] = e['decision']
        r['question_edit'] = e.get('question_edit', '')
        r['answer_edit'] = e.get('answer_edit', '')
with open(sys.argv[2], 'w', encoding='utf-8-sig', newline='') as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    w.writeheader()
    w.writerows(rows)
`;
  execFileSync(venvPython(), ['-c', script, csvPath, outPath, JSON.stringify(edits)]);
}

describe('review round trip', () => {
  const corpus = writeFixtureCorpus(tempDir('review-corpus'));
  const out = tempDir('review-out');
  const work = tempDir('review-csv');
  const csvPath = join(work, 'review.csv');
  const editedCsv = join(work, 'edited.csv');
  const runArgs = ['run', corpus.root, '--out', out, '--generate-qa', '--format', 'messages', '--split', 'train=0.6,test=0.4', '--task-queue', uniqueTaskQueue()];
  const passedIds = () => ['train', 'test'].flatMap((s) => {
    try {
      return readJsonl<{ id: string }>(join(out, 'data', `${s}.jsonl`)).map((r) => r.id);
    } catch {
      return [];
    }
  });
  let before: Record<string, string>;
  let dropId: string;
  let editId: string;
  let afterApply: Record<string, string>;
  let statsAfterApply: Record<string, unknown>;

  beforeAll(() => {
    const r = cli(runArgs);
    expect(r.code, r.stderr).toBe(0);
    before = treeHashes(out);
  });

  it('exports passed and rejected pairs with their chunk text to a CSV a spreadsheet opens', () => {
    const r = cli(['review', 'export', out, '--to', csvPath, '--include-rejected', '--context-chars', '400']);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(csvPath, 'utf8');
    expect(text.startsWith(BOM)).toBe(true);
    const [header, ...records] = parseCsv(text);
    expect(header!.fields.slice(0, 6)).toEqual(['id', 'decision', 'question', 'answer', 'question_edit', 'answer_edit']);
    const col = (name: string) => header!.fields.indexOf(name);
    const passed = records.filter((rec) => rec.fields[col('status')] === 'passed');
    const rejected = records.filter((rec) => rec.fields[col('status')] === 'rejected');
    expect(passed.map((rec) => rec.fields[0])).toEqual(passedIds());
    expect(rejected).toHaveLength(readJsonl(join(out, 'rejected', 'rejected.jsonl')).length);
    expect(rejected.length).toBeGreaterThan(0); // the fixture's copied document gives duplicates
    for (const rec of passed) {
      const context = rec.fields[col('context')]!;
      expect(context.length, rec.fields[0]).toBeGreaterThan(0);
      expect(Array.from(context).length).toBeLessThanOrEqual(402);
      expect(rec.fields[col('decision')]).toBe('');
    }
    // The built-in generator's answers come from the chunk: most appear in their context as is.
    const inContext = passed.filter((rec) => rec.fields[col('context')]!.includes(rec.fields[col('answer')]!.slice(0, 30)));
    expect(inContext.length).toBeGreaterThan(passed.length / 2);
    dropId = passed[0]!.fields[0]!;
    editId = passed[1]!.fields[0]!;
  });

  it('applies a review: dropped pairs to rejected/, edits in place with edited: true, the card counts them', () => {
    resaveWithPython(
      csvPath,
      { [dropId]: { decision: 'DROP' }, [editId]: { decision: 'Edit', question_edit: 'What does the "edited"\nquestion ask?' } },
      editedCsv,
    );
    const r = cli(['review', 'apply', out, editedCsv]);
    expect(r.code, r.stderr).toBe(0);
    const n = passedIds().length + 1;
    expect(r.stdout).toContain(`${n} pairs reviewed (${n - 2} kept, 1 dropped, 1 edited)`);

    expect(passedIds()).not.toContain(dropId);
    const rows = ['train', 'test'].flatMap((s) => {
      try {
        return readJsonl<{ id: string; messages: Array<{ content: string }>; edited: boolean }>(join(out, 'data', `${s}.jsonl`));
      } catch {
        return [];
      }
    });
    const edited = rows.find((row) => row.id === editId)!;
    expect(edited.messages[0]!.content).toBe('What does the "edited"\nquestion ask?');
    expect(edited.edited).toBe(true);
    expect(rows.filter((row) => row.edited === true).map((row) => row.id)).toEqual([editId]);
    expect(rows.every((row) => Object.keys(row).at(-1) === 'edited')).toBe(true);

    const rejected = readJsonl<{ id: string; reason: string; reasons: string[] }>(join(out, 'rejected', 'rejected.jsonl'));
    const dropped = rejected.filter((row) => row.reason === 'reviewer_rejected');
    expect(dropped.map((row) => row.id)).toEqual([dropId]);
    expect(dropped[0]!.reasons).toEqual(['reviewer_rejected']);

    const card = readFileSync(join(out, 'README.md'), 'utf8');
    expect(card).toContain(`${n} pairs reviewed (${n - 2} kept, 1 dropped, 1 edited)`);
    expect(card).toMatch(/- name: edited\n {4}dtype: bool/);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    expect(stats.review).toEqual({ reviewed: n, kept: n - 2, dropped: 1, edited: 1 });
    expect(stats.pairs.rejectedByReason.reviewer_rejected).toBe(1);
    expect(readFileSync(join(out, 'review', 'decisions.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(n);
    // The document errors are not a review's business.
    expect(treeHashes(out)['errors.jsonl']).toBe(before['errors.jsonl']);
    afterApply = treeHashes(out);
    statsAfterApply = stats;
  });

  it('passes verify, and datasets loads the reviewed output with its edited column', () => {
    const v = cli(['verify', out, '--with-datasets']);
    expect(v.code, v.stderr).toBe(0);
    const report = hfCheck(out);
    const train = report.configs.default?.splits?.train;
    expect(report.configs.default?.ok, report.configs.default?.error).toBe(true);
    expect(train?.columns.at(-1)).toBe('edited');
    expect(train?.features?.edited).toMatch(/bool/);
    const loaded = Object.values(report.configs.default?.splits ?? {}).reduce((a, s) => a + s.rows, 0);
    expect(loaded).toBe(passedIds().length);
    expect(report.configs.rejected?.ok, report.configs.rejected?.error).toBe(true);
  });

  it('gives the same bytes when the same file is applied again, or a fresh export of the reviewed output is', () => {
    expect(cli(['review', 'apply', out, editedCsv]).code).toBe(0);
    expect(treeHashes(out)).toEqual(afterApply);
    // Exporting a reviewed output fills in its decisions: applying that file changes nothing.
    const again = join(work, 'again.csv');
    expect(cli(['review', 'export', out, '--to', again, '--include-rejected']).code).toBe(0);
    const [header, ...records] = parseCsv(readFileSync(again, 'utf8'));
    const byId = new Map(records.map((rec) => [rec.fields[0], rec.fields]));
    const col = (name: string) => header!.fields.indexOf(name);
    expect(byId.get(dropId)![col('decision')]).toBe('drop');
    expect(byId.get(editId)![col('decision')]).toBe('edit');
    expect(byId.get(editId)![col('question_edit')]).toBe('What does the "edited"\nquestion ask?');
    expect(cli(['review', 'apply', out, again]).code).toBe(0);
    expect(treeHashes(out)).toEqual(afterApply);
  });

  it('refuses an unknown decision or pair id, naming the CSV line, and changes nothing', () => {
    const bad = join(work, 'bad.csv');
    writeFileSync(bad, `id,decision,question_edit,answer_edit\r\n${editId},edit,Q?,\r\n${dropId},maybe,,\r\n`);
    const r1 = cli(['review', 'apply', out, bad]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/bad\.csv:3: decision "maybe" for pair \w+ is not keep, drop or edit/);
    writeFileSync(bad, `id,decision,question_edit,answer_edit\nffffffffffffffff,keep,,\n`);
    const r2 = cli(['review', 'apply', out, bad]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/bad\.csv:2: pair ffffffffffffffff is not in /);
    expect(treeHashes(out)).toEqual(afterApply);
  });

  it('keeps the decisions on a later run over the same corpus, with the same rows as review apply', () => {
    const r = cli([...runArgs.slice(0, -2), '--task-queue', uniqueTaskQueue(), '--fresh']);
    expect(r.code, r.stderr).toBe(0);
    const rerun = treeHashes(out);
    for (const f of Object.keys(afterApply).filter((f) => f !== 'stats.json')) expect(rerun[f], f).toBe(afterApply[f]);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    const comparable = (s: Record<string, unknown>) => JSON.stringify({ ...s, durationsMs: 0, workflow: 0 });
    expect(comparable(stats)).toBe(comparable(statsAfterApply));
    // Applying the review file to the re-run's output is applying it once.
    expect(cli(['review', 'apply', out, editedCsv]).code).toBe(0);
    const reapplied = treeHashes(out);
    for (const f of Object.keys(afterApply).filter((f) => f !== 'stats.json')) expect(reapplied[f], f).toBe(afterApply[f]);
  });
});

/**
 * --file-format parquet: real runs over one corpus, one per training format, whose Parquet files
 * hold exactly the rows of the JSON Lines run (read back with hyparquet) and load with the real
 * `datasets`, file by file and through the card's configs; a split cut into several shards with
 * the Hub's names; the same bytes on a re-run; a switch back to JSON Lines in the same --out.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { outputStore } from '../activities/storage.js';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ERROR_FEATURES, TRAINING_FEATURES } from '../activities/datasetCard.js';
import { trainingRow } from '../activities/exportRows.js';
import { PARQUET_CREATED_BY, StagedParquetShards } from '../activities/parquet.js';
import { readParquetFooter } from '../client/commands/parquetCheck.js';
import { identityChanges, resolveRunInput, runIdentity, workflowIdFor } from '../client/runOptions.js';
import { verifyOutput } from '../client/commands/verify.js';
import { QaRow, type TrainingFormat } from '../schemas/index.js';
import { writeAdversarialDocs, writeAllRejectedDoc } from './helpers/adversarial.js';
import { writeGoodDocs } from './helpers/corpus.js';
import { readJsonl, sha256File, tempDir, treeHashes } from './helpers/files.js';
import { hfCheck, textDigest } from './helpers/hf.js';
import { runExport } from './helpers/temporal.js';

const SPLITS = [
  { name: 'train', fraction: 0.6 },
  { name: 'validation', fraction: 0.2 },
  { name: 'test', fraction: 0.2 },
];
/** The qa run cuts its splits into shards of this many rows. */
const SHARD_ROWS = 3;

type Row = Record<string, unknown>;

/** A Parquet file's rows as plain values (INT64 comes back as bigint). */
async function readParquet(path: string): Promise<Row[]> {
  const bytes = readFileSync(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const rows = await parquetReadObjects({ file });
  return JSON.parse(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))) as Row[];
}

function filesUnder(out: string): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(out, rel), { withFileTypes: true })) {
      if (name.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${name.name}` : name.name;
      if (name.isDirectory()) walk(r);
      else found.push(r);
    }
  };
  walk('');
  return found.sort();
}

interface CardYaml {
  configs: Array<{ config_name: string; data_files: Array<{ split: string; path: string | string[] }> }>;
}

function cardConfigs(out: string): CardYaml['configs'] {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(readFileSync(join(out, 'README.md'), 'utf8'))!;
  return (parseYaml(m[1]!) as CardYaml).configs;
}

const corpus = tempDir('pq-corpus');
const jsonlOut = tempDir('pq-jsonl');
/** The JSON Lines run's rows: what every Parquet run must hold, in the same order. */
let reference: { splits: Record<string, QaRow[]>; rejected: Row[]; errors: Row[] };
const parquetOuts: Partial<Record<TrainingFormat, string>> = {};

beforeAll(async () => {
  writeGoodDocs(corpus);
  writeAdversarialDocs(corpus);
  writeAllRejectedDoc(corpus);
  await runExport({ inputDir: corpus, outDir: jsonlOut, generateQa: true, split: SPLITS, batchSize: 4 });
  const splits: Record<string, QaRow[]> = {};
  for (const s of SPLITS) {
    const path = join(jsonlOut, `data/${s.name}.jsonl`);
    splits[s.name] = existsSync(path) ? readJsonl(path).map((r) => QaRow.parse(r)) : [];
  }
  reference = { splits, rejected: readJsonl(join(jsonlOut, 'rejected/rejected.jsonl')), errors: readJsonl(join(jsonlOut, 'errors.jsonl')) };
  // The corpus must exercise what the Parquet files have to carry: every split, rejected rows
  // with lists of reasons, errors, and a split big enough to need several shards of SHARD_ROWS.
  for (const s of SPLITS) expect(reference.splits[s.name]!.length, s.name).toBeGreaterThan(0);
  expect(reference.rejected.length).toBeGreaterThan(0);
  expect(reference.errors.length).toBeGreaterThan(0);
  expect(Math.max(...Object.values(reference.splits).map((r) => r.length))).toBeGreaterThan(2 * SHARD_ROWS);
});

describe.each(['qa', 'messages', 'alpaca', 'prompt-completion'] as TrainingFormat[])('--file-format parquet --format %s', (format) => {
  it('writes the JSON Lines run\'s rows as Parquet that loads with datasets, file by file and by the card', async () => {
    const out = tempDir(`pq-${format}`);
    parquetOuts[format] = out;
    // qa: shards of SHARD_ROWS rows; the other formats: the default limit, one shard per file.
    const shardRows = format === 'qa' ? SHARD_ROWS : undefined;
    const { result } = await runExport({ inputDir: corpus, outDir: out, generateQa: true, format, split: SPLITS, batchSize: 4, fileFormat: 'parquet', shardRows });

    // Only Parquet, in the Hub's shard names; no JSON Lines beside it.
    const files = filesUnder(out);
    expect(files.filter((f) => f.endsWith('.jsonl'))).toEqual([]);
    const expectedFiles: string[] = [];
    const shardsOf = (prefix: string, rows: number) => {
      const n = shardRows ? Math.ceil(rows / shardRows) : 1;
      const names = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.parquet`);
      expectedFiles.push(...names);
      return names;
    };
    const splitShards = Object.fromEntries(SPLITS.map((s) => [s.name, shardsOf(`data/${s.name}`, reference.splits[s.name]!.length)]));
    const rejectedShards = shardsOf('rejected/train', reference.rejected.length);
    const errorShards = shardsOf('errors/train', reference.errors.length);
    expect(files).toEqual([...expectedFiles, 'README.md', 'stats.json'].sort());
    if (format === 'qa') expect(splitShards.train!.length).toBeGreaterThan(1);

    // Same rows as the JSON Lines run, value for value and in order, in every file.
    const rowsOf = async (shards: string[]) => (await Promise.all(shards.map((f) => readParquet(join(out, f))))).flat();
    const columns = Object.keys(TRAINING_FEATURES[format]);
    for (const s of SPLITS) {
      const expected = reference.splits[s.name]!.map((r) => trainingRow(format, r));
      const shards = splitShards[s.name]!;
      const rows = await rowsOf(shards);
      expect(rows).toEqual(expected);
      for (const row of rows) expect(Object.keys(row)).toEqual(columns);
      if (shardRows) {
        for (const f of shards.slice(0, -1)) expect((await readParquet(join(out, f))).length).toBe(shardRows);
      }
      expect(result.export.files[shards[0]!]?.rows).toBe(shardRows ? Math.min(shardRows, expected.length) : expected.length);
    }
    expect(await rowsOf(rejectedShards)).toEqual(reference.rejected);
    expect(await rowsOf(errorShards)).toEqual(reference.errors);
    expect((await readParquetFooter(outputStore(out), splitShards.train![0]!)).created_by).toBe(PARQUET_CREATED_BY);

    // The card names exactly these files.
    const configs = Object.fromEntries(cardConfigs(out).map((c) => [c.config_name, c.data_files]));
    expect(Object.keys(configs)).toEqual(['default', 'rejected', 'errors']);
    const listed = (p: string | string[]) => (typeof p === 'string' ? [p] : p);
    expect(configs.default!.map((f) => [f.split, listed(f.path)])).toEqual(SPLITS.map((s) => [s.name, splitShards[s.name]]));
    expect(listed(configs.rejected![0]!.path)).toEqual(rejectedShards);
    expect(listed(configs.errors![0]!.path)).toEqual(errorShards);

    // The real datasets: each file alone, and every config of the card, loaded and streamed.
    const report = hfCheck(out);
    for (const f of expectedFiles) expect(report.files[f]?.ok, `${f}: ${report.files[f]?.error}`).toBe(true);
    const def = report.configs.default;
    expect(def?.ok, def?.error).toBe(true);
    for (const s of SPLITS) {
      const expected = reference.splits[s.name]!.map((r) => trainingRow(format, r));
      const split = def?.splits?.[s.name];
      expect(split?.rows).toBe(expected.length);
      expect(split?.columns).toEqual(columns);
      expect(split?.text_digest).toBe(textDigest(expected));
      expect(def?.streaming?.[s.name]?.text_digest).toBe(textDigest(expected));
      expect(split?.features?.char_start).toBe("Value('int64')");
      expect(split?.features?.answer_end).toBe("Value('int64')");
      expect(split?.features?.source).toBe("Value('string')");
      if (format === 'messages') expect(split?.features?.messages).toBe("List({'role': Value('string'), 'content': Value('string')})");
    }
    expect(report.configs.rejected?.ok, report.configs.rejected?.error).toBe(true);
    expect(report.configs.rejected?.splits?.train?.rows).toBe(reference.rejected.length);
    expect(report.configs.rejected?.splits?.train?.features?.reasons).toBe("List(Value('string'))");
    expect(report.configs.rejected?.splits?.train?.text_digest).toBe(textDigest(reference.rejected));
    expect(report.configs.errors?.ok, report.configs.errors?.error).toBe(true);
    expect(report.configs.errors?.splits?.train?.text_digest).toBe(textDigest(reference.errors));

    // Our verifier reads the same output and agrees.
    expect((await verifyOutput(out)).files).toEqual(Object.fromEntries(Object.entries(result.export.files).map(([f, v]) => [f, v.rows])));
  });
});

describe('corpus-qa verify on Parquet output', () => {
  /** A copy of the qa run's output with `change` applied and stats.json's hashes made to agree. */
  function tampered(change: (dir: string) => void): string {
    const dir = tempDir('pq-verify');
    cpSync(parquetOuts.qa!, dir, { recursive: true });
    change(dir);
    const stats = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8')) as { files: Record<string, { rows?: number; sha256: string }> };
    for (const f of Object.keys(stats.files)) {
      if (existsSync(join(dir, f))) stats.files[f]!.sha256 = sha256File(join(dir, f));
      else delete stats.files[f];
    }
    writeFileSync(join(dir, 'stats.json'), JSON.stringify(stats));
    return dir;
  }

  it('finds a shard whose schema is not the declared one, and a missing shard', async () => {
    expect(parquetOuts.qa, 'the qa run above').toBeDefined();
    const first = filesUnder(parquetOuts.qa!).find((f) => f.startsWith('data/train-'))!;
    const wrongSchema = tampered((dir) => {
      const rows = readJsonl(join(jsonlOut, 'data/train.jsonl')).slice(0, SHARD_ROWS);
      const buffer = parquetWriteBuffer({
        columnData: Object.keys(rows[0]!).map((name) => ({ name, data: rows.map((r) => String(r[name])), type: 'STRING' as const })),
      });
      writeFileSync(join(dir, first), new Uint8Array(buffer));
    });
    await expect(verifyOutput(wrongSchema)).rejects.toThrow(new RegExp(`${first}: schema element 6 is char_start:BYTE_ARRAY`));
    const missing = tampered((dir) => rmSync(join(dir, first.replace('-00000-', '-00001-'))));
    await expect(verifyOutput(missing)).rejects.toThrow(/data\/train-00001-of-(\d{5})\.parquet: missing \(\d+ of the \d+ shards of data\/train are present\)/);
  });
});

describe('parquet runs again', () => {
  it('gives the same bytes when the run is made again from scratch', async () => {
    const out = parquetOuts.messages;
    expect(out, 'the messages run above').toBeDefined();
    const before = treeHashes(out!);
    await runExport(
      { inputDir: corpus, outDir: out!, generateQa: true, format: 'messages', split: SPLITS, batchSize: 4, fileFormat: 'parquet', noCache: true },
      { fresh: true },
    );
    const after = treeHashes(out!);
    // stats.json holds the workflow's run id and timings; every data file and the card are equal.
    delete before['stats.json'];
    delete after['stats.json'];
    expect(Object.keys(after).some((f) => f.endsWith('.parquet'))).toBe(true);
    expect(after).toEqual(before);
  });

  it('leaves one set of files when the same --out goes back to JSON Lines', async () => {
    const out = parquetOuts.qa;
    expect(out, 'the qa run above').toBeDefined();
    await runExport({ inputDir: corpus, outDir: out!, generateQa: true, split: SPLITS, batchSize: 4 });
    const files = filesUnder(out!);
    expect(files.filter((f) => f.endsWith('.parquet'))).toEqual([]);
    expect(treeHashes(out!)).toEqual({ ...treeHashes(jsonlOut), 'stats.json': treeHashes(out!)['stats.json'] });
    await expect(verifyOutput(out!)).resolves.toBeDefined();
  });
});

describe('--file-format parquet without --generate-qa', () => {
  it('writes the chunks as Parquet that the card loads', async () => {
    const out = tempDir('pq-chunks');
    const { result } = await runExport({ inputDir: corpus, outDir: out, batchSize: 4, fileFormat: 'parquet' });
    expect(result.export.chunks).toBeGreaterThan(0);
    expect(filesUnder(out)).toEqual(['README.md', 'data/chunks-00000-of-00001.parquet', 'errors/train-00000-of-00001.parquet', 'stats.json']);
    const rows = await readParquet(join(out, 'data/chunks-00000-of-00001.parquet'));
    expect(rows.length).toBe(result.export.chunks);
    const report = hfCheck(out);
    const def = report.configs.default;
    expect(def?.ok, def?.error).toBe(true);
    expect(def?.splits?.train?.rows).toBe(rows.length);
    expect(def?.splits?.train?.columns).toEqual(['id', 'text', 'source', 'chunk_id', 'char_start', 'char_end', 'page_start', 'page_end']);
    expect(def?.splits?.train?.text_digest).toBe(textDigest(rows));
    expect(report.configs.errors?.ok, report.configs.errors?.error).toBe(true);
    await expect(verifyOutput(out)).resolves.toBeDefined();
  });
});

describe('Parquet shards are written as the rows come', () => {
  it('sends each row group to disk before the next is collected, and cuts shards at --shard-rows', async () => {
    const out = tempDir('pq-stream');
    const shards = new StagedParquetShards(out, 'data/train', ERROR_FEATURES, 25_000);
    const row = (i: number) => ({ source: `doc-${i}.txt`, stage: 'load', reason: 'empty', detail: `row ${i}` });
    const tempFiles = () => readdirSync(join(out, 'data')).filter((n) => n.includes('.tmp-'));
    for (let i = 0; i < 10_000; i++) await shards.write(row(i));
    // 10,000 rows make a row group: it is in the temporary file already, not in memory.
    expect(tempFiles().length).toBe(1);
    const written = statSync(join(out, 'data', tempFiles()[0]!)).size;
    expect(written).toBeGreaterThan(10_000 * 'doc-.txt'.length);
    for (let i = 10_000; i < 30_000; i++) await shards.write(row(i));
    const staged = await shards.finish();
    expect(staged.map((f) => [relative(out, f.path), f.rows])).toEqual([
      ['data/train-00000-of-00002.parquet', 25_000],
      ['data/train-00001-of-00002.parquet', 5_000],
    ]);
    const meta = await readParquetFooter(outputStore(dirname(staged[0]!.tmp)), basename(staged[0]!.tmp));
    expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([10_000, 10_000, 5_000]);
    expect((await readParquet(staged[1]!.tmp)).at(-1)).toEqual(row(29_999));
  });
});

describe('a Parquet run that passes nothing', () => {
  it('names the data file it did not write, as a JSON Lines run does, and the rejected pairs still load', async () => {
    const root = tempDir('pq-rejected');
    writeAllRejectedDoc(root);
    const out = tempDir('pq-rejected-out');
    const { result } = await runExport({ inputDir: root, outDir: out, generateQa: true, fileFormat: 'parquet' });
    expect(result.export.pairsPassed).toBe(0);
    expect(filesUnder(out)).toEqual(['README.md', 'rejected/train-00000-of-00001.parquet', 'stats.json']);
    expect(cardConfigs(out)).toEqual([{ config_name: 'default', data_files: [{ split: 'train', path: 'data/train-00000-of-00001.parquet' }] }]);
    const report = hfCheck(out);
    expect(report.files['rejected/train-00000-of-00001.parquet']?.rows).toBe(result.export.pairsRejected);
    expect(report.configs.default?.ok).toBe(false);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('load_dataset("parquet", data_files="rejected/train-00000-of-00001.parquet")');
    await expect(verifyOutput(out)).resolves.toBeDefined();
  });
});

describe('--file-format options', () => {
  const base = { inputDir: '/data/in', outDir: '/data/out', generateQa: true };

  it('makes the file format part of the run\'s identity, and leaves JSON Lines runs\' identity as it was', () => {
    const jsonl = resolveRunInput(base);
    expect(workflowIdFor(resolveRunInput({ ...base, fileFormat: 'jsonl' }))).toBe(workflowIdFor(jsonl));
    expect(JSON.stringify(runIdentity(jsonl))).not.toMatch(/fileFormat|parquet/);
    const parquet = resolveRunInput({ ...base, fileFormat: 'parquet' });
    expect(workflowIdFor(parquet)).not.toBe(workflowIdFor(jsonl));
    expect(identityChanges(runIdentity(jsonl), runIdentity(parquet))).toEqual(['fileFormat undefined → "parquet"']);
    const sharded = resolveRunInput({ ...base, fileFormat: 'parquet', shardRows: 1000 });
    expect(identityChanges(runIdentity(parquet), runIdentity(sharded))).toEqual(['parquetShardRows undefined → 1000']);
  });

  it('rejects --shard-rows without Parquet and an unknown format, naming the flag', () => {
    expect(() => resolveRunInput({ ...base, shardRows: 10 })).toThrow(/--shard-rows: only with --file-format parquet/);
    expect(() => resolveRunInput({ ...base, fileFormat: 'csv' as 'jsonl' })).toThrow(/--file-format/);
    expect(() => resolveRunInput({ ...base, fileFormat: 'parquet', shardRows: 0 })).toThrow(/--shard-rows/);
  });

  it('lists --file-format and --shard-rows in run --help', () => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'corpus-qa.mjs'), 'run', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--file-format <format>[\s\S]*"jsonl", "parquet"/);
    expect(r.stdout).toContain('--shard-rows <n>');
  });
});

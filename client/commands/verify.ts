/**
 * `corpus-qa verify <out>`: checks an output directory the way a dataset consumer would meet it.
 * Every JSONL line is JSON and matches the row schema of its config with the columns in the
 * declared order (Parquet output: every shard's schema is the declared one, its shards are
 * complete, client/commands/parquetCheck.ts); every file the card names exists and is non-empty; the counts agree with
 * stats.json; and the files are the ones stats.json describes (their sha256), not a set mixed by
 * an export interrupted between its renames. With `withDatasets`, the real Python `datasets`
 * loads everything too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ChunkRow, ErrorRow, RejectedRow, trainingRowSchema, type TrainingFormat } from '../../schemas/index.js';
import { CHUNK_FEATURES, ERROR_FEATURES, REJECTED_FEATURES, trainingFeatures, type Feature } from '../../activities/datasetCard.js';
import { OUTPUT_FILES, PARQUET_PREFIX, splitPath, storeFor, type OutputStore } from '../../activities/storage.js';
import { cacheDir } from '../server/temporalCli.js';
import { allParquetShards, checkParquetShards, ParquetCheckError, parquetColumns, readParquetFooter } from './parquetCheck.js';

export class VerifyError extends Error {}

interface CardConfigYaml {
  config_name: string;
  data_files: Array<{ split: string; path: string | string[] }>;
}

interface CardYaml {
  configs?: CardConfigYaml[];
  dataset_info?: Array<{ config_name: string; features: Array<{ name: string }> }>;
}

async function readCard(store: OutputStore): Promise<CardYaml> {
  const text = await store.readText(OUTPUT_FILES.card);
  if (text === undefined) throw new VerifyError(`README.md: missing (the dataset card)`);
  const m = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (!m) throw new VerifyError('README.md:1: no YAML header (--- ... ---)');
  try {
    return parseYaml(m[1]!) as CardYaml;
  } catch (err) {
    throw new VerifyError(`README.md: YAML header does not parse: ${(err as Error).message}`);
  }
}

/** Checks every line of a JSONL file against a schema and a column order; returns the row count. */
async function checkJsonl(store: OutputStore, rel: string, schema: z.ZodType, columns: string[] | undefined): Promise<number> {
  const read = await store.readBytes(rel);
  if (read === undefined) throw new VerifyError(`${rel}: missing, but the card lists it`);
  const bytes = Buffer.from(read.buffer, read.byteOffset, read.byteLength);
  const text = bytes.toString('utf8');
  if (text.length === 0) throw new VerifyError(`${rel}: empty (datasets cannot load an empty JSON Lines file)`);
  if (!text.endsWith('\n')) throw new VerifyError(`${rel}: the last line has no newline`);
  const roundTrip = Buffer.from(text, 'utf8');
  if (!roundTrip.equals(bytes)) {
    // Decoding replaced invalid bytes: find the first one to say which line holds it.
    let i = 0;
    while (i < bytes.length && bytes[i] === roundTrip[i]) i++;
    const line = bytes.subarray(0, i).toString('utf8').split('\n').length;
    throw new VerifyError(`${rel}:${line}: invalid UTF-8 at byte ${i}`);
  }
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new VerifyError(`${rel}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    const parsed = schema.safeParse(row);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new VerifyError(`${rel}:${i + 1}: ${issue.path.join('.') || 'row'}: ${issue.message}`);
    }
    if (columns) {
      const keys = Object.keys(row as object);
      if (keys.join(',') !== columns.join(',')) {
        throw new VerifyError(`${rel}:${i + 1}: columns are [${keys.join(', ')}], the card declares [${columns.join(', ')}]`);
      }
    }
  });
  return lines.length;
}

export interface StatsFiles {
  settings?: { generateQa?: boolean; splits?: Array<{ name: string }>; fileFormat?: string };
  pairs?: { splits?: Record<string, number> };
  files?: Record<string, { rows?: number; sha256: string }>;
}

const MIXED = 'the output directory mixes files of two exports (one was interrupted while renaming its files into place); run the same command again to repair it';

/**
 * The first output file that is not the one stats.json describes (another sha256, missing, or
 * present but not described), in words; undefined when the set is the one stats.json describes.
 * A stats.json without `files` (written before they were recorded) is not checked. The same
 * check for a local <out> and a bucket: an export uploads stats.json last, so a set cut short by
 * a crash shows here as one interrupted between its renames does.
 */
export async function outputSetProblem(store: OutputStore, stats?: StatsFiles): Promise<string | undefined> {
  if (!stats) {
    const text = await store.readText(OUTPUT_FILES.stats);
    if (text === undefined) return 'stats.json: missing';
    try {
      stats = JSON.parse(text) as StatsFiles;
    } catch (err) {
      return `stats.json: not JSON (${(err as Error).message})`;
    }
  }
  const described = stats.files;
  if (!described) return undefined;
  for (const [rel, { sha256 }] of Object.entries(described)) {
    const actual = await store.sha256(rel);
    if (actual === undefined) return `${rel}: missing, but stats.json describes it (sha256 ${sha256.slice(0, 12)}…): ${MIXED}`;
    if (actual !== sha256) return `${rel}: sha256 is ${actual.slice(0, 12)}…, stats.json records ${sha256.slice(0, 12)}…: ${MIXED}`;
  }
  // The files an export of these settings writes, or removes when it has no rows for them.
  const candidates = stats.settings?.generateQa
    ? [
        ...new Set([...(stats.settings.splits ?? []).map((s) => s.name), ...Object.keys(stats.pairs?.splits ?? {})]),
      ].map(splitPath).concat(OUTPUT_FILES.rejected)
    : [OUTPUT_FILES.chunks];
  candidates.push(OUTPUT_FILES.errors);
  // Parquet shards of any run, this format's or not: present but not described is a mix too.
  candidates.push(...(await allParquetShards(store)));
  if (described[OUTPUT_FILES.card]) candidates.push(OUTPUT_FILES.card);
  for (const rel of candidates) {
    if (!described[rel] && (await store.exists(rel))) return `${rel}: present, but stats.json does not describe it: ${MIXED}`;
  }
  return undefined;
}

export interface VerifyReport {
  files: Record<string, number>;
  datasets?: 'ok' | 'skipped';
}

/** What verify reads of stats.json (the counts the files must agree with). */
interface VerifiedStats {
  settings: { generateQa: boolean; format?: TrainingFormat; fileFormat?: string };
  pairs: { passed: number; rejected: number; splits?: Record<string, number> };
  documents: { failed: number };
  chunks: number;
  review?: unknown;
}

/** The checks of `corpus-qa verify` on the output directory `outDir` (read through its OutputStore). */
export async function verifyOutput(outDir: string, opts: { withDatasets?: boolean } = {}): Promise<VerifyReport> {
  const store = storeFor(outDir);
  const statsText = await store.readText(OUTPUT_FILES.stats);
  if (statsText === undefined) throw new VerifyError('stats.json: missing');
  let stats: VerifiedStats;
  try {
    stats = JSON.parse(statsText);
  } catch (err) {
    throw new VerifyError(`stats.json: not JSON (${(err as Error).message})`);
  }
  // A mixed set fails the counts or the card's checks below with a less useful message: those
  // give way to it. A problem in a row (file:line) is more precise, and stays.
  const mixed = await outputSetProblem(store, stats as StatsFiles);
  let report: VerifyReport;
  try {
    report = await verifyFiles(store, stats);
  } catch (err) {
    if (err instanceof ParquetCheckError) err = new VerifyError(err.message);
    if (mixed && err instanceof VerifyError && !/^[^:\s]+:\d+: /.test(err.message)) throw new VerifyError(mixed);
    throw err;
  }
  if (mixed) throw new VerifyError(mixed);
  // Python's `datasets` is handed the directory itself (a local <out> only).
  if (opts.withDatasets) report.datasets = checkWithDatasets(store.pathOf('.'));
  return report;
}

async function verifyFiles(store: OutputStore, stats: VerifiedStats): Promise<VerifyReport> {
  const card = await readCard(store);
  if (!card.configs?.length) throw new VerifyError('README.md: the YAML header declares no configs');
  const columnsOf = (config: string) => card.dataset_info?.find((d) => d.config_name === config)?.features.map((f) => f.name);

  // Every file we may have written is checked, whether or not the card lists it; the card's
  // configs must name files that exist (but for the default config of a run with no passed
  // pair) and declare the columns those files have.
  const files: Record<string, number> = {};
  const parquet = stats.settings.fileFormat === 'parquet';
  // One file's rows (a JSON Lines file, or the Parquet shards of `prefix`), checked; its row count.
  const check = async (rel: string, prefix: string, schema: z.ZodType, features: Record<string, Feature>) => {
    if (parquet) {
      const shards = await checkParquetShards(store, prefix, features);
      Object.assign(files, shards);
      return Object.values(shards).reduce((a, b) => a + b, 0);
    }
    if (await store.exists(rel)) files[rel] = await checkJsonl(store, rel, schema, Object.keys(features));
    return files[rel] ?? 0;
  };
  const label = (rel: string, prefix: string) => (parquet ? `${prefix}-*.parquet` : rel);
  const format = stats.settings.format ?? 'qa';
  let passed = 0;
  if (stats.settings.generateQa) {
    for (const [split, n] of Object.entries(stats.pairs.splits ?? { train: stats.pairs.passed })) {
      // A reviewed output's rows end with `edited` (stats.json has `review` then).
      const reviewed = stats.review !== undefined;
      const rows = await check(splitPath(split), PARQUET_PREFIX.split(split), trainingRowSchema(format, reviewed), trainingFeatures(format, reviewed));
      if (rows !== n) throw new VerifyError(`stats.json: pairs.splits.${split} is ${n}, ${label(splitPath(split), PARQUET_PREFIX.split(split))} has ${rows} rows`);
      passed += rows;
    }
    if (passed !== stats.pairs.passed) throw new VerifyError(`stats.json: pairs.passed is ${stats.pairs.passed}, the data files have ${passed} rows`);
    const rejected = await check(OUTPUT_FILES.rejected, PARQUET_PREFIX.rejected, RejectedRow, REJECTED_FEATURES);
    if (rejected !== stats.pairs.rejected) {
      throw new VerifyError(`stats.json: pairs.rejected is ${stats.pairs.rejected}, ${label(OUTPUT_FILES.rejected, PARQUET_PREFIX.rejected)} has ${rejected} rows`);
    }
  } else {
    const chunks = await check(OUTPUT_FILES.chunks, PARQUET_PREFIX.split('chunks'), ChunkRow, CHUNK_FEATURES);
    if (chunks !== stats.chunks) throw new VerifyError(`stats.json: chunks is ${stats.chunks}, ${label(OUTPUT_FILES.chunks, PARQUET_PREFIX.split('chunks'))} has ${chunks} rows`);
  }
  const errors = await check(OUTPUT_FILES.errors, PARQUET_PREFIX.errors, ErrorRow, ERROR_FEATURES);
  if (errors !== stats.documents.failed) {
    throw new VerifyError(`stats.json: documents.failed is ${stats.documents.failed}, ${label(OUTPUT_FILES.errors, PARQUET_PREFIX.errors)} has ${errors} rows`);
  }

  for (const config of card.configs) {
    const columns = columnsOf(config.config_name);
    if (!columns) throw new VerifyError(`README.md: config ${config.config_name} has no dataset_info.features`);
    for (const path of config.data_files.flatMap((f) => f.path)) {
      if (files[path] === undefined) {
        const intended = config.config_name === 'default' && stats.settings.generateQa && passed === 0;
        if (!intended) throw new VerifyError(`README.md: config ${config.config_name} names ${path}, which is missing or was not checked`);
        continue;
      }
      const rowColumns = path.endsWith('.parquet')
        ? parquetColumns(await readParquetFooter(store, path))
        : Object.keys(JSON.parse((await store.readText(path))!.split('\n', 1)[0]!) as object);
      if (rowColumns.join(',') !== columns.join(',')) {
        throw new VerifyError(`README.md: config ${config.config_name} declares [${columns.join(', ')}], ${path} has [${rowColumns.join(', ')}]`);
      }
    }
    // Every shard of a config must be named by it: datasets would not load one left out.
    const named = new Set(config.data_files.flatMap((f) => f.path));
    for (const rel of Object.keys(files)) {
      const prefix = rel.replace(/-\d{5}-of-\d{5}\.parquet$/, '');
      if (prefix !== rel && [...named].some((p) => p.startsWith(`${prefix}-`)) && !named.has(rel)) {
        throw new VerifyError(`README.md: config ${config.config_name} leaves out ${rel}`);
      }
    }
  }

  return { files };
}

function checkWithDatasets(outDir: string): 'ok' | 'skipped' {
  const python = process.env.CORPUS_QA_PYTHON ?? join(cacheDir(), 'venv', 'bin', 'python');
  if (!existsSync(python)) return 'skipped';
  const script = join(import.meta.dirname, '..', '..', 'scripts', 'hf_check.py');
  let stdout: string;
  try {
    stdout = execFileSync(python, [script, outDir], {
      encoding: 'utf8',
      env: { ...process.env, HF_DATASETS_OFFLINE: '1', HF_HUB_OFFLINE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    stdout = (err as { stdout?: string }).stdout ?? '';
    if (!stdout) throw new VerifyError(`datasets check crashed: ${(err as Error).message}`);
  }
  const report = JSON.parse(stdout) as {
    files: Record<string, { ok: boolean; error?: string }>;
    configs: Record<string, { ok: boolean; error?: string }>;
  };
  for (const [file, r] of Object.entries(report.files)) if (!r.ok) throw new VerifyError(`${file}: datasets cannot load it: ${r.error}`);
  for (const [name, r] of Object.entries(report.configs)) if (!r.ok) throw new VerifyError(`README.md: config ${name} does not load with datasets: ${r.error}`);
  return 'ok';
}

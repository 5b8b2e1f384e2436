/**
 * The run's config file: `corpus-qa.config.{json,yaml,yml}` found by `--config FILE`, in the input
 * directory, or in the working directory. It holds the same settings as the flags of
 * `corpus-qa run`, checked by a schema derived from CorpusExportOptions, so a setting means the
 * same thing (and gives the same run) whether it comes from the file or a flag. A flag the user
 * typed wins over the file; the file wins over the flags' defaults. Secrets are never settings.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { RUN_CONFIG_FILE_NAMES } from '../activities/discover.js';
import { UsageError } from './errors.js';
import { isS3Url } from '../activities/storage.js';
import { CorpusExportOptions, NUMERIC_FLAGS, parseQuestionTypes, parseSplitSpec, rangeMessage } from './runOptions.js';

export { RUN_CONFIG_FILE_NAMES };

/** What `corpus-qa init` writes. */
export const STARTER_CONFIG_NAME = 'corpus-qa.config.yaml';

/**
 * Every setting a config file can hold: the run options (camelCase, as CorpusExportOptions names
 * them) but the input directory, which is the `<dir>` argument and where the file is looked for,
 * plus the settings of the local run that are not workflow input.
 */
export const RunConfig = CorpusExportOptions.omit({ inputDir: true })
  .extend({
    // One pattern or a list, as `glob: "**/*.md"` reads naturally.
    globs: z.union([z.string().transform((g) => [g]), z.array(z.string())]),
    // "train=0.9,test=0.1"; a mapping {train: 0.9, test: 0.1} is turned into this first.
    split: z.string(),
    taskQueue: z.string().min(1),
    uiPort: z.number().int().min(1).max(65535),
    progress: z.boolean(),
    worker: z.boolean(),
    // After the run, not part of it: where `corpus-qa push` sends the dataset.
    pushToHub: z.string().min(1),
    hubPrivate: z.boolean(),
  })
  .partial()
  .strict();
export type RunConfig = z.infer<typeof RunConfig>;

export const CONFIG_KEYS = Object.keys(RunConfig.shape) as (keyof RunConfig)[];

/** Config keys whose commander attribute has another name (the rest are the same). */
const ATTRIBUTE_OF: Partial<Record<keyof RunConfig, string>> = {
  outDir: 'out',
  globs: 'glob',
  noCache: 'cache', // --no-cache: commander keeps `cache`, true unless the flag is given
  requestTimeoutSeconds: 'requestTimeout',
  llmStallTimeoutSeconds: 'llmStallTimeout',
  maxCostUsd: 'maxCost',
};

/** The commander attribute (camelCase of the long flag, without "no-") of a config key. */
export function attributeOf(key: keyof RunConfig): string {
  return ATTRIBUTE_OF[key] ?? key;
}

/** The config key of a commander attribute, or undefined when the flag is no setting (--dry-run). */
export function configKeyOf(attribute: string): keyof RunConfig | undefined {
  const renamed = (Object.keys(ATTRIBUTE_OF) as (keyof RunConfig)[]).find((k) => ATTRIBUTE_OF[k] === attribute);
  if (renamed) return renamed;
  return (CONFIG_KEYS as string[]).includes(attribute) ? (attribute as keyof RunConfig) : undefined;
}

/** A key as the user may spell it: the option name, or the flag's spelling (chunk-size, out, max-cost). */
function canonicalKey(key: string): string {
  const camel = key.replace(/[-_]+([a-z0-9])/gi, (_, c: string) => c.toUpperCase());
  return configKeyOf(camel) ?? camel;
}

/** Where a config file is found; undefined when there is none. A usage error when `--config` names no file. */
export function findConfigFile(opts: { explicit?: string; inputDir: string; cwd?: string }): string | undefined {
  if (opts.explicit !== undefined) {
    const file = resolve(opts.cwd ?? process.cwd(), opts.explicit);
    if (!existsSync(file)) throw new UsageError(`--config: ${file} does not exist`);
    if (!statSync(file).isFile()) throw new UsageError(`--config: ${file} is not a file`);
    return file;
  }
  for (const dir of [resolve(opts.inputDir), resolve(opts.cwd ?? process.cwd())]) {
    const found = RUN_CONFIG_FILE_NAMES.map((n) => join(dir, n)).filter((f) => existsSync(f));
    if (found.length > 1) {
      throw new UsageError(`${found.map((f) => basename(f)).join(' and ')} are both in ${dir}: keep one (or name one with --config FILE)`);
    }
    if (found.length === 1) return found[0];
  }
  return undefined;
}

/** The file's text as a plain object; a usage error naming the file (and line) when it does not parse. */
function parseConfigText(file: string, text: string): unknown {
  if (/\.json$/i.test(file)) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new UsageError(`${file}: not valid JSON (${(err as Error).message})`);
    }
  }
  if (/\.ya?ml$/i.test(file)) {
    const doc = parseDocument(text);
    const first = doc.errors[0];
    if (first) {
      const at = first.linePos ? ` at line ${first.linePos[0].line}` : '';
      throw new UsageError(`${file}: not valid YAML${at} (${first.message.split('\n')[0]})`);
    }
    return doc.toJS() ?? {}; // an empty file (or only comments) sets nothing
  }
  throw new UsageError(`--config: ${file}: a config file ends in .json, .yaml or .yml`);
}

/** The closest known key to a misspelt one, when close enough to be a typo. */
function closestKey(key: string): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = row[j]!;
        row[j] = next;
      }
    }
    return row[b.length]!;
  };
  let best: { key: string; d: number } | undefined;
  for (const k of CONFIG_KEYS) {
    const d = distance(norm(key), norm(k));
    if (!best || d < best.d) best = { key: k, d };
  }
  return best && best.d <= 2 ? best.key : undefined;
}

const SECRET_LIKE = /(api[-_]?key|secret|token|password|credential)s?$/i;

function unknownKeyMessage(key: string): string {
  if (SECRET_LIKE.test(key)) {
    return `"${key}": secrets come from the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, read by the worker), never from the config file`;
  }
  if (key === 'inputDir' || key === 'dir' || key === 'input') {
    return `"${key}": the input directory is the <dir> argument of \`corpus-qa run\` (the config file is looked for there), not a setting`;
  }
  const near = closestKey(key);
  return `unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}; the keys are the run's settings, see docs/config.md or \`corpus-qa init\``;
}

/** One bad value: the key, what it expects (the flag's range for numbers) and what it got. */
function valueMessage(key: string, issue: z.core.$ZodIssue, got: unknown): string {
  const range = NUMERIC_FLAGS[key];
  if (range && (issue.code === 'too_small' || issue.code === 'too_big' || issue.code === 'invalid_type')) return rangeMessage(key, range, JSON.stringify(got));
  return `${key}: ${issue.message.replace(/^Invalid (input|option): /, '')} (got ${JSON.stringify(got)})`;
}

/**
 * Checks each value on its own, as the flag would: the ranges of the numbers, the split spec and
 * the question kinds. Rules between settings (an LLM key without --generator) are checked once the
 * file and the flags are merged (resolveRunInput), since a flag may complete the file.
 */
function valueProblems(values: Record<string, unknown>, spelledAs: Record<string, string>): string[] {
  const name = (key: string) => spelledAs[key] ?? key;
  const problems: string[] = [];
  for (const [key, range] of Object.entries(NUMERIC_FLAGS)) {
    const v = values[key];
    if (typeof v !== 'number') continue;
    if ((range.integer && !Number.isInteger(v)) || (range.min !== undefined && v < range.min) || (range.max !== undefined && v > range.max)) {
      problems.push(rangeMessage(name(key), range, v));
    }
  }
  // The flags' own parsers, so both spellings are held to one rule; their message names the flag.
  const check = (key: string, f: () => unknown) => {
    try {
      f();
    } catch (err) {
      problems.push(`${name(key)}: ${(err as Error).message.replace(/^--[a-z-]+: /, '')}`);
    }
  };
  const { split, questionTypes } = values;
  if (typeof split === 'string') check('split', () => parseSplitSpec(split));
  if (typeof questionTypes === 'string' || (Array.isArray(questionTypes) && questionTypes.every((q) => typeof q === 'string'))) {
    check('questionTypes', () => parseQuestionTypes(questionTypes as string | string[]));
  }
  return problems;
}

/** A split given as a mapping ({train: 0.9, test: 0.1}), as the flag's spec: one parser checks both spellings. */
function splitSpecOf(split: unknown): unknown {
  if (split === null || typeof split !== 'object' || Array.isArray(split)) return split;
  const entries = Object.entries(split as Record<string, unknown>);
  return entries.every(([, f]) => typeof f === 'number') ? entries.map(([name, f]) => `${name}=${String(f)}`).join(',') : split;
}

/**
 * Reads and checks a config file. Relative paths in it (outDir) are relative to the file's
 * directory, so the file means the same run wherever the command is typed.
 */
export function readConfigFile(file: string): RunConfig {
  const raw = parseConfigText(file, readFileSync(file, 'utf8'));
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UsageError(`${file}: the top level must be a mapping of settings (key: value), not ${Array.isArray(raw) ? 'a list' : JSON.stringify(raw)}`);
  }
  const normalized: Record<string, unknown> = {};
  const spelledAs: Record<string, string> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const canonical = canonicalKey(key);
    if (canonical in normalized) problems.push(`"${spelledAs[canonical]}" and "${key}" are the same setting: keep one`);
    normalized[canonical] = canonical === 'split' ? splitSpecOf(value) : value;
    spelledAs[canonical] = key;
  }
  const parsed = RunConfig.safeParse(normalized);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) problems.push(unknownKeyMessage(spelledAs[k] ?? k));
      } else {
        const key = String(issue.path[0] ?? '');
        problems.push(valueMessage(spelledAs[key] ?? key, issue, (raw as Record<string, unknown>)[spelledAs[key] ?? key]));
      }
    }
  }
  problems.push(...valueProblems(normalized, spelledAs));
  // A number out of range may fail both the schema and the range check: say it once.
  if (problems.length) throw new UsageError([...new Set(problems)].map((p) => `${file}: ${p}`).join('\n'));
  const config = parsed.data!;
  if (config.outDir !== undefined && !isS3Url(config.outDir)) config.outDir = resolve(dirname(file), config.outDir);
  return config;
}

/**
 * The flags with the config file applied: a setting from the file replaces a flag's value unless
 * the user typed that flag (`sourceOf` says 'cli'), so commander's defaults never hide the file.
 */
export function applyConfig<F extends object>(flags: F, config: RunConfig, sourceOf: (attribute: string) => string | undefined): F {
  const merged = { ...flags } as Record<string, unknown>;
  for (const key of Object.keys(config) as (keyof RunConfig)[]) {
    const value = config[key];
    if (value === undefined) continue;
    const attribute = attributeOf(key);
    if (sourceOf(attribute) === 'cli') continue;
    merged[attribute] = key === 'noCache' ? !value : value;
  }
  return merged as F;
}

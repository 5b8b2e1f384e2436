/**
 * Options a user gives a run, turned into the workflow input, and the run's identity: the
 * workflow id is derived from everything that changes the output, so running the same command
 * again finds the same run instead of starting a new one.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { z } from 'zod';
import { FileFormat, OutputSettings, RunInput, SplitSpec, TrainingFormat, type ResolvedRunInput } from '../schemas/index.js';
import { LlmRuntime, LlmSettings, QuestionKind } from '../schemas/index.js';
import { availableTemplates, templateExists } from '../activities/generate/prompts.js';
import { languageName } from '../activities/language.js';
import { PIPELINE_VERSION } from '../activities/pipeline.js';
import { generatorId } from '../activities/generate/index.js';
import { UsageError } from './errors.js';
import { isS3Url, storeFor } from '../activities/storage.js';

/** The bounds of a zod number schema (through .default()/.optional()). */
function boundsOf(schema: unknown): { min?: number; max?: number } {
  let s = schema as { unwrap?: () => unknown; minValue?: number | null; maxValue?: number | null };
  for (let i = 0; i < 5 && s.unwrap && s.minValue === undefined; i++) s = s.unwrap() as typeof s;
  const big = Number.MAX_SAFE_INTEGER;
  return { min: s.minValue ?? undefined, max: s.maxValue === null || s.maxValue === undefined || s.maxValue >= big ? undefined : s.maxValue };
}

/** Numeric run options: the flag that sets each, and its range (from the schemas, so they cannot drift). */
export const NUMERIC_FLAGS: Record<string, { flag: string; min?: number; max?: number; integer: boolean }> = {
  chunkSize: { flag: '--chunk-size', ...boundsOf(OutputSettings.shape.chunkSize), integer: true },
  chunkOverlap: { flag: '--chunk-overlap', ...boundsOf(OutputSettings.shape.chunkOverlap), integer: true },
  maxPairsPerChunk: { flag: '--max-pairs-per-chunk', ...boundsOf(OutputSettings.shape.maxPairsPerChunk), integer: true },
  maxFileBytes: { flag: '--max-file-mb', integer: false },
  maxFileMb: { flag: '--max-file-mb', integer: false },
  window: { flag: '--concurrency', ...boundsOf(RunInput.shape.window), integer: true },
  concurrency: { flag: '--concurrency', ...boundsOf(RunInput.shape.window), integer: true },
  batchSize: { flag: '--batch-size', ...boundsOf(RunInput.shape.batchSize), integer: true },
  continueAsNewAfter: { flag: '--continue-as-new-after', ...boundsOf(RunInput.shape.continueAsNewAfter), integer: true },
};

/** "--chunk-size: must be between 200 and 100000 (got 50)" */
export function rangeMessage(flag: string, range: { min?: number; max?: number; integer?: boolean }, got: unknown): string {
  const what = range.integer ? 'a whole number' : 'a number';
  const need = range.min !== undefined && range.max !== undefined
    ? `must be between ${range.min} and ${range.max}`
    : range.min !== undefined ? `must be ${what} of at least ${range.min}`
      : range.max !== undefined ? `must be at most ${range.max}` : `must be ${what}`;
  return `${flag}: ${need} (got ${String(got)})`;
}

/** A zod error on the run options, as one sentence per problem that names the flag. */
function usageFromZod(err: z.ZodError, input: Record<string, unknown>): UsageError {
  const lines = err.issues.map((i) => {
    const key = String(i.path[i.path.length - 1] ?? '');
    const known = NUMERIC_FLAGS[key];
    const flag = known?.flag ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const got = key === 'maxFileBytes' ? input.maxFileMb : key === 'window' ? input.concurrency : input[key];
    if (known && (i.code === 'too_small' || i.code === 'too_big' || i.code === 'invalid_type')) return rangeMessage(flag, known, got);
    return `${flag}: ${i.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
  });
  return new UsageError(lines.join('; '));
}

export const CorpusExportOptions = z.object({
  inputDir: z.string().min(1),
  outDir: z.string().min(1),
  globs: z.array(z.string()).optional(),
  generateQa: z.boolean().optional(),
  failFast: z.boolean().optional(),
  chunkSize: z.number().int().optional(),
  chunkOverlap: z.number().int().optional(),
  maxPairsPerChunk: z.number().int().optional(),
  maxFileMb: z.number().positive().optional(),
  /** Activity slots of the CLI's worker (client/runner.ts); also the window unless batches are sized by work. */
  concurrency: z.number().int().min(1).max(500).optional(),
  batchSize: z.number().int().min(1).optional(),
  continueAsNewAfter: z.number().int().min(1).optional(),
  noCache: z.boolean().optional(),
  keepIntermediate: z.boolean().optional(),
  format: TrainingFormat.optional(),
  /** "train=0.9,validation=0.05,test=0.05", or the parsed list. */
  split: z.union([z.string(), z.array(SplitSpec)]).optional(),
  license: z.string().optional(),
  /** Data files as JSON Lines (default) or Parquet shards. */
  fileFormat: FileFormat.optional(),
  /** Parquet only: rows per shard at most (the shards are cut at ~500 MB anyway). */
  shardRows: z.number().int().min(1).optional(),
  /** 'builtin' (offline, default), 'openai' (any OpenAI-compatible server) or 'anthropic'; an LLM implies generateQa. */
  generator: z.enum(['builtin', 'openai', 'anthropic']).optional(),
  /** LLM options (openai/anthropic only). API keys are never options: the worker reads them from its environment. */
  model: z.string().optional(),
  baseUrl: z.string().optional(),
  promptTemplate: z.string().optional(),
  /** A name ("Brazilian Portuguese"), a code the detector knows ("de"), or 'auto': each document's own. */
  language: z.string().optional(),
  /** "what,how,why" or the list: the only kinds of question asked for (default: all, mixed). */
  questionTypes: z.union([z.string(), z.array(z.string())]).optional(),
  temperature: z.number().optional(),
  maxTokens: z.number().int().optional(),
  requestTimeoutSeconds: z.number().positive().optional(),
  judge: z.boolean().optional(),
  minScore: z.number().optional(),
  /** False (--no-prompt-cache): no Anthropic prompt caching of long passages (on by default). */
  promptCache: z.boolean().optional(),
  /** How LLM requests are sent (never part of the run's identity: they change no answer). */
  llmConcurrency: z.number().int().optional(),
  rpm: z.number().optional(),
  tpm: z.number().optional(),
  llmStallTimeoutSeconds: z.number().optional(),
  maxCostUsd: z.number().optional(),
  priceIn: z.number().optional(),
  priceOut: z.number().optional(),
  batchApi: z.boolean().optional(),
  batchPollSeconds: z.number().optional(),
});
export type CorpusExportOptions = z.infer<typeof CorpusExportOptions>;

const LLM_FLAGS = {
  model: '--model',
  baseUrl: '--base-url',
  promptTemplate: '--prompt-template',
  language: '--language',
  questionTypes: '--question-types',
  temperature: '--temperature',
  maxTokens: '--max-tokens',
  requestTimeoutSeconds: '--request-timeout',
  judge: '--judge',
  minScore: '--min-score',
  promptCache: '--no-prompt-cache',
  llmConcurrency: '--llm-concurrency',
  rpm: '--rpm',
  tpm: '--tpm',
  llmStallTimeoutSeconds: '--llm-stall-timeout',
  maxCostUsd: '--max-cost',
  priceIn: '--price-in',
  priceOut: '--price-out',
  batchApi: '--batch-api',
  batchPollSeconds: '--batch-poll-seconds',
} as const;

const RUNTIME_FLAGS: Record<string, string> = {
  concurrency: '--llm-concurrency',
  rpm: '--rpm',
  tpm: '--tpm',
  stallSeconds: '--llm-stall-timeout',
  maxCostUsd: '--max-cost',
  priceIn: '--price-in',
  priceOut: '--price-out',
  batchApi: '--batch-api',
  batchPollSeconds: '--batch-poll-seconds',
};

/** How an LLM run sends its requests; undefined for the built-in generator. */
function resolveLlmRuntime(o: CorpusExportOptions, llm: LlmSettings | undefined): ResolvedRunInput['llmRuntime'] {
  if (!llm) return undefined;
  const parsed = LlmRuntime.safeParse({
    concurrency: o.llmConcurrency,
    rpm: o.rpm,
    tpm: o.tpm,
    stallSeconds: o.llmStallTimeoutSeconds,
    maxCostUsd: o.maxCostUsd,
    priceIn: o.priceIn,
    priceOut: o.priceOut,
    batchApi: o.batchApi ?? false,
    batchPollSeconds: o.batchPollSeconds,
  });
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${RUNTIME_FLAGS[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

/** The LLM part of the settings, with errors that name the flag. Keys are not here, by design. */
function resolveLlmSettings(o: CorpusExportOptions): LlmSettings | undefined {
  const generator = o.generator ?? 'builtin';
  if (generator === 'builtin') {
    // --no-prompt-cache is given as false; every other LLM flag as a value or true.
    const given = (Object.keys(LLM_FLAGS) as (keyof typeof LLM_FLAGS)[]).filter((k) => (k === 'promptCache' ? o[k] === false : o[k] !== undefined && o[k] !== false));
    if (given.length) throw new Error(`${given.map((k) => LLM_FLAGS[k]).join(', ')}: only with --generator openai or --generator anthropic`);
    return undefined;
  }
  if (!o.model) {
    throw new Error(`--generator ${generator} needs --model (e.g. ${generator === 'openai' ? 'gpt-4o-mini, or llama3.1 on Ollama' : 'claude-haiku-4-5'})`);
  }
  if (o.baseUrl !== undefined && !/^https?:\/\/[^/]/.test(o.baseUrl)) {
    throw new Error(`--base-url: "${o.baseUrl}" is not an http(s) URL (e.g. http://localhost:11434/v1)`);
  }
  if (o.baseUrl !== undefined && /^https?:\/\/[^/]*@|[?#]/.test(o.baseUrl)) {
    // The base URL is workflow input, visible in the Temporal UI: a key must never ride in it.
    throw new Error('--base-url must not carry credentials or a query string (it is shown in the Temporal UI); put the key in OPENAI_API_KEY or ANTHROPIC_API_KEY');
  }
  if (o.promptTemplate !== undefined && !templateExists(o.promptTemplate)) {
    throw new Error(`--prompt-template: no template "${o.promptTemplate}" (available: ${availableTemplates().join(', ')})`);
  }
  const parsed = LlmSettings.safeParse({
    model: o.model,
    baseUrl: o.baseUrl?.replace(/\/+$/, ''),
    template: o.promptTemplate,
    language: o.language === undefined ? undefined : languageSetting(o.language),
    questionTypes: o.questionTypes === undefined ? undefined : parseQuestionTypes(o.questionTypes),
    temperature: o.temperature,
    maxTokens: o.maxTokens,
    timeoutMs: o.requestTimeoutSeconds === undefined ? undefined : Math.round(o.requestTimeoutSeconds * 1000),
    judge: o.judge ?? false,
    minScore: o.minScore,
    // Absent unless turned off, so the settings of every other run are what they were. Only
    // Anthropic's requests change with it: on OpenAI it must not make the same run another one.
    promptCache: o.promptCache === false && generator === 'anthropic' ? false : undefined,
  });
  if (!parsed.success) {
    const flagOf: Record<string, string> = { ...LLM_FLAGS, template: '--prompt-template', timeoutMs: '--request-timeout' };
    throw new Error(parsed.error.issues.map((i) => `${flagOf[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; '));
  }
  if (!parsed.data.judge && o.minScore !== undefined) throw new Error('--min-score: only with --judge');
  return parsed.data;
}

/** 'auto' as is, a known code as its name ("de" → "German", as prompts say it), any other name as given. */
function languageSetting(language: string): string {
  const l = language.trim();
  return l.toLowerCase() === 'auto' ? 'auto' : (languageName(l) ?? l);
}

/** Spellings people use for the kinds whose names have an underscore. */
const KIND_ALIASES: Record<string, QuestionKind> = { 'how-many': 'how_many', 'how-much': 'how_many', how_much: 'how_many', 'yes-no': 'yes_no', 'yes/no': 'yes_no', yesno: 'yes_no' };

/** "what, How-Many,why" → ['what', 'how_many', 'why']; an unknown kind is a usage error that lists the known ones. */
export function parseQuestionTypes(spec: string | string[]): QuestionKind[] {
  const names = (typeof spec === 'string' ? spec.split(',') : spec).map((n) => n.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0) throw new Error(`--question-types: name at least one kind (${QuestionKind.options.join(', ')})`);
  const kinds = names.map((n) => QuestionKind.safeParse(KIND_ALIASES[n] ?? n));
  const unknown = names.filter((_, i) => !kinds[i]!.success);
  if (unknown.length) {
    throw new Error(`--question-types: unknown kind${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} (known: ${QuestionKind.options.join(', ')})`);
  }
  return kinds.map((k) => k.data!);
}

/** "train=0.9,validation=0.05,test=0.05" → splits; fractions must sum to 1, names be unique. */
export function parseSplitSpec(spec: string): SplitSpec[] {
  const splits = spec.split(',').map((part) => {
    const m = /^\s*([^=\s]+)\s*=\s*([0-9.]+)\s*$/.exec(part);
    if (!m) throw new Error(`--split: "${part}" is not name=fraction (e.g. train=0.9,test=0.1)`);
    return SplitSpec.parse({ name: m[1], fraction: Number(m[2]) });
  });
  const names = splits.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new Error(`--split: a split name appears twice (${names.join(', ')})`);
  const sum = splits.reduce((a, s) => a + s.fraction, 0);
  if (Math.abs(sum - 1) > 1e-6) throw new Error(`--split: fractions add up to ${sum}, not 1`);
  return splits;
}

/** The workflow input for these options; a UsageError (naming the flag) when they are not valid. */
export function resolveRunInput(options: CorpusExportOptions): ResolvedRunInput {
  try {
    return resolveRunInputUnchecked(options);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err instanceof z.ZodError) throw usageFromZod(err, options as Record<string, unknown>);
    throw new UsageError((err as Error).message);
  }
}

function resolveRunInputUnchecked(options: CorpusExportOptions): ResolvedRunInput {
  const o = CorpusExportOptions.parse(options);
  const llm = resolveLlmSettings(o);
  const settings = OutputSettings.parse({
    // Choosing an LLM generator means generating: --generator openai implies --generate-qa.
    generateQa: (o.generateQa ?? false) || llm !== undefined,
    generator: o.generator,
    llm,
    chunkSize: o.chunkSize,
    chunkOverlap: o.chunkOverlap,
    maxPairsPerChunk: o.maxPairsPerChunk,
    maxFileBytes: o.maxFileMb === undefined ? undefined : Math.round(o.maxFileMb * 1024 * 1024),
    format: o.format,
    splits: o.split === undefined ? undefined : typeof o.split === 'string' ? parseSplitSpec(o.split) : o.split,
    license: o.license,
    // JSON Lines is the absence of a file format: its runs keep the identity they always had.
    ...(o.fileFormat === 'parquet' ? { fileFormat: 'parquet', ...(o.shardRows !== undefined ? { parquetShardRows: o.shardRows } : {}) } : {}),
  });
  if (o.shardRows !== undefined && o.fileFormat !== 'parquet') throw new Error('--shard-rows: only with --file-format parquet');
  if (settings.chunkOverlap >= settings.chunkSize) {
    throw new Error(`--chunk-overlap (${settings.chunkOverlap}) must be smaller than --chunk-size (${settings.chunkSize})`);
  }
  const inputDir = resolve(o.inputDir);
  const outDir = resolveOutDir(o.outDir);
  if (inputDir === outDir) throw new Error('--out must not be the input directory itself');
  const llmRuntime = resolveLlmRuntime(o, llm);
  return RunInput.parse({
    inputDir,
    outDir,
    globs: [...new Set(o.globs ?? [])].sort(),
    settings,
    failFast: o.failFast ?? false,
    ...batching(o, settings.generator, llmRuntime?.concurrency),
    continueAsNewAfter: o.continueAsNewAfter,
    noCache: o.noCache ?? false,
    keepIntermediate: o.keepIntermediate ?? false,
    ...(llmRuntime ? { llmRuntime } : {}),
  });
}

/** Worker activity slots without --concurrency; client/runner.ts uses the same 4. */
const DEFAULT_SLOTS = 4;

/**
 * An LLM run's batch size without --batch-size, unless --llm-concurrency asks for more. 20
 * (the schema's default) left the limiter short at --llm-concurrency 8: the lanes of four
 * batches of 20 one-request documents had 2-3% of its slots idle and 0.93-0.96 of the ideal
 * request rate against a 200 ms server, 32 gave 0.96-0.97 and every slot busy (bench/llm.ts,
 * docs/llm-throughput.md).
 */
export const LLM_BATCH_SIZE = 32;
/** The batch size a run input has when it names none (schemas: RunInput.batchSize). */
const INPUT_DEFAULT_BATCH_SIZE: number = RunInput.shape.batchSize.parse(undefined);

/**
 * Batch size and window. Without --batch-size the workflow sizes batches by work, and for the
 * built-in generator the window is twice the worker's slots: when a slot frees, the next batch is
 * already queued at the server instead of waiting for a workflow task to schedule it. LLM
 * batches take minutes, so they keep one batch per slot (a queued batch would also carry an
 * older --max-cost spend). An explicit --batch-size behaves exactly as before.
 *
 * An LLM batch holds at least --llm-concurrency documents (and at least LLM_BATCH_SIZE): then one batch alone can fill the
 * worker's limiter, and while another batch ends (its last documents, its result going to the
 * workflow, the next one being scheduled) the batches still running keep every slot busy. With
 * one-chunk documents and 20 per batch, 64 slots sat mostly idle (docs/llm-throughput.md).
 */
function batching(o: CorpusExportOptions, generator: OutputSettings['generator'], llmConcurrency: number | undefined): Pick<RunInput, 'batchSize' | 'window' | 'adaptiveBatches'> {
  if (o.batchSize !== undefined) return { batchSize: o.batchSize, window: o.concurrency };
  const slots = o.concurrency ?? DEFAULT_SLOTS;
  const maxWindow = boundsOf(RunInput.shape.window).max ?? slots;
  if (generator === 'builtin') return { adaptiveBatches: true, window: Math.min(maxWindow, 2 * slots) };
  const maxBatch = boundsOf(RunInput.shape.batchSize).max ?? LLM_BATCH_SIZE;
  const batchSize = Math.min(maxBatch, Math.max(LLM_BATCH_SIZE, llmConcurrency ?? 0));
  // The schema's default stays implicit, so inputs that have it are written as they always were.
  return { adaptiveBatches: true, window: slots, ...(batchSize !== INPUT_DEFAULT_BATCH_SIZE ? { batchSize } : {}) };
}

/**
 * What makes a run this run: the inputs, every setting that changes the output, and the versions
 * of the code that makes it (the pipeline and the generator), so that after an upgrade the same
 * command starts a new run instead of answering "Already complete" with the old output. The LLM
 * journal is keyed by request, so replies already paid for are still reused.
 * The file format and shard size are in `settings` too (absent for JSON Lines).
 */
export function runIdentity(run: ResolvedRunInput): Record<string, unknown> {
  return {
    inputDir: run.inputDir,
    outDir: run.outDir,
    globs: run.globs,
    failFast: run.failFast,
    ...run.settings,
    pipeline: PIPELINE_VERSION,
    generatorVersion: run.settings.generateQa ? generatorId(run.settings) : null,
  };
}

/** Stable id: the same inputs and output-changing settings give the same id on any machine. */
export function workflowIdFor(run: ResolvedRunInput): string {
  const identity = JSON.stringify(runIdentity(run));
  return `corpus-qa-${createHash('sha256').update(identity).digest('hex').slice(0, 20)}`;
}

/** Human-readable list of what differs between two identities ("chunkSize 1500 → 800"). */
export function identityChanges(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => `${k} ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`);
}

/**
 * --out as a run names it: an absolute local path, or an s3://bucket/prefix URL without its
 * trailing '/' (so that the same place is the same run, and the same embedded-server state).
 */
export function resolveOutDir(out: string): string {
  if (!isS3Url(out)) return resolve(out);
  try {
    return storeFor(out).root;
  } catch (err) {
    throw new Error(`--out: ${(err as Error).message}`);
  }
}

/** For the commands that read a finished output's files in place (verify, push, review): a local directory. */
export function localOutDir(out: string, command: string): string {
  if (isS3Url(out)) {
    throw new UsageError(`${command}: ${out} is in a bucket; ${command} reads a local directory (copy it first, e.g. \`aws s3 sync ${out} ./dataset --exclude '.corpus-qa/*'\`)`);
  }
  return resolve(out);
}

/**
 * The `corpus-qa` command line. Exit codes:
 *   0    done (document errors are warnings)
 *   1    the run failed, or was stopped by a policy (--fail-fast hit a bad document, --max-cost
 *        reached), or a --glob matched nothing; also any unexpected error
 *   2    bad usage only (a UsageError or a flag commander rejects): nothing was started
 *   3    infrastructure: the Temporal server stopped or cannot be reached, the disk is full
 *        (run the same command again to resume)
 *   130  interrupted (Ctrl-C; resumable)
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { dirname, join, resolve } from 'node:path';
import { QuestionKind, type RunResult } from '../schemas/index.js';
import { DEFAULT_TASK_QUEUE, toolVersion } from '../worker/index.js';
import { planRun } from './commands/plan.js';
import { deletionsPending, isS3Url, OUTPUT_FILES, removeIntermediate, removeJournal, stateDir, STATE_DIR_NAME } from '../activities/storage.js';
import { costMicroUsd, formatUsd, priceFor } from '../activities/generate/pricing.js';
import type { LlmEstimate } from '../activities/generate/estimate.js';
import { createProgressView } from './progressView.js';
import { localOutDir, resolveOutDir, resolveRunInput, workflowIdFor, type CorpusExportOptions } from './runOptions.js';
import { isServerUnreachable, preflight, RunInterrupted, runCorpusExport } from './runner.js';
import { InfrastructureError, UsageError } from './errors.js';
import { installCliRuntime } from './server/quietLogs.js';
import { runStandaloneWorker } from './commands/worker.js';
import { NUMERIC_FLAGS, rangeMessage } from './runOptions.js';
import { FilePlan } from '../activities/discover.js';
import { relative } from 'node:path';
import { RunConflictError } from './api.js';
import { cancelRun, runStatus } from './commands/operate.js';
import { verifyOutput, VerifyError } from './commands/verify.js';
import { clusterTarget } from './server/connection.js';
import { listRuns, serveUi } from './commands/inspect.js';
import { applyConfig, findConfigFile, readConfigFile, RUN_CONFIG_FILE_NAMES, STARTER_CONFIG_NAME } from './config.js';
import { starterConfig } from './commands/init.js';
import { existsSync, writeFileSync } from 'node:fs';
import { reviewCommand } from './commands/review.js';
import { resolveHubToken, resolveHubUrl } from './commands/hubAuth.js';
import { checkRepoName, formatPushResult, pushDataset } from './commands/push.js';
import { formatInspected, inspectText, summaryLine, writeOutput } from './commands/inspectText.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

/** A whole-number flag checked against its range in the schemas: "--chunk-size: must be between 200 and 100000 (got 50)". */
function rangedInt(key: keyof typeof NUMERIC_FLAGS): (value: string) => number {
  const range = NUMERIC_FLAGS[key]!;
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || (range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
      throw new UsageError(rangeMessage(range.flag, range, value));
    }
    return n;
  };
}

function port(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(rangeMessage(flag, { min: 1, max: 65535, integer: true }, value));
    return n;
  };
}

const EXIT_CODES = `
Exit codes:
  0    done (documents that could not be used are warnings, listed in errors.jsonl)
  1    the run failed or was stopped by a policy (--fail-fast, --max-cost), or --glob matched nothing
  2    bad usage (a flag or argument is wrong); nothing was started
  3    infrastructure: the Temporal server stopped or cannot be reached, or the disk is full;
       run the same command again to resume
  130  interrupted (Ctrl-C): run the same command again to resume`;

/**
 * --glob given and nothing matches: say so, with what the input does hold, before any server starts.
 * Returns the message, or undefined when something matches.
 */
async function globMatchesNothing(options: CorpusExportOptions): Promise<string | undefined> {
  const run = resolveRunInput(options);
  if (run.globs.length === 0) return undefined;
  const input = { inputDir: run.inputDir, outDir: run.outDir, maxFileBytes: run.settings.maxFileBytes };
  // Walked, not listed: the first match ends the check, and the count keeps five names.
  for await (const _ of new FilePlan({ ...input, globs: run.globs }).files()) return undefined;
  const some: string[] = [];
  let count = 0;
  for await (const f of new FilePlan({ ...input, globs: [] }).files()) if (count++ < 5) some.push(f.source);
  const lines = [`warning: --glob ${run.globs.map((g) => JSON.stringify(g)).join(', ')} matched none of the ${count} files in ${run.inputDir}; nothing to do.`];
  if (count) {
    lines.push(`  files there include: ${some.join(', ')}${count > 5 ? `, ... (${count - 5} more)` : ''}`);
  } else {
    lines.push('  the input directory holds no files (hidden files and directories are skipped)');
  }
  lines.push('  hint: globs are matched against paths relative to the input directory, e.g. "**/*.md" for Markdown files at any depth ("*.md" matches only the top level)');
  const absolute = run.globs.filter((g) => g.startsWith('/') || g.startsWith('./') || g.startsWith('../'));
  if (absolute.length) lines.push(`  hint: ${absolute.join(', ')}: write the pattern relative to ${run.inputDir}, without a leading / or ./ (e.g. "${relative(run.inputDir, absolute[0]!.startsWith('/') ? absolute[0]! : resolve(absolute[0]!)) || '**/*'}")`);
  return lines.join('\n');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** "1 row", "2 rows". */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
}

export interface RunFlags {
  out?: string;
  /** A file to read settings from; false with --no-config. */
  config?: string | false;
  glob: string[];
  generateQa?: boolean;
  failFast?: boolean;
  dryRun?: boolean;
  concurrency?: number;
  chunkSize?: number;
  chunkOverlap?: number;
  maxPairsPerChunk?: number;
  maxFileMb?: number;
  batchSize?: number;
  continueAsNewAfter?: number;
  taskQueue: string;
  worker: boolean;
  fresh?: boolean;
  uiPort?: number;
  progress: boolean;
  cache: boolean;
  keepIntermediate?: boolean;
  format?: 'qa' | 'messages' | 'alpaca' | 'prompt-completion';
  split?: string;
  license?: string;
  fileFormat?: 'jsonl' | 'parquet';
  shardRows?: number;
  generator?: 'builtin' | 'openai' | 'anthropic';
  model?: string;
  baseUrl?: string;
  promptTemplate?: string;
  language?: string;
  questionTypes?: string;
  temperature?: number;
  maxTokens?: number;
  requestTimeout?: number;
  judge?: boolean;
  minScore?: number;
  promptCache?: boolean;
  llmConcurrency?: number;
  rpm?: number;
  tpm?: number;
  llmStallTimeout?: number;
  maxCost?: number;
  priceIn?: number;
  priceOut?: number;
  batchApi?: boolean;
  batchPollSeconds?: number;
  pushToHub?: string;
  hubPrivate?: boolean;
}

export function toOptions(dir: string, f: RunFlags): CorpusExportOptions {
  if (f.out === undefined) throw new UsageError('--out is required (or outDir in a config file, see `corpus-qa init`)');
  return {
    inputDir: dir,
    outDir: f.out,
    globs: f.glob,
    generateQa: f.generateQa ?? false,
    failFast: f.failFast ?? false,
    concurrency: f.concurrency,
    chunkSize: f.chunkSize,
    chunkOverlap: f.chunkOverlap,
    maxPairsPerChunk: f.maxPairsPerChunk,
    maxFileMb: f.maxFileMb,
    batchSize: f.batchSize,
    continueAsNewAfter: f.continueAsNewAfter,
    noCache: !f.cache,
    keepIntermediate: f.keepIntermediate ?? false,
    format: f.format,
    split: f.split,
    license: f.license,
    fileFormat: f.fileFormat,
    shardRows: f.shardRows,
    generator: f.generator,
    model: f.model,
    baseUrl: f.baseUrl,
    promptTemplate: f.promptTemplate,
    language: f.language,
    questionTypes: f.questionTypes,
    temperature: f.temperature,
    maxTokens: f.maxTokens,
    requestTimeoutSeconds: f.requestTimeout,
    judge: f.judge,
    minScore: f.minScore,
    promptCache: f.promptCache === false ? false : undefined,
    llmConcurrency: f.llmConcurrency,
    rpm: f.rpm,
    tpm: f.tpm,
    llmStallTimeoutSeconds: f.llmStallTimeout,
    maxCostUsd: f.maxCost,
    priceIn: f.priceIn,
    priceOut: f.priceOut,
    batchApi: f.batchApi,
    batchPollSeconds: f.batchPollSeconds,
  };
}

async function dryRun(options: CorpusExportOptions): Promise<void> {
  const run = resolveRunInput(options);
  const plan = await planRun(run);
  const out: string[] = [
    `Dry run: nothing is written, no server is started.`,
    `  input:      ${run.inputDir}${run.globs.length ? `  (globs: ${run.globs.join(', ')})` : ''}`,
    `  output:     ${run.outDir}`,
    `  workflow:   ${workflowIdFor(run)}`,
    `  documents:  ${plan.documents} (${formatBytes(plan.bytes)})`,
  ];
  for (const [kind, k] of Object.entries(plan.byKind).sort()) {
    out.push(`    ${kind.padEnd(9)} ${String(k.documents).padStart(7)} docs  ${formatBytes(k.bytes)}`);
  }
  if (plan.knownErrors) out.push(`  already known to fail: ${plan.knownErrors} (unreadable or too large)`);
  if (plan.skipped) out.push(`  skipped entries: ${plan.skipped} (symlinks that loop or leave the input, unlistable dirs)`);
  out.push(`  estimated chunks: ~${plan.estimatedChunks} (chunk size ${run.settings.chunkSize}, overlap ${run.settings.chunkOverlap})`);
  out.push(
    !run.settings.generateQa
      ? `  generation: off (add --generate-qa); the run exports chunks to ${run.settings.fileFormat === 'parquet' ? 'data/chunks-*.parquet' : 'data/chunks.jsonl'}`
      : plan.llm
        ? `  estimated LLM requests: ~${plan.llm.requests} (one per chunk${run.settings.llm?.judge ? ', and one per chunk for the judge' : ''}; ` +
          `${run.settings.generator} ${run.settings.llm?.model}), ~${plan.llm.promptTokens} prompt + ~${plan.llm.completionTokens} completion tokens ` +
          `(characters / 4; a malformed reply costs one more request)`
        : `  estimated generation calls: ~${plan.estimatedGenerationCalls} (one per chunk, built-in generator)`,
  );
  if (plan.llm && run.settings.llm) {
    const price = priceFor(run.settings.llm, run.llmRuntime ?? {});
    const batch = run.llmRuntime?.batchApi ?? false;
    out.push(price.source === 'unknown'
      ? `  estimated cost: unknown (${price.note})`
      : `  estimated cost: ~${formatUsd(costMicroUsd(price, plan.llm.promptTokens, plan.llm.completionTokens, batch, plan.llm))} (${price.note}${batch ? ', Batch API half price' : ''}` +
        `${cacheNote(plan.llm)})` +
        (run.llmRuntime?.maxCostUsd !== undefined ? `; --max-cost $${run.llmRuntime.maxCostUsd}` : ''));
  }
  for (const w of plan.warnings.slice(0, 10)) out.push(`  warning: ${w}`);
  if (plan.warnings.length > 10) out.push(`  ... and ${plan.warnings.length - 10} more warnings`);
  console.log(out.join('\n'));
}

/** What the estimate counts of Anthropic's prompt cache (promptCache.ts estimatePassageCache). */
function cacheNote(llm: LlmEstimate): string {
  if (!llm.cacheWriteTokens) return '';
  return llm.cacheReadTokens
    ? `; prompt cache, judged by the average chunk: ~${llm.cacheWriteTokens} passage tokens written at 1.25x, read by the judge at 0.1x`
    : `; prompt cache: ~${llm.cacheWriteTokens} passage tokens written at 1.25x, the judge's round counted as a second write (it may come after the cache expired)`;
}

/**
 * The run's shards are deleted in the background (storage.ts retireIntermediate) and the process
 * exits when that is done: a second at 10,000 documents, minutes at a million. Said only when it
 * lasts, so that a prompt that does not come back is explained.
 */
function sayWhileDeleting(outDir: string): void {
  setTimeout(() => {
    if (deletionsPending() > 0) console.error(`Deleting the run's shards in ${stateDir(outDir)}/trash (Ctrl-C is safe: the next run finishes it).`);
  }, 2000).unref();
}

/**
 * The run's summary, from the export's tally (what the files hold). `generateQa` is the run's own
 * setting, not guessed from the files' names (a chunks run with no chunk writes no chunks file).
 */
function printResult(result: RunResult, generateQa: boolean): void {
  const e = result.export;
  const lines = [
    `Done: ${plural(result.documents, 'document')}, ${e.loaded} loaded, ${e.errors} failed, ${e.chunks} chunks.`,
  ];
  if (generateQa) {
    const reasons = e.rejectedByReason;
    lines.push(`Pairs: ${e.pairsPassed} passed, ${e.pairsRejected} rejected` +
      (Object.keys(reasons).length ? ` (${formatCounts(reasons)})` : '') + '.');
  }
  lines.push(`Wrote to ${result.outDir}:`);
  // As wide as the longest name: Parquet shard names are longer than the JSON Lines ones.
  const width = Math.max(24, ...Object.keys(e.files).map((f) => f.length));
  for (const [file, info] of Object.entries(e.files)) lines.push(`  ${file.padEnd(width)} ${plural(info.rows, 'row')}`);
  lines.push(`  ${OUTPUT_FILES.stats}`, generateQa && e.pairsPassed === 0
    ? '  README.md (dataset card; no pair passed, so load_dataset(<out>) has no data to load)'
    : '  README.md (dataset card: load_dataset(<out>) works)');
  for (const w of result.warnings ?? []) lines.push(`Skipped: ${w}`);
  if (e.errors > 0) {
    const errorsFile = Object.keys(e.files).find((f) => f.startsWith('errors/')) ?? OUTPUT_FILES.errors;
    lines.push(`Warning: ${plural(e.errors, 'document')} could not be used (${formatCounts(e.failedByReason)}); see ${errorsFile}.`);
  }
  console.log(lines.join('\n'));
}

/** Repo, token and Hub for a push, checked before anything starts (a UsageError: exit 2). */
function hubTarget(repo: string, hubUrlFlag?: string): { repo: string; token: string; hubUrl: string } {
  checkRepoName(repo);
  return { repo, token: resolveHubToken(), hubUrl: resolveHubUrl(hubUrlFlag) };
}


/**
 * The flags with the config file applied (--config FILE, else one in <dir> or the working
 * directory), and the file used. Says which file it read: a setting nobody typed should be traceable.
 */
export function withConfigFile(dir: string, flags: RunFlags, command: Command): { flags: RunFlags; configFile?: string } {
  if (flags.config === false) return { flags };
  const configFile = findConfigFile({ explicit: flags.config, inputDir: dir });
  if (!configFile) return { flags };
  const config = readConfigFile(configFile);
  console.error(`Config: ${configFile}`);
  return { flags: applyConfig(flags, config, (attribute) => command.getOptionValueSource(attribute)), configFile };
}

async function runCommand(dir: string, flags: RunFlags, configFile?: string): Promise<number> {
  const options = toOptions(dir, flags);
  if (configFile) {
    // A rule between settings (--min-score without --judge) may join the file and a flag: say both.
    try {
      resolveRunInput(options);
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(`${err.message} (settings from ${configFile} and the command line)`);
      throw err;
    }
  }
  if (flags.dryRun) {
    await dryRun(options);
    return 0;
  }
  // Everything that needs no server first: nothing is started or created on bad input.
  preflight(options);
  if (flags.hubPrivate && !flags.pushToHub) throw new UsageError('--hub-private: only with --push-to-hub <user/name>');
  const push = flags.pushToHub ? hubTarget(flags.pushToHub) : undefined;
  const nothing = await globMatchesNothing(options);
  if (nothing) {
    console.error(nothing);
    return 1;
  }
  const view = flags.progress ? createProgressView() : undefined;
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { result, handle } = await runCorpusExport(options, {
      target: clusterTarget(),
      taskQueue: flags.taskQueue,
      worker: flags.worker,
      fresh: flags.fresh,
      uiPort: flags.uiPort,
      signal: abort.signal,
      // The process exits right after: let the server finish stopping on its own.
      stopServerInBackground: true,
      installRuntime: installCliRuntime,
      onStarted: ({ handle, uiUrl, server }) => {
        if (server) console.error(`Temporal dev server ${server.address} (database ${server.dbPath})`);
        // Said once per run: where the server of a bucket's run lives on this machine (the same command finds it again).
        if (server && isS3Url(resolveRunInput(options).outDir)) console.error(`Run state of ${resolveRunInput(options).outDir} on this machine: ${dirname(server.dbPath)} (CORPUS_QA_STATE_DIR moves it)`);
        for (const note of handle.notes) console.error(`Note: ${note}`);
        const verb = { started: 'Started', attached: 'Attached to running', completed: 'Found completed' }[handle.status];
        console.error(`${verb} workflow ${handle.workflowId}`);
        if (uiUrl) console.error(`Temporal UI: ${uiUrl}`);
      },
      onProgress: view ? (p) => view.update(p) : undefined,
    });
    view?.stop();
    if (handle.status === 'completed') {
      console.log(`Already complete: outputs in ${result.outDir} are untouched (use --fresh to start over).`);
    }
    printResult(result, resolveRunInput(options).settings.generateQa);
    sayWhileDeleting(result.outDir);
    if (!push) return 0;
    // A client-side step after the run, never part of it: a failed upload leaves the run complete.
    try {
      console.log(formatPushResult(await pushDataset({ ...push, outDir: result.outDir, private: flags.hubPrivate, onProgress: (l) => console.error(l) })));
      return 0;
    } catch (err) {
      console.error(`error: ${(err as Error).message}\nThe dataset in ${result.outDir} is complete: \`corpus-qa push ${result.outDir} ${push.repo}\` uploads it.`);
      return 1;
    }
  } catch (err) {
    view?.stop();
    if (err instanceof RunInterrupted) {
      console.error(`\nStopped. The run is kept: run the same command again to resume where it left off.`);
      return 130;
    }
    if (err instanceof WorkflowFailedError) {
      // The root cause says what to fix: an activity's failure sits under "Activity task failed".
      let cause = err.cause as { message?: string; type?: string; cause?: unknown } | undefined;
      while (cause?.cause instanceof Error) cause = cause.cause as typeof cause;
      console.error(`error: the run failed: ${cause?.message ?? err.message}`);
      return 1;
    }
    if (err instanceof RunConflictError) {
      console.error(`error: ${err.message}`);
      return 1;
    }
    if (err instanceof InfrastructureError) {
      console.error(`\nerror: ${err.message}\n${err.hint[0]!.toUpperCase()}${err.hint.slice(1)}.`);
      return 3;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function workerCommand(flags: { taskQueue: string; concurrency: number }): Promise<number> {
  const target = clusterTarget();
  if (!target) {
    console.error('error: `corpus-qa worker` needs TEMPORAL_ADDRESS (host:port of the Temporal server) or a Temporal config profile');
    return 2;
  }
  return runStandaloneWorker(target, flags);
}

export function buildProgram(): Command {
  const program = new Command()
    .name('corpus-qa')
    .description('Turn a directory of documents into a question/answer dataset that HuggingFace `datasets` loads as is.\n' +
      'Runs as a durable Temporal workflow: kill it, run the same command again, and it resumes.')
    .version(toolVersion())
    .showHelpAfterError('(run with --help for usage)')
    // Throw instead of exiting, so main() maps usage errors to exit code 2. Set before the
    // subcommands are added: they inherit it.
    .exitOverride()
    .addHelpText('after', EXIT_CODES);

  program
    .command('run')
    .description('discover, load, chunk (and with --generate-qa: generate and validate) and export a corpus')
    .argument('<dir>', 'input directory, read recursively (hidden files and dirs are skipped)')
    .option('-o, --out <dir>', 'output directory (data/, rejected/, errors.jsonl, stats.json, README.md), or s3://bucket/prefix (docs/s3.md); required, here or as outDir in the config file')
    .option('--config <file>', `read the run's settings from this file (default: ${RUN_CONFIG_FILE_NAMES.join(', ')} in <dir>, else in the working directory); a flag typed here wins over it`)
    .option('--no-config', 'read no config file, even if one is there')
    .option('-g, --glob <pattern>', 'only files whose path relative to <dir> matches (repeatable), e.g. "**/*.md"', collect, [])
    .option('--generate-qa', 'generate question/answer pairs (built-in offline generator); without it, export chunks')
    .option('--fail-fast', 'stop the run at the first document that cannot be used, and exit 1')
    .option('--dry-run', 'print the plan (documents per type, bytes, estimated chunks and calls); write nothing')
    .option('-c, --concurrency <n>', 'processing activities run at once by the local worker (1-500); the workflow keeps twice as many batches queued for it with the built-in generator', rangedInt('concurrency'), 4)
    .option('--chunk-size <chars>', 'maximum characters per chunk (200-100000)', rangedInt('chunkSize'), 1500)
    .option('--chunk-overlap <chars>', 'characters of the previous chunk repeated at the start of the next (0-10000)', rangedInt('chunkOverlap'), 150)
    .option('--max-pairs-per-chunk <n>', 'upper bound on generated pairs per chunk (1-50)', rangedInt('maxPairsPerChunk'), 8)
    .option('--max-file-mb <mb>', 'files larger than this are reported as too_large', positiveNumber, 50)
    .option('--fresh', 'start a new run even if the same command already completed (kept shards are reused)')
    .addOption(new Option('--format <format>', 'row format of the passed pairs').choices(['qa', 'messages', 'alpaca', 'prompt-completion']).default('qa'))
    .option('--split <spec>', 'document-level splits, e.g. train=0.9,validation=0.05,test=0.05 (default: all train)')
    .option('--license <id>', 'license written to the dataset card, e.g. cc-by-4.0 (should match your documents)')
    .addOption(new Option('--file-format <format>', 'files as JSON Lines, or Parquet shards in the Hub naming (data/<split>-00000-of-00001.parquet, rejected/train-…, errors/train-…)').choices(['jsonl', 'parquet']).default('jsonl'))
    .addOption(new Option('--shard-rows <n>', 'with --file-format parquet: at most this many rows per shard (default: shards of ~500 MB)').argParser(positiveInt))
    .addOption(new Option('--generator <name>', 'QA generator: builtin (offline), openai (any OpenAI-compatible server) or anthropic; openai/anthropic imply --generate-qa').choices(['builtin', 'openai', 'anthropic']))
    .option('--model <name>', 'LLM model (openai/anthropic), e.g. gpt-4o-mini, llama3.1 (Ollama), claude-haiku-4-5')
    .option('--base-url <url>', 'LLM server, e.g. http://localhost:11434/v1 (Ollama), http://localhost:8000/v1 (vLLM)')
    .option('--prompt-template <name>', 'prompt template (a versioned file in activities/generate/prompts; default qa-v2, qa-v1 still runs)')
    .option('--language <language>', 'language of the generated questions and answers: a name, a code (en, de, fr, es, it, pt, nl), or auto: each document\'s own, detected per document (default English)')
    .option('--question-types <kinds>', `only these kinds of question, comma-separated: ${QuestionKind.options.join(', ')} (default: all, mixed); openai/anthropic only: the built-in generator asks what each passage's structure supports`)
    .addOption(new Option('--temperature <t>', 'LLM sampling temperature (default: the server\'s)').argParser(Number))
    .addOption(new Option('--max-tokens <n>', 'LLM reply token limit (default: the server\'s; 4096 for anthropic)').argParser(positiveInt))
    .addOption(new Option('--request-timeout <seconds>', 'per-request LLM timeout; a timed-out request is retried (default 120)').argParser(Number))
    .option('--judge', 'score every pair with the same LLM (groundedness, usefulness); below --min-score it is rejected (low_score)')
    .addOption(new Option('--min-score <n>', 'with --judge: lowest score (1-5) a pair may have (default 3)').argParser(Number))
    .option('--no-prompt-cache', 'anthropic: do not send passages long enough for prompt caching (1,024 tokens; 2,048 for Haiku 3.x; 4,096 for Haiku 4.5, Opus 4.5/4.6) as a cached system block shared by generation and the judge')
    .addOption(new Option('--llm-concurrency <n>', 'LLM requests in flight at once per worker, over all documents (default 16; halved on 429s, then raised again)').argParser(positiveInt))
    .addOption(new Option('--rpm <n>', 'at most this many LLM requests per minute per worker (for a known quota)').argParser(positiveNumber))
    .addOption(new Option('--tpm <n>', 'at most this many LLM tokens per minute per worker (prompt estimated as characters / 4)').argParser(positiveNumber))
    .addOption(new Option('--llm-stall-timeout <seconds>', 'end the run (resumable) when the LLM server has answered nothing for this long (default 300)').argParser(positiveNumber))
    .addOption(new Option('--max-cost <usd>', 'stop cleanly once the replies cost this much at list price; the same command with a higher budget continues').argParser(positiveNumber))
    .addOption(new Option('--price-in <usd>', 'USD per million prompt tokens (overrides the built-in price table)').argParser(Number))
    .addOption(new Option('--price-out <usd>', 'USD per million completion tokens (overrides the built-in price table)').argParser(Number))
    .addOption(new Option('--batch-poll-seconds <s>', 'with --batch-api: first wait between looks at a batch, growing to 10 minutes (default 30)').argParser(positiveNumber))
    .option('--batch-api', 'send LLM requests through the provider\'s Batch API (OpenAI /v1/batches, Anthropic Message Batches): half price, results within hours, waited for durably')
    .option('--push-to-hub <user/name>', 'after the export, upload the dataset to this HuggingFace Hub dataset repo (as `corpus-qa push`; token from HF_TOKEN)')
    .option('--hub-private', 'with --push-to-hub: create the repo private')
    .option('--no-cache', 'process every document again even if an earlier run left its shard')
    .option('--keep-intermediate', 'keep the manifest and per-document shards after export (makes re-runs after edits incremental)')
    .option('--task-queue <name>', 'Temporal task queue', DEFAULT_TASK_QUEUE)
    .option('--no-worker', 'do not run a worker in this process (workers run elsewhere: `corpus-qa worker`)')
    .option('--no-progress', 'no progress bar or progress lines')
    .addOption(new Option('--batch-size <n>', 'documents per processing activity (1-1000); default: sized by the work (about 1.5 s per batch, learnt as the run goes) for the built-in generator, max(32, --llm-concurrency) for LLM backends').argParser(rangedInt('batchSize')))
    .addOption(new Option('--continue-as-new-after <n>', 'documents per workflow run before continue-as-new').argParser(rangedInt('continueAsNewAfter')))
    .addOption(new Option('--ui-port <port>', 'port for the embedded Temporal UI (1-65535)').argParser(port('--ui-port')))
    .addHelpText('after', `
Environment:
  TEMPORAL_ADDRESS     use this Temporal server (host:port) instead of starting the embedded one
  TEMPORAL_NAMESPACE   namespace on that server (default: default)
  TEMPORAL_CLI_PATH    the temporal binary used for the embedded server
  OPENAI_API_KEY       key for --generator openai, read by the worker (any value for a local server)
  ANTHROPIC_API_KEY    key for --generator anthropic, read by the worker; keys never enter the workflow
  HF_TOKEN, HF_ENDPOINT  token and Hub for --push-to-hub (see corpus-qa push --help)

Config file: every setting above can live in corpus-qa.config.yaml (or .yml, .json) in <dir> or
the working directory, or in the file given with --config; \`corpus-qa init\` writes a commented one.
Keys are the options in camelCase (chunkSize: 800); API keys never go there.

Without TEMPORAL_ADDRESS, a local Temporal dev server is started with its database in
<out>/.corpus-qa/temporal.db, and the Temporal UI address is printed.

Examples:
  corpus-qa run ./docs --out ./dataset --generate-qa
  corpus-qa run ./docs --out ./chunks --glob "**/*.md" --glob "**/*.pdf"
  corpus-qa run ./docs --out ./dataset --generate-qa --dry-run
  corpus-qa run ./docs --config ./corpus-qa.config.yaml
  corpus-qa run ./docs --out ./dataset --generator openai --base-url http://localhost:11434/v1 --model llama3.1
  corpus-qa run ./docs --out ./dataset --generator anthropic --model claude-haiku-4-5 --language auto --question-types who,when,how_many
${EXIT_CODES}`)
    .action(async (dir: string, typed: RunFlags, command: Command) => {
      const { flags, configFile } = withConfigFile(resolve(dir), typed, command);
      process.exitCode = await runCommand(resolve(dir), flags, configFile);
    });

  program
    .command('init')
    .description(`write a commented starter config file (${STARTER_CONFIG_NAME}) that \`corpus-qa run\` reads: every setting, its default and what it does`)
    .argument('[dir]', 'where to write it: the input directory, or the directory you run corpus-qa from', '.')
    .option('--force', `overwrite an existing ${STARTER_CONFIG_NAME}`)
    .action((dir: string, flags: { force?: boolean }) => {
      const file = join(resolve(dir), STARTER_CONFIG_NAME);
      const others = RUN_CONFIG_FILE_NAMES.map((n) => join(resolve(dir), n)).filter((f) => f !== file && existsSync(f));
      if (others.length) throw new UsageError(`${others.join(', ')} already configures runs here; remove it first (two config files in one directory are an error)`);
      if (existsSync(file) && !flags.force) throw new UsageError(`${file} exists; add --force to overwrite it`);
      const run = program.commands.find((c) => c.name() === 'run')!;
      writeFileSync(file, starterConfig(run.options));
      console.log(`Wrote ${file}: uncomment a line to set it, then \`corpus-qa run <dir>\`.`);
    });

  program
    .command('verify')
    .description('check an output directory: JSON, row schemas, column order, counts against stats.json, the card')
    .argument('<out>', 'output directory of a run')
    .option('--with-datasets', 'also load every file and config with Python `datasets` (the venv from scripts/setup.sh)')
    .action(async (out: string, flags: { withDatasets?: boolean }) => {
      try {
        const report = await verifyOutput(localOutDir(out, 'verify'), { withDatasets: flags.withDatasets });
        const rows = Object.values(report.files).reduce((a, b) => a + b, 0);
        console.log(`OK: ${Object.keys(report.files).length} files, ${rows} rows` +
          (report.datasets === 'ok' ? ', all load with datasets' : report.datasets === 'skipped' ? ' (datasets check skipped: no Python venv)' : ''));
      } catch (err) {
        if (!(err instanceof VerifyError)) throw err;
        console.error(`error: ${err.message}`);
        process.exitCode = 1;
      }
    });

  program.addCommand(reviewCommand());

  program
    .command('push')
    .description('upload a finished output directory to a dataset repo on the HuggingFace Hub (card, configs, data files; never .corpus-qa/)')
    .argument('<out>', 'output directory of a completed run (it must pass `corpus-qa verify`)')
    .argument('<repo>', 'dataset repo, <user or org>/<name>; created if missing')
    .option('--private', 'create the repo private (an existing repo keeps its visibility)')
    .option('--revision <branch>', 'commit to this branch, created from main if missing (default main)')
    .option('--hub-url <url>', 'the Hub (default: HF_ENDPOINT, else https://huggingface.co)')
    .option('--message <text>', 'commit message (default "Upload dataset with corpus-qa")')
    .addHelpText('after', `
Environment:
  HF_TOKEN       a token with write access; else the token file: HF_TOKEN_PATH, else $HF_HOME/token
                 (default ~/.cache/huggingface/token, written by \`hf auth login\`)
  HF_ENDPOINT    the Hub, when --hub-url is not given

Example:
  corpus-qa push ./dataset alice/lantern-qa --private`)
    .action(async (out: string, repo: string, flags: { private?: boolean; revision?: string; hubUrl?: string; message?: string }) => {
      const target = hubTarget(repo, flags.hubUrl);
      const result = await pushDataset({ ...target, outDir: localOutDir(out, 'push'), private: flags.private, revision: flags.revision, message: flags.message, onProgress: (l) => console.error(l) });
      console.log(formatPushResult(result));
    });

  program
    .command('inspect-text')
    .description('print the text a run extracts from one document (with --chunks, its chunks); no server needed')
    .argument('<file>', 'the document (its kind comes from the extension, as in a run)')
    .option('--chunks', 'print each chunk with its id, offsets, title and section')
    .option('--chunk-size <chars>', 'maximum characters per chunk (200-100000; default 1500)', rangedInt('chunkSize'))
    .option('--chunk-overlap <chars>', 'characters repeated from the previous chunk (0-10000; default 150)', rangedInt('chunkOverlap'))
    .option('--json', 'print one JSON object (the error row, for a file a run could not read)')
    .action(async (file: string, flags: { chunks?: boolean; chunkSize?: number; chunkOverlap?: number; json?: boolean }) => {
      const inspected = await inspectText(file, flags);
      await writeOutput(formatInspected(inspected, flags));
      console.error(summaryLine(inspected));
      if (!inspected.ok) process.exitCode = 1;
    });

  program
    .command('status')
    .description('show the state and progress of the run in <out> (or --workflow-id)')
    .argument('[out]', 'output directory of the run')
    .option('--workflow-id <id>', 'the run\'s workflow id (default: the last run started in <out>)')
    .action(async (out: string | undefined, flags: { workflowId?: string }) => {
      const st = await runStatus({ outDir: out, workflowId: flags.workflowId, target: clusterTarget() });
      const lines = [`${st.workflowId}: ${st.status} (started ${st.startTime.toISOString()}${st.closeTime ? `, ended ${st.closeTime.toISOString()}` : ''})`];
      if (st.progress) {
        const c = st.progress.counters;
        lines.push(`  ${st.progress.phase}: ${c.documentsDone}/${st.progress.documents} documents, ${c.failed} failed, ${c.chunks} chunks, ` +
          `${c.pairsPassed} pairs passed, ${c.pairsRejected} rejected, ${st.progress.inFlight} batches in flight, workflow run ${st.progress.runsSoFar}`);
      } else if (st.status === 'RUNNING') {
        lines.push('  no worker is answering for this run (it resumes when `corpus-qa run` runs again)');
        if (st.storage) lines.push(`  from storage: ${st.storage.withShard} of ${st.storage.documents} documents processed`);
      }
      console.log(lines.join('\n'));
    });

  program
    .command('cancel')
    .description('cancel the run in <out> (or --workflow-id): workers stop, shards are kept, no partial output')
    .argument('[out]', 'output directory of the run')
    .option('--workflow-id <id>', 'the run\'s workflow id (default: the last run started in <out>)')
    .option('--task-queue <name>', 'Temporal task queue', DEFAULT_TASK_QUEUE)
    .action(async (out: string | undefined, flags: { workflowId?: string; taskQueue: string }) => {
      console.log(await cancelRun({ outDir: out, workflowId: flags.workflowId, taskQueue: flags.taskQueue, target: clusterTarget() }));
    });

  program
    .command('ui')
    .description('serve the Temporal UI on the embedded database of the run in <out> (Ctrl-C to stop)')
    .argument('<out>', 'output directory of a run')
    .addOption(new Option('--ui-port <port>', 'port for the UI (1-65535)').argParser(port('--ui-port')))
    .action(async (out: string, flags: { uiPort?: number }) => {
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      process.once('SIGTERM', () => abort.abort());
      await serveUi(out, { uiPort: flags.uiPort, signal: abort.signal, onReady: (url) => console.log(`Temporal UI: ${url}  (Ctrl-C to stop)`) });
    });

  program
    .command('list')
    .description('list the corpus-qa runs on the server (TEMPORAL_ADDRESS), or on the embedded server of [out]')
    .argument('[out]', 'output directory whose embedded server to look in (when TEMPORAL_ADDRESS is unset)')
    .action(async (out: string | undefined) => {
      const runs = await listRuns({ target: clusterTarget(), outDir: out });
      if (runs.length === 0) {
        console.log('no corpus-qa runs');
        return;
      }
      for (const r of runs) {
        const p = r.progress ? ` ${r.progress.phase} ${r.progress.counters.documentsDone}/${r.progress.documents} docs` : '';
        const docs = r.documents !== undefined ? ` ${r.documents} docs` : '';
        console.log(`${r.workflowId}  ${r.status.padEnd(10)} ${r.startTime.toISOString()}${docs}${p}  ${r.outDir}`);
      }
    });

  program
    .command('clean')
    .description('remove the run state in <out>/.corpus-qa (manifest, shards); with --journal also the LLM replies paid for')
    .argument('<out>', 'output directory of a run')
    .option('--journal', 'also delete the LLM request journal: the next run pays for every request again')
    .action(async (out: string, flags: { journal?: boolean }) => {
      const dir = resolveOutDir(out);
      await removeIntermediate(dir);
      const lines = [`Removed the manifest and shards in ${isS3Url(dir) ? `${dir}/${STATE_DIR_NAME}` : stateDir(dir)}.`];
      if (flags.journal) lines.push(`Removed the LLM journal (${await removeJournal(dir)} replies).`);
      else lines.push('Kept the LLM journal (the replies paid for); add --journal to remove it too.');
      console.log(lines.join('\n'));
    });

  program
    .command('worker')
    .description('run a standalone worker against TEMPORAL_ADDRESS (for clusters and several machines)')
    .option('--task-queue <name>', 'Temporal task queue', DEFAULT_TASK_QUEUE)
    .option('-c, --concurrency <n>', 'activities run at once by this worker', positiveInt, 4)
    .option('--scratch-dir <dir>', 'local directory for staging files of runs whose --out is s3:// (default CORPUS_QA_SCRATCH_DIR, else one under the system temp directory)')
    .action(async (flags: { taskQueue: string; concurrency: number; scratchDir?: string }) => {
      // The activities read it from the environment: one place for the run's own worker and this one.
      if (flags.scratchDir) process.env.CORPUS_QA_SCRATCH_DIR = resolve(flags.scratchDir);
      process.exitCode = await workerCommand({ taskQueue: flags.taskQueue, concurrency: flags.concurrency });
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `corpus-qa … | head`: the reader is gone, which is no error of ours (Node would throw EPIPE).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  try {
    await buildProgram().parseAsync(argv);
    // The server is gone: the gRPC client may still hold retry timers for calls to it (see
    // client/runner.ts); they would keep the process alive for their whole backoff. Everything
    // is said and the run state is on disk, so end now.
    if (process.exitCode === 3) process.exit(3);
    // Interrupted: the run is kept and everything is said. Something may still hold the event loop
    // after an early Ctrl-C (two MessagePorts of a worker-thread pool stay open, also before this
    // change); do not leave the user waiting on it.
    if (process.exitCode === 130) process.exit(130);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed the message (or the help) already.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    // Only usage errors exit 2; the server or the disk 3; anything else is a failed run (1).
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}\n(run with --help for usage)`);
      process.exitCode = 2;
    } else if (err instanceof InfrastructureError || isServerUnreachable(err)) {
      console.error(`error: ${(err as Error).message}`);
      process.exitCode = 3;
    } else {
      console.error(`error: ${(err as Error).message}`);
      process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
    }
  }
}

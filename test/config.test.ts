/**
 * The run's config file: where it is found, how it is read and checked, how it merges with the
 * flags (a typed flag wins, a default never does), the starter file `corpus-qa init` writes, and
 * one real run configured by file that matches the same run configured by flags byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { planFiles } from '../activities/discover.js';
import { buildProgram, toOptions, withConfigFile, type RunFlags } from '../client/cli.js';
import { CONFIG_KEYS, configKeyOf, findConfigFile, readConfigFile } from '../client/config.js';
import { UsageError } from '../client/errors.js';
import { resolveRunInput, workflowIdFor } from '../client/runOptions.js';
import { writeFixtureCorpus } from './helpers/corpus.js';
import { readJsonl, tempDir, treeHashes } from './helpers/files.js';
import { temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'corpus-qa.mjs');

function cli(args: string[], env: Record<string, string | undefined> = {}, cwd?: string) {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete fullEnv[k];
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: fullEnv, cwd, timeout: 170_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A directory with one file in it. */
function dirWith(name: string, text: string): { dir: string; file: string } {
  const dir = tempDir('cfg');
  writeFileSync(join(dir, name), text);
  return { dir, file: join(dir, name) };
}

/** The message of the UsageError `f` throws (and that it is one). */
function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

/** `corpus-qa run <args>` parsed by the real program, stopped before it runs: the options it would run with. */
async function runOptionsFor(args: string[], cwd?: string) {
  const program = buildProgram();
  const run = program.commands.find((c) => c.name() === 'run')!;
  let parsed: { dir: string; flags: RunFlags; command: Command } | undefined;
  run.action((dir: string, flags: RunFlags, command: Command) => {
    parsed = { dir: resolve(dir), flags, command };
  });
  await program.parseAsync(['run', ...args], { from: 'user' });
  const previous = process.cwd();
  if (cwd) process.chdir(cwd);
  try {
    const { flags, configFile } = withConfigFile(parsed!.dir, parsed!.flags, parsed!.command);
    return { options: toOptions(parsed!.dir, flags), flags, configFile };
  } finally {
    process.chdir(previous);
  }
}

describe('finding the config file', () => {
  it('takes --config first, then <dir>, then the working directory', () => {
    const input = dirWith('corpus-qa.config.yaml', 'chunkSize: 800\n');
    const cwd = dirWith('corpus-qa.config.json', '{"chunkSize": 900}');
    const named = dirWith('my-settings.yml', 'chunkSize: 1000\n');
    expect(findConfigFile({ explicit: named.file, inputDir: input.dir, cwd: cwd.dir })).toBe(named.file);
    expect(findConfigFile({ inputDir: input.dir, cwd: cwd.dir })).toBe(input.file);
    expect(findConfigFile({ inputDir: tempDir('empty'), cwd: cwd.dir })).toBe(cwd.file);
    expect(findConfigFile({ inputDir: tempDir('empty'), cwd: tempDir('empty') })).toBeUndefined();
  });

  it('is a usage error when --config names no file, or when one directory holds two', () => {
    expect(usageMessage(() => findConfigFile({ explicit: '/nonexistent/corpus-qa.config.yaml', inputDir: tempDir('in') })))
      .toBe('--config: /nonexistent/corpus-qa.config.yaml does not exist');
    const both = dirWith('corpus-qa.config.yaml', 'chunkSize: 800\n');
    writeFileSync(join(both.dir, 'corpus-qa.config.json'), '{}');
    expect(usageMessage(() => findConfigFile({ inputDir: both.dir }))).toMatch(/corpus-qa\.config\.json and corpus-qa\.config\.yaml are both in .*: keep one/);
  });

  it('is not a document of the corpus it configures', async () => {
    const corpus = dirWith('corpus-qa.config.yaml', 'chunkSize: 800\n');
    writeFileSync(join(corpus.dir, 'notes.txt'), 'Some text.\n');
    mkdirSync(join(corpus.dir, 'sub'));
    // Only the top-level file configures the run; a file of that name deeper down is just a file.
    writeFileSync(join(corpus.dir, 'sub', 'corpus-qa.config.json'), '{}');
    const plan = await planFiles({ inputDir: corpus.dir, outDir: join(tempDir('o'), 'out'), globs: [], maxFileBytes: 1e6 });
    expect(plan.files.map((f) => f.source)).toEqual(['notes.txt', 'sub/corpus-qa.config.json']);
  });
});

describe('reading a config file', () => {
  it('reads YAML and JSON, camelCase and the flag spelling, to the same settings', () => {
    const yaml = dirWith('corpus-qa.config.yaml', [
      '# a comment',
      'out: ./dataset',
      'generate-qa: true',
      'chunk-size: 800',
      'glob: "**/*.md"',
      'split: {train: 0.9, test: 0.1}',
      'max-cost: 2.5',
      'no-cache: true',
      'task-queue: q1',
    ].join('\n'));
    const json = dirWith('settings.json', JSON.stringify({
      outDir: './dataset', generateQa: true, chunkSize: 800, globs: ['**/*.md'], split: 'train=0.9,test=0.1', maxCostUsd: 2.5, noCache: true, taskQueue: 'q1',
    }));
    const fromYaml = readConfigFile(yaml.file);
    const fromJson = readConfigFile(json.file);
    // Relative paths are relative to the file, wherever the command is typed.
    expect(fromYaml).toEqual({
      outDir: join(yaml.dir, 'dataset'), generateQa: true, chunkSize: 800, globs: ['**/*.md'], split: 'train=0.9,test=0.1', maxCostUsd: 2.5, noCache: true, taskQueue: 'q1',
    });
    expect({ ...fromJson, outDir: undefined }).toEqual({ ...fromYaml, outDir: undefined });
  });

  it('reads an empty file (or only comments) as no settings', () => {
    expect(readConfigFile(dirWith('corpus-qa.config.yaml', '# nothing set yet\n').file)).toEqual({});
  });

  it('names the file and the key of an unknown key, and suggests the one meant', () => {
    const { file } = dirWith('corpus-qa.config.yaml', 'chunkSise: 800\n');
    expect(usageMessage(() => readConfigFile(file))).toBe(
      `${file}: unknown key "chunkSise" (did you mean "chunkSize"?); the keys are the run's settings, see docs/config.md or \`corpus-qa init\``);
  });

  it('refuses secrets: they come from the environment', () => {
    const { file } = dirWith('corpus-qa.config.yaml', 'generator: openai\napiKey: sk-live-123\nANTHROPIC_API_KEY: sk-ant-1\n');
    const message = usageMessage(() => readConfigFile(file));
    expect(message).toContain(`${file}: "apiKey": secrets come from the environment`);
    expect(message).toContain(`${file}: "ANTHROPIC_API_KEY": secrets come from the environment`);
    expect(message).not.toContain('sk-live-123');
  });

  it('names the key, the file and what is expected for a bad value: every problem at once', () => {
    const { file } = dirWith('corpus-qa.config.yaml', [
      'chunk-size: 50',
      'concurrency: lots',
      'format: csv',
      'split: {train: 0.5, test: 0.6}',
      'questionTypes: [what, whom]',
      'generateQa: "yes"',
    ].join('\n'));
    expect(usageMessage(() => readConfigFile(file)).split('\n').sort()).toEqual([
      `${file}: chunk-size: must be between 200 and 100000 (got 50)`,
      `${file}: concurrency: must be between 1 and 500 (got "lots")`,
      `${file}: format: expected one of "qa"|"messages"|"alpaca"|"prompt-completion" (got "csv")`,
      `${file}: generateQa: expected boolean, received string (got "yes")`,
      `${file}: questionTypes: unknown kind "whom" (known: what, which, who, when, where, how_many, how, why, yes_no, comparison)`,
      `${file}: split: fractions add up to 1.1, not 1`,
    ].sort());
  });

  it('names the file and line of a syntax error, and rejects what is not a mapping', () => {
    const yaml = dirWith('corpus-qa.config.yaml', 'chunkSize: 800\nglobs: [a\n');
    expect(usageMessage(() => readConfigFile(yaml.file))).toMatch(new RegExp(`^${yaml.file}: not valid YAML at line \\d`));
    const json = dirWith('corpus-qa.config.json', '{"chunkSize": 800,}');
    expect(usageMessage(() => readConfigFile(json.file))).toMatch(new RegExp(`^${json.file}: not valid JSON`));
    const list = dirWith('corpus-qa.config.yaml', '- chunkSize: 800\n');
    expect(usageMessage(() => readConfigFile(list.file))).toBe(`${list.file}: the top level must be a mapping of settings (key: value), not a list`);
  });

  it('says where the input directory goes, and that one setting spelt twice is one too many', () => {
    const input = dirWith('corpus-qa.config.yaml', 'inputDir: ./docs\n');
    expect(usageMessage(() => readConfigFile(input.file))).toContain('"inputDir": the input directory is the <dir> argument of `corpus-qa run`');
    const twice = dirWith('corpus-qa.config.yaml', 'chunkSize: 800\nchunk-size: 900\n');
    expect(usageMessage(() => readConfigFile(twice.file))).toBe(`${twice.file}: "chunkSize" and "chunk-size" are the same setting: keep one`);
  });
});

describe('config file and flags together', () => {
  it('takes the file over the defaults and a typed flag over the file', async () => {
    const { dir, file } = dirWith('corpus-qa.config.yaml', [
      'outDir: ../from-config',
      'chunkSize: 800',
      'chunkOverlap: 100',
      'concurrency: 2',
      'format: messages',
      'globs: ["**/*.md"]',
      'noCache: true',
      'taskQueue: from-config',
      'progress: false',
    ].join('\n'));
    const byFile = await runOptionsFor([dir]);
    expect(byFile.configFile).toBe(file);
    expect(byFile.options).toMatchObject({
      outDir: resolve(dir, '..', 'from-config'), chunkSize: 800, chunkOverlap: 100, concurrency: 2, format: 'messages', globs: ['**/*.md'], noCache: true,
    });
    expect(byFile.flags).toMatchObject({ taskQueue: 'from-config', progress: false });
    // Defaults of the flags the file does not set stay.
    expect(byFile.options).toMatchObject({ maxPairsPerChunk: 8, maxFileMb: 50 });

    const typed = await runOptionsFor([dir, '--chunk-size', '900', '--glob', '**/*.txt', '--out', '/tmp/typed', '--format', 'qa', '--concurrency', '4']);
    expect(typed.options).toMatchObject({ outDir: '/tmp/typed', chunkSize: 900, chunkOverlap: 100, concurrency: 4, format: 'qa', globs: ['**/*.txt'], noCache: true });
  });

  it('reads no file with --no-config, and the named one with --config', async () => {
    const { dir } = dirWith('corpus-qa.config.yaml', 'outDir: ../x\nchunkSize: 800\n');
    const none = await runOptionsFor([dir, '--no-config', '--out', '/tmp/none']);
    expect(none.configFile).toBeUndefined();
    expect(none.options.chunkSize).toBe(1500);
    const named = dirWith('other.json', '{"outDir": "out", "chunkSize": 1200}');
    const byName = await runOptionsFor([dir, '--config', named.file]);
    expect(byName.configFile).toBe(named.file);
    expect(byName.options).toMatchObject({ chunkSize: 1200, outDir: join(named.dir, 'out') });
  });

  it('finds the file in the working directory when <dir> has none', async () => {
    const cwd = dirWith('corpus-qa.config.json', '{"outDir": "dataset", "generateQa": true}');
    const input = tempDir('input');
    const found = await runOptionsFor([input], cwd.dir);
    expect(found.configFile).toBe(cwd.file);
    expect(found.options).toMatchObject({ outDir: join(cwd.dir, 'dataset'), generateQa: true });
  });

  it('gives the same workflow input, and so the same run, as the same settings typed as flags', async () => {
    const out = join(tempDir('same'), 'dataset');
    const { dir } = dirWith('corpus-qa.config.yaml', [
      `outDir: ${out}`,
      'generateQa: true',
      'chunkSize: 800',
      'chunkOverlap: 100',
      'maxPairsPerChunk: 4',
      'maxFileMb: 50', // the default, set explicitly: the same run as leaving it out
      'format: alpaca',
      'split: {train: 0.8, test: 0.2}',
      'license: cc-by-4.0',
      'glob: "**/*.md"',
      'failFast: true',
    ].join('\n'));
    const byFile = await runOptionsFor([dir]);
    const byFlags = await runOptionsFor([dir, '--no-config', '--out', out, '--generate-qa', '--chunk-size', '800', '--chunk-overlap', '100',
      '--max-pairs-per-chunk', '4', '--format', 'alpaca', '--split', 'train=0.8,test=0.2', '--license', 'cc-by-4.0', '--glob', '**/*.md', '--fail-fast']);
    expect(resolveRunInput(byFile.options)).toEqual(resolveRunInput(byFlags.options));
    expect(workflowIdFor(resolveRunInput(byFile.options))).toBe(workflowIdFor(resolveRunInput(byFlags.options)));
    // And a setting changed in the file is another run.
    const changed = dirWith('corpus-qa.config.yaml', readFileSync(join(dir, 'corpus-qa.config.yaml'), 'utf8').replace('chunkSize: 800', 'chunkSize: 900'));
    const other = await runOptionsFor([dir, '--config', changed.file]);
    expect(workflowIdFor(resolveRunInput(other.options))).not.toBe(workflowIdFor(resolveRunInput(byFlags.options)));
  });

  it('turns Anthropic prompt caching off by --no-prompt-cache or promptCache: false alike; left on, the settings are those of before', async () => {
    const out = join(tempDir('cache'), 'dataset');
    const llm = ['--generator', 'anthropic', '--model', 'claude-sonnet-4-6', '--judge', '--chunk-size', '6000'];
    const { dir } = dirWith('corpus-qa.config.yaml', `outDir: ${out}\npromptCache: false\n`);
    const byFile = resolveRunInput((await runOptionsFor([dir, ...llm])).options);
    const byFlag = resolveRunInput((await runOptionsFor([dir, '--no-config', '--out', out, ...llm, '--no-prompt-cache'])).options);
    const on = resolveRunInput((await runOptionsFor([dir, '--no-config', '--out', out, ...llm])).options);
    expect(byFile.settings.llm?.promptCache).toBe(false);
    expect(byFile).toEqual(byFlag);
    // On is the default and is not written (as workflow input is serialized): the same settings, and workflow id, as before the flag existed.
    expect(JSON.stringify(on.settings.llm)).not.toContain('promptCache');
    expect(workflowIdFor(on)).not.toBe(workflowIdFor(byFlag));
  });

  it('names the file when a rule between settings fails after the merge', () => {
    const { dir, file } = dirWith('corpus-qa.config.yaml', 'minScore: 4\n');
    const r = cli(['run', dir, '--out', join(tempDir('o'), 'out'), '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: --min-score: only with --generator openai or --generator anthropic (settings from ${file} and the command line)`);
  });

  it('needs an output directory from a flag or the file', async () => {
    await expect(runOptionsFor([tempDir('in')], tempDir('cwd'))).rejects.toThrow(new UsageError('--out is required (or outDir in a config file, see `corpus-qa init`)'));
  });
});

describe('corpus-qa init', () => {
  /** The starter with every setting line uncommented. */
  function uncommented(text: string): string {
    return text.replace(/^# (?=[a-zA-Z]+: )/gm, '');
  }

  it('writes a starter that lists every setting, parses, and still validates with every line uncommented', () => {
    const dir = tempDir('init');
    const r = cli(['init', dir]);
    expect(r.code).toBe(0);
    const file = join(dir, 'corpus-qa.config.yaml');
    expect(r.stdout).toContain(`Wrote ${file}`);
    const text = readFileSync(file, 'utf8');
    expect(readConfigFile(file)).toEqual({ outDir: join(dir, 'dataset'), generateQa: true });
    for (const key of CONFIG_KEYS) expect(text).toMatch(new RegExp(`^(# )?${key}: `, 'm'));
    expect(text).toMatch(/^# --chunk-size: maximum characters per chunk \(200-100000\) \[default: 1500\]\n# chunkSize: 1500$/m);
    const all = join(dir, 'all.yaml');
    writeFileSync(all, uncommented(text));
    expect(Object.keys(readConfigFile(all)).sort()).toEqual([...CONFIG_KEYS].sort());
  });

  it('has a setting for every flag of `run` that is one, and a flag for every setting', () => {
    const run = buildProgram().commands.find((c) => c.name() === 'run')!;
    const notSettings = run.options.filter((o) => !configKeyOf(o.attributeName())).map((o) => o.long);
    expect(notSettings.sort()).toEqual(['--config', '--dry-run', '--fresh', '--no-config'].sort());
    const keys = new Set(run.options.map((o) => configKeyOf(o.attributeName())));
    expect(CONFIG_KEYS.filter((k) => !keys.has(k))).toEqual([]);
  });

  it('refuses to overwrite a config file unless --force', () => {
    const dir = tempDir('init-again');
    writeFileSync(join(dir, 'corpus-qa.config.yaml'), 'chunkSize: 800\n');
    const refused = cli(['init', dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${join(dir, 'corpus-qa.config.yaml')} exists; add --force to overwrite it`);
    expect(readFileSync(join(dir, 'corpus-qa.config.yaml'), 'utf8')).toBe('chunkSize: 800\n');
    expect(cli(['init', dir, '--force']).code).toBe(0);
    expect(readFileSync(join(dir, 'corpus-qa.config.yaml'), 'utf8')).toMatch(/^# corpus-qa run settings/);
  });

  it('is in the command list, and --config in `run --help`', () => {
    const program = buildProgram();
    expect(program.helpInformation()).toMatch(/init \[options\] \[dir\]\s+write a commented starter config file/);
    const help = program.commands.find((c) => c.name() === 'run')!.helpInformation();
    expect(help).toContain('--config <file>');
    expect(help).toContain('--no-config');
  });
});

describe('a run configured by file', () => {
  it('gives the same data files as the same run by flags, and the flags find it complete', () => {
    const corpus = writeFixtureCorpus(tempDir('cfg-run')).root;
    const parent = tempDir('cfg-run-out');
    const byFile = join(parent, 'by-file');
    const byFlags = join(parent, 'by-flags');
    const env = { TEMPORAL_ADDRESS: temporalAddress() };
    const configFile = join(corpus, 'corpus-qa.config.yaml');
    writeFileSync(configFile, [
      `outDir: ${relative(corpus, byFile)}`, // relative to the file, not to the working directory
      'generateQa: true',
      'chunk-size: 600',
      'chunkOverlap: 60',
      'maxPairsPerChunk: 3',
      'format: messages',
      'split: {train: 0.5, test: 0.5}',
      'license: cc-by-4.0',
      `taskQueue: ${uniqueTaskQueue()}`,
      'progress: false',
    ].join('\n'));
    const flags = ['--generate-qa', '--chunk-size', '600', '--chunk-overlap', '60', '--max-pairs-per-chunk', '3', '--format', 'messages',
      '--split', 'train=0.5,test=0.5', '--license', 'cc-by-4.0', '--no-progress'];

    const first = cli(['run', corpus], env, tempDir('cwd'));
    expect(first.stderr).toContain(`Config: ${configFile}`);
    expect(first.code).toBe(0);
    const errors = readJsonl<{ source: string }>(join(byFile, 'errors.jsonl'));
    expect(errors.map((e) => e.source)).not.toContain('corpus-qa.config.yaml');
    expect(errors).toHaveLength(4); // the fixture's bad documents, and nothing else
    const rows = readJsonl(join(byFile, 'data', 'train.jsonl'));
    expect(Object.keys(rows[0]!)).toContain('messages');

    const second = cli(['run', corpus, '--no-config', '--out', byFlags, '--task-queue', uniqueTaskQueue(), ...flags], env);
    expect(second.code).toBe(0);
    expect(second.stderr).not.toContain('Config:');
    const dataFiles = (dir: string) => Object.fromEntries(Object.entries(treeHashes(dir)).filter(([f]) => /^(data|rejected)\/|^errors\.jsonl$/.test(f)));
    expect(Object.keys(dataFiles(byFile)).sort()).toEqual(['data/test.jsonl', 'data/train.jsonl', 'errors.jsonl', 'rejected/rejected.jsonl'].sort());
    expect(dataFiles(byFlags)).toEqual(dataFiles(byFile));

    // The same settings by flags, into the file's output: the same workflow, already complete.
    const third = cli(['run', corpus, '--no-config', '--out', byFile, '--task-queue', uniqueTaskQueue(), ...flags], env);
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('Already complete');
  });
});

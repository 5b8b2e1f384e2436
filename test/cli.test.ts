/**
 * The `corpus-qa` command as a user runs it: a real process, real exit codes, real output.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeBenchCorpus } from './helpers/syntheticCorpus.js';
import { writeFixtureCorpus } from './helpers/corpus.js';
import { readJsonl, tempDir } from './helpers/files.js';
import { cliNodeArgs } from './helpers/processes.js';
import { temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'corpus-qa.mjs');

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete fullEnv[k];
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: fullEnv, timeout: 170_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('corpus-qa CLI', () => {
  it('explains every flag in --help', () => {
    const r = cli(['run', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--out', '--glob', '--generate-qa', '--fail-fast', '--dry-run', '--concurrency', '--chunk-size', 'TEMPORAL_ADDRESS']) {
      expect(r.stdout).toContain(flag);
    }
  });

  it('prints the plan with --dry-run and writes nothing', () => {
    const corpus = writeFixtureCorpus(tempDir('dry'));
    const out = join(tempDir('dry-parent'), 'out');
    const r = cli(['run', corpus.root, '--out', out, '--generate-qa', '--dry-run'], { TEMPORAL_ADDRESS: undefined });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/documents:\s+12 /);
    expect(r.stdout).toMatch(/markdown\s+2 docs/);
    expect(r.stdout).toMatch(/pdf\s+2 docs/);
    expect(r.stdout).toMatch(/estimated generation calls: ~\d+/);
    expect(r.stdout).toMatch(/symlink leaves the input directory/);
    expect(existsSync(out)).toBe(false);
  });

  it('exits 1 with --fail-fast and names the file and the cause', () => {
    const corpus = writeFixtureCorpus(tempDir('cli-ff'));
    const out = tempDir('cli-ff-out');
    const r = cli(['run', corpus.root, '--out', out, '--generate-qa', '--fail-fast', '--task-queue', uniqueTaskQueue()], {
      TEMPORAL_ADDRESS: temporalAddress(),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\/blank\.md: empty: .*--fail-fast/);
  });

  it('rejects bad usage with exit 2', () => {
    const r = cli(['run', '/nonexistent-dir', '--out', tempDir('u'), '--chunk-size', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/chunk-size/);
  });

  it('runs on the embedded dev server when TEMPORAL_ADDRESS is unset, keeping its database with the output', () => {
    const corpus = writeFixtureCorpus(tempDir('embedded'));
    const out = tempDir('embedded-out');
    const r = cli(['run', corpus.root, '--out', out, '--generate-qa'], { TEMPORAL_ADDRESS: undefined });
    expect(r.stderr).toMatch(/Temporal UI: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/corpus-qa-/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Warning: 4 documents could not be used/);
    expect(readJsonl(join(out, 'errors.jsonl'))).toHaveLength(4);
    expect(existsSync(join(out, '.corpus-qa', 'temporal.db'))).toBe(true);
    expect(existsSync(join(out, '.corpus-qa', 'server.json'))).toBe(false); // the server was stopped

    // The same command again finds the completed run in the same database.
    const again = cli(['run', corpus.root, '--out', out, '--generate-qa'], { TEMPORAL_ADDRESS: undefined });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Already complete/);
    expect(readdirSync(join(out, 'data'))).toEqual(['train.jsonl']);
  });

  it('verifies an output directory and names the file and line of the first problem', () => {
    const corpus = writeFixtureCorpus(tempDir('verify'));
    const out = tempDir('verify-out');
    const run = cli(['run', corpus.root, '--out', out, '--generate-qa', '--format', 'messages', '--split', 'train=0.5,test=0.5', '--task-queue', uniqueTaskQueue()], {
      TEMPORAL_ADDRESS: temporalAddress(),
    });
    expect(run.code, run.stderr).toBe(0);
    const ok = cli(['verify', out, '--with-datasets']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK: \d+ files, \d+ rows, all load with datasets/);

    const file = existsSync(join(out, 'data/train.jsonl')) ? 'data/train.jsonl' : 'data/test.jsonl';
    const lines = readFileSync(join(out, file), 'utf8').split('\n');
    const row = JSON.parse(lines[1] ?? lines[0]!);
    row.messages = 'not a list';
    lines[lines.length > 2 ? 1 : 0] = JSON.stringify(row);
    writeFileSync(join(out, file), lines.join('\n'));
    const bad = cli(['verify', out]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`${file.replace('.', '\\.')}:${lines.length > 2 ? 2 : 1}: messages: `));
  });

  it('stops on Ctrl-C with exit 130, stops its server, and the same command resumes the run', async () => {
    const root = tempDir('sigint');
    writeBenchCorpus(root, 40);
    const out = tempDir('sigint-out');
    const args = [BIN, 'run', root, '--out', out, '--generate-qa', '--batch-size', '2', '--no-progress'];
    const env: NodeJS.ProcessEnv = { ...process.env, CORPUS_QA_TEST_DOC_DELAY_MS: '300' };
    delete env.TEMPORAL_ADDRESS;
    const child = spawn(process.execPath, cliNodeArgs(args.slice(1)), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const shards = join(out, '.corpus-qa', 'shards');
    const deadline = Date.now() + 60_000;
    while (!(existsSync(shards) && readdirSync(shards).length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(130);
    expect(stderr).toMatch(/run the same command again to resume/);
    expect(existsSync(join(out, '.corpus-qa', 'server.json'))).toBe(false);
    expect(existsSync(join(out, 'data'))).toBe(false);

    const again = cli(args.slice(1), { TEMPORAL_ADDRESS: undefined });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/Attached to running workflow/);
    expect(again.stdout).toMatch(/Done: 40 documents, 40 loaded/);
  });
});

/**
 * Failures a user can act on, with real `corpus-qa` processes on their embedded Temporal dev
 * server: two commands on one --out in every order (the second never stops the server the first
 * uses), the server killed mid-run (exit 3, the cause, how to resume), a full disk (exit 3,
 * naming the path), a standalone worker whose server goes away (one line, no gRPC noise), and bad input refused before anything is started (exit 2, or 1 for a glob
 * that matches nothing).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../client/server/devServer.js';
import { writeBenchCorpus } from './helpers/syntheticCorpus.js';
import { startWorker, stopProcesses, waitForOutput } from './helpers/cluster.js';
import { tempDir } from './helpers/files.js';
import {
  BIN,
  countShards,
  describeCli,
  killEverythingUnder,
  processesLeft, processesMentioning,
  readServerRecord,
  startCli,
  startCorpusQa,
  waitForExit,
  waitUntil,
  waitUntilDead,
  type CliProcess,
} from './helpers/processes.js';

const EXIT_TIMEOUT_MS = 240_000;
/** Slow enough that a second command starts while the first is still running. */
const SLOW = { CORPUS_QA_TEST_DOC_DELAY_MS: '1000' };
const dirs: string[] = [];

function cliSync(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TEMPORAL_ADDRESS;
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function setup(name: string, documents = 40): { root: string; out: string; dir: string; args: string[] } {
  const dir = tempDir(name);
  dirs.push(dir);
  const root = join(dir, 'corpus');
  writeBenchCorpus(root, documents);
  const out = join(dir, 'out');
  return { root, out, dir, args: ['run', root, '--out', out, '--generate-qa', '--batch-size', '2', '--concurrency', '2', '--no-progress'] };
}

async function attached(proc: CliProcess): Promise<void> {
  await waitUntil('the second command to attach', () => /Attached to running workflow/.test(proc.stderr()), { proc, timeoutMs: 120_000 });
}

async function running(out: string, proc: CliProcess): Promise<void> {
  await waitUntil('the first shards', () => countShards(out) > 0, { proc, timeoutMs: 120_000 });
}

/** The run ended: nothing of ours left running, the server stopped and its record removed. */
async function nothingLeft(s: { dir: string; out: string }, serverPid: number): Promise<void> {
  expect(await waitUntilDead(serverPid, 15_000), `server ${serverPid} stopped`).toBe(true);
  expect(existsSync(join(s.out, '.corpus-qa', 'server.json'))).toBe(false);
  expect(processesMentioning(s.dir), 'processes left running').toEqual([]);
}

afterEach(async () => {
  for (const d of dirs.splice(0)) await killEverythingUnder(d);
});

describe('two commands on one --out', () => {
  it('attach, then Ctrl-C the second: the first finishes on the same server', async () => {
    const s = setup('two-attach-int');
    const first = startCli(s.args, SLOW);
    await running(s.out, first);
    const server = readServerRecord(s.out)!;
    const second = startCli(s.args, SLOW);
    await attached(second);
    second.child.kill('SIGINT');
    expect((await waitForExit(second, EXIT_TIMEOUT_MS)).code, describeCli(second)).toBe(130);
    expect(readServerRecord(s.out)?.pid, 'the server the first run uses is still recorded').toBe(server.pid);
    const exit = await waitForExit(first, EXIT_TIMEOUT_MS);
    expect(exit.code, describeCli(first)).toBe(0);
    expect(first.stdout()).toMatch(/Done: 40 documents, 40 loaded/);
    await nothingLeft(s, server.pid);
  });

  it('a conflicting run is refused (exit 1) and the first finishes', async () => {
    const s = setup('two-conflict');
    const first = startCli(s.args, SLOW);
    await running(s.out, first);
    const server = readServerRecord(s.out)!;
    const second = startCli([...s.args, '--chunk-size', '800']);
    const refused = await waitForExit(second, EXIT_TIMEOUT_MS);
    expect(refused.code, describeCli(second)).toBe(1);
    expect(second.stderr()).toMatch(/another run \(corpus-qa-\w+\) with different settings is still in progress/);
    const exit = await waitForExit(first, EXIT_TIMEOUT_MS);
    expect(exit.code, describeCli(first)).toBe(0);
    expect(first.stdout()).toMatch(/Done: 40 documents, 40 loaded/);
    await nothingLeft(s, server.pid);
  });

  it('the first is Ctrl-C\'d while a second is attached: the second finishes and stops the server', async () => {
    const s = setup('two-first-int');
    const first = startCli(s.args, SLOW);
    await running(s.out, first);
    const server = readServerRecord(s.out)!;
    const second = startCli(s.args, SLOW);
    await attached(second);
    first.child.kill('SIGINT');
    expect((await waitForExit(first, EXIT_TIMEOUT_MS)).code, describeCli(first)).toBe(130);
    const exit = await waitForExit(second, EXIT_TIMEOUT_MS);
    expect(exit.code, describeCli(second)).toBe(0);
    expect(second.stdout()).toMatch(/Done: 40 documents, 40 loaded/);
    await nothingLeft(s, server.pid);
  });
});

describe('the server lost under a run', () => {
  it('server killed mid-run: exit 3, the cause, how to resume, no gRPC noise; the same command resumes', async () => {
    const s = setup('server-killed');
    const first = startCli(s.args, SLOW);
    await running(s.out, first);
    const server = readServerRecord(s.out)!;
    process.kill(server.pid, 'SIGKILL');
    const exit = await waitForExit(first, EXIT_TIMEOUT_MS);
    expect(exit.code, describeCli(first)).toBe(3);
    expect(first.stderr()).toContain(`the Temporal server at ${server.address} stopped: it was killed (SIGKILL)`);
    expect(first.stderr()).toMatch(/run the same command again to resume/i);
    expect(first.stderr()).not.toMatch(/Failed to get Workflow execution history/);
    expect(first.stdout() + first.stderr()).not.toMatch(/gRPC|WARN.*retried|\x1b\[/);
    expect(await processesLeft(s.dir)).toEqual([]);

    const again = startCli(s.args);
    const resumed = await waitForExit(again, EXIT_TIMEOUT_MS);
    expect(resumed.code, describeCli(again)).toBe(0);
    expect(again.stdout()).toMatch(/Done: 40 documents, 40 loaded/);
  });

  const root = process.getuid?.() === 0;
  if (!root) console.log('skipping the disk-full test: mounting a small tmpfs needs root');
  it.skipIf(!root)('disk full under the server: exit 3, naming the path and "database or disk is full"', async () => {
    const dir = tempDir('disk-full');
    dirs.push(dir);
    const corpus = join(dir, 'corpus');
    writeBenchCorpus(corpus, 200);
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1200k', 'tmpfs', mnt], { encoding: 'utf8' });
    if (mount.status !== 0) {
      console.log(`skipping the disk-full test: mount failed: ${mount.stderr.trim()}`);
      return;
    }
    try {
      const out = join(mnt, 'out');
      const run = startCli(['run', corpus, '--out', out, '--generate-qa', '--no-progress']);
      const exit = await waitForExit(run, EXIT_TIMEOUT_MS);
      expect(exit.code, describeCli(run)).toBe(3);
      // Said by the CLI's free-space watch, or by the server's log if its write failed first.
      expect(run.stderr()).toMatch(new RegExp(`the disk holding ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\S* is full`));
      expect(run.stderr()).toMatch(/database or disk is full|no space left/i);
      expect(run.stderr()).toMatch(/free some space, then run the same command again to resume/i);
      expect(await processesLeft(dir)).toEqual([]);
    } finally {
      await killEverythingUnder(dir);
      spawnSync('umount', [mnt]);
    }
  });
});

describe('a standalone worker whose server goes away', () => {
  /** A dev server on a fixed port and database, so that it can come back at the same address. */
  function devServerAt(port: number, db: string): ChildProcess {
    return spawn(process.env.TEMPORAL_CLI_PATH ?? 'temporal', ['server', 'start-dev', '--headless', '--port', String(port), '--db-filename', db, '--log-level', 'error'], { stdio: 'ignore' });
  }

  it('says once that the server cannot be reached (no gRPC noise), outlives it, and does the next run when it is back', async () => {
    const dir = tempDir('worker-lost-server');
    dirs.push(dir);
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const db = join(dir, 'temporal.db');
    let server = devServerAt(port, db);
    const taskQueue = `lost-server-${Date.now()}`;
    let worker: CliProcess | undefined;
    try {
      worker = await waitUntil('the server to accept a worker', async () => {
        try {
          return await startWorker({ address, taskQueue });
        } catch {
          return undefined; // not listening yet
        }
      }, { timeoutMs: 120_000, intervalMs: 1000 });
      server.kill('SIGKILL');
      await waitForOutput(worker, /cannot be reached; the worker keeps retrying/, 120_000);
      expect(worker.stderr()).toContain(`the Temporal server at ${address} cannot be reached`);

      server = devServerAt(port, db);
      const corpus = join(dir, 'corpus');
      writeBenchCorpus(corpus, 4);
      const run = startCorpusQa(['run', corpus, '--out', join(dir, 'out'), '--generate-qa', '--no-worker', '--task-queue', taskQueue, '--no-progress'], { TEMPORAL_ADDRESS: address });
      const done = await waitForExit(run, EXIT_TIMEOUT_MS);
      expect(done.code, describeCli(run)).toBe(0);
      expect(worker.exit, describeCli(worker)).toBeUndefined();
      expect(worker.stderr().match(/cannot be reached/g)).toHaveLength(1);
      const noise = /gRPC call|\u001b\[/;
      expect(worker.stdout()).not.toMatch(noise);
      expect(worker.stderr()).not.toMatch(noise);

      process.kill(worker.pid, 'SIGINT');
      const exit = await waitForExit(worker, 30_000);
      expect(exit.code, describeCli(worker)).toBe(0);
    } finally {
      if (worker) await stopProcesses([worker]);
      server.kill('SIGKILL');
    }
  });
});

describe('bad input is refused before anything is started', () => {
  it('a missing input directory: exit 2, no server, no files', () => {
    const dir = tempDir('missing-input');
    const out = join(dir, 'out');
    const r = cliSync(['run', join(dir, 'nope'), '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`input directory ${join(dir, 'nope')} does not exist`);
    expect(existsSync(out)).toBe(false);
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('numbers out of range: one sentence naming the flag and its range, exit 2', () => {
    const s = setup('bad-numbers', 2);
    const cases: [string[], string][] = [
      [['--chunk-size', '50'], '--chunk-size: must be between 200 and 100000 (got 50)'],
      [['--chunk-overlap', '20000'], '--chunk-overlap: must be between 0 and 10000 (got 20000)'],
      [['--concurrency', '0'], '--concurrency: must be between 1 and 500 (got 0)'],
      [['--batch-size', '5000'], '--batch-size: must be between 1 and 1000 (got 5000)'],
      [['--max-pairs-per-chunk', '99'], '--max-pairs-per-chunk: must be between 1 and 50 (got 99)'],
      [['--ui-port', '99999'], '--ui-port: must be between 1 and 65535 (got 99999)'],
    ];
    for (const [flags, message] of cases) {
      const r = cliSync([...s.args, ...flags]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`error: ${message}`);
      expect(r.stderr).not.toMatch(/"code"|too_small|too_big/);
    }
    const overlap = cliSync([...s.args, '--chunk-size', '300', '--chunk-overlap', '400']);
    expect(overlap.code).toBe(2);
    expect(overlap.stderr).toMatch(/--chunk-overlap \(400\) must be smaller than --chunk-size \(300\)/);
    expect(existsSync(s.out)).toBe(false);
  });

  it('an output path that cannot be written is named, exit 2', () => {
    const s = setup('unwritable', 2);
    const out = join(s.root, 'part-000', 'doc-0.md', 'out'); // under a file
    const r = cliSync(['run', s.root, '--out', out]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--out: ${out} cannot be written`);
    const proc = cliSync(['run', s.root, '--out', '/proc/corpus-qa-test/out']);
    expect(proc.code, proc.stderr).toBe(2);
    expect(proc.stderr).toContain('--out: /proc/corpus-qa-test/out cannot be written');
  });

  it('a --glob that matches nothing: a warning with a hint, exit 1, nothing started', () => {
    const s = setup('glob-nothing', 3);
    const r = cliSync([...s.args, '--glob', '*.pdf']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/--glob "\*\.pdf" matched none of the 3 files/);
    expect(r.stderr).toMatch(/files there include: part-000\/doc-0\.md/);
    expect(r.stderr).toMatch(/relative to the input directory/);
    expect(existsSync(s.out)).toBe(false);
  });
});

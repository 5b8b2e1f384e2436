/**
 * Real `corpus-qa` processes for the crash tests: start the CLI as a user would, watch its
 * progress on the filesystem, SIGKILL it (or its embedded Temporal server), and make sure
 * nothing it started outlives the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACK_KEYS_SUFFIX } from '../../activities/paths.js';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'corpus-qa.mjs');

/**
 * Node's arguments for a `corpus-qa` process of the tests: the CLI with documentHook.mjs
 * preloaded, which reads CORPUS_QA_TEST_DOC_DELAY_MS / CORPUS_QA_TEST_PROCESS_LOG (inert without them).
 */
export function cliNodeArgs(args: string[]): string[] {
  return ['--import', pathToFileURL(join(import.meta.dirname, 'documentHook.mjs')).href, BIN, ...args];
}

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  pid: number;
  child: ChildProcess;
  exited: Promise<CliExit>;
  exit: CliExit | undefined;
  stdout(): string;
  stderr(): string;
}

/**
 * `node bin/corpus-qa.mjs <args>` with the test's environment plus `env`; a key set to
 * undefined is removed (e.g. TEMPORAL_ADDRESS: undefined for the embedded server).
 */
export function startCorpusQa(args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete fullEnv[k];
  const child = spawn(process.execPath, cliNodeArgs(args), { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start corpus-qa ${args.join(' ')}`);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const proc: CliProcess = {
    pid: child.pid,
    child,
    exit: undefined,
    exited: new Promise<CliExit>((resolve) => {
      child.on('exit', (code, signal) => {
        proc.exit = { code, signal };
        resolve(proc.exit);
      });
    }),
    stdout: () => out,
    stderr: () => err,
  };
  return proc;
}

/**
 * `node bin/corpus-qa.mjs <args>` with TEMPORAL_ADDRESS unset (embedded server mode) and the
 * given extra environment (the worker's test hooks).
 */
export function startCli(args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  return startCorpusQa(args, { ...env, TEMPORAL_ADDRESS: undefined });
}

export function describeCli(proc: CliProcess): string {
  return `exit ${JSON.stringify(proc.exit)}\n--- stdout ---\n${proc.stdout()}\n--- stderr ---\n${proc.stderr().slice(-4000)}`;
}

/** Exit within timeoutMs, else SIGKILL. Returns whether it exited by itself. */
export async function exitOrKill(proc: CliProcess, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  const result = await Promise.race([proc.exited, timeout]);
  clearTimeout(timer);
  if (result) return true;
  killHard(proc.pid);
  await proc.exited;
  return false;
}

/** Waits for the process to end; SIGKILLs it and fails if it takes longer than timeoutMs. */
export async function waitForExit(proc: CliProcess, timeoutMs: number): Promise<CliExit> {
  if (!(await exitOrKill(proc, timeoutMs))) {
    throw new Error(`corpus-qa did not finish within ${timeoutMs} ms; killed it.\n${describeCli(proc)}`);
  }
  return proc.exit!;
}

/** Alive and not a zombie (a killed child not yet reaped is as good as dead). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function killHard(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export async function waitUntilDead(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/**
 * Processes whose command line mentions `marker` (a test's own temp directory): the CLI runs
 * we started (their arguments name it) and the embedded servers they started (their
 * --db-filename lies inside it). Nothing else can match, so killing these is safe.
 */
export function processesMentioning(marker: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (cmd.includes(marker) && isAlive(pid)) found.push({ pid, cmd: cmd.trim() });
  }
  return found;
}

/** SIGKILLs every process started for `marker`; returns what it had to kill. */
export async function killEverythingUnder(marker: string): Promise<{ pid: number; cmd: string }[]> {
  const left = processesMentioning(marker);
  for (const p of left) killHard(p.pid);
  for (const p of left) await waitUntilDead(p.pid, 5000);
  return left;
}

export interface ServerRecord {
  pid: number;
  address: string;
  uiUrl: string;
}

export function readServerRecord(outDir: string): ServerRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(outDir, '.corpus-qa', 'server.json'), 'utf8')) as ServerRecord;
  } catch {
    return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `probe` until it returns something truthy. Fails if `proc` ends first (with its
 * output, so a crash of the run under test is visible) or after timeoutMs.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: { proc?: CliProcess; timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (opts.proc?.exit) throw new Error(`corpus-qa ended before ${what}.\n${describeCli(opts.proc)}`);
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${opts.proc ? `\n${describeCli(opts.proc)}` : ''}`);
    }
    await sleep(opts.intervalMs ?? 10);
  }
}

/** The keys of the shards stored so far (the run's checkpoint of finished documents): those its packs' keys files list. */
export function storedShardKeys(outDir: string): Set<string> {
  const dir = join(outDir, '.corpus-qa', 'shards', 'packs');
  const keys = new Set<string>();
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return keys;
  }
  for (const f of files) {
    if (!f.endsWith(PACK_KEYS_SUFFIX)) continue;
    try {
      for (const k of JSON.parse(readFileSync(join(dir, f), 'utf8')) as string[]) keys.add(k);
    } catch {
      // removed while we looked
    }
  }
  return keys;
}

/** Documents whose shards are stored so far. */
export function countShards(outDir: string): number {
  return storedShardKeys(outDir).size;
}

/** Lines of the CORPUS_QA_TEST_PROCESS_LOG file (documentHook.mjs): one per document really processed. */
export function readProcessLog(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean);
}

/**
 * Processes still mentioning `marker` once they had `timeoutMs` to end: the CLI asks its server
 * to stop and exits without waiting for the server's shutdown, which takes a few seconds.
 */
export async function processesLeft(marker: string, timeoutMs = 15_000): Promise<{ pid: number; cmd: string }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = processesMentioning(marker);
    if (found.length === 0 || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

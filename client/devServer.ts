/**
 * The embedded Temporal dev server: a real server process whose SQLite database lives with the
 * run's output (<out>/.corpus-qa/temporal.db), so the checkpoint sits beside what it protects.
 * If an earlier `corpus-qa` process died and left its server running, the server is reused
 * rather than started twice on the same database.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { stateDir } from '../activities/storage.js';
import { devServerSearchAttributeArgs } from '../workflows/searchAttributes.js';
import { findTemporalCli } from './temporalCli.js';
import { isAlive } from './processes.js';

export interface EmbeddedServer {
  address: string;
  uiUrl: string;
  pid: number;
  dbPath: string;
  /** True when a live server from an earlier process was found and reused. */
  reused: boolean;
  stop(): Promise<void>;
}

interface ServerRecord {
  pid: number;
  address: string;
  uiUrl: string;
}

/** A TCP port free on 127.0.0.1 right now (another process may take it before it is bound). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function canConnect(address: string): Promise<boolean> {
  try {
    const conn = await Connection.connect({ address, connectTimeout: 2000 });
    await conn.workflowService.getSystemInfo({});
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

async function waitUntilReady(address: string, pid: number, logPath: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      const log = readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(`the Temporal dev server exited during start-up; last lines of ${logPath}:\n${log}`);
    }
    if (await canConnect(address)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Temporal dev server did not answer on ${address} within 60 s (see ${logPath})`);
}

/** The pid is a dev server on this database (not a pid reused by another program). */
function isServerFor(pid: number, dbPath: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dbPath);
  } catch {
    return process.platform !== 'linux'; // no /proc: trust the record, as before
  }
}

async function stopProcess(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

export async function startEmbeddedServer(outDir: string, opts: { uiPort?: number } = {}): Promise<EmbeddedServer> {
  const dir = stateDir(outDir);
  mkdirSync(dir, { recursive: true });
  const recordPath = join(dir, 'server.json');
  const dbPath = join(dir, 'temporal.db');
  const stopAndForget = async (pid: number) => {
    await stopProcess(pid);
    await rm(recordPath, { force: true });
  };

  let record: ServerRecord | undefined;
  try {
    record = JSON.parse(readFileSync(recordPath, 'utf8')) as ServerRecord;
  } catch {
    record = undefined;
  }
  if (record && isAlive(record.pid) && isServerFor(record.pid, dbPath)) {
    const { pid } = record;
    // A server whose starter was killed while it was starting up: let it finish, then reuse it.
    // Never start a second server on the same database while this one lives.
    const ready = (await canConnect(record.address)) ||
      (await waitUntilReady(record.address, pid, join(dir, 'temporal.log')).then(() => true, () => false));
    if (ready) return { ...record, dbPath, reused: true, stop: () => stopAndForget(pid) };
    await stopProcess(pid);
  }

  // A server on this database that no record names (its starter was killed between spawning it
  // and recording it): stop it, never run two servers on one database.
  for (const orphan of serversOn(dbPath)) await stopProcess(orphan);

  const cli = findTemporalCli();
  const logPath = join(dir, 'temporal.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const uiPort = opts.uiPort ?? (await freePort());
    const address = `127.0.0.1:${port}`;
    const logFd = openSync(logPath, 'a');
    const logStart = statSync(logPath).size;
    // Its own process group: Ctrl-C reaches us, and we shut the worker down before the server.
    const child = spawn(
      cli,
      ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort),
        '--db-filename', dbPath, '--log-level', 'warn', '--namespace', 'default', ...devServerSearchAttributeArgs()],
      { detached: true, stdio: ['ignore', logFd, logFd] },
    );
    closeSync(logFd);
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${cli}`);
    const uiUrl = `http://127.0.0.1:${uiPort}`;
    // Recorded at once (synchronously), before it is ready: if this process is killed during
    // start-up, the next run finds this server instead of starting a second one on the database.
    writeFileSync(recordPath, JSON.stringify({ pid, address, uiUrl } satisfies ServerRecord));
    try {
      await waitUntilReady(address, pid, logPath);
      return { address, uiUrl, pid, dbPath, reused: false, stop: () => stopAndForget(pid) };
    } catch (err) {
      await stopAndForget(pid);
      // freePort() cannot hold the port until the server binds it: another process may take it.
      const log = readFileSync(logPath, 'utf8').slice(logStart);
      if (attempt < 3 && /address already in use/.test(log)) continue;
      throw err;
    }
  }
}

/** Dev server processes whose database is dbPath (Linux, from /proc; elsewhere none are found). */
function serversOn(dbPath: string): number[] {
  if (process.platform !== 'linux') return [];
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (args.includes('start-dev') && args.includes(dbPath)) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

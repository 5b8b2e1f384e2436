/**
 * The embedded Temporal dev server: a real server process whose SQLite database lives with the
 * run's output (<out>/.corpus-qa/temporal.db), so the checkpoint sits beside what it protects.
 * If an earlier `corpus-qa` process died and left its server running, the server is reused
 * rather than started twice on the same database. A server has as many owners as processes
 * using it (listed in <out>/.corpus-qa/server.json, changed under server.lock): the last one to
 * leave stops it, so a second command on the same output directory (attached, refused, or
 * interrupted) never stops the server another live command is using.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statfsSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { isS3Url, sha256Hex, stateDir } from '../../activities/storage.js';
import { CORPUS_SEARCH_ATTRIBUTES, devServerSearchAttributeArgs } from '../../workflows/searchAttributes.js';
import { cacheDir, findTemporalCli } from './temporalCli.js';
import { ServerRecord, ServerUser } from '../../schemas/localState.js';
import { isAlive } from './processes.js';
import { InfrastructureError, UsageError } from '../errors.js';

export interface EmbeddedServer {
  address: string;
  uiUrl: string;
  pid: number;
  dbPath: string;
  logPath: string;
  /** True when a live server from an earlier or another process was found and reused. */
  reused: boolean;
  /**
   * Leave the server: it is stopped only when no other live process uses it (the processes
   * using a server are listed in its record), so a second command on the same output directory
   * never stops the server the first one is using. `wait: false` asks the server to stop
   * (SIGTERM) without waiting the seconds its shutdown takes: the next start on this database
   * finds it among the servers on the database and waits for it then.
   */
  stop(opts?: { wait?: boolean }): Promise<void>;
  /** Why the server is gone or failing, in words (disk full, killed), when that can be told. */
  diagnose(): string | undefined;
}

/**
 * New tasks go to one partition of a task queue, not spread over the server's default four.
 * Each partition hands out its tasks in order, but four of them, read separately, hand them out
 * in no set order. The window holds more batches than the worker has slots, so a batch scheduled
 * early could start last and run alone at the end while the other slots sat idle. In one
 * 10k-document run, a 300-document batch sat alone for 0.9 s, the slowest part of its tail.
 * Only writes go to one partition. Polls still go to four, and the three empty ones pass their
 * polls on to the first, so a database from an earlier version drains the tasks that wait in
 * partitions 2–4 instead of stranding them. Partitions spread a queue's load over a cluster's
 * matching hosts. This server has one, and a run's queue carries a few tasks a second.
 */
export const ONE_PARTITION_ARGS = ['--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1'];

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

/** Whether a port can be bound on 127.0.0.1 right now. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The server answers; with `alsoCheck`, and that holds too (false if it throws). */
async function canConnect(address: string, alsoCheck?: (conn: Connection) => Promise<boolean>): Promise<boolean> {
  try {
    const conn = await Connection.connect({ address, connectTimeout: 2000 });
    try {
      await conn.workflowService.getSystemInfo({});
      return alsoCheck ? await alsoCheck(conn) : true;
    } finally {
      await conn.close();
    }
  } catch {
    return false;
  }
}

/**
 * The port takes a TCP connection. Cheap to ask every few milliseconds, where a gRPC connection
 * refused that early waits out grpc-js's reconnect backoff (a second) before it tries again:
 * asked before the port was open, the server that was up in ~0.2 s was found ready after ~1 s.
 */
function portAccepts(address: string): Promise<boolean> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = createConnection({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}

/** The server has our search attributes (a workflow started without them fails). */
async function hasOurSearchAttributes(conn: Connection): Promise<boolean> {
  const { customAttributes } = await conn.operatorService.listSearchAttributes({ namespace: 'default' });
  return CORPUS_SEARCH_ATTRIBUTES.every((a) => customAttributes?.[a.name] !== undefined);
}

async function waitUntilReady(address: string, pid: number, logPath: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      const log = readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n');
      throw new InfrastructureError(`the Temporal dev server exited during start-up; last lines of ${logPath}:\n${log}`);
    }
    if ((await portAccepts(address)) && (await canConnect(address, hasOurSearchAttributes))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new InfrastructureError(`the Temporal dev server did not answer on ${address} within 60 s (see ${logPath})`);
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

/** Start time of a process in clock ticks since boot (Linux), to tell a pid reused by another process. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function me(): ServerUser {
  return { pid: process.pid, start: startTimeOf(process.pid), id: randomUUID() };
}

function userAlive(u: ServerUser): boolean {
  if (!isAlive(u.pid)) return false;
  const start = startTimeOf(u.pid);
  return u.start === undefined || start === undefined || start === u.start;
}

function readRecord(recordPath: string): ServerRecord | undefined {
  try {
    return ServerRecord.parse(JSON.parse(readFileSync(recordPath, 'utf8')));
  } catch {
    return undefined;
  }
}

/** Written to a temp file and renamed: a reader sees the old record or the new one. */
function writeRecord(recordPath: string, record: ServerRecord): void {
  const tmp = `${recordPath}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(record));
  renameSync(tmp, recordPath);
}

/**
 * An exclusive lock on the server record, held while a process starts, joins or leaves the
 * server. A lock whose holder died (SIGKILL) is taken over.
 */
async function withRecordLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = join(dir, 'server.lock');
  const mine = JSON.stringify(me());
  const deadline = Date.now() + 180_000;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(lockPath, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, mine);
      } catch {
        // A full disk: the lock is held all the same (others take an empty lock for stale after 5 s).
      } finally {
        closeSync(fd);
      }
      break;
    }
    let content = '';
    let ageMs = 0;
    try {
      content = readFileSync(lockPath, 'utf8');
      ageMs = Date.now() - statSync(lockPath).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    let holder: ServerUser | undefined;
    try {
      holder = ServerUser.parse(JSON.parse(content));
    } catch {
      holder = undefined; // being written, or written by a process killed at that moment
    }
    const stale = holder ? !userAlive(holder) : ageMs > 5000;
    if (stale) {
      try {
        if (readFileSync(lockPath, 'utf8') === content) unlinkSync(lockPath);
      } catch {
        // taken over by another process meanwhile
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new InfrastructureError(`another corpus-qa process (pid ${holder?.pid ?? '?'}) has held ${lockPath} for 3 minutes while starting the Temporal server; is it stuck?`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await fn();
  } finally {
    try {
      const content = readFileSync(lockPath, 'utf8');
      if (content === mine || content === '') unlinkSync(lockPath);
    } catch {
      // gone already
    }
  }
}

/**
 * Where the embedded server of `outDir` keeps its database, record, lock and log: <out>/.corpus-qa
 * for a local <out>; for a bucket (no SQLite database can live in one) a directory of this
 * machine keyed by the URL, so the same command finds the same server state again:
 * $CORPUS_QA_STATE_DIR/<sha256(url) 16 hex>, by default under ~/.cache/corpus-qa/state/.
 */
export function serverStateDir(outDir: string): string {
  if (!isS3Url(outDir)) return stateDir(outDir);
  return join(process.env.CORPUS_QA_STATE_DIR || join(cacheDir(), 'state'), sha256Hex(outDir).slice(0, 16));
}

/** The state directory, created; an error that names the path when it cannot be written. */
function makeStateDir(outDir: string): string {
  const dir = serverStateDir(outDir);
  try {
    // One level at a time: Node's recursive mkdir loops forever under /proc (ENOENT that never ends).
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = dirname(d)) {
      if (dirname(d) === d) break;
      missing.unshift(d);
    }
    for (const d of missing) {
      try {
        mkdirSync(d);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') throw new InfrastructureError(`cannot create ${dir}: the disk is full (${e.code})`);
    throw new UsageError(`--out: ${outDir} cannot be written (${e.code ?? e.message} creating ${e.path ?? dir})`);
  }
  return dir;
}

const DISK_FULL = /database or disk is full|no space left on device|SQLITE_FULL|disk quota exceeded/i;

function freeBytes(path: string): number | undefined {
  try {
    const s = statfsSync(path);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** What the server's log (from `offset` on) and the disk say about why it failed. */
function diagnoseServer(dir: string, logPath: string, offset: number, exit: () => string | undefined, pid: number): string | undefined {
  let log = '';
  try {
    const text = readFileSync(logPath, 'utf8');
    log = text.slice(Math.max(offset, text.length - 1_000_000));
  } catch {
    // no log
  }
  const full = DISK_FULL.exec(log);
  const free = freeBytes(dir);
  if (full || (free !== undefined && free < 256 * 1024)) {
    return `the disk holding ${dir} is full` +
      (full ? ` ("${full[0]}" in ${logPath})` : ` (${free} bytes free)`);
  }
  const how = exit();
  if (how) return how;
  if (!isAlive(pid)) return `its process (pid ${pid}) ended; see ${logPath}`;
  return undefined;
}

export async function startEmbeddedServer(outDir: string, opts: { uiPort?: number } = {}): Promise<EmbeddedServer> {
  const dir = makeStateDir(outDir);
  const recordPath = join(dir, 'server.json');
  const dbPath = join(dir, 'temporal.db');
  const logPath = join(dir, 'temporal.log');
  const logSize = () => {
    try {
      return statSync(logPath).size;
    } catch {
      return 0;
    }
  };

  const self = me();
  let left = false;
  const leave = (pid: number) => (opts: { wait?: boolean } = {}) => {
    if (left) return Promise.resolve();
    left = true;
    return withRecordLock(dir, async () => {
      const record = readRecord(recordPath);
      if (record && record.pid !== pid) return; // another server replaced ours: not ours to touch
      const others = (record?.users ?? []).filter((u) => u.id !== self.id && userAlive(u));
      if (record && others.length) {
        try {
          writeRecord(recordPath, { ...record, users: others });
        } catch {
          // A full disk: our entry stays, and is dropped as dead once this process has ended.
        }
        return;
      }
      if (opts.wait === false) {
        if (isAlive(pid)) process.kill(pid, 'SIGTERM');
      } else {
        await stopProcess(pid);
      }
      await rm(recordPath, { force: true });
    });
  };

  return withRecordLock(dir, async () => {
    const record = readRecord(recordPath);
    if (record && isAlive(record.pid) && isServerFor(record.pid, dbPath)) {
      const { pid } = record;
      // A server whose starter was killed while it was starting up: let it finish, then reuse it.
      // Never start a second server on the same database while this one lives.
      const offset = logSize();
      const ready = (await canConnect(record.address)) ||
        (await waitUntilReady(record.address, pid, logPath).then(() => true, () => false));
      if (ready) {
        const users = (record.users ?? []).filter((u) => userAlive(u));
        writeRecord(recordPath, { ...record, users: [...users, self] });
        return {
          address: record.address, uiUrl: record.uiUrl, pid, dbPath, logPath, reused: true, stop: leave(pid),
          diagnose: () => diagnoseServer(dir, logPath, offset, () => undefined, pid),
        };
      }
      await stopProcess(pid);
    }

    // A server on this database that no record names (its starter was killed between spawning it
    // and recording it): stop it, never run two servers on one database.
    for (const orphan of serversOn(dbPath)) await stopProcess(orphan);

    const cli = findTemporalCli();
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const uiPort = opts.uiPort ?? (await freePort());
      if (opts.uiPort !== undefined && !(await portIsFree(opts.uiPort))) {
        throw new UsageError(`--ui-port: port ${opts.uiPort} is already in use on 127.0.0.1 (choose another, or leave it out)`);
      }
      const address = `127.0.0.1:${port}`;
      const logFd = openSync(logPath, 'a');
      const logStart = statSync(logPath).size;
      // Its own process group: Ctrl-C reaches us, and we shut the worker down before the server.
      const child = spawn(
        cli,
        ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort),
          '--db-filename', dbPath, '--log-level', 'warn', '--namespace', 'default',
          ...devServerSearchAttributeArgs(), ...ONE_PARTITION_ARGS],
        { detached: true, stdio: ['ignore', logFd, logFd] },
      );
      closeSync(logFd);
      let exitedHow: string | undefined;
      child.on('exit', (code, signal) => {
        exitedHow = signal ? `it was killed (${signal})` : `it exited with code ${code}; see ${logPath}`;
      });
      child.on('error', () => undefined);
      child.unref();
      const pid = child.pid;
      if (pid === undefined) throw new InfrastructureError(`could not start ${cli}`);
      const uiUrl = `http://127.0.0.1:${uiPort}`;
      // Recorded at once (synchronously), before it is ready: if this process is killed during
      // start-up, the next run finds this server instead of starting a second one on the database.
      writeRecord(recordPath, { pid, address, uiUrl, users: [self] });
      try {
        await waitUntilReady(address, pid, logPath);
        return {
          address, uiUrl, pid, dbPath, logPath, reused: false, stop: leave(pid),
          diagnose: () => diagnoseServer(dir, logPath, logStart, () => exitedHow, pid),
        };
      } catch (err) {
        await stopProcess(pid);
        await rm(recordPath, { force: true });
        // freePort() cannot hold the port until the server binds it: another process may take it.
        const log = readFileSync(logPath, 'utf8').slice(logStart);
        if (attempt < 3 && /address already in use/.test(log)) continue;
        const full = DISK_FULL.exec(log);
        if (full) throw new InfrastructureError(`the Temporal dev server could not start: the disk holding ${dir} is full ("${full[0]}" in ${logPath})`);
        throw err;
      }
    }
  });
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

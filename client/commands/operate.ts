/**
 * Operating a run after it started: `corpus-qa status` and `corpus-qa cancel`. Both find the run
 * from its output directory (the id of the last run started there) or from --workflow-id, on
 * TEMPORAL_ADDRESS or on the embedded server of that output directory.
 */
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { resolve } from 'node:path';
import type { Progress } from '../../schemas/index.js';
import { STATE_FILES, storeFor } from '../../activities/storage.js';
import { storedShardCount } from '../../activities/shardPacks.js';
import { resolveOutDir } from '../runOptions.js';
import { createCorpusWorker, DEFAULT_TASK_QUEUE, installQuietRuntime } from '../../worker/index.js';
import { progressQuery } from '../../workflows/index.js';
import { startEmbeddedServer, type EmbeddedServer } from '../server/devServer.js';
import { readLastRun } from '../runState.js';
import { addressTarget, type ServerTarget } from '../server/connection.js';
import { UsageError } from '../errors.js';

export interface RunLocator {
  outDir?: string;
  workflowId?: string;
  /** A cluster (client/server/connection.ts); without it, the embedded server of `outDir`. */
  target?: ServerTarget;
}

export interface ServerSession {
  client: Client;
  connection: Connection;
  target: ServerTarget;
  server?: EmbeddedServer;
  close(): Promise<void>;
}

interface Session extends ServerSession {
  workflowId: string;
}

/** A client on the cluster `target`, or else on the embedded server of `outDir` (started if needed). */
export async function openServer(target: ServerTarget | undefined, outDir: string | undefined, missing: string): Promise<ServerSession> {
  let server: EmbeddedServer | undefined;
  if (!target) {
    if (!outDir) throw new UsageError(missing);
    server = await startEmbeddedServer(resolveOutDir(outDir));
  }
  const resolved = target ?? addressTarget(server!.address);
  const connection = await Connection.connect(resolved.connectionOptions);
  const client = new Client({ connection, namespace: resolved.namespace });
  return {
    client,
    connection,
    target: resolved,
    server,
    async close() {
      await connection.close();
      // Leaves the server: it stops only if no other live process (a running `corpus-qa run`) uses it.
      await server?.stop();
    },
  };
}

async function openSession(loc: RunLocator): Promise<Session> {
  const outDir = loc.outDir ? resolveOutDir(loc.outDir) : undefined;
  const workflowId = loc.workflowId ?? (outDir ? (await readLastRun(outDir))?.workflowId : undefined);
  if (!workflowId) {
    throw new UsageError(outDir ? `no corpus-qa run was started in ${outDir}` : 'give an output directory or --workflow-id');
  }
  const session = await openServer(loc.target, outDir, 'without TEMPORAL_ADDRESS, give the output directory of the run');
  return { ...session, workflowId };
}

/** The value of `p`, or undefined if it fails or takes longer than `ms` (a query with no worker waits). */
export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([p.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Documents with a shard on disk, for runs that no worker answers queries for. */
async function progressFromStorage(outDir: string): Promise<{ documents: number; withShard: number } | undefined> {
  const out = storeFor(outDir);
  try {
    const manifests = await out.list(STATE_FILES.manifests);
    const last = manifests.filter((m) => !m.includes('.tmp')).sort().at(-1);
    if (!last) return undefined;
    let documents = 0;
    for (const page of await out.list(`${STATE_FILES.manifests}/${last}`)) {
      if (page.startsWith('page-')) documents += ((await out.readText(`${STATE_FILES.manifests}/${last}/${page}`)) ?? '').split('\n').filter(Boolean).length;
    }
    return { documents, withShard: await storedShardCount(outDir) };
  } catch {
    return undefined;
  }
}

export interface RunStatus {
  workflowId: string;
  status: string;
  startTime: Date;
  closeTime?: Date;
  progress?: Progress;
  storage?: { documents: number; withShard: number };
}

export async function runStatus(loc: RunLocator): Promise<RunStatus> {
  const s = await openSession(loc);
  try {
    const handle = s.client.workflow.getHandle(s.workflowId);
    const d = await handle.describe();
    const status: RunStatus = { workflowId: s.workflowId, status: d.status.name, startTime: d.startTime, closeTime: d.closeTime };
    if (d.status.name === 'RUNNING') {
      // A query needs a worker; an interrupted run has none, so do not wait long for it.
      status.progress = await withTimeout(handle.query(progressQuery), 3000);
      if (!status.progress && loc.outDir) status.storage = await progressFromStorage(resolveOutDir(loc.outDir));
    }
    return status;
  } finally {
    await s.close();
  }
}

/**
 * Cancels the run and waits until it has stopped. A cancelled workflow needs a worker to
 * record its end; when none is running (the embedded case), one runs here for that moment.
 */
export async function cancelRun(loc: RunLocator & { taskQueue?: string }): Promise<string> {
  const s = await openSession(loc);
  let native: NativeConnection | undefined;
  try {
    const handle = s.client.workflow.getHandle(s.workflowId);
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') return `run ${s.workflowId} is not running (${d.status.name})`;
    await handle.cancel();
    const ended = handle.result().then(
      () => 'completed before the cancellation took effect',
      (err: unknown) => (err instanceof WorkflowFailedError ? 'cancelled' : `ended: ${(err as Error).message}`),
    );
    if (s.server && !s.server.reused) {
      installQuietRuntime();
      native = await NativeConnection.connect(s.target.connectionOptions);
      const worker = await createCorpusWorker({ connection: native, namespace: s.target.namespace, taskQueue: loc.taskQueue ?? DEFAULT_TASK_QUEUE });
      return `run ${s.workflowId} ${await worker.runUntil(ended)}; its shards are kept, so running the same command again resumes it`;
    }
    return `run ${s.workflowId} ${await ended}; its shards are kept, so running the same command again resumes it`;
  } finally {
    await native?.close();
    await s.close();
  }
}

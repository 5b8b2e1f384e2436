/**
 * Runs a corpus export end to end for the CLI (and for tests and scripts that want the same
 * behaviour): connect to TEMPORAL_ADDRESS or start the embedded dev server, start or attach to
 * the workflow, run an in-process worker until the result is in, report progress.
 */
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { setMaxListeners } from 'node:events';
import { statSync } from 'node:fs';
import { watchDiskSpace } from './server/diskSpace.js';
import { NativeConnection } from '@temporalio/worker';
import type { Progress, RunResult } from '../schemas/index.js';
import { createCorpusWorker, DEFAULT_TASK_QUEUE, installQuietRuntime, workflowBundle } from '../worker/index.js';
import { startCorpusExport, type CorpusExportHandle } from './api.js';
import { corpusFingerprint } from './runState.js';
import { startEmbeddedServer, type EmbeddedServer } from './server/devServer.js';
import { resolveRunInput, workflowIdFor, type CorpusExportOptions } from './runOptions.js';
import { InfrastructureError, UsageError } from './errors.js';
import { RunConflictError } from './api.js';
import { isAlive } from './server/processes.js';
import { addressTarget, type ServerTarget } from './server/connection.js';
import { closeExtractionPool } from '../activities/extract/pool.js';
import { isS3Url, localOutputProblem, scratchDir, storeFor } from '../activities/storage.js';

export interface RunnerOptions {
  /** An existing server (see client/server/connection.ts); without it the embedded dev server is started. */
  target?: ServerTarget;
  /** Shorthand for a target with just an address (tests, scripts). */
  address?: string;
  namespace?: string;
  taskQueue?: string;
  /**
   * Leave the embedded server stopping when the run ends instead of waiting for it (about 2 s):
   * for a process that exits right after, like the CLI.
   */
  stopServerInBackground?: boolean;
  /** Run a worker in this process (default). Off: only start/attach and wait. */
  worker?: boolean;
  fresh?: boolean;
  uiPort?: number;
  onStarted?: (info: { handle: CorpusExportHandle; uiUrl: string | undefined; server: EmbeddedServer | undefined }) => void;
  onProgress?: (progress: Progress) => void;
  progressIntervalMs?: number;
  /** Aborting stops the local worker (and embedded server); the workflow stays resumable. */
  signal?: AbortSignal;
  /**
   * Installs the SDK runtime (its logger) just before the worker's native connection is made;
   * default: the worker's quiet runtime. Called only when a worker runs: a runtime that forwards
   * native logs keeps the process alive until its last native connection closes.
   */
  installRuntime?: () => void;
  /** Test hook, passed to the worker's activities. */
  onProcessDocument?: (source: string) => void;
}

export interface RunnerResult {
  handle: CorpusExportHandle;
  result: RunResult;
  uiUrl: string | undefined;
}

export class RunInterrupted extends Error {
  constructor(readonly workflowId: string) {
    super(`interrupted; workflow ${workflowId} is kept and resumes when the same command runs again`);
  }
}

/**
 * Checks that need no server, made before anything is started or created: the options, the
 * input directory, and that the output directory can be created and written.
 */
export function preflight(options: CorpusExportOptions): void {
  const run = resolveRunInput(options); // UsageError naming the flag
  let st;
  try {
    st = statSync(run.inputDir);
  } catch {
    throw new UsageError(`input directory ${run.inputDir} does not exist`);
  }
  if (!st.isDirectory()) throw new UsageError(`input ${run.inputDir} is not a directory (give the directory that holds the documents)`);
  if (isS3Url(run.outDir)) return; // a bucket: checkOutputStore, once there is time for a request
  const problem = localOutputProblem(run.outDir);
  if (problem) throw new UsageError(`--out: ${run.outDir} cannot be written${problem}`);
}

/** How long Ctrl-C waits for the worker to stop its activities before the CLI leaves anyway. */
const INTERRUPT_GRACE_MS = 1000;

/** Waits for `work`, at most INTERRUPT_GRACE_MS; the timer never keeps the process alive after. */
async function graceFor(work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, INTERRUPT_GRACE_MS)))]);
  clearTimeout(timer);
}

/** A gRPC "server unavailable" (or unreachable) anywhere in the cause chain. */
export function isServerUnreachable(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 10; e = e.cause as typeof e, depth++) {
    if (e.code === 14 || e.code === 4) return true; // UNAVAILABLE, DEADLINE_EXCEEDED
    if (typeof e.message === 'string' && /UNAVAILABLE|ECONNREFUSED|tcp connect error|Connection refused|shard status unknown|Channel has been shut down|Failed to connect/i.test(e.message)) return true;
  }
  return false;
}

function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown };
  while (e.cause instanceof Error) e = e.cause as typeof e;
  return (e.message ?? String(err)).split('\n')[0]!;
}

/**
 * The error to report when a run ends on something other than its own outcome: the server lost
 * (and why: disk full, killed) or the disk full become an InfrastructureError; the rest is left as is.
 */
function explain(err: unknown, address: string, server: EmbeddedServer | undefined): unknown {
  if (err instanceof RunInterrupted || err instanceof WorkflowFailedError || err instanceof RunConflictError ||
      err instanceof UsageError || err instanceof InfrastructureError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const path = (err as NodeJS.ErrnoException).path;
    return new InfrastructureError(`the disk is full${path ? ` (writing ${path})` : ''}: free some space`);
  }
  if (server) {
    const why = server.diagnose();
    const gone = !isAlive(server.pid);
    if (gone || why || isServerUnreachable(err)) {
      return new InfrastructureError(
        `the Temporal server at ${address} ${gone ? 'stopped' : 'failed'}${why ? `: ${why}` : ` (${rootMessage(err)})`}`,
        why?.includes('disk') ? 'free some space, then run the same command again to resume where it left off' : undefined,
      );
    }
    return err;
  }
  if (isServerUnreachable(err)) return new InfrastructureError(`the Temporal server at ${address} cannot be reached (${rootMessage(err)})`);
  return err;
}

export function workflowUiUrl(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * An s3:// <out>: the bucket answers and takes these credentials, before anything is started
 * (a wrong key or endpoint is said in one line naming the bucket, not as activity retries).
 */
export async function checkOutputStore(options: CorpusExportOptions): Promise<void> {
  const run = resolveRunInput(options);
  if (!isS3Url(run.outDir)) return;
  try {
    await storeFor(run.outDir).check();
  } catch (err) {
    throw new UsageError(`--out: ${(err as Error).message}`);
  }
}

export async function runCorpusExport(options: CorpusExportOptions, ro: RunnerOptions = {}): Promise<RunnerResult> {
  const taskQueue = ro.taskQueue ?? DEFAULT_TASK_QUEUE;
  const given = ro.target ?? (ro.address ? addressTarget(ro.address, ro.namespace) : undefined);
  preflight(options);
  await checkOutputStore(options);
  // Bundle (or read the cached bundle of) the workflow code while the server starts: both take
  // seconds on a first run, and neither needs the other.
  if (ro.worker !== false) workflowBundle().catch(() => undefined);
  // The input's fingerprint too (a walk and a stat of every file: about a second at 10,000 files),
  // which only the start of the workflow needs.
  const fingerprint = corpusFingerprint(resolveRunInput(options));
  fingerprint.catch(() => undefined); // awaited by the start; a run that fails before has its own error
  const server = given ? undefined : await startEmbeddedServer(options.outDir, { uiPort: ro.uiPort });
  const target = given ?? addressTarget(server!.address);
  const address = target.connectionOptions.address ?? 'localhost:7233';
  let connection: Connection;
  let nativeConnection: NativeConnection | undefined;
  try {
    connection = await Connection.connect(target.connectionOptions);
    if (ro.worker !== false) {
      (ro.installRuntime ?? installQuietRuntime)();
      nativeConnection = await NativeConnection.connect(target.connectionOptions);
    }
  } catch (err) {
    await server?.stop();
    throw explain(err, address, server);
  }
  return runOn(options, ro, { server, target, address, connection, nativeConnection, taskQueue, fingerprint });
}

async function runOn(
  options: CorpusExportOptions,
  ro: RunnerOptions,
  { server, target, address, connection, nativeConnection, taskQueue, fingerprint }: {
    server: EmbeddedServer | undefined; target: ServerTarget; address: string; connection: Connection;
    nativeConnection: NativeConnection | undefined; taskQueue: string; fingerprint: Promise<string>;
  },
): Promise<RunnerResult> {
  const namespace = target.namespace;
  const uiBase = server?.uiUrl ?? process.env.TEMPORAL_UI_URL;
  let timer: NodeJS.Timeout | undefined;
  let watch: NodeJS.Timeout | undefined;
  let stopDiskWatch: (() => void) | undefined;
  let lost = false;
  // Every long call (result long-poll, progress queries) can be aborted, so that closing
  // the connection never leaves a gRPC retry behind to throw "Channel has been shut down".
  // One controller per call: a signal shared by thousands of polls would collect listeners.
  const live = new Set<AbortController>();
  const abortable = <T>(fn: () => Promise<T>): Promise<T> => {
    const c = new AbortController();
    // The result's long-poll is re-sent every minute or so on the same signal, each time with a
    // listener of its own: an hours-long run is expected to collect them, not a leak to warn about.
    setMaxListeners(0, c.signal);
    live.add(c);
    return connection.withAbortSignal(c.signal, fn).finally(() => live.delete(c));
  };
  let inFlightPoll: Promise<void> | undefined;
  // The in-process worker polls before the workflow starts, so the workflow's first task is
  // handed to it at once. Created after the start, it kept that task waiting for its creation
  // (~0.3 s) and, now and then, for the server to hand over a task queued before any worker
  // polled: up to ~2 s more on the README's demo. Started only once the run is known to need it
  // (startCorpusExport's beforeStart): a run refused because another is in progress in the same
  // directory must not take that run's tasks. It runs until `stopWorker`, whatever ends the run.
  let stopWorker: () => void = () => undefined;
  const workerStopped = new Promise<void>((resolve) => (stopWorker = resolve));
  let working: Promise<void> | undefined;
  const startWorker = async (): Promise<void> => {
    if (!nativeConnection) return;
    const worker = await createCorpusWorker({
      connection: nativeConnection,
      namespace,
      taskQueue,
      maxConcurrentActivities: options.concurrency ?? 4,
      onProcessDocument: ro.onProcessDocument,
    });
    // Ctrl-C while the worker was being created (seconds on a first run, while bundling): the
    // workflow is not started.
    if (ro.signal?.aborted) throw new RunInterrupted(workflowIdFor(resolveRunInput(options)));
    working = worker.runUntil(workerStopped);
    working.catch(() => undefined); // awaited below; a run that ends before then has its own error
  };
  try {
    const client = new Client({ connection, namespace });
    const handle = await startCorpusExport(options, { client, taskQueue, fresh: ro.fresh, fingerprint, beforeStart: startWorker });
    const uiUrl = uiBase ? workflowUiUrl(uiBase, namespace, handle.workflowId) : undefined;
    ro.onStarted?.({ handle, uiUrl, server });
    if (handle.status === 'completed') return { handle, result: await handle.result(), uiUrl };

    if (ro.onProgress) {
      const poll = async () => {
        try {
          ro.onProgress?.(await abortable(() => handle.progress()));
        } catch {
          // A query can fail while the run continues as new or no worker is up yet; the next poll retries.
        } finally {
          inFlightPoll = undefined;
        }
      };
      // A query waits for a worker: never stack them up.
      timer = setInterval(() => (inFlightPoll ??= poll()), ro.progressIntervalMs ?? 1000);
    }

    const aborted = new Promise<never>((_, reject) => {
      if (ro.signal?.aborted) reject(new RunInterrupted(handle.workflowId));
      ro.signal?.addEventListener('abort', () => reject(new RunInterrupted(handle.workflowId)), { once: true });
    });
    aborted.catch(() => undefined);
    // What the run cannot go on without: the disk under <out>, the embedded server. Either gone
    // is said now, not after the client's retries give up, and the worker is not waited for: its
    // graceful shutdown needs the very server or disk that failed.
    const infrastructure = new Promise<never>((_, reject) => {
      // For a bucket, the disk that can fill is this machine's scratch directory (the export's staging).
      const localDir = isS3Url(resolveRunInput(options).outDir) ? scratchDir() : options.outDir;
      stopDiskWatch = watchDiskSpace(localDir, (free) =>
        reject(new InfrastructureError(
          `the disk holding ${localDir} is full: no space left (${free} bytes free)`,
          'free some space, then run the same command again to resume where it left off',
        )));
      if (server) {
        watch = setInterval(() => {
          if (isAlive(server.pid)) return;
          clearInterval(watch);
          reject(explain(new Error('the server process ended'), address, server));
        }, 500);
      }
    });
    infrastructure.catch(() => undefined);
    const resultPromise = abortable(() => handle.result());
    resultPromise.catch(() => undefined); // when interrupted, nobody awaits it any more
    const ended = Promise.race([resultPromise, aborted, infrastructure]);
    ended.catch(() => undefined); // raced below; its rejection is handled there
    let result: RunResult;
    if (working) {
      // The run's end stops the worker; the result is given once it has shut down, as before.
      // A worker that fails (it cannot start, or stops by itself) ends the run with its error.
      // After Ctrl-C the run ends at once; the worker's grace is the `finally`'s.
      let runEnded = false;
      const endRun = () => {
        runEnded = true;
        stopWorker();
      };
      ended.then(endRun, endRun);
      const workerEnded = working.then(() => (runEnded ? new Promise<never>(() => undefined) : Promise.reject(new Error('the worker stopped before the run ended'))));
      workerEnded.catch(() => undefined);
      const worked = working;
      result = await Promise.race([ended.then(async (r) => (await worked, r)), workerEnded, infrastructure]);
    } else {
      result = await ended;
    }
    // The last word comes from the result: a query now would wait for a worker that has stopped.
    ro.onProgress?.({
      phase: 'done',
      documents: result.documents,
      // The export's tally is the final word (it also removes duplicates across documents);
      // the workflow's counters were the live estimate.
      counters: {
        ...result.counters,
        loaded: result.export.loaded,
        failed: result.export.errors,
        chunks: result.export.chunks,
        pairsPassed: result.export.pairsPassed,
        pairsRejected: result.export.pairsRejected,
      },
      inFlight: 0,
      recentFailures: [],
      runsSoFar: 0,
    });
    return { handle, result, uiUrl };
  } catch (err) {
    const explained = explain(err, address, server);
    lost = explained instanceof InfrastructureError;
    throw explained;
  } finally {
    // Whatever ended the run, the worker stops. After Ctrl-C it cancels its activities and waits
    // for them; one busy in code that does not look at its cancellation (a huge document's
    // generation) could hold the user for minutes. Give it a second, then go: the server hands
    // the abandoned attempt to the next worker after its heartbeat timeout, and its finished
    // shards are kept. With the server or the disk gone it is not waited for at all: its
    // graceful shutdown needs the very thing that failed.
    stopWorker();
    if (working && !lost) await graceFor(working);
    if (timer) clearInterval(timer);
    if (watch) clearInterval(watch);
    stopDiskWatch?.();
    for (const c of live) c.abort();
    await inFlightPoll;
    // With the server gone, an aborted call may still have a gRPC retry timer pending (the SDK does
    // not clear it on abort): closing the channel under it would throw "Channel has been shut down"
    // from that timer. Left open, the retry fails quietly; the CLI exits at once anyway.
    if (!lost) await connection.close();
    await nativeConnection?.close().catch(() => undefined);
    // The in-process worker's extraction threads: a document cut short by Ctrl-C must not keep
    // the process alive.
    if (nativeConnection) await closeExtractionPool();
    // Never let leaving the server hide why the run ended (e.g. on a full disk).
    await server?.stop({ wait: !ro.stopServerInBackground }).catch((err: unknown) => console.error(`warning: could not stop the Temporal server (pid ${server.pid}): ${(err as Error).message}`));
  }
}

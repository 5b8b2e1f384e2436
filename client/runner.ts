/**
 * Runs a corpus export end to end for the CLI (and for tests and scripts that want the same
 * behaviour): connect to TEMPORAL_ADDRESS or start the embedded dev server, start or attach to
 * the workflow, run an in-process worker until the result is in, report progress.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Progress, RunResult } from '../schemas/index.js';
import { createCorpusWorker, DEFAULT_TASK_QUEUE, installQuietRuntime } from '../worker/index.js';
import { startCorpusExport, type CorpusExportHandle } from './api.js';
import { startEmbeddedServer, type EmbeddedServer } from './devServer.js';
import type { CorpusExportOptions } from './runOptions.js';
import { addressTarget, type ServerTarget } from './connection.js';
import { closeExtractionPool } from '../activities/extract/pool.js';

export interface RunnerOptions {
  /** An existing server (see client/connection.ts); without it the embedded dev server is started. */
  target?: ServerTarget;
  /** Shorthand for a target with just an address (tests, scripts). */
  address?: string;
  namespace?: string;
  taskQueue?: string;
  /** Run a worker in this process (default). Off: only start/attach and wait. */
  worker?: boolean;
  fresh?: boolean;
  uiPort?: number;
  onStarted?: (info: { handle: CorpusExportHandle; uiUrl: string | undefined; server: EmbeddedServer | undefined }) => void;
  onProgress?: (progress: Progress) => void;
  progressIntervalMs?: number;
  /** Aborting stops the local worker (and embedded server); the workflow stays resumable. */
  signal?: AbortSignal;
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

export function workflowUiUrl(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export async function runCorpusExport(options: CorpusExportOptions, ro: RunnerOptions = {}): Promise<RunnerResult> {
  const taskQueue = ro.taskQueue ?? DEFAULT_TASK_QUEUE;
  const given = ro.target ?? (ro.address ? addressTarget(ro.address, ro.namespace) : undefined);
  const server = given ? undefined : await startEmbeddedServer(options.outDir, { uiPort: ro.uiPort });
  const target = given ?? addressTarget(server!.address);
  const namespace = target.namespace;
  const uiBase = server?.uiUrl ?? process.env.TEMPORAL_UI_URL;
  const connection = await Connection.connect(target.connectionOptions);
  installQuietRuntime();
  const nativeConnection = ro.worker === false ? undefined : await NativeConnection.connect(target.connectionOptions);
  let timer: NodeJS.Timeout | undefined;
  // Every long call (result long-poll, progress queries) can be aborted, so that closing
  // the connection never leaves a gRPC retry behind to throw "Channel has been shut down".
  // One controller per call: a signal shared by thousands of polls would collect listeners.
  const live = new Set<AbortController>();
  const abortable = <T>(fn: () => Promise<T>): Promise<T> => {
    const c = new AbortController();
    live.add(c);
    return connection.withAbortSignal(c.signal, fn).finally(() => live.delete(c));
  };
  let inFlightPoll: Promise<void> | undefined;
  try {
    const client = new Client({ connection, namespace });
    const handle = await startCorpusExport(options, { client, taskQueue, fresh: ro.fresh });
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
    const resultPromise = abortable(() => handle.result());
    resultPromise.catch(() => undefined); // when interrupted, nobody awaits it any more
    let result: RunResult;
    if (nativeConnection) {
      const worker = await createCorpusWorker({
        connection: nativeConnection,
        namespace,
        taskQueue,
        maxConcurrentActivities: options.concurrency ?? 4,
        onProcessDocument: ro.onProcessDocument,
      });
      result = await worker.runUntil(Promise.race([resultPromise, aborted]));
    } else {
      result = await Promise.race([resultPromise, aborted]);
    }
    // The last word comes from the result: a query now would wait for a worker that has stopped.
    ro.onProgress?.({
      phase: 'done',
      documents: result.documents,
      // Export has the final word on pairs: it also removes duplicates across documents.
      counters: { ...result.counters, pairsPassed: result.export.pairsPassed, pairsRejected: result.export.pairsRejected },
      inFlight: 0,
      recentFailures: [],
      runsSoFar: 0,
    });
    return { handle, result, uiUrl };
  } finally {
    if (timer) clearInterval(timer);
    for (const c of live) c.abort();
    await inFlightPoll;
    await connection.close();
    await nativeConnection?.close();
    // The in-process worker's extraction threads: a document cut short by Ctrl-C must not keep
    // the process alive.
    if (nativeConnection) await closeExtractionPool();
    await server?.stop();
  }
}

/**
 * Worker bootstrap: one place that knows how to build a worker for the corpus task queue, used
 * by the in-process worker of `corpus-qa run`, by `corpus-qa worker`, by tests and the bench.
 */
import { setMaxListeners } from 'node:events';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry, type WorkflowBundle } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { setExtractionPoolSize } from '../activities/extract/pool.js';
import { cacheDir } from '../client/server/temporalCli.js';
import { cachedWorkflowBundle } from './bundleCache.js';
import { withDocumentObservers } from './documentObservers.js';

export const DEFAULT_TASK_QUEUE = 'corpus-qa';
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

const require = createRequire(import.meta.url);

export function toolVersion(): string {
  return (require('../package.json') as { version: string }).version;
}

export function sdkVersion(): string {
  return (require('@temporalio/worker/package.json') as { version: string }).version;
}

let bundlePromise: Promise<WorkflowBundle> | undefined;

/**
 * Bundle the workflow code once per process, from the on-disk cache when the sources are
 * unchanged; every worker of the process shares it. CORPUS_QA_BUNDLE_CACHE=0 always rebuilds.
 */
export function workflowBundle(): Promise<WorkflowBundle> {
  const dir = process.env.CORPUS_QA_BUNDLE_CACHE === '0' ? undefined : cacheDir();
  bundlePromise ??= cachedWorkflowBundle(WORKFLOWS_PATH, sdkVersion(), dir, quietBundlerLogger);
  return bundlePromise;
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };

async function serverVersionOf(connection: NativeConnection): Promise<string> {
  try {
    const info = await connection.workflowService.getSystemInfo({});
    return info.serverVersion ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface CorpusWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** Processing activities run at once on this worker. */
  maxConcurrentActivities?: number;
  onProcessDocument?: ActivityDeps['onProcessDocument'];
}

let runtimeInstalled = false;

/**
 * The SDK logs a retried activity failure (a 429, a worker restart) with its whole stack; a
 * user watching a long run wants one line per event: what failed, which attempt, and why.
 */
export function oneLineLog(entry: LogEntry): void {
  const meta = (entry.meta ?? {}) as Record<string, unknown>;
  const error = meta.error as { message?: string; cause?: { message?: string } } | undefined;
  const parts = [`[${entry.level}] ${entry.message}`];
  for (const key of ['activityType', 'workflowType', 'attempt', 'taskQueue']) {
    if (meta[key] !== undefined) parts.push(`${key}=${String(meta[key])}`);
  }
  const why = error?.cause?.message ?? error?.message;
  if (why) parts.push(`: ${why.split('\n')[0]}`);
  process.stderr.write(`${parts.join(' ')}\n`);
}

/** The SDK logs every worker state change at INFO; users want warnings and errors only. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    const level = (process.env.CORPUS_QA_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN';
    Runtime.install({ logger: new DefaultLogger(level, level === 'WARN' ? oneLineLog : undefined) });
  } catch {
    // Already installed by the embedding program: keep its choice.
  }
}

/**
 * CORPUS_QA_CHUNKS_PER_PAGE: chunks of a big document in hand at a time (docs/big-files.md).
 * Smaller pages hold less; the output is the same whatever the page size.
 */
function chunksPerPageFromEnv(): { chunksPerPage?: number } {
  const raw = process.env.CORPUS_QA_CHUNKS_PER_PAGE;
  if (raw === undefined || raw === '') return {};
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`CORPUS_QA_CHUNKS_PER_PAGE must be a whole number of at least 1 (it is ${JSON.stringify(raw)})`);
  return { chunksPerPage: n };
}

/**
 * One extraction thread per activity slot, but no more than the cores: a thread is CPU-bound
 * while it works, so a third thread on two cores parses no faster and costs ~50 MB of RSS
 * (docs/scale.md). A slot whose thread is busy waits in the pool's queue; its time budget
 * starts when a thread takes the document, so waiting never makes a document time out.
 */
export function extractionThreadsFor(activitySlots: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(activitySlots, cores));
}

export async function createCorpusWorker(opts: CorpusWorkerOptions): Promise<Worker> {
  installQuietRuntime();
  // Dozens of LLM requests in flight share the activity's cancellation signal (each SDK call
  // listens on it): that is expected here, not a leak to warn about.
  setMaxListeners(256);
  setExtractionPoolSize(extractionThreadsFor(opts.maxConcurrentActivities ?? 4));
  const deps: ActivityDeps = {
    toolVersion: toolVersion(),
    sdkVersion: sdkVersion(),
    serverVersion: await serverVersionOf(opts.connection),
    // What this process registered (worker/documentObservers.ts), then the caller's.
    onProcessDocument: withDocumentObservers(opts.onProcessDocument),
    ...chunksPerPageFromEnv(),
  };
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: createActivities(deps),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 4,
    // Heartbeats reach the server within a second (not 0.8 × the 30 s timeout): progress views
    // read what batches in flight have done from them. Heartbeats add no history events.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
  });
}

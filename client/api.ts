/**
 * The client-side API a user's own script can import: start (or attach to) a corpus export,
 * watch its progress, await its result.
 */
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Progress, ResolvedRunInput, RunResult } from '../schemas/index.js';
import { DEFAULT_TASK_QUEUE, toolVersion } from '../worker/index.js';
import { CORPUS_GENERATOR, CORPUS_INPUT, CORPUS_OUTPUT } from '../workflows/searchAttributes.js';
import { releaseActivitiesOfDeadWorkers } from './server/deadWorkers.js';
import { settingsMarkdown } from './runMetadata.js';
import { ensureSearchAttributes } from './server/searchAttributes.js';
import { corpusExportWorkflow, progressQuery } from '../workflows/index.js';
import { liveProgress } from './liveProgress.js';
import { outputSetProblem, type StatsFiles } from './commands/verify.js';
import { storeFor } from '../activities/storage.js';
import { OUTPUT_FILES } from '../activities/paths.js';
import { identityChanges, resolveRunInput, runIdentity, workflowIdFor, type CorpusExportOptions } from './runOptions.js';
import { corpusFingerprint, readLastRun, writeLastRun } from './runState.js';

export interface CorpusExportHandle {
  workflowId: string;
  run: ResolvedRunInput;
  /**
   * 'started' a new execution, 'attached' to a running one, or found it 'completed' earlier
   * with the same input and settings (nothing to do).
   */
  status: 'started' | 'attached' | 'completed';
  /** Why a new execution was started although one existed (input or settings changed). */
  notes: string[];
  progress(): Promise<Progress>;
  result(): Promise<RunResult>;
}

export interface StartOptions {
  client: Client;
  taskQueue?: string;
  /** Start over even if a completed run with the same inputs exists. */
  fresh?: boolean;
  /** The corpus's fingerprint (runState.ts), if the caller started computing it already. */
  fingerprint?: Promise<string>;
  /**
   * Called once the run is known to need workers, before the workflow is started (or attached
   * to): a caller with a worker of its own starts it polling here, so the workflow's first task
   * goes to it at once. Not called for a run that is complete or refused.
   */
  beforeStart?: () => Promise<void>;
}

export class RunConflictError extends Error {}

/** Bad options (exit 2) and a lost server or full disk (exit 3): see client/errors.ts. */
export { InfrastructureError, UsageError } from './errors.js';

/** The outputs on disk are this run's, and a complete set (not half of an interrupted re-export). */
async function outputsBelongTo(outDir: string, workflowId: string): Promise<boolean> {
  const store = storeFor(outDir);
  let stats: StatsFiles & { workflow?: { id?: string } };
  try {
    stats = JSON.parse((await store.readText(OUTPUT_FILES.stats)) ?? 'null') as typeof stats;
  } catch {
    return false;
  }
  if (stats?.workflow?.id !== workflowId) return false;
  try {
    return (await outputSetProblem(store, stats)) === undefined;
  } catch (err) {
    // A local file that cannot be read is not a complete set; a bucket that cannot be read is an error to report.
    if (store.kind === 's3') throw err;
    return false;
  }
}

async function describeRun(client: Client, workflowId: string) {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export async function startCorpusExport(
  options: CorpusExportOptions,
  { client, taskQueue = DEFAULT_TASK_QUEUE, fresh = false, fingerprint: given, beforeStart }: StartOptions,
): Promise<CorpusExportHandle> {
  const run = resolveRunInput(options);
  const workflowId = workflowIdFor(run);
  const identity = runIdentity(run);
  const notes: string[] = [];

  // Another run with other settings in the same output directory: say what changed, and do
  // not let two runs write the same files at once.
  const last = await readLastRun(run.outDir);
  if (last && last.workflowId !== workflowId) {
    const other = await describeRun(client, last.workflowId);
    if (other?.status.name === 'RUNNING') {
      throw new RunConflictError(
        `another run (${last.workflowId}) with different settings is still in progress in ${run.outDir}; ` +
          `cancel it with \`corpus-qa cancel ${run.outDir}\` or choose another --out`,
      );
    }
    notes.push(`settings changed since the last run in this directory (${identityChanges(last.identity, identity).join(', ')}): this is a new run`);
  }

  const fingerprint = await (given ?? corpusFingerprint(run));
  const previous = await describeRun(client, workflowId);
  // The outputs on disk must be this run's: another run with other settings may have written
  // the same directory since.
  const outputsPresent = await outputsBelongTo(run.outDir, workflowId);
  const previousFingerprint = previous?.memo?.corpusFingerprint;

  let status: CorpusExportHandle['status'];
  if (previous?.status.name === 'RUNNING') {
    if (fresh) throw new RunConflictError(`run ${workflowId} is in progress; cancel it before starting it --fresh`);
    status = 'attached';
    notes.push('attached to the run already in progress: it keeps the --concurrency and --batch-size it was started with');
    const released = await releaseActivitiesOfDeadWorkers(client, workflowId);
    if (released.length) notes.push(`the worker that was running this run died (${released.join(', ')}): its work is retried now`);
    await beforeStart?.();
  } else if (previous?.status.name === 'COMPLETED' && outputsPresent && !fresh && !run.noCache && previousFingerprint === fingerprint) {
    status = 'completed';
  } else {
    if (previous?.status.name === 'COMPLETED' && previousFingerprint !== fingerprint) {
      notes.push('the input changed since the completed run: running again (documents with a kept shard are not processed again)');
    } else if (previous && previous.status.name !== 'COMPLETED') {
      notes.push(`the previous attempt ended ${previous.status.name.toLowerCase()}: resuming; documents already done are reused`);
    }
    const searchable = await ensureSearchAttributes(client);
    if (!searchable) notes.push('this server has no corpus-qa search attributes and they could not be registered: runs are not filterable by them');
    await beforeStart?.();
    // USE_EXISTING covers a start racing with another client for the same run.
    await client.workflow.start(corpusExportWorkflow, {
      taskQueue,
      workflowId,
      args: [run],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A worker killed while it holds a workflow task stalls the run until this timeout (default
      // 10 s): our workflow tasks take milliseconds, so a resume after a crash can be quicker.
      workflowTaskTimeout: '4s',
      staticSummary: `corpus-qa: ${run.inputDir} → ${run.outDir}`,
      staticDetails: settingsMarkdown(run),
      memo: {
        corpusFingerprint: fingerprint,
        settingsHash: workflowId.slice('corpus-qa-'.length),
        toolVersion: toolVersion(),
        generator: run.settings.generateQa ? run.settings.generator : 'none',
        outDir: run.outDir,
      },
      ...(searchable
        ? {
            typedSearchAttributes: [
              { key: CORPUS_INPUT, value: run.inputDir },
              { key: CORPUS_OUTPUT, value: run.outDir },
              { key: CORPUS_GENERATOR, value: run.settings.generateQa ? run.settings.generator : 'none' },
            ],
          }
        : {}),
    });
    status = 'started';
  }
  await writeLastRun(run.outDir, { workflowId, identity });
  const handle = client.workflow.getHandle<typeof corpusExportWorkflow>(workflowId);
  return {
    workflowId,
    run,
    status,
    notes,
    progress: async () => {
      // The query first: a batch that ends in between is then missed for a moment, never counted twice.
      const p = await handle.query(progressQuery);
      const live = await liveProgress(handle).catch(() => undefined);
      return live ? { ...p, live } : p;
    },
    result: () => handle.result(),
  };
}

/**
 * The client-side API a user's own script can import: start (or attach to) a corpus export,
 * watch its progress, await its result.
 */
import { ApplicationFailure, Client, WorkflowNotFoundError } from '@temporalio/client';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Progress, ResolvedRunInput, RunResult } from '../schemas/index.js';
import proto from '@temporalio/proto';
import { DEFAULT_TASK_QUEUE, toolVersion } from '../worker/index.js';
import { CORPUS_GENERATOR, CORPUS_INPUT, CORPUS_OUTPUT, CORPUS_SEARCH_ATTRIBUTES } from '../workflows/searchAttributes.js';
import { corpusExportWorkflow, progressQuery } from '../workflows/index.js';
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
}

export class RunConflictError extends Error {}

function outputsBelongTo(outDir: string, workflowId: string): boolean {
  try {
    const stats = JSON.parse(readFileSync(join(outDir, 'stats.json'), 'utf8')) as { workflow?: { id?: string } };
    return stats.workflow?.id === workflowId;
  } catch {
    return false;
  }
}

/** The run's settings as a Markdown table: the "details" panel of the run in the UI. */
export function settingsMarkdown(run: ResolvedRunInput): string {
  const rows: Array<[string, string]> = [
    ['input', run.inputDir],
    ['output', run.outDir],
    ['globs', run.globs.length ? run.globs.join(', ') : '(all files)'],
    ...Object.entries(run.settings)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    ['failFast', String(run.failFast)],
    ['batchSize / window', `${run.batchSize} / ${run.window}`],
    ['continueAsNewAfter', String(run.continueAsNewAfter)],
  ];
  const cell = (v: string) => (v === '' ? '(none)' : `\`${v.replace(/\|/g, '\\|')}\``);
  return ['| setting | value |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`)].join('\n');
}

const searchAttributesReady = new WeakMap<Client, boolean>();

/**
 * Makes sure the server knows our search attributes: the embedded server registers them at
 * start; on a cluster we try to add them (needs the operator API; Temporal Cloud manages them
 * in its UI instead). Without them, runs still work, only without those filters.
 */
export async function ensureSearchAttributes(client: Client): Promise<boolean> {
  const cached = searchAttributesReady.get(client);
  if (cached !== undefined) return cached;
  const wanted = Object.fromEntries(CORPUS_SEARCH_ATTRIBUTES.map((k) => [k.name, k.type]));
  let ok = false;
  try {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: client.options.namespace });
    const missing = Object.keys(wanted).filter((name) => !(name in (customAttributes ?? {})));
    if (missing.length > 0) {
      const { IndexedValueType } = proto.temporal.api.enums.v1; // CommonJS package: no named ESM exports
      const enumOf = { KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, INT: IndexedValueType.INDEXED_VALUE_TYPE_INT };
      await client.connection.operatorService.addSearchAttributes({
        namespace: client.options.namespace,
        searchAttributes: Object.fromEntries(missing.map((name) => [name, enumOf[wanted[name] as 'KEYWORD' | 'INT']])),
      });
    }
    ok = true;
  } catch {
    ok = false;
  }
  searchAttributesReady.set(client, ok);
  return ok;
}

async function describeRun(client: Client, workflowId: string) {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A worker killed outright (SIGKILL, OOM, power loss) never reports back: Temporal retries its
 * activities only when their heartbeat timeout expires (minutes), and sends the next workflow
 * task to its sticky queue first. When that worker ran on this machine and its process is gone,
 * fail its activities now (they are retried at once, by the retry policy) and reset stickiness.
 * Returns the dead workers' identities.
 */
async function releaseActivitiesOfDeadWorkers(client: Client, workflowId: string): Promise<string[]> {
  const description = await client.workflow.getHandle(workflowId).describe();
  const dead = new Set<string>();
  for (const a of description.raw.pendingActivities ?? []) {
    if (a.state !== proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED) continue;
    const identity = a.lastWorkerIdentity ?? '';
    const m = /^(\d+)@(.+)$/.exec(identity);
    if (!m || m[2] !== hostname() || isAlive(Number(m[1])) || !a.activityId) continue;
    try {
      await client.activity.fail(
        { workflowId, runId: description.runId, activityId: a.activityId },
        ApplicationFailure.retryable(`worker ${identity} died while running this activity`, 'WorkerDied'),
      );
      dead.add(identity);
    } catch {
      // Completed or timed out meanwhile: nothing to release.
    }
  }
  // Cheap (a live sticky worker replays a bounded history once), and a dead worker may hold the
  // workflow's sticky task without any activity.
  await client.workflowService
    .resetStickyTaskQueue({ namespace: client.options.namespace, execution: { workflowId, runId: description.runId } })
    .catch(() => undefined);
  return [...dead];
}

export async function startCorpusExport(
  options: CorpusExportOptions,
  { client, taskQueue = DEFAULT_TASK_QUEUE, fresh = false }: StartOptions,
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

  const fingerprint = await corpusFingerprint(run);
  const previous = await describeRun(client, workflowId);
  // The outputs on disk must be this run's: another run with other settings may have written
  // the same directory since.
  const outputsPresent = outputsBelongTo(run.outDir, workflowId);
  const previousFingerprint = previous?.memo?.corpusFingerprint;

  let status: CorpusExportHandle['status'];
  if (previous?.status.name === 'RUNNING') {
    if (fresh) throw new RunConflictError(`run ${workflowId} is in progress; cancel it before starting it --fresh`);
    status = 'attached';
    const released = await releaseActivitiesOfDeadWorkers(client, workflowId);
    if (released.length) notes.push(`the worker that was running this run died (${released.join(', ')}): its work is retried now`);
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
    // USE_EXISTING covers a start racing with another client for the same run.
    await client.workflow.start(corpusExportWorkflow, {
      taskQueue,
      workflowId,
      args: [run],
      workflowIdConflictPolicy: 'USE_EXISTING',
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
    progress: () => handle.query(progressQuery),
    result: () => handle.result(),
  };
}

/**
 * The client-side API a user's own script can import: start (or attach to) a corpus export,
 * watch its progress, await its result.
 */
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Progress, ResolvedRunInput, RunResult } from '../schemas/index.js';
import { DEFAULT_TASK_QUEUE } from '../worker/index.js';
import { corpusExportWorkflow, progressQuery } from '../workflows/index.js';
import { resolveRunInput, workflowIdFor, type CorpusExportOptions } from './runOptions.js';

export interface CorpusExportHandle {
  workflowId: string;
  run: ResolvedRunInput;
  /** 'started' a new execution, 'attached' to a running one, or found it 'completed' earlier. */
  status: 'started' | 'attached' | 'completed';
  progress(): Promise<Progress>;
  result(): Promise<RunResult>;
}

export interface StartOptions {
  client: Client;
  taskQueue?: string;
  /** Start over even if a completed run with the same inputs exists. */
  fresh?: boolean;
}

async function describeStatus(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return d.status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export async function startCorpusExport(
  options: CorpusExportOptions,
  { client, taskQueue = DEFAULT_TASK_QUEUE, fresh = false }: StartOptions,
): Promise<CorpusExportHandle> {
  const run = resolveRunInput(options);
  const workflowId = workflowIdFor(run);
  const previous = await describeStatus(client, workflowId);
  const outputsPresent = existsSync(join(run.outDir, 'stats.json'));

  let status: CorpusExportHandle['status'];
  if (previous === 'RUNNING') {
    status = 'attached';
  } else if (previous === 'COMPLETED' && outputsPresent && !fresh) {
    status = 'completed';
  } else {
    // New, or the last attempt failed/was cancelled: start again. Shards from that attempt are
    // reused, so only unfinished documents are processed. USE_EXISTING covers a racing start.
    await client.workflow.start(corpusExportWorkflow, {
      taskQueue,
      workflowId,
      args: [run],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    status = 'started';
  }
  const handle = client.workflow.getHandle<typeof corpusExportWorkflow>(workflowId);
  return {
    workflowId,
    run,
    status,
    progress: () => handle.query(progressQuery),
    result: () => handle.result(),
  };
}

/**
 * Looking at runs: `corpus-qa ui <out>` serves the Temporal UI on a run's embedded database (a
 * finished or interrupted run can be inspected later), and `corpus-qa list` lists the runs a
 * server knows, from its visibility store.
 */
import { resolveOutDir } from '../runOptions.js';
import type { Progress } from '../../schemas/index.js';
import { progressQuery } from '../../workflows/index.js';
import { CORPUS_DOCUMENTS, CORPUS_OUTPUT } from '../../workflows/searchAttributes.js';
import type { ServerTarget } from '../server/connection.js';
import { startEmbeddedServer } from '../server/devServer.js';
import { workflowUiUrl } from '../runner.js';
import { readLastRun } from '../runState.js';
import { openServer, withTimeout } from './operate.js';

export async function serveUi(outDir: string, opts: { uiPort?: number; signal?: AbortSignal; onReady?: (url: string) => void }): Promise<void> {
  const out = resolveOutDir(outDir);
  const server = await startEmbeddedServer(out, { uiPort: opts.uiPort });
  try {
    const last = await readLastRun(out);
    opts.onReady?.(last ? workflowUiUrl(server.uiUrl, 'default', last.workflowId) : server.uiUrl);
    // An abort listener does not keep Node's event loop alive: without this timer the process
    // ends at once (exit 13, "unsettled top-level await") and leaves the server running.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    try {
      await new Promise<void>((r) => {
        if (opts.signal?.aborted) r();
        opts.signal?.addEventListener('abort', () => r(), { once: true });
      });
    } finally {
      clearInterval(keepAlive);
    }
  } finally {
    // Leaves the server: it stops only if no other live process (a running `corpus-qa run`) uses it.
    await server.stop();
  }
}

export interface RunListing {
  workflowId: string;
  status: string;
  startTime: Date;
  outDir: string;
  documents?: number;
  progress?: Progress;
}

export async function listRuns(where: { target?: ServerTarget; outDir?: string }): Promise<RunListing[]> {
  const s = await openServer(where.target, where.outDir, 'without TEMPORAL_ADDRESS, give an output directory whose embedded server to list');
  try {
    const client = s.client;
    const runs: RunListing[] = [];
    // One row per workflow id: the newest execution (continue-as-new makes several).
    const seen = new Set<string>();
    for await (const wf of client.workflow.list({ query: `WorkflowType = 'corpusExportWorkflow'` })) {
      if (seen.has(wf.workflowId)) continue;
      seen.add(wf.workflowId);
      const memo = (wf.memo ?? {}) as { outDir?: string };
      const listing: RunListing = {
        workflowId: wf.workflowId,
        status: wf.status.name,
        startTime: wf.startTime,
        outDir: wf.typedSearchAttributes.get(CORPUS_OUTPUT) ?? memo.outDir ?? '?',
        documents: wf.typedSearchAttributes.get(CORPUS_DOCUMENTS),
      };
      if (wf.status.name === 'RUNNING') {
        listing.progress = await withTimeout(client.workflow.getHandle(wf.workflowId).query(progressQuery), 2000);
      }
      runs.push(listing);
    }
    return runs;
  } finally {
    await s.close();
  }
}

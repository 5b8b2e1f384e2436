/**
 * Reading runs back: `corpus-qa list` (a cluster's runs from the visibility API, or the runs in
 * an output directory's embedded database), `corpus-qa status`, the search attributes with the
 * real `temporal` CLI, and what a run carries for the UI (static summary and details, memo,
 * activity summaries), read with the client as the UI reads them.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalCli } from '../client/server/temporalCli.js';
import { writeFixtureCorpus } from './helpers/corpus.js';
import { tempDir } from './helpers/files.js';
import { describeCli, killEverythingUnder, startCorpusQa, processesMentioning, waitForExit, waitUntil } from './helpers/processes.js';
import { runExport, temporalAddress } from './helpers/temporal.js';

const DOCUMENTS = 12; // the fixture corpus: 7 good documents, 5 bad ones
const CLUSTER = () => ({ TEMPORAL_ADDRESS: temporalAddress() });
const EMBEDDED = { TEMPORAL_ADDRESS: undefined };

let work: string;
let corpus: string;
/** A run on the test's server (cluster mode), done in-process. */
let clusterOut: string;
let clusterWorkflowId: string;
/** What `corpus-qa list` printed while that run was blocked mid-processing. */
let listWhileRunning: string;

async function corpusQa(args: string[], env: Record<string, string | undefined>) {
  const proc = startCorpusQa(args, env);
  const exit = await waitForExit(proc, 90_000);
  expect(exit.code, describeCli(proc)).toBe(0);
  return proc.stdout();
}

function lineOf(output: string, workflowId: string): string {
  const line = output.split('\n').find((l) => l.startsWith(workflowId));
  expect(line, output).toBeDefined();
  return line!;
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: temporalAddress() });
  try {
    return await fn(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

beforeAll(async () => {
  work = tempDir('inspect');
  corpus = join(work, 'corpus');
  writeFixtureCorpus(corpus);
  clusterOut = join(work, 'cluster-out');

  // Hold every document at the worker until `corpus-qa list` has seen the run in progress.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let reached = false;
  const running = runExport(
    { inputDir: corpus, outDir: clusterOut, generateQa: true, batchSize: 4 },
    {
      onProcessDocument: async () => {
        reached = true;
        await gate;
      },
    },
  );
  running.catch(() => undefined);
  try {
    await waitUntil('a document to reach the worker', () => reached, { timeoutMs: 60_000 });
    listWhileRunning = await corpusQa(['list'], CLUSTER());
  } finally {
    release();
  }
  const { handle, result } = await running;
  expect(result.documents).toBe(DOCUMENTS);
  clusterWorkflowId = handle.workflowId;
}, 150_000);

afterAll(async () => {
  if (work) await killEverythingUnder(work);
});

describe('corpus-qa list on a cluster (TEMPORAL_ADDRESS)', () => {
  it('shows a running run with its progress and output directory', () => {
    const line = lineOf(listWhileRunning, clusterWorkflowId);
    expect(line).toMatch(/ RUNNING /);
    expect(line).toMatch(new RegExp(` ${DOCUMENTS} docs processing \\d+/${DOCUMENTS} docs `));
    expect(line.endsWith(`  ${clusterOut}`), line).toBe(true);
  });

  it('shows the finished run: id, COMPLETED, document count, output directory', async () => {
    const out = await corpusQa(['list'], CLUSTER());
    const line = lineOf(out, clusterWorkflowId);
    expect(line).toMatch(new RegExp(`^${clusterWorkflowId}  COMPLETED  +\\d{4}-\\d\\d-\\d\\dT\\S+ ${DOCUMENTS} docs  ${clusterOut}$`));
  });
});

describe('search attributes, with the real Temporal CLI', () => {
  it('`temporal workflow list --query "CorpusOutput = ..."` finds the run, and only it', () => {
    const list = (query: string) =>
      JSON.parse(
        execFileSync(findTemporalCli(), ['workflow', 'list', '--address', temporalAddress(), '--query', query, '--output', 'json'], {
          encoding: 'utf8',
          timeout: 30_000,
        }) || '[]',
      ) as { execution: { workflowId: string }; status: string }[];
    const byOutput = list(`CorpusOutput = '${clusterOut}'`);
    expect(byOutput.map((w) => w.execution.workflowId)).toEqual([clusterWorkflowId]);
    expect(byOutput[0]!.status).toBe('WORKFLOW_EXECUTION_STATUS_COMPLETED');
    // Every attribute: the input and generator given at start, the document count upserted after discovery.
    const all = list(`CorpusInput = '${corpus}' AND CorpusOutput = '${clusterOut}' AND CorpusGenerator = 'builtin' AND CorpusDocuments = ${DOCUMENTS}`);
    expect(all.map((w) => w.execution.workflowId)).toEqual([clusterWorkflowId]);
    expect(list(`CorpusOutput = '${clusterOut}-elsewhere'`)).toEqual([]);
  });
});

describe('what the run shows in the UI', () => {
  it('describe(): static summary and details, memo', async () => {
    await withClient(async (client) => {
      const desc = await client.workflow.getHandle(clusterWorkflowId).describe();
      expect(await desc.staticSummary()).toBe(`corpus-qa: ${corpus} → ${clusterOut}`);
      const details = (await desc.staticDetails()) ?? '';
      expect(details).toMatch(/^\| setting \| value \|\n\| --- \| --- \|\n/);
      expect(details).toContain(`| input | \`${corpus}\` |`);
      expect(details).toContain(`| output | \`${clusterOut}\` |`);
      expect(details).toContain('| generator | `builtin` |');
      expect(details).toContain('| batchSize / window | `4 / 4` |');
      expect(Object.keys(desc.memo ?? {}).sort()).toEqual(['corpusFingerprint', 'generator', 'outDir', 'settingsHash', 'toolVersion']);
      expect(desc.memo).toMatchObject({ generator: 'builtin', outDir: clusterOut, settingsHash: clusterWorkflowId.slice('corpus-qa-'.length) });
    });
  });

  it('every activity in the history carries a summary naming its input, batch or output', async () => {
    const scheduled = await withClient(async (client) => {
      const history = await client.workflow.getHandle(clusterWorkflowId).fetchHistory();
      return (history.events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes)
        .map((e) => ({
          type: e.activityTaskScheduledEventAttributes!.activityType?.name ?? '',
          summary: e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary) : undefined,
        }));
    });
    const withSummary = (type: string) => scheduled.filter((s) => s.type === type).map((s) => s.summary);
    expect(withSummary('discover')).toEqual([`discover ${corpus}`]);
    expect(withSummary('exportDataset')).toEqual([`export to ${clusterOut}`]);
    // 12 documents in batches of 4, named by their first and last document and their range.
    const batches = withSummary('processBatch');
    expect(batches).toHaveLength(3);
    for (const [i, s] of batches.entries()) {
      expect(s).toMatch(new RegExp(`^\\S+ … \\S+ \\(4 docs\\) \\[${4 * i + 1}–${4 * i + 4} of ${DOCUMENTS}\\]$`));
    }
    expect(batches.join(' ')).toMatch(/bad\/blank\.md … /); // the first document in manifest order
  });
});

describe('on an embedded run (no TEMPORAL_ADDRESS)', () => {
  it('`corpus-qa list <out>` and `corpus-qa status <out>` read the run from its output directory', async () => {
    const out = join(work, 'embedded-out');
    const run = startCorpusQa(['run', corpus, '--out', out, '--generate-qa', '--no-progress'], EMBEDDED);
    const exit = await waitForExit(run, 120_000);
    expect(exit.code, describeCli(run)).toBe(0);
    const workflowId = run.stderr().match(/Started workflow (corpus-qa-[0-9a-f]+)/)?.[1];
    expect(workflowId, run.stderr()).toBeDefined();

    const listed = await corpusQa(['list', out], EMBEDDED);
    expect(lineOf(listed, workflowId!)).toMatch(new RegExp(`^${workflowId}  COMPLETED  +\\S+ ${DOCUMENTS} docs  ${out}$`));
    expect(listed.trim().split('\n')).toHaveLength(1); // its own database: this run only

    const status = await corpusQa(['status', out], EMBEDDED);
    expect(status).toMatch(new RegExp(`^${workflowId}: COMPLETED \\(started \\S+, ended \\S+\\)`));

    // Nothing left running: list and status stopped the servers they started.
    await waitUntil('the embedded servers to stop', () => processesMentioning(out).length === 0, { timeoutMs: 15_000 });
  }, 150_000);

  it('`corpus-qa list` without TEMPORAL_ADDRESS or an output directory says what to give', async () => {
    const proc = startCorpusQa(['list'], EMBEDDED);
    const exit = await waitForExit(proc, 60_000);
    expect(exit.code).toBe(2);
    expect(proc.stderr()).toMatch(/TEMPORAL_ADDRESS.*output directory|output directory.*TEMPORAL_ADDRESS/);
  });
});

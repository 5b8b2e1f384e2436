/**
 * Records the workflow histories that test/replay.test.ts replays against the current workflow
 * code (the determinism guard). Runs three real exports on a throwaway Temporal dev server with
 * an in-process worker and saves every run's history as JSON:
 *
 *   continue-as-new.run-N.json  18 documents, batches of 2, continue-as-new every 4 (every run of the chain)
 *   document-failures.json      the fixture corpus with bad files, --generate-qa: failures are data
 *   fail-fast.json              the same corpus with --fail-fast: the workflow fails
 *   adaptive-batches.run-N.json no --batch-size: batches sized by work, whose size changes as the
 *                               run learns, continue-as-new every 200 (every run of the chain)
 *
 * plus index.json (workflow id and scenario of each file).
 *
 *   npx tsx scripts/record-histories.ts [outDir] [--only scenario,...]   (default test/fixtures/histories)
 *
 * --only records the named scenarios and keeps the others' files as they are: a new scenario
 * gets its fixture without making the current code the reference for the old ones.
 *
 * Re-record only when no execution of the old workflow code is running anywhere (see README,
 * "Changing the workflow safely"): the fixtures stand for the executions that may be in flight.
 * Corpora are written to fixed paths under the temp dir, so workflow ids and inputs stay the same
 * from one recording to the next; run ids, timestamps and durations change.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { RunInterrupted, runCorpusExport } from '../client/runner.js';
import type { CorpusExportOptions } from '../client/runOptions.js';
import { findTemporalCli } from '../client/server/temporalCli.js';
import { historyToJsonObject, type HistoryIndex } from '../test/fixtures/historyJson.js';
import { writeFixtureCorpus, writeGoodDocs } from '../test/helpers/corpus.js';
import { installQuietRuntime, sdkVersion, toolVersion } from '../worker/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_OUT = join(ROOT, 'test', 'fixtures', 'histories');
const TASK_QUEUE = 'corpus-qa-record-histories';
/** Each recorded run takes seconds; one that takes minutes is stuck retrying an activity. */
const RUN_TIMEOUT_MS = 3 * 60_000;

/** A fresh, fixed directory per scenario: same paths, same workflow ids on every recording. */
function scenarioDirs(name: string): { inputDir: string; outDir: string } {
  const base = join(tmpdir(), 'corpus-qa-record-histories', name);
  rmSync(base, { recursive: true, force: true });
  const inputDir = join(base, 'in');
  const outDir = join(base, 'out');
  mkdirSync(inputDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  return { inputDir, outDir };
}

/**
 * Fields that are noise in a committed file and that replay does not read: the worker identity
 * (pid@hostname) and failure stack traces (paths on the recording machine).
 */
const SCRUBBED: Record<string, string> = { identity: 'corpus-qa-recorder', stackTrace: '' };

function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, typeof v === 'string' && k in SCRUBBED ? SCRUBBED[k] : scrub(v)]),
    );
  }
  return value;
}

interface RecordedRun {
  runId: string;
  json: { events: Array<Record<string, unknown>> };
}

async function fetchRunJson(client: Client, workflowId: string, runId: string): Promise<RecordedRun> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const json = scrub(historyToJsonObject(history)) as RecordedRun['json'];
  return { runId, json };
}

/**
 * Every run of a workflow id, first to last: walk back from the latest run through
 * `continuedExecutionRunId`, then check the chain against what visibility lists for the id.
 */
async function fetchChain(client: Client, workflowId: string): Promise<RecordedRun[]> {
  const latest = await client.workflow.getHandle(workflowId).describe();
  const chain: RecordedRun[] = [];
  let runId: string | undefined = latest.runId;
  while (runId) {
    const run = await fetchRunJson(client, workflowId, runId);
    chain.unshift(run);
    const started = run.json.events[0]?.workflowExecutionStartedEventAttributes as { continuedExecutionRunId?: string } | undefined;
    runId = started?.continuedExecutionRunId || undefined;
  }

  const expected = chain.map((r) => r.runId).sort();
  let listed: string[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    listed = [];
    for await (const ex of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) listed.push(ex.runId);
    listed.sort();
    if (JSON.stringify(listed) === JSON.stringify(expected)) return chain;
    await new Promise((r) => setTimeout(r, 200)); // visibility is eventually consistent
  }
  throw new Error(`runs listed for ${workflowId} (${listed.join(', ')}) differ from its continue-as-new chain (${expected.join(', ')})`);
}

function lastEventType(json: RecordedRun['json']): string {
  const type = String(json.events.at(-1)?.eventType ?? 'unknown');
  return type.replace(/^EVENT_TYPE_/, '');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? new Set((args.splice(onlyAt, 2)[1] ?? '').split(',').filter(Boolean)) : undefined;
  const wanted = (scenario: string) => !only || only.has(scenario);
  const outDir = args[0] ? resolve(args[0]) : DEFAULT_OUT;
  installQuietRuntime();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: findTemporalCli() },
      ip: '127.0.0.1',
      extraArgs: ['--log-level', 'error'],
    },
  });
  const address = env.connection.options.address;
  const client = env.client;
  const recorded: Array<{ scenario: string; file: (run: number, runs: number) => string; workflowId: string; runs: RecordedRun[] }> = [];

  const record = async (
    scenario: string,
    file: (run: number, runs: number) => string,
    options: CorpusExportOptions,
    expectFailure: boolean,
  ) => {
    if (!wanted(scenario)) return;
    process.stdout.write(`recording ${scenario} ... `);
    let workflowId: string | undefined;
    try {
      const { handle } = await runCorpusExport(options, {
        address,
        taskQueue: TASK_QUEUE,
        onStarted: ({ handle: h }) => (workflowId = h.workflowId),
        // A failing activity would otherwise be retried for many minutes; the worker's WARN
        // lines above say why it failed.
        signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
      });
      if (expectFailure) throw new Error(`${scenario}: the run was expected to fail but completed`);
      workflowId = handle.workflowId;
    } catch (err) {
      if (err instanceof RunInterrupted) {
        throw new Error(`${scenario}: no result after ${RUN_TIMEOUT_MS / 60_000} minutes; see the worker's warnings above`);
      }
      if (!expectFailure || !(err instanceof WorkflowFailedError)) throw err;
    }
    if (!workflowId) throw new Error(`${scenario}: no workflow was started`);
    const runs = await fetchChain(client, workflowId);
    recorded.push({ scenario, file, workflowId, runs });
    console.log(`${runs.length} run(s), ${runs.reduce((n, r) => n + r.json.events.length, 0)} events`);
  };

  try {
    // (a) Continue-as-new: 18 documents, 2 per batch, 2 batches in flight, a new run every 4.
    {
      const { inputDir, outDir: out } = scenarioDirs('continue-as-new');
      writeGoodDocs(inputDir);
      for (let i = 0; i < 12; i++) {
        writeFileSync(
          join(inputDir, `extra-${String(i).padStart(2, '0')}.txt`),
          `Note ${i}\n\nA lighthouse keeper is a person who tends a lighthouse number ${i}. The lamp was first lit in ${1850 + i}.`,
        );
      }
      await record('continue-as-new', (run) => `continue-as-new.run-${run}.json`, {
        inputDir, outDir: out, generateQa: true, batchSize: 2, concurrency: 2, continueAsNewAfter: 4,
      }, false);
    }
    // (b) Bad files are reported as data and the run completes.
    {
      const { inputDir, outDir: out } = scenarioDirs('document-failures');
      writeFixtureCorpus(inputDir);
      await record('document-failures', () => 'document-failures.json', {
        inputDir, outDir: out, generateQa: true, batchSize: 2, concurrency: 2,
      }, false);
    }
    // (c) --fail-fast: the first bad document fails the workflow. One batch in flight keeps the
    // history the same shape on every recording.
    {
      console.log('(the worker logs the failure of this run as a warning: expected)');
      const { inputDir, outDir: out } = scenarioDirs('fail-fast');
      writeFixtureCorpus(inputDir);
      await record('fail-fast', () => 'fail-fast.json', {
        inputDir, outDir: out, generateQa: true, failFast: true, batchSize: 2, concurrency: 1,
      }, true);
    }
    // (d) No --batch-size: sizes chosen by the workflow. Blank 200 KB files make the first guess
    // small and are fast to process, so the size grows once the first batches report.
    {
      const { inputDir, outDir: out } = scenarioDirs('adaptive-batches');
      writeGoodDocs(inputDir);
      mkdirSync(join(inputDir, 'a-blank'));
      for (let i = 0; i < 300; i++) writeFileSync(join(inputDir, 'a-blank', `${String(i).padStart(3, '0')}.txt`), ' '.repeat(200 * 1024));
      await record('adaptive-batches', (run) => `adaptive-batches.run-${run}.json`, {
        inputDir, outDir: out, generateQa: true, concurrency: 1, continueAsNewAfter: 200,
      }, false);
    }
  } finally {
    await env.teardown();
  }

  // The directory belongs to this script: drop old fixtures so a shorter chain leaves no orphans
  // (with --only, those of the scenarios recorded again).
  mkdirSync(outDir, { recursive: true });
  const indexPath = join(outDir, 'index.json');
  const previous = only && existsSync(indexPath) ? (JSON.parse(readFileSync(indexPath, 'utf8')) as HistoryIndex).histories : [];
  const kept = previous.filter((h) => !wanted(h.scenario));
  for (const name of readdirSync(outDir)) {
    if (name.endsWith('.json') && !kept.some((h) => h.file === name)) rmSync(join(outDir, name));
  }
  const index: HistoryIndex = {
    note: 'Written by `npx tsx scripts/record-histories.ts`; replayed by test/replay.test.ts. Do not edit by hand.',
    recordedWith: { corpusQa: toolVersion(), temporalSdk: sdkVersion() },
    histories: kept,
  };
  for (const { scenario, file, workflowId, runs } of recorded) {
    runs.forEach((r, i) => {
      const name = file(i + 1, runs.length);
      writeFileSync(join(outDir, name), `${JSON.stringify(r.json, null, 2)}\n`);
      index.histories.push({
        file: name,
        scenario,
        workflowId,
        run: i + 1,
        runs: runs.length,
        events: r.json.events.length,
        closedWith: lastEventType(r.json),
      });
    });
  }
  writeFileSync(join(outDir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  console.log(`wrote ${index.histories.length} histories and index.json to ${relative(process.cwd(), outDir) || '.'}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

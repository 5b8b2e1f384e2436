/**
 * The determinism guard: histories of real runs (test/fixtures/histories, recorded by
 * `npx tsx scripts/record-histories.ts`) replayed against the current workflow code. A change
 * that would break executions already running (a command added, removed or reordered without
 * `patched()`) fails here instead of in production. Needs no server: replay is local.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type ReplayResult, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflowBundle } from '../worker/index.js';
import { historyFromJsonObject, type History, type HistoryIndex, type HistoryIndexEntry } from './fixtures/historyJson.js';

const HISTORIES_DIR = fileURLToPath(new URL('./fixtures/histories/', import.meta.url));
const CHANGED_DIR = fileURLToPath(new URL('./fixtures/changedWorkflow/', import.meta.url));

interface Fixture extends HistoryIndexEntry {
  history: History;
}

function loadIndex(): HistoryIndex {
  return JSON.parse(readFileSync(join(HISTORIES_DIR, 'index.json'), 'utf8')) as HistoryIndex;
}

function loadFixtures(): Fixture[] {
  return loadIndex().histories.map((entry) => ({
    ...entry,
    history: historyFromJsonObject(JSON.parse(readFileSync(join(HISTORIES_DIR, entry.file), 'utf8'))),
  }));
}

/** Replays every fixture (one at a time, in order) and pairs each result with its file. */
async function replay(bundle: WorkflowBundle, fixtures: Fixture[]): Promise<Array<{ file: string; result: ReplayResult }>> {
  const results: ReplayResult[] = [];
  const histories = fixtures.map((f) => ({ workflowId: f.workflowId, history: f.history }));
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) results.push(result);
  expect(results).toHaveLength(fixtures.length);
  return results.map((result, i) => ({ file: fixtures[i]!.file, result }));
}

async function bundleChanged(file: string): Promise<WorkflowBundle> {
  const noop = () => undefined;
  return bundleWorkflowCode({
    workflowsPath: join(CHANGED_DIR, file),
    logger: { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop },
  });
}

describe('determinism guard: recorded histories replay on the current workflow code', () => {
  let fixtures: Fixture[];

  beforeAll(() => {
    // The replayer logs each nondeterminism as a warning, and this file provokes them on purpose;
    // a failing assertion below carries the message anyway.
    try {
      Runtime.install({
        logger: new DefaultLogger('ERROR'),
        telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
      });
    } catch {
      // A runtime is already installed in this process: keep it.
    }
    fixtures = loadFixtures();
  });

  it('has fixtures for continue-as-new (every run of the chain), document failures and fail-fast', () => {
    const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json') && f !== 'index.json').sort();
    expect(fixtures.map((f) => f.file).sort(), 'index.json lists every history file').toEqual(files);

    const chain = fixtures.filter((f) => f.scenario === 'continue-as-new');
    expect(chain.length).toBeGreaterThan(1);
    expect(chain.map((f) => f.run)).toEqual(chain.map((_, i) => i + 1));
    expect(chain.every((f) => f.runs === chain.length)).toBe(true);
    expect(chain.slice(0, -1).every((f) => f.closedWith === 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW')).toBe(true);
    expect(chain.at(-1)?.closedWith).toBe('WORKFLOW_EXECUTION_COMPLETED');
    expect(fixtures.find((f) => f.scenario === 'document-failures')?.closedWith).toBe('WORKFLOW_EXECUTION_COMPLETED');
    expect(fixtures.find((f) => f.scenario === 'fail-fast')?.closedWith).toBe('WORKFLOW_EXECUTION_FAILED');
    for (const f of fixtures) expect(f.history.events?.length, f.file).toBe(f.events);
  });

  it('replays every recorded history without a determinism error', async () => {
    const replayed = await replay(await workflowBundle(), fixtures);
    // One line per file, so a failure names the fixture and the reason.
    expect(replayed.map(({ file, result }) => `${file}: ${result.error ? `${result.error.name}: ${result.error.message}` : 'ok'}`))
      .toEqual(fixtures.map((f) => `${f.file}: ok`));
  });

  it('fails on a changed workflow that would break running executions', async () => {
    const replayed = await replay(await bundleChanged('incompatible.ts'), fixtures);
    for (const { file, result } of replayed) {
      expect(result.error, file).toBeInstanceOf(DeterminismViolationError);
      expect(result.error?.name, file).toBe('DeterminismViolationError');
    }
  });

  it('passes on the same change made behind patched()', async () => {
    const replayed = await replay(await bundleChanged('patched.ts'), fixtures);
    expect(replayed.map(({ file, result }) => `${file}: ${result.error ? `${result.error.name}: ${result.error.message}` : 'ok'}`))
      .toEqual(fixtures.map((f) => `${f.file}: ok`));
  });
});

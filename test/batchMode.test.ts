/**
 * --batch-api end to end through a real Temporal server: requests go to the fake server's batch
 * endpoints (OpenAI files + /v1/batches, Anthropic Message Batches), the workflow waits on
 * timers, failed items go round again, and a kill while a batch is in flight neither submits it
 * again nor pays for anything twice. The output equals a run that sent the requests one by one.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { GOOD_DOCS, writeGoodDocs } from './helpers/corpus.js';
import type { FakeLlmServer } from './helpers/fakeLlmServer.js';
import { fakeLlmServers, withEnv } from './helpers/llmTestKit.js';
import { tempDir, treeHashes } from './helpers/files.js';
import { describeCli, killHard, startCorpusQa, waitForExit, waitUntil } from './helpers/processes.js';
import { runExport, temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';
import type { CorpusExportOptions } from '../client/runOptions.js';

const KEYS = { OPENAI_API_KEY: 'sk-batch-test', ANTHROPIC_API_KEY: 'sk-ant-batch-test' };
withEnv(KEYS);
const server = fakeLlmServers();

const corpus = (() => {
  const root = tempDir('batch-corpus');
  writeGoodDocs(root);
  return root;
})();

function options(s: FakeLlmServer, out: string, extra: Partial<CorpusExportOptions> = {}): CorpusExportOptions {
  const anthropic = extra.generator === 'anthropic';
  return {
    inputDir: corpus,
    outDir: out,
    generator: 'openai',
    model: 'fake-model',
    baseUrl: anthropic ? s.url : s.openaiBaseUrl,
    maxPairsPerChunk: 4,
    batchSize: 3,
    batchPollSeconds: 0.5,
    ...extra,
  };
}

const dataFiles = (out: string) => {
  const { 'stats.json': _s, ...rest } = treeHashes(out);
  return rest;
};
const stats = (out: string) => JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as { llm: Record<string, unknown> & { viaBatchApi?: { requests: number } } };

describe('--batch-api', () => {
  it('openai: sends every request in provider batches, resubmits failed items only, and writes what a direct run writes', async () => {
    const direct = await server();
    const directOut = tempDir('batch-direct');
    await runExport(options(direct, directOut));

    const failedOnce = new Set<string>();
    const s = await server({
      batchDelayMs: 300,
      // Two passages' first batch items fail with a 500: they must go round again, alone.
      handler: (r) => {
        if (r.viaBatch && (r.passage.includes('tidal range') || r.passage.includes('Licensor')) && !failedOnce.has(r.passage)) {
          failedOnce.add(r.passage);
          return { status: 500, message: 'overloaded' };
        }
        return undefined;
      },
    });
    const out = tempDir('batch-openai');
    await runExport(options(s, out, { batchApi: true }));

    expect(s.requests.filter((r) => !r.viaBatch)).toEqual([]); // nothing sent one by one
    expect(s.batches.length).toBe(2);
    expect(s.batches[1]!.items).toBe(failedOnce.size);
    expect(s.answeredTwice()).toBe(0);
    expect(dataFiles(out)).toEqual(dataFiles(directOut));
    const llm = stats(out).llm;
    expect(llm.viaBatchApi?.requests).toBe(s.ledger.size);
    expect(llm.datasetCostUsd).toBe(0); // a local server: no price
  });

  it('anthropic with the judge: generation, then the judge, as later rounds of batches', async () => {
    const direct = await server();
    const directOut = tempDir('batch-anthropic-direct');
    await runExport(options(direct, directOut, { generator: 'anthropic', judge: true }));
    const s = await server({ batchPollsUntilDone: 2 });
    const out = tempDir('batch-anthropic');
    await runExport(options(s, out, { generator: 'anthropic', judge: true, batchApi: true }));
    expect(s.requests.filter((r) => !r.viaBatch)).toEqual([]);
    expect(s.batches.map((b) => b.protocol)).toEqual(['anthropic', 'anthropic']);
    const kinds = (id: string) => new Set(s.requests.filter((r) => r.batchId === id).map((r) => r.kind));
    expect(kinds(s.batches[0]!.id)).toEqual(new Set(['generate']));
    expect(kinds(s.batches[1]!.id)).toEqual(new Set(['judge']));
    expect(dataFiles(out)).toEqual(dataFiles(directOut));
  });

  it('survives a kill -9 while a batch is in flight: the same command resumes the wait, submits nothing again', async () => {
    const s = await server({ batchDelayMs: 6000 });
    const out = tempDir('batch-kill');
    const queue = uniqueTaskQueue();
    const args = ['run', corpus, '--out', out, '--generator', 'openai', '--model', 'fake-model', '--base-url', s.openaiBaseUrl,
      '--max-pairs-per-chunk', '4', '--batch-size', '3', '--batch-api', '--batch-poll-seconds', '0.5', '--no-progress', '--task-queue', queue];
    const env = { TEMPORAL_ADDRESS: temporalAddress(), ...KEYS };
    const first = startCorpusQa(args, env);
    // Killed while the provider works on the batch (its id recorded): the window between the
    // provider's accepting a batch and our writing its id down is milliseconds, and not covered.
    const batchDir = join(out, '.corpus-qa', 'batch-api');
    await waitUntil('the first provider batch, recorded', () => s.batches.length === 1 && existsSync(batchDir) && readdirSync(batchDir).some((f) => f.endsWith('.submitted.json')), { proc: first, timeoutMs: 60_000 });
    killHard(first.pid);
    await first.exited;

    const second = startCorpusQa(args, env);
    const exit = await waitForExit(second, 120_000);
    expect(exit.code, describeCli(second)).toBe(0);
    expect(s.batches.length).toBe(1);
    expect(s.answeredTwice()).toBe(0);
    expect(s.requests.filter((r) => !r.viaBatch)).toEqual([]);
    expect(Object.keys(GOOD_DOCS).every((src) => readFileSync(join(out, 'data/train.jsonl'), 'utf8').includes(src))).toBe(true);
  });
});

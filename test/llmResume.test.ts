/**
 * Paid work is paid once, through real `corpus-qa` processes and a real Temporal server: kill -9
 * twice mid-run, an LLM server that goes away for a while, a re-run with another format, and a
 * cost budget that stops the run and is raised. The fake server's ledger counts every answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FakeLlmServer } from './helpers/fakeLlmServer.js';
import { fakeLlmServers, withEnv } from './helpers/llmTestKit.js';
import { readJsonl, tempDir, treeHashes } from './helpers/files.js';
import { describeCli, killHard, startCorpusQa, waitForExit, waitUntil } from './helpers/processes.js';
import { runExport, temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';
import { writeFileSync } from 'node:fs';

const KEY = 'sk-resume-test';
withEnv({ OPENAI_API_KEY: KEY });
const server = fakeLlmServers();

/** Long documents: many chunks each, so a kill lands in the middle of one. */
function longCorpus(docs: number, paragraphs: number): string {
  const dir = tempDir('resume-in');
  const topics = ['glaciers', 'rivers', 'deserts', 'forests', 'oceans', 'mountains', 'volcanoes', 'wetlands'];
  for (let d = 0; d < docs; d++) {
    const text = Array.from({ length: paragraphs }, (_, i) =>
      `Section ${i + 1} of the ${topics[d % topics.length]} report states that survey ${d}-${i} measured ${d * 37 + i * 11} units across the study area last year.`,
    ).join('\n\n');
    writeFileSync(join(dir, `report-${d}.txt`), text);
  }
  return dir;
}

const dataFiles = (out: string) => {
  const { 'stats.json': _s, ...rest } = treeHashes(out);
  return rest;
};

function cliArgs(input: string, out: string, s: FakeLlmServer, queue: string, extra: string[] = []): string[] {
  return ['run', input, '--out', out, '--generator', 'openai', '--model', 'fake-model', '--base-url', s.openaiBaseUrl,
    '--chunk-size', '300', '--chunk-overlap', '0', '--max-pairs-per-chunk', '2', '--batch-size', '2', '--llm-concurrency', '4',
    '--no-progress', '--task-queue', queue, ...extra];
}

describe('paid once', () => {
  it('kill -9 twice mid-run: the same command finishes with the same bytes, re-paying at most what was in flight', async () => {
    const input = longCorpus(4, 30);
    const reference = await server();
    const referenceOut = tempDir('resume-ref');
    await runExport({ inputDir: input, outDir: referenceOut, generator: 'openai', model: 'fake-model', baseUrl: reference.openaiBaseUrl,
      chunkSize: 300, chunkOverlap: 0, maxPairsPerChunk: 2, batchSize: 2, llmConcurrency: 4 });

    const s = await server({ latencyMs: 40 });
    const out = tempDir('resume-kill');
    const queue = uniqueTaskQueue();
    const env = { TEMPORAL_ADDRESS: temporalAddress(), OPENAI_API_KEY: KEY };
    const total = reference.ledger.size;
    for (const share of [0.3, 0.6]) {
      const proc = startCorpusQa(cliArgs(input, out, s, queue), env);
      await waitUntil(`${share * 100}% of the answers`, () => s.ledger.size >= total * share, { proc, timeoutMs: 120_000, intervalMs: 5 });
      killHard(proc.pid);
      await proc.exited;
    }
    const last = startCorpusQa(cliArgs(input, out, s, queue), env);
    const exit = await waitForExit(last, 180_000);
    expect(exit.code, describeCli(last)).toBe(0);
    expect(dataFiles(out)).toEqual(dataFiles(referenceOut));
    expect(s.ledger.size).toBe(total);
    // Answered twice: only requests in flight at a kill (--llm-concurrency 4, two kills).
    expect(s.answeredTwice()).toBeLessThanOrEqual(8);
  });

  it('a re-run with only --format changed sends no request at all', async () => {
    const input = longCorpus(2, 6);
    const s = await server();
    const out = tempDir('resume-format');
    const base = { inputDir: input, outDir: out, generator: 'openai' as const, model: 'fake-model', baseUrl: s.openaiBaseUrl, chunkSize: 300, chunkOverlap: 0 };
    await runExport(base);
    const sent = s.requests.length;
    expect(sent).toBeGreaterThan(0);
    await runExport({ ...base, format: 'messages' });
    expect(s.requests.length).toBe(sent);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as { llm: { requests: number; saved: { journal: { requests: number } } } };
    expect(stats.llm.requests).toBe(0);
    expect(stats.llm.saved.journal.requests).toBe(sent);
    expect(readJsonl(join(out, 'data/train.jsonl'))[0]).toHaveProperty('messages');
  });

  it('an LLM server that goes away mid-run: the run waits, says so, and finishes without a document error', async () => {
    const input = longCorpus(3, 8);
    const s = await server({ latencyMs: 20 });
    const out = tempDir('resume-outage');
    const proc = startCorpusQa(cliArgs(input, out, s, uniqueTaskQueue()), { TEMPORAL_ADDRESS: temporalAddress(), OPENAI_API_KEY: KEY });
    await waitUntil('some answers', () => s.ledger.size >= 5, { proc, timeoutMs: 60_000, intervalMs: 5 });
    await s.pause();
    await new Promise((r) => setTimeout(r, 12_000));
    await s.resume();
    const exit = await waitForExit(proc, 120_000);
    expect(exit.code, describeCli(proc)).toBe(0);
    expect(readFileSync(join(out, 'stats.json'), 'utf8')).toMatch(/"unreachable": [1-9]/);
    expect(() => readFileSync(join(out, 'errors.jsonl'))).toThrow(); // no error rows at all
    expect(s.answeredTwice()).toBe(0);
  });

  it('--max-cost stops the run cleanly (exit 1, names the budget); a higher budget continues without paying again', async () => {
    const input = longCorpus(3, 8);
    const s = await server();
    const out = tempDir('resume-budget');
    const queue = uniqueTaskQueue();
    const env = { TEMPORAL_ADDRESS: temporalAddress(), OPENAI_API_KEY: KEY };
    const price = ['--price-in', '1000', '--price-out', '1000', '--llm-concurrency', '1'];
    const first = startCorpusQa(cliArgs(input, out, s, queue, [...price, '--max-cost', '0.5']), env);
    const exit1 = await waitForExit(first, 120_000);
    expect(exit1.code, describeCli(first)).toBe(1);
    expect(first.stderr()).toMatch(/error: the run failed: --max-cost \$0\.5 reached: the LLM replies so far cost \$\d+\.\d+ at list price, after \d+ of 3 documents\. .*run the same command with a higher --max-cost/);
    // Stopped before each new request once reached: past it by at most the requests in flight then.
    const spent = Number(/cost \$(\d+\.\d+)/.exec(first.stderr())![1]);
    expect(spent).toBeGreaterThanOrEqual(0.5);
    const paidFirst = s.ledger.size;
    expect(paidFirst).toBeGreaterThan(0);

    const second = startCorpusQa(cliArgs(input, out, s, queue, [...price, '--max-cost', '100']), env);
    const exit2 = await waitForExit(second, 120_000);
    expect(exit2.code, describeCli(second)).toBe(0);
    expect(s.answeredTwice()).toBe(0);
    expect(s.ledger.size).toBeGreaterThan(paidFirst);
  });
});

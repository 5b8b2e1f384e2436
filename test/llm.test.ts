/**
 * LLM generation end to end: the real `openai` and `@anthropic-ai/sdk` clients, pointed at a
 * local server of our own (helpers/fakeLlmServer.ts), through a real Temporal dev server and
 * worker. Good answers, malformed JSON, 429 with Retry-After, 500s, a hang past the timeout and
 * a bad key, each checked in the output files, stats.json and the run's history.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorRow, QaRow, RejectedRow } from '../schemas/index.js';
import { resolveRunInput, workflowIdFor, type CorpusExportOptions } from '../client/runOptions.js';
import { GOOD_DOCS, writeGoodDocs } from './helpers/corpus.js';
import { startFakeLlmServer, type FakeLlmServer, type FakeRequest } from './helpers/fakeLlmServer.js';
import { readJsonl, sha256File, tempDir, treeHashes } from './helpers/files.js';
import { hfCheck } from './helpers/hf.js';
import { runExport, temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const OPENAI_KEY = 'sk-test-OPENAI-4f9c2e7a1b';
const ANTHROPIC_KEY = 'sk-ant-test-ANTHROPIC-8d3b6a0c5e';

const saved = { openai: process.env.OPENAI_API_KEY, anthropic: process.env.ANTHROPIC_API_KEY };
beforeAll(() => {
  // The test process is the worker's environment: this is the only place keys are given.
  process.env.OPENAI_API_KEY = OPENAI_KEY;
  process.env.ANTHROPIC_API_KEY = ANTHROPIC_KEY;
});
afterAll(() => {
  for (const [name, value] of [['OPENAI_API_KEY', saved.openai], ['ANTHROPIC_API_KEY', saved.anthropic]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

const servers: FakeLlmServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fakeServer(options: Parameters<typeof startFakeLlmServer>[0] = {}): Promise<FakeLlmServer> {
  const s = await startFakeLlmServer({ acceptKeys: [OPENAI_KEY, ANTHROPIC_KEY], ...options });
  servers.push(s);
  return s;
}

/** The good documents, one empty file (an error row) and, with `many`, a few more text files. */
function writeCorpus(): { root: string; sources: string[] } {
  const root = tempDir('llm-corpus');
  writeGoodDocs(root);
  mkdirSync(join(root, 'bad'), { recursive: true });
  writeFileSync(join(root, 'bad', 'empty.txt'), '');
  return { root, sources: [...Object.keys(GOOD_DOCS), 'notes/volcanoes.pdf', 'bad/empty.txt'].sort() };
}

function openAiOptions(server: FakeLlmServer, root: string, out: string, extra: Partial<CorpusExportOptions> = {}): CorpusExportOptions {
  return {
    inputDir: root,
    outDir: out,
    generator: 'openai',
    model: 'fake-model',
    baseUrl: server.openaiBaseUrl,
    batchSize: 2,
    concurrency: 2,
    maxPairsPerChunk: 4,
    requestTimeoutSeconds: 2,
    ...extra,
  };
}

function readStats(out: string) {
  return JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as {
    pairs: { passed: number; rejected: number; rejectedByReason: Record<string, number> };
    documents: { discovered: number; loaded: number; failed: number };
    llm: { requests: number; promptTokens: number; completionTokens: number; attempts: number; failures: Record<string, number>; waitSeconds: number };
    settings: Record<string, unknown> & { generatorId: string };
  };
}

/** Every text in a run's history and memo, payloads decoded: what the Temporal UI can show. */
async function historyText(workflowId: string): Promise<string> {
  const connection = await Connection.connect({ address: temporalAddress() });
  try {
    const client = new Client({ connection });
    const handle = client.workflow.getHandle(workflowId);
    const texts: string[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'string') texts.push(v);
      else if (v instanceof Uint8Array) texts.push(Buffer.from(v).toString('utf8'));
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    const history = await handle.fetchHistory();
    walk(history);
    walk((await handle.describe()).memo);
    return `${JSON.stringify(history)}\n${texts.join('\n')}`;
  } finally {
    await connection.close();
  }
}

/** The root cause of a failed run: an activity's ApplicationFailure sits under ActivityFailure. */
function rootCause(err: unknown): { message: string; type?: string; nonRetryable?: boolean } {
  let e = err as { cause?: unknown; message: string };
  while (e.cause instanceof Error) e = e.cause as typeof e;
  return e;
}

/** Every source of the manifest is in exactly one of: passed or rejected rows, or an error row. */
function accountedSources(out: string): Set<string> {
  const read = (f: string) => {
    try {
      return readJsonl<{ source: string }>(join(out, f));
    } catch {
      return [];
    }
  };
  return new Set([...read('data/train.jsonl'), ...read('rejected/rejected.jsonl'), ...read('errors.jsonl')].map((r) => r.source));
}

const generateRequests = (s: FakeLlmServer) => s.requests.filter((r) => r.kind === 'generate');

describe('LLM generation through Temporal', () => {
  const corpus = writeCorpus();
  let referenceOut: string;
  let referenceWorkflowId: string;
  let referenceServer: FakeLlmServer;

  beforeAll(async () => {
    referenceServer = await startFakeLlmServer({ acceptKeys: [OPENAI_KEY] });
    referenceOut = tempDir('llm-ref');
    const { result } = await runExport(openAiOptions(referenceServer, corpus.root, referenceOut, { llmConcurrency: 3 }));
    referenceWorkflowId = result.workflowId;
  });
  afterAll(async () => {
    await referenceServer.close();
  });

  it('writes pairs from an OpenAI-compatible server, with usage in stats.json', () => {
    const train = readJsonl(join(referenceOut, 'data/train.jsonl')).map((r) => QaRow.parse(r));
    const good = [...Object.keys(GOOD_DOCS), 'notes/volcanoes.pdf'];
    for (const source of good) expect(new Set(train.map((r) => r.source)), source).toContain(source);
    for (const r of train) expect(r.generator).toBe('openai:fake-model:qa-v2:English');
    const errors = readJsonl(join(referenceOut, 'errors.jsonl')).map((r) => ErrorRow.parse(r));
    expect(errors.map((e) => e.source)).toEqual(['bad/empty.txt']);

    // One request per chunk, every one answered: stats counts exactly what the server saw.
    const stats = readStats(referenceOut);
    const reqs = referenceServer.requests;
    expect(reqs.length).toBeGreaterThanOrEqual(good.length);
    expect(reqs.every((r) => r.kind === 'generate' && !r.repair && r.protocol === 'openai')).toBe(true);
    expect(stats.llm.requests).toBe(reqs.length);
    expect(stats.llm.promptTokens).toBeGreaterThan(100 * reqs.length);
    expect(stats.llm.completionTokens).toBeGreaterThan(0);
    expect(stats.settings.generatorId).toBe('openai:fake-model:qa-v2:English');
    expect(stats.pairs.passed).toBe(train.length);

    // The SDK talked to our server the way it talks to OpenAI: bearer key, JSON mode, the model.
    for (const r of reqs) {
      expect(r.credential).toBe(OPENAI_KEY);
      expect(r.model).toBe('fake-model');
      expect(r.body.response_format).toEqual({ type: 'json_object' });
      expect(r.passage.length).toBeGreaterThan(20);
    }
    expect(referenceServer.maxInFlight).toBeLessThanOrEqual(3); // --llm-concurrency 3 bounds the worker, whatever the batches
    const report = hfCheck(referenceOut);
    expect(report.configs.default?.splits?.train?.rows).toBe(train.length);
  });

  it('never puts the API key in the workflow input, memo or history', async () => {
    const text = await historyText(referenceWorkflowId);
    expect(text).toContain('fake-model'); // the decoded input is there (the check can see payloads)
    expect(text).toContain(referenceServer.openaiBaseUrl);
    expect(text).not.toContain(OPENAI_KEY);
    expect(text).not.toContain(OPENAI_KEY.slice(-10));
  });

  it('ends transient faults (429 with Retry-After, 500, a hang past the timeout) with the same output as a fault-free run', async () => {
    const faults: Record<string, string> = {};
    const server = await fakeServer({
      handler: (r: FakeRequest) => {
        if (r.seenBefore > 0) return undefined; // each fault is transient: the retry succeeds
        if (r.passage.includes('tidal range')) return (faults[r.passage] = '429'), { status: 429, headers: { 'retry-after': '1' } };
        if (r.passage.includes('Licensor')) return (faults[r.passage] = '500'), { status: 500, message: 'upstream model crashed' };
        if (r.passage.includes('HTTP cache')) return (faults[r.passage] = 'hang'), { hangMs: 10_000 };
        if (r.passage.includes('Volcanoes')) return (faults[r.passage] = '503'), { status: 503, headers: { 'retry-after': '1' } };
        return undefined;
      },
    });
    const out = tempDir('llm-faults');
    const t0 = Date.now();
    const { result } = await runExport(openAiOptions(server, corpus.root, out, { requestTimeoutSeconds: 1.5 }));
    const seconds = (Date.now() - t0) / 1000;

    expect(Object.values(faults).sort()).toEqual(['429', '500', '503', 'hang']);
    expect(server.statuses.filter((s) => s === 429)).toHaveLength(1);
    expect(server.statuses.filter((s) => s >= 500)).toHaveLength(2);
    expect(server.hangs).toBe(1);
    expect(seconds).toBeLessThan(60);

    // Every document accounted for, and byte for byte what the fault-free run wrote.
    expect(accountedSources(out)).toEqual(new Set(corpus.sources));
    expect(sha256File(join(out, 'data/train.jsonl'))).toBe(sha256File(join(referenceOut, 'data/train.jsonl')));
    const { 'stats.json': _a, ...files } = treeHashes(out); // stats has the run's own id and timings
    const { 'stats.json': _b, ...referenceFiles } = treeHashes(referenceOut);
    expect(files).toEqual(referenceFiles);
    expect(readStats(out).pairs).toEqual(readStats(referenceOut).pairs);
    // Failed attempts cost no tokens and are not counted as answered requests, but every one is
    // counted as an attempt, by kind.
    const llm = readStats(out).llm;
    expect(llm.requests).toBe(readStats(referenceOut).llm.requests);
    expect(llm.attempts).toBe(server.requests.length);
    expect(llm.failures).toEqual({ rate_limited: 1, server_error: 2, timeout: 1 });
    expect(llm.waitSeconds).toBeGreaterThan(0);

    // Retried in place by the worker, next to the journal: no batch failed, so the history holds
    // no LLM failure at all, and no document was redone.
    const history = await historyText(result.workflowId);
    expect(history).not.toContain('LlmRateLimited');
    expect(history).not.toContain('ActivityTaskFailed');
    expect(history).not.toContain(OPENAI_KEY);
  });

  it('repairs a malformed answer once, and keeps an unrepairable one as a malformed_output row', async () => {
    const server = await fakeServer({
      handler: (r) => {
        if (r.passage.includes('tidal range') && !r.repair) return { content: 'Sure! Here are some questions:\n1. What is a tide?' };
        if (r.passage.includes('Licensor')) {
          return r.repair ? { content: '```json\n{"pairs": "none"}\n```' } : { content: 'Here you go: {"pairs": [{"question": "What does Licensor mean?", "answ' };
        }
        return undefined;
      },
    });
    const out = tempDir('llm-malformed');
    await runExport(openAiOptions(server, corpus.root, out));

    const train = readJsonl(join(out, 'data/train.jsonl')).map((r) => QaRow.parse(r));
    const refTrain = readJsonl(join(referenceOut, 'data/train.jsonl')).map((r) => QaRow.parse(r));
    // Repaired: the same pairs as when the model got it right the first time.
    const tides = (rows: typeof train) => rows.filter((r) => r.source === 'notes/tides.txt').map((r) => [r.question, r.answer]);
    expect(tides(train)).toEqual(tides(refTrain));
    expect(tides(train).length).toBeGreaterThan(0);
    const repairOfTides = server.requests.find((r) => r.repair && r.passage.includes('tidal range'));
    const repairMessage = JSON.stringify(repairOfTides?.body.messages);
    expect(repairMessage).toContain('not valid JSON');
    expect(repairMessage).toContain('Sure! Here are some questions');

    // Not repairable: no pairs from that chunk, one rejected row that says why and keeps the raw text.
    expect(train.filter((r) => r.source === 'licenses/definitions.txt')).toEqual([]);
    const rejected = readJsonl(join(out, 'rejected/rejected.jsonl')).map((r) => RejectedRow.parse(r));
    const malformed = rejected.filter((r) => r.reason === 'malformed_output');
    expect(malformed).toHaveLength(1);
    const m = malformed[0]!;
    expect(m.source).toBe('licenses/definitions.txt');
    expect([m.question, m.answer]).toEqual(['', '']);
    expect(m.reasons).toEqual(['malformed_output']);
    expect(m.detail).toContain('after one repair attempt');
    expect(m.detail).toContain('Here you go: {\\"pairs\\"');
    expect(m.detail).toMatch(/expected shape.*pairs/);

    const stats = readStats(out);
    expect(stats.pairs.rejectedByReason.malformed_output).toBe(1);
    expect(stats.llm.requests).toBe(server.requests.length); // repairs are requests too
    expect(server.requests.filter((r) => r.repair)).toHaveLength(2);
    expect(accountedSources(out)).toEqual(new Set(corpus.sources));
    expect(hfCheck(out).configs.rejected?.splits?.train?.rows).toBe(rejected.length);
  });

  it('generates and judges with Anthropic: pairs below --min-score are rejected as low_score with their score', async () => {
    const server = await fakeServer();
    const out = tempDir('llm-anthropic');
    const { result } = await runExport({
      inputDir: corpus.root,
      outDir: out,
      generator: 'anthropic',
      model: 'claude-fake',
      baseUrl: server.url,
      judge: true,
      minScore: 3,
      maxPairsPerChunk: 4,
      batchSize: 3,
      concurrency: 2,
    });
    const id = 'anthropic:claude-fake:qa-v2:English+judge-v2>=3';
    const train = readJsonl(join(out, 'data/train.jsonl')).map((r) => QaRow.parse(r));
    const rejected = readJsonl(join(out, 'rejected/rejected.jsonl')).map((r) => RejectedRow.parse(r));
    expect(train.length).toBeGreaterThan(0);
    for (const r of train) {
      expect(r.generator).toBe(id);
      expect(r.answer.length).toBeGreaterThanOrEqual(90); // the fake judge gives short answers usefulness 2
    }
    const low = rejected.filter((r) => r.reason === 'low_score');
    expect(low.length).toBeGreaterThan(0);
    for (const r of low) {
      expect(r.answer.length).toBeLessThan(90);
      expect(r.detail).toBe('judge score 2 (groundedness 5, usefulness 2) is below --min-score 3');
    }

    const gen = generateRequests(server);
    const judge = server.requests.filter((r) => r.kind === 'judge');
    expect(judge.length).toBeGreaterThan(0);
    expect(judge.length).toBeLessThanOrEqual(gen.length);
    for (const r of server.requests) {
      expect(r.protocol).toBe('anthropic');
      expect(r.credential).toBe(ANTHROPIC_KEY);
      expect(r.model).toBe('claude-fake');
    }
    const stats = readStats(out);
    expect(stats.llm.requests).toBe(server.requests.length);
    expect(stats.pairs.rejectedByReason.low_score).toBe(low.length);
    expect(accountedSources(out)).toEqual(new Set(corpus.sources));
    expect(await historyText(result.workflowId)).not.toContain(ANTHROPIC_KEY);
  });

  it('stops the run on a rejected key (401) with a message that says what to fix, after a bounded number of requests', async () => {
    const wrongKey = 'sk-test-WRONG-77aa55cc33';
    const server = await fakeServer();
    process.env.OPENAI_API_KEY = wrongKey;
    const t0 = Date.now();
    const options = openAiOptions(server, corpus.root, tempDir('llm-401'), { llmConcurrency: 2 });
    let error: unknown;
    try {
      await runExport(options);
    } catch (err) {
      error = err;
    } finally {
      process.env.OPENAI_API_KEY = OPENAI_KEY;
    }
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = rootCause(error);
    expect(cause.message).toMatch(/rejected the API key \(401 Unauthorized\): set OPENAI_API_KEY in the worker's environment/);
    expect(cause.message).not.toContain(wrongKey); // the server echoed it; we scrubbed it
    expect(cause.nonRetryable).toBe(true);
    // Not retried: the requests in flight when the first answer came (--llm-concurrency 2), and
    // at most one each that other batches started before they heard of it.
    expect(server.requests.length).toBeGreaterThanOrEqual(1);
    expect(server.requests.length).toBeLessThanOrEqual(4);
    expect(Date.now() - t0).toBeLessThan(30_000);
    const history = await historyText(workflowIdFor(resolveRunInput(options)));
    expect(history).toContain('LlmAuthenticationFailed');
    expect(history).not.toContain(wrongKey);
  });

  it('stops at once when the key is missing from the worker environment', async () => {
    const server = await fakeServer();
    delete process.env.OPENAI_API_KEY;
    let error: unknown;
    try {
      await runExport(openAiOptions(server, corpus.root, tempDir('llm-nokey')));
    } catch (err) {
      error = err;
    } finally {
      process.env.OPENAI_API_KEY = OPENAI_KEY;
    }
    expect(rootCause(error).message).toMatch(/^OPENAI_API_KEY is not set in the worker's environment/);
    expect(server.requests).toHaveLength(0);
  });

  it('says what to fix on the command line, exit code 1, when the model does not exist (404)', async () => {
    const server = await fakeServer({ handler: () => ({ status: 404, message: "The model 'no-such-model' does not exist" }) });
    const out = tempDir('llm-cli-404');
    // Asynchronous spawn: the fake server answers from this process's event loop.
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, '..', 'bin', 'corpus-qa.mjs'), 'run', corpus.root, '--out', out, '--generator', 'openai',
        '--model', 'no-such-model', '--base-url', server.openaiBaseUrl, '--llm-concurrency', '2', '--no-progress', '--task-queue', uniqueTaskQueue()],
      { env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/error: the run failed: model 'no-such-model' was not found at the openai server at http:\/\/127\.0\.0\.1:\d+\/v1 \(404 Not Found\): check --model/);
    expect(server.requests.length).toBeLessThanOrEqual(4);
  });
});

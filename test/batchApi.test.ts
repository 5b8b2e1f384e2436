/**
 * Provider Batch APIs (activities/generate/batchApi.ts) with the real `openai` and
 * `@anthropic-ai/sdk` clients against the local fake server: submit, poll, results, failed and
 * expired items, the limits, and that a batched request is the synchronous request byte for byte.
 * Also the fake server's own behaviours the batch path relies on: the ledger, fault patterns, an
 * outage on the same port, a context limit and a reply limit.
 */
import { ApplicationFailure } from '@temporalio/common';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { submitBatchRequests } from '../activities/batchMode.js';
import { batchRequestsPath } from '../activities/paths.js';
import { resolveRunInput } from '../client/runOptions.js';
import { withEnv } from './helpers/llmTestKit.js';
import { afterEach, describe, expect, it } from 'vitest';
import { anthropicBackend, anthropicRequestParams } from '../activities/generate/anthropic.js';
import {
  anthropicBatchProvider,
  itemBytes,
  openAiBatchProvider,
  splitIntoBatches,
  type BatchItem,
  type BatchItemResult,
  type BatchProvider,
} from '../activities/generate/batchApi.js';
import type { ChatBackend, ChatRequest } from '../activities/generate/chat.js';
import { openAiBackend, openAiRequestBody } from '../activities/generate/openai.js';
import { LlmSettings } from '../schemas/index.js';
import { ledgerKey, startFakeLlmServer, type FakeLlmOptions, type FakeLlmServer, type FakeRequest } from './helpers/fakeLlmServer.js';

const KEY = 'sk-batch-test-7a1c3e9f';
type Backend = 'openai' | 'anthropic';
const BACKENDS: Backend[] = ['openai', 'anthropic'];

const servers: FakeLlmServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fake(options: FakeLlmOptions = {}): Promise<FakeLlmServer> {
  const s = await startFakeLlmServer({ acceptKeys: [KEY], ...options });
  servers.push(s);
  return s;
}

function settingsFor(backend: Backend, server: FakeLlmServer, extra: Partial<LlmSettings> = {}): LlmSettings {
  return LlmSettings.parse({ model: 'fake-model', baseUrl: backend === 'openai' ? server.openaiBaseUrl : server.url, timeoutMs: 5000, temperature: 0.2, ...extra });
}

const providerFor = (backend: Backend, s: LlmSettings): BatchProvider => (backend === 'openai' ? openAiBatchProvider : anthropicBatchProvider)(s, KEY);
const backendFor = (backend: Backend, s: LlmSettings): ChatBackend => (backend === 'openai' ? openAiBackend : anthropicBackend)(s, KEY);

/** A generation request for a passage, in the shape the qa-v1 template gives. */
function requestFor(passage: string, maxTokens?: number): ChatRequest {
  return {
    system: 'You write question/answer pairs about a passage. Reply with JSON only.',
    messages: [{ role: 'user', content: `Write up to 2 pairs in English.\n<passage>\n${passage}\n</passage>` }],
    ...(maxTokens !== undefined ? { maxTokens } : {}),
  };
}

const PASSAGES = [0, 1, 2, 3, 4].map((i) => `Passage ${i} describes the harbour of town number ${i} and the ships that used to anchor there every winter.`);
const items = (): BatchItem[] => PASSAGES.map((p, i) => ({ customId: `doc-${i}`, request: requestFor(p) }));

async function runToEnd(p: BatchProvider, batch: BatchItem[]): Promise<{ results: BatchItemResult[]; polls: number }> {
  const id = await p.submit(batch);
  let polls = 0;
  for (;;) {
    polls++;
    const state = await p.poll(id);
    expect(state.id).toBe(id);
    if (state.done) break;
    expect(state.total === 0 || state.total === batch.length).toBe(true);
  }
  return { results: await p.results(id), polls };
}

const byId = (results: BatchItemResult[]) => new Map(results.map((r) => [r.customId, r]));

describe.each(BACKENDS)('%s batches', (backend) => {
  it('submits, polls until done and returns a reply for every item, as the synchronous request would', async () => {
    const server = await fake({ batchPollsUntilDone: 3 });
    const s = settingsFor(backend, server);
    const { results, polls } = await runToEnd(providerFor(backend, s), items());
    expect(polls).toBe(3);
    expect(server.batches).toEqual([{ id: expect.any(String), protocol: backend, items: 5, createdAt: expect.any(Number) }]);
    expect(results.map((r) => r.customId).sort()).toEqual(items().map((i) => i.customId));

    // The same request, sent synchronously: the same text, the same accounting.
    const sync = await backendFor(backend, s).complete(requestFor(PASSAGES[2]!));
    const r2 = byId(results).get('doc-2')!;
    expect(r2.ok && r2.reply).toEqual(sync);
    expect(sync.finishReason).toBe(backend === 'openai' ? 'stop' : 'end_turn');
    expect(JSON.parse(sync.text).pairs).toHaveLength(1);

    // Every batch item went through the handler's path, marked as such; the ledger saw doc-2 twice.
    const batched = server.requests.filter((r) => r.viaBatch);
    expect(batched.map((r) => r.customId)).toEqual(items().map((i) => i.customId));
    expect(batched.every((r) => r.credential === KEY && r.batchId === server.batches[0]!.id)).toBe(true);
    expect(server.ledger.size).toBe(5);
    expect(server.answeredTwice()).toBe(1);
  });

  it('sends a batched request byte for byte as the synchronous one', async () => {
    const server = await fake();
    const s = settingsFor(backend, server, { maxTokens: 900 });
    const request = requestFor(PASSAGES[0]!, 1200);
    await backendFor(backend, s).complete(request);
    await runToEnd(providerFor(backend, s), [{ customId: 'only', request }]);
    const [sync, batched] = server.requests;
    expect([sync?.viaBatch, batched?.viaBatch]).toEqual([false, true]);
    expect(JSON.stringify(batched?.body)).toBe(JSON.stringify(sync?.body));
    // The request's own limit wins over the settings'; the pure builder is what both sent.
    const built = backend === 'openai' ? openAiRequestBody(s, request) : anthropicRequestParams(s, request);
    expect(JSON.stringify(sync?.body)).toBe(JSON.stringify(built));
    expect(sync?.body[backend === 'openai' ? 'max_completion_tokens' : 'max_tokens']).toBe(1200);
    expect(ledgerKey(sync!.body)).toBe(ledgerKey(batched!.body));
    expect(server.answeredTwice()).toBe(1);
  });

  it('returns failed items as failures: 429 and 5xx retryable, other 4xx not, expired retryable', async () => {
    const handler = (r: FakeRequest) => {
      if (!r.viaBatch) return undefined;
      if (r.customId === 'doc-0') return { status: 429, message: 'slow down' };
      if (r.customId === 'doc-1') return { status: 400, message: `bad parameter (key ${KEY})` };
      if (r.customId === 'doc-2') return { status: 500, message: 'model crashed' };
      if (r.customId === 'doc-3') return { expire: true as const };
      return undefined;
    };
    const server = await fake({ handler });
    const p = providerFor(backend, settingsFor(backend, server));
    const id = await p.submit(items());
    const state = await p.poll(id);
    expect(state).toMatchObject({ id, done: true, total: 5, succeeded: 1, failed: 4 });
    expect(state.status).toBe(backend === 'openai' ? 'expired' : 'ended');
    const results = byId(await p.results(id));
    expect(results.size).toBe(5);
    const shape = (cid: string) => {
      const r = results.get(cid)!;
      return r.ok ? 'ok' : r.retryable;
    };
    expect(['doc-0', 'doc-1', 'doc-2', 'doc-3', 'doc-4'].map(shape)).toEqual([true, false, true, true, 'ok']);
    const rejected = results.get('doc-1')!;
    expect(!rejected.ok && rejected.error).toMatch(new RegExp(`^${backend} batch item 'doc-1' was rejected \\((400|invalid_request_error)\\): bad parameter`));
    expect(!rejected.ok && rejected.error).not.toContain(KEY);
    const limited = results.get('doc-0')!;
    expect(!limited.ok && limited.error).toMatch(/\((429|rate_limit_error)\): slow down \(retryable\)/);
    // Only the successful item is in the ledger.
    expect(server.ledger.size).toBe(1);
  });

  it('refuses results before the batch is done, and maps a bad key like a synchronous request', async () => {
    const server = await fake({ batchDelayMs: 60_000 });
    const p = providerFor(backend, settingsFor(backend, server));
    const id = await p.submit(items().slice(0, 2));
    const state = await p.poll(id);
    expect(state.done).toBe(false);
    expect(state.status).toBe('in_progress');
    const early = await p.results(id).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(ApplicationFailure);
    expect((early as ApplicationFailure).message).toMatch(/is not done \(in_progress\)/);

    const bad = (backend === 'openai' ? openAiBatchProvider : anthropicBatchProvider)(settingsFor(backend, server), 'sk-wrong-key-123');
    const err = (await bad.submit(items()).catch((e: unknown) => e)) as ApplicationFailure;
    expect([err.type, err.nonRetryable]).toEqual(['LlmAuthenticationFailed', true]);
    expect(err.message).not.toContain('sk-wrong-key-123');
  });

  it('refuses bad custom ids and oversize batches before sending anything', async () => {
    const server = await fake();
    const p = providerFor(backend, settingsFor(backend, server));
    for (const customId of ['has space', '', 'x'.repeat(65)]) {
      await expect(p.submit([{ customId, request: requestFor('x') }])).rejects.toThrow(/must match/);
    }
    await expect(p.submit([...items(), { customId: 'doc-0', request: requestFor('y') }])).rejects.toThrow(/appears twice/);
    await expect(p.submit([])).rejects.toThrow(/at least one/);
    expect(server.requests).toHaveLength(0);
    expect(server.batches).toHaveLength(0);
  });

  it('gets connection refused while the server is paused, and succeeds on the same port after resume', async () => {
    const server = await fake();
    const s = settingsFor(backend, server);
    const p = providerFor(backend, s);
    const id = await p.submit(items().slice(0, 2));
    await server.pause();
    const down = (await p.poll(id).catch((e: unknown) => e)) as ApplicationFailure;
    expect(down).toBeInstanceOf(ApplicationFailure);
    expect([down.type, down.nonRetryable]).toEqual(['LlmUnreachable', false]);
    expect(down.message).toMatch(/^cannot reach the .* server at http:\/\/127\.0\.0\.1:\d+/);
    // Refused, not reset: nothing listens on the port (the SDKs' error wraps fetch's, which wraps this).
    const refused = await fetch(server.url).catch((e: unknown) => (e as { cause?: { code?: string } }).cause?.code);
    expect(refused).toBe('ECONNREFUSED');
    const syncDown = (await backendFor(backend, s).complete(requestFor('x')).catch((e: unknown) => e)) as ApplicationFailure;
    expect(syncDown.type).toBe('LlmUnreachable');
    await server.resume();
    expect((await p.poll(id)).done).toBe(true);
    expect((await p.results(id)).every((r) => r.ok)).toBe(true);
  });

  it('refuses a prompt longer than contextTokens with the real servers\' words', async () => {
    const server = await fake({ contextTokens: 40 });
    const s = settingsFor(backend, server);
    const long = requestFor(PASSAGES[0]!.repeat(3));
    const err = (await backendFor(backend, s).complete(long).catch((e: unknown) => e)) as ApplicationFailure;
    expect([err.type, err.nonRetryable]).toEqual(['LlmContextTooLong', true]);
    const promptTokens = Math.ceil([long.system, long.messages[0]!.content].join('\n').length / 4);
    expect(err.message).toContain(backend === 'openai' ? `request (${promptTokens} tokens) exceeds the available context size (40 tokens), try increasing it` : `prompt is too long: ${promptTokens} tokens > 40 maximum`);
    // In a batch the same request is an item rejected for good; a short one passes.
    const { results } = await runToEnd(providerFor(backend, s), [
      { customId: 'long', request: long },
      { customId: 'short', request: { system: 'JSON.', messages: [{ role: 'user', content: 'Hi.' }] } },
    ]);
    const r = byId(results);
    expect(r.get('short')?.ok).toBe(true);
    expect(r.get('long')).toMatchObject({ ok: false, retryable: false });
    expect(server.ledger.size).toBe(1);
    if (backend === 'openai') {
      // llama.cpp's body, to the byte.
      const res = await fetch(`${server.openaiBaseUrl}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}` },
        body: JSON.stringify(openAiRequestBody(s, long)),
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toBe(
        `{"error":{"code":400,"message":"request (${promptTokens} tokens) exceeds the available context size (40 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":${promptTokens},"n_ctx":40}}`,
      );
    }
  });

  it('cuts a reply at the request\'s max tokens with honourMaxTokens, and says so', async () => {
    const server = await fake({ honourMaxTokens: true });
    const s = settingsFor(backend, server);
    const cut = await backendFor(backend, s).complete(requestFor(PASSAGES[1]!, 10));
    expect(cut).toMatchObject({ truncated: true, finishReason: backend === 'openai' ? 'length' : 'max_tokens', completionTokens: 10 });
    expect(cut.text).toHaveLength(40);
    const whole = await backendFor(backend, s).complete(requestFor(PASSAGES[1]!, 4000));
    expect(whole.truncated).toBe(false);
    expect(whole.text.startsWith(cut.text)).toBe(true);
    const { results } = await runToEnd(providerFor(backend, s), [{ customId: 'cut', request: requestFor(PASSAGES[1]!, 10) }]);
    expect(results[0]).toMatchObject({ ok: true, reply: cut });
  });
});

describe('splitIntoBatches', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => ({ customId: `c${i}`, request: requestFor(`passage ${i}`) }));

  it('keeps order and respects the item limit', () => {
    const groups = splitIntoBatches(many(7), { maxItems: 3, maxBytes: 1e9 });
    expect(groups.map((g) => g.length)).toEqual([3, 3, 1]);
    expect(groups.flat().map((i) => i.customId)).toEqual(many(7).map((i) => i.customId));
    expect(splitIntoBatches([], { maxItems: 3, maxBytes: 1e9 })).toEqual([]);
  });

  it('respects the byte limit, and refuses an item that fits no batch', () => {
    const list = many(10);
    const size = itemBytes(list[0]!);
    const groups = splitIntoBatches(list, { maxItems: 100, maxBytes: size * 4 + 1 });
    expect(groups.map((g) => g.length)).toEqual([4, 4, 2]);
    for (const g of groups) expect(g.reduce((n, i) => n + itemBytes(i), 0)).toBeLessThanOrEqual(size * 4 + 1);
    expect(() => splitIntoBatches(list, { maxItems: 100, maxBytes: size - 1 })).toThrow(/more than a batch may hold/);
  });

  it('bounds the bytes each provider actually sends for an item', () => {
    const s = LlmSettings.parse({ model: 'a-model-name-of-some-length', temperature: 1, maxTokens: 1000 });
    for (const item of many(3)) {
      const openAiLine = JSON.stringify({ custom_id: item.customId, method: 'POST', url: '/v1/chat/completions', body: openAiRequestBody(s, item.request) }) + '\n';
      const anthropicEntry = JSON.stringify({ custom_id: item.customId, params: anthropicRequestParams(s, item.request) }) + ',';
      expect(Buffer.byteLength(openAiLine)).toBeLessThanOrEqual(itemBytes(item));
      expect(Buffer.byteLength(anthropicEntry)).toBeLessThanOrEqual(itemBytes(item));
    }
  });

  it('uses the providers\' published limits', () => {
    const s = LlmSettings.parse({ model: 'm', baseUrl: 'http://127.0.0.1:1/v1' });
    expect([openAiBatchProvider(s, KEY).maxItems, openAiBatchProvider(s, KEY).maxBytes]).toEqual([50_000, 200 * 1024 * 1024]);
    expect([anthropicBatchProvider(s, KEY).maxItems, anthropicBatchProvider(s, KEY).maxBytes]).toEqual([100_000, 256 * 1024 * 1024]);
  });
});

describe.each(BACKENDS)('%s: a submission cut short by a crash', (backend) => {
  it('finds the batch it made at the provider, and nothing else', async () => {
    const server = await fake();
    const p = providerFor(backend, settingsFor(backend, server));
    const since = Date.now();
    const other = await p.submit(items().slice(0, 2), undefined, 'corpus-qa-other');
    const id = await p.submit(items(), undefined, 'corpus-qa-mine');
    expect(await p.findSubmitted({ tag: 'corpus-qa-mine', items: 5, sinceMs: since, known: new Set() })).toBe(id);
    // Already written down: not taken again.
    expect(await p.findSubmitted({ tag: 'corpus-qa-mine', items: 5, sinceMs: since, known: new Set([id]) })).toBeUndefined();
    // Batches made before the intent (beyond the clock slack) are not looked at.
    expect(await p.findSubmitted({ tag: 'corpus-qa-mine', items: 5, sinceMs: Date.now() + 10 * 60_000, known: new Set() })).toBeUndefined();
    if (backend === 'openai') {
      // By its tag in the metadata, whatever its size.
      expect(await p.findSubmitted({ tag: 'corpus-qa-other', items: 99, sinceMs: since, known: new Set() })).toBe(other);
      expect(await p.findSubmitted({ tag: 'corpus-qa-never', items: 5, sinceMs: since, known: new Set() })).toBeUndefined();
    } else {
      // No metadata: by size and time, and only when one batch fits.
      expect(await p.findSubmitted({ tag: 'x', items: 2, sinceMs: since, known: new Set() })).toBe(other);
      await p.submit(items().slice(1, 3));
      expect(await p.findSubmitted({ tag: 'x', items: 2, sinceMs: since, known: new Set() })).toBeUndefined();
    }
    expect(server.batches).toHaveLength(backend === 'openai' ? 2 : 3);
  });

  it('pages through the provider\'s list to an older batch', async () => {
    const server = await fake();
    const p = providerFor(backend, settingsFor(backend, server));
    const since = Date.now();
    const first = await p.submit(items().slice(0, 1), undefined, 'corpus-qa-first');
    for (let i = 0; i < 120; i++) await p.submit(items().slice(0, 3), undefined, `corpus-qa-${i}`);
    expect(await p.findSubmitted({ tag: 'corpus-qa-first', items: 1, sinceMs: since, known: new Set() })).toBe(first);
  });
});

describe.each(BACKENDS)('%s: submitBatchRequests after a crash', (backend) => {
  withEnv({ OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY });

  /** A round's collected requests on disk, as collectBatchRequests leaves them. */
  function roundOnDisk(server: FakeLlmServer) {
    const out = mkdtempSync(join(tmpdir(), 'corpus-qa-submit-'));
    const run = resolveRunInput({ inputDir: join(out, 'corpus'), outDir: out, generateQa: true, generator: backend, model: 'fake-model', baseUrl: backend === 'openai' ? server.openaiBaseUrl : server.url, batchApi: true });
    const file = batchRequestsPath(out, 'test', 1);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, items().map((i) => `${JSON.stringify({ customId: i.customId, purpose: 'generate', system: i.request.system, messages: i.request.messages })}\n`).join(''));
    const recordName = `${relative(out, file).split(sep).join('/')}.submitted.json`;
    return { out, run, file, recordName };
  }

  it('finds the batch the provider accepted before the kill, and submits nothing again', async () => {
    const server = await fake();
    const { out, run, file, recordName } = roundOnDisk(server);
    // What the killed attempt did: wrote down its intent, and the provider accepted the batch.
    const tag = 'corpus-qa-0123456789abcdef01234567';
    writeFileSync(join(out, recordName), JSON.stringify({ batches: [], intents: [{ group: 0, tag, at: Date.now(), items: 5 }] }));
    const id = await providerFor(backend, settingsFor(backend, server)).submit(items(), undefined, tag);
    expect(await submitBatchRequests({ run, file }, () => undefined)).toEqual([{ id, items: 5 }]);
    expect(server.batches).toHaveLength(1);
    // Written down now: a later retry neither looks nor submits.
    expect(await submitBatchRequests({ run, file }, () => undefined)).toEqual([{ id, items: 5 }]);
    expect(server.batches).toHaveLength(1);
  });

  it('submits when the killed attempt never reached the provider', async () => {
    const server = await fake();
    const { out, run, file, recordName } = roundOnDisk(server);
    // Another run on the account submitted a batch of its own, with its own tag.
    const others = await providerFor(backend, settingsFor(backend, server)).submit(items().slice(0, 4), undefined, 'corpus-qa-another-run');
    writeFileSync(join(out, recordName), JSON.stringify({ batches: [], intents: [{ group: 0, tag: 'corpus-qa-killed-attempt', at: Date.now(), items: 5 }] }));
    const [submitted] = await submitBatchRequests({ run, file }, () => undefined);
    expect(server.batches.map((b) => b.id)).toEqual([others, submitted!.id]);
  });
});

describe('the fake server', () => {
  it('injects faults by request index without a handler, and keeps default answers as before', async () => {
    const server = await fake({ faults: [{ every: 3, status: 429, retryAfterSeconds: 2 }, { every: 5, offset: 2, status: 503 }] });
    const s = settingsFor('openai', server);
    const backend = backendFor('openai', s);
    const outcomes: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await backend.complete(requestFor(PASSAGES[0]!)).catch((e: unknown) => e as ApplicationFailure);
      outcomes.push('text' in r ? 'ok' : `${r.type}${r.nextRetryDelay ? `@${String(r.nextRetryDelay)}` : ''}`);
    }
    // Requests 3 and 6: 429 with Retry-After 2 s; request 7 (= 2 + 5): 503.
    expect(outcomes).toEqual(['ok', 'ok', 'LlmRateLimited@2000', 'ok', 'ok', 'LlmRateLimited@2000', 'LlmServerError']);
    expect(server.statuses).toEqual([200, 200, 429, 200, 200, 429, 503]);
    // The same request answered four times: one key, counted four times.
    expect(server.answeredTwice()).toBe(1);
    expect(server.ledger.get(ledgerKey(server.requests[0]!.body))).toBe(4);
  });

  it('applies a fault pattern with an offset to batch items too', async () => {
    const server = await fake({ faults: [{ every: 2, offset: 1, status: 500 }] });
    const { results } = await runToEnd(providerFor('anthropic', settingsFor('anthropic', server)), items());
    // Items are requests 1..5: 3 and 5 fail (offset 1, every 2).
    expect(results.map((r) => (r.ok ? 'ok' : r.retryable))).toEqual(['ok', 'ok', true, 'ok', true]);
  });
});

/**
 * Anthropic prompt caching (issue 10; activities/generate/promptCache.ts): a passage long enough
 * to be cached goes in a first system block marked `cache_control`, byte-identical for the
 * generation and the judge request of its chunk, so the judge reads what generation wrote; a
 * shorter one, a Haiku model under its higher minimum, --no-prompt-cache and OpenAI send what
 * they always sent. Against the project's fake server, which honours `cache_control` like the API
 * (it reports cache writes and reads only for a marked prefix of the minimum length).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectBatchRequests, fetchBatchResults, pollProviderBatch, submitBatchRequests } from '../activities/batchMode.js';
import { discoverCorpus } from '../activities/discover.js';
import { generatorId } from '../activities/generate/index.js';
import { anthropicBatchProvider } from '../activities/generate/batchApi.js';
import { PASSAGE_REFERENCE } from '../activities/generate/prompts.js';
import { llmCardLine, llmStats } from '../activities/generate/report.js';
import { processBatch } from '../activities/processBatch.js';
import { stateDir } from '../activities/paths.js';
import { resolveRunInput, type CorpusExportOptions } from '../client/runOptions.js';
import { LlmSettings } from '../schemas/index.js';
import type { LlmUsage } from '../schemas/llmUsage.js';
import type { FakeLlmServer, FakeRequest } from './helpers/fakeLlmServer.js';
import { fakeLlmServers, withEnv } from './helpers/llmTestKit.js';
import { readJsonl, tempDir } from './helpers/files.js';
import { runExport } from './helpers/temporal.js';

const KEY = 'sk-ant-prompt-cache-test';
withEnv({ ANTHROPIC_API_KEY: KEY, OPENAI_API_KEY: KEY });
const server = fakeLlmServers();

/** USD per million tokens given as flags: the fake server is local, which would cost nothing. */
const PRICE_IN = 3;
const PRICE_OUT = 15;

const sentence = (d: number, i: number) =>
  `Document ${d} paragraph ${i} explains that the measured value number ${d * 100 + i} was recorded by the survey team on site.`;

/**
 * doc00: one chunk of about 5,300 characters (about 1,330 tokens: over the 1,024 minimum, under
 * Haiku's 2,048); doc01: one chunk of about 450 characters, under any minimum.
 */
function corpus(): string {
  const dir = tempDir('cache-in');
  const doc = (d: number, paragraphs: number) => Array.from({ length: paragraphs }, (_, i) => sentence(d, i)).join('\n\n');
  writeFileSync(join(dir, 'doc00.txt'), doc(0, 45));
  writeFileSync(join(dir, 'doc01.txt'), doc(1, 4));
  return dir;
}

/** The run every case starts from: Anthropic with the judge, chunks long enough to be cached. */
function cachingRun(s: FakeLlmServer) {
  return {
    generator: 'anthropic',
    model: 'claude-sonnet-4-6',
    baseUrl: s.url,
    chunkSize: 6000,
    chunkOverlap: 0,
    maxPairsPerChunk: 3,
    judge: true,
    priceIn: PRICE_IN,
    priceOut: PRICE_OUT,
  } as const;
}

async function batchOf(input: string, s: FakeLlmServer, extra: Partial<CorpusExportOptions> = {}, out = tempDir('cache-out')) {
  const run = resolveRunInput({
    inputDir: input,
    outDir: out,
    ...cachingRun(s),
    requestTimeoutSeconds: 5,
    ...extra,
  });
  const discovery = await discoverCorpus({ inputDir: run.inputDir, outDir: out, globs: [], maxFileBytes: run.settings.maxFileBytes });
  return { run, out, input: { run, manifestKey: discovery.manifestKey, start: 0, end: discovery.documents } };
}

const noHeartbeat = { heartbeat: () => undefined };
const ofDoc = (requests: FakeRequest[], d: number, kind: FakeRequest['kind']) => requests.filter((r) => r.kind === kind && r.passage.startsWith(`Document ${d} paragraph 0 `));
type Block = { type: string; text: string; cache_control?: unknown };
const systemOf = (r: FakeRequest) => r.body.system as string | Block[];
const firstUser = (r: FakeRequest) => (r.body.messages as Array<{ content: string }>)[0]!.content;

/** A stage's cost from its token figures at 1x, 1.25x (cache writes) and 0.1x (cache reads) the input price. */
function listCostMicroUsd(u: LlmUsage, stage: string): number {
  const read = u[`${stage}.cacheReadTokens`] ?? 0;
  const write = u[`${stage}.cacheWriteTokens`] ?? 0;
  const uncached = (u[`${stage}.promptTokens`] ?? 0) - read - write;
  return uncached * PRICE_IN + write * PRICE_IN * 1.25 + read * PRICE_IN * 0.1 + (u[`${stage}.completionTokens`] ?? 0) * PRICE_OUT;
}

describe('Anthropic prompt caching of long passages', () => {
  it('sends a long passage as a cached system block that the judge reads back; a short one as before', async () => {
    const s = await server();
    const b = await batchOf(corpus(), s);
    const done = await processBatch(b.input, noHeartbeat);
    expect(done.counters.documentsDone).toBe(2);

    const [gen] = ofDoc(s.requests, 0, 'generate');
    const [judge] = ofDoc(s.requests, 0, 'judge');
    expect(ofDoc(s.requests, 0, 'generate')).toHaveLength(1);
    expect(ofDoc(s.requests, 0, 'judge')).toHaveLength(1);
    const genSystem = systemOf(gen!) as Block[];
    const judgeSystem = systemOf(judge!) as Block[];
    // The marked block is the passage, the same bytes in both; each keeps its own instructions after it.
    expect(genSystem[0]).toEqual({ type: 'text', text: `<passage>\n${gen!.passage}\n</passage>`, cache_control: { type: 'ephemeral' } });
    expect(judgeSystem[0]).toEqual(genSystem[0]);
    expect(genSystem).toHaveLength(2);
    expect(judgeSystem).toHaveLength(2);
    expect(genSystem[1]!.cache_control).toBeUndefined();
    expect(genSystem[1]!.text).not.toBe(judgeSystem[1]!.text);
    // The user messages refer to the passage instead of repeating it.
    for (const r of [gen!, judge!]) {
      expect(firstUser(r)).not.toContain('<passage>');
      expect(firstUser(r)).toContain(PASSAGE_REFERENCE);
      expect(firstUser(r)).toContain('Document: ');
    }
    // Generation wrote the prefix; the judge read it.
    const written = gen!.promptCache?.write ?? 0;
    expect(written).toBeGreaterThanOrEqual(1024);
    expect(gen!.promptCache).toEqual({ read: 0, write: written });
    expect(judge!.promptCache).toEqual({ read: written, write: 0 });

    // The short document: today's layout, nothing marked, nothing cached.
    const short = [...ofDoc(s.requests, 1, 'generate'), ...ofDoc(s.requests, 1, 'judge')];
    expect(short).toHaveLength(2);
    for (const r of short) {
      expect(typeof systemOf(r)).toBe('string');
      expect(firstUser(r)).toContain(`<passage>\n${r.passage}\n</passage>`);
      expect(r.promptCache).toBeUndefined();
    }

    // Counted by stage, and priced at 1.25x (writes) and 0.1x (reads); rounding is per request.
    const u = done.counters.llm!;
    expect(u['generate.cacheWriteTokens']).toBe(written);
    expect(u['generate.cacheReadTokens']).toBeUndefined();
    expect(u['judge.cacheReadTokens']).toBe(written);
    expect(u['judge.cacheWriteTokens']).toBeUndefined();
    for (const stage of ['generate', 'judge']) {
      expect(Math.abs(u[`${stage}.costMicroUsd`]! - listCostMicroUsd(u, stage))).toBeLessThanOrEqual(u[`${stage}.requests`]!);
    }
    // A write costs a quarter more than a plain prompt token, a read saves nine tenths.
    expect(Math.abs(u['generate.cacheSavedMicroUsd']! + written * PRICE_IN * 0.25)).toBeLessThanOrEqual(1);
    expect(Math.abs(u['judge.cacheSavedMicroUsd']! - written * PRICE_IN * 0.9)).toBeLessThanOrEqual(1);

    // stats.json and the card show it.
    const llm = b.run.settings.llm!;
    const stats = llmStats(u, llm, b.run.llmRuntime ?? {});
    expect(stats.promptCache).toEqual({
      readTokens: written,
      writeTokens: written,
      savedUsd: (u['generate.cacheSavedMicroUsd']! + u['judge.cacheSavedMicroUsd']!) / 1e6,
      datasetSavedUsd: (u['generate.cacheSavedMicroUsd']! + u['judge.cacheSavedMicroUsd']!) / 1e6,
    });
    expect(stats.byStage.judge).toMatchObject({ cacheReadTokens: written, cacheWriteTokens: 0 });
    expect(llmCardLine(u, llm, b.run.llmRuntime ?? {})).toMatch(/; prompt caching saved \$0\.\d{4}\.$/);

    // A replay from the journal counts the same tokens, cost and saving, and sends nothing.
    const sent = s.requests.length;
    rmSync(join(stateDir(b.out), 'shards'), { recursive: true, force: true });
    const again = await processBatch(b.input, noHeartbeat);
    expect(s.requests.length).toBe(sent);
    const r = again.counters.llm!;
    expect(r['journal.cacheWriteTokens']).toBe(written);
    expect(r['journal.cacheReadTokens']).toBe(written);
    expect(r['journal.costMicroUsd']).toBe(u['generate.costMicroUsd']! + u['judge.costMicroUsd']!);
    expect(r['journal.cacheSavedMicroUsd']).toBe(u['generate.cacheSavedMicroUsd']! + u['judge.cacheSavedMicroUsd']!);
    expect(llmStats(r, llm, b.run.llmRuntime ?? {}).promptCache).toEqual({ readTokens: 0, writeTokens: 0, savedUsd: 0, datasetSavedUsd: stats.promptCache!.datasetSavedUsd });
  });

  it('sends a repair with the same cached block, and it reads the cache too', async () => {
    const s = await server({ handler: (r) => (r.kind === 'generate' && !r.repair && r.passage.startsWith('Document 0 ') ? { content: 'not JSON at all' } : undefined) });
    const b = await batchOf(corpus(), s);
    await processBatch(b.input, noHeartbeat);
    const gen = ofDoc(s.requests, 0, 'generate');
    expect(gen.map((r) => r.repair)).toEqual([false, true]);
    const [first, repair] = gen as [FakeRequest, FakeRequest];
    expect((systemOf(repair) as Block[])[0]).toEqual((systemOf(first) as Block[])[0]);
    expect(firstUser(repair)).toBe(firstUser(first));
    const written = first.promptCache?.write ?? 0;
    expect(written).toBeGreaterThanOrEqual(1024);
    expect(repair.promptCache).toEqual({ read: written, write: 0 });
    expect(ofDoc(s.requests, 0, 'judge')[0]!.promptCache).toEqual({ read: written, write: 0 });
  });

  it('names the layout in the generator id only where a chunk can be long enough to be cached', async () => {
    const s = await server();
    const input = corpus();
    const idOf = async (extra: Partial<CorpusExportOptions>) => generatorId((await batchOf(input, s, extra)).run.settings);
    expect(await idOf({})).toBe('anthropic:claude-sonnet-4-6:qa-v2:English:passage-in-system+judge-v2>=3');
    // Chunks of at most 1,500 characters (~375 tokens), Haiku under 2,048, caching off, OpenAI: the ids of before.
    expect(await idOf({ chunkSize: 1500 })).toBe('anthropic:claude-sonnet-4-6:qa-v2:English+judge-v2>=3');
    expect(await idOf({ model: 'claude-haiku-4-5' })).toBe('anthropic:claude-haiku-4-5:qa-v2:English+judge-v2>=3');
    expect(await idOf({ model: 'claude-haiku-4-5', chunkSize: 17000 })).toBe('anthropic:claude-haiku-4-5:qa-v2:English:passage-in-system+judge-v2>=3');
    // Haiku 3.x caches from 2,048 tokens, Haiku 4.5 from 4,096.
    expect(await idOf({ model: 'claude-3-5-haiku-latest', chunkSize: 9000 })).toBe('anthropic:claude-3-5-haiku-latest:qa-v2:English:passage-in-system+judge-v2>=3');
    expect(await idOf({ model: 'claude-haiku-4-5', chunkSize: 9000 })).toBe('anthropic:claude-haiku-4-5:qa-v2:English+judge-v2>=3');
    expect(await idOf({ promptCache: false })).toBe('anthropic:claude-sonnet-4-6:qa-v2:English+judge-v2>=3');
    // Without the judge nothing but a rare re-ask would read the cache a write pays 1.25x for.
    expect(await idOf({ judge: false })).toBe('anthropic:claude-sonnet-4-6:qa-v2:English');
    expect(await idOf({ generator: 'openai', baseUrl: s.openaiBaseUrl })).toBe('openai:claude-sonnet-4-6:qa-v2:English+judge-v2>=3');
    // --no-prompt-cache is an LLM flag like the others.
    expect(() => resolveRunInput({ inputDir: input, outDir: tempDir('cache-out'), generateQa: true, promptCache: false })).toThrow(/--no-prompt-cache: only with --generator/);
  });

  it('sends short chunks exactly as before caching: a --no-prompt-cache run finds every request in the journal', async () => {
    const s = await server();
    const input = corpus();
    const out = tempDir('cache-out');
    const first = await batchOf(input, s, { chunkSize: 1500 }, out);
    await processBatch(first.input, noHeartbeat);
    const sent = s.requests.length;
    expect(sent).toBeGreaterThan(4);
    expect(s.requests.every((r) => typeof systemOf(r) === 'string' && r.promptCache === undefined)).toBe(true);
    // Without caching the requests are the ones corpus-qa sent before it existed: the same journal
    // keys. (The same shard keys too: the shards go, so that the requests are asked for again.)
    const off = await batchOf(input, s, { chunkSize: 1500, promptCache: false }, out);
    rmSync(join(stateDir(out), 'shards'), { recursive: true, force: true });
    const replay = await processBatch(off.input, noHeartbeat);
    expect(s.requests.length).toBe(sent);
    expect(replay.counters.llm?.['journal.requests']).toBe(sent);
  });

  it('sends a long chunk as before with --no-prompt-cache, with a Haiku model under its minimum, without the judge, and to OpenAI', async () => {
    for (const extra of [{ promptCache: false }, { model: 'claude-haiku-4-5' }, { judge: false }, { generator: 'openai' as const }]) {
      const s = await server();
      const b = await batchOf(corpus(), s, { ...extra, ...(extra.generator ? { baseUrl: s.openaiBaseUrl } : {}) });
      await processBatch(b.input, noHeartbeat);
      const long = [...ofDoc(s.requests, 0, 'generate'), ...ofDoc(s.requests, 0, 'judge')];
      expect(long).toHaveLength(extra.judge === false ? 1 : 2);
      for (const r of long) {
        expect(r.promptCache).toBeUndefined();
        if (r.protocol === 'anthropic') expect(typeof systemOf(r)).toBe('string');
        else expect((r.body.messages as Array<{ role: string; content: unknown }>)[0]).toMatchObject({ role: 'system', content: expect.any(String) });
        expect(JSON.stringify(r.body.messages)).toContain(JSON.stringify(`<passage>\n${r.passage}\n</passage>`).slice(1, -1));
      }
    }
  });

  it('passes cache_control through Message Batches: the judge round reads what the generation round wrote', async () => {
    const s = await server();
    const b = await batchOf(corpus(), s, { batchApi: true });
    const collect = { run: b.run, manifestKey: b.input.manifestKey, start: 0, end: b.input.end };
    const batchUsage: LlmUsage[] = [];
    for (let round = 0; ; round++) {
      const c = await collectBatchRequests({ ...collect, round }, () => undefined);
      if (c.pending === 0) break;
      expect(round).toBeLessThan(3);
      for (const batch of await submitBatchRequests({ run: b.run, file: c.file }, () => undefined)) {
        while (!(await pollProviderBatch({ run: b.run, batchId: batch.id })).done);
        batchUsage.push((await fetchBatchResults({ run: b.run, batchId: batch.id, file: c.file })).usage);
      }
    }
    const [gen] = ofDoc(s.requests, 0, 'generate');
    const [judge] = ofDoc(s.requests, 0, 'judge');
    expect(gen!.viaBatch && judge!.viaBatch).toBe(true);
    expect((systemOf(judge!) as Block[])[0]).toEqual((systemOf(gen!) as Block[])[0]);
    const written = gen!.promptCache?.write ?? 0;
    expect(written).toBeGreaterThanOrEqual(1024);
    expect(judge!.promptCache).toEqual({ read: written, write: 0 });
    // The batch answers are priced at the batch discount on top of the cache factors.
    const [round0, round1] = batchUsage;
    expect(round0!['batch.cacheWriteTokens']).toBe(written);
    expect(round1!['batch.cacheReadTokens']).toBe(written);
    for (const u of [round0!, round1!]) expect(Math.abs(u['batch.costMicroUsd']! - listCostMicroUsd(u, 'batch') / 2)).toBeLessThanOrEqual(u['batch.requests']!);
    // The last collection built the shards from the journal; they keep the cache figures.
    const done = await processBatch(b.input, noHeartbeat);
    expect(done.counters.llm?.['shards.cacheReadTokens']).toBe(written);
    expect(done.counters.llm?.['shards.cacheWriteTokens']).toBe(written);
    expect(done.counters.llm?.['attempts']).toBeUndefined();
  });

  it('is what the provider sees from the batch client too (a cached prefix item by item)', async () => {
    const s = await server();
    const settings = LlmSettings.parse({ model: 'claude-sonnet-4-6', baseUrl: s.url, timeoutMs: 5000 });
    const prefix = `<passage>\n${Array.from({ length: 45 }, (_, i) => sentence(7, i)).join('\n\n')}\n</passage>`;
    const request = (n: number) => ({ system: `Instructions ${n}.`, cachedPrefix: prefix, messages: [{ role: 'user' as const, content: `Question ${n}?` }] });
    const p = anthropicBatchProvider(settings, KEY);
    const id = await p.submit([
      { customId: 'a', request: request(1) },
      { customId: 'b', request: request(2) },
    ]);
    while (!(await p.poll(id)).done);
    const results = new Map((await p.results(id)).map((r) => [r.customId, r]));
    const a = results.get('a')!;
    const bItem = results.get('b')!;
    expect(a.ok && bItem.ok).toBe(true);
    if (!a.ok || !bItem.ok) return;
    expect(a.reply.cacheWriteTokens).toBe(Math.ceil(prefix.length / 4));
    expect(a.reply.cacheReadTokens).toBeUndefined();
    expect(bItem.reply.cacheReadTokens).toBe(Math.ceil(prefix.length / 4));
    // promptTokens counts every prompt token, the cached ones included.
    expect(bItem.reply.promptTokens).toBeGreaterThan(bItem.reply.cacheReadTokens!);
  });

  it('shows what caching saved in stats.json and the dataset card of a run through Temporal', async () => {
    const s = await server();
    const out = tempDir('cache-e2e');
    await runExport({
      inputDir: corpus(),
      outDir: out,
      ...cachingRun(s),
    });
    const written = ofDoc(s.requests, 0, 'generate')[0]!.promptCache?.write ?? 0;
    expect(written).toBeGreaterThanOrEqual(1024);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as {
      llm: { promptCache: { readTokens: number; writeTokens: number; savedUsd: number; datasetSavedUsd: number }; byStage: Record<string, { cacheReadTokens?: number }> };
      settings: { generatorId: string };
    };
    expect(stats.llm.promptCache).toMatchObject({ readTokens: written, writeTokens: written });
    // A read saves 0.9x, a write costs 0.25x more: 0.65x of the input price on the passage, net.
    expect(Math.abs(stats.llm.promptCache.savedUsd - (written * PRICE_IN * 0.65) / 1e6)).toBeLessThanOrEqual(2e-6);
    expect(stats.llm.promptCache.datasetSavedUsd).toBe(stats.llm.promptCache.savedUsd);
    expect(stats.llm.byStage.judge!.cacheReadTokens).toBe(written);
    const id = 'anthropic:claude-sonnet-4-6:qa-v2:English:passage-in-system+judge-v2>=3';
    expect(stats.settings.generatorId).toBe(id);
    for (const row of readJsonl<{ generator: string }>(join(out, 'data/train.jsonl'))) expect(row.generator).toBe(id);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain(`; prompt caching saved $${stats.llm.promptCache.savedUsd.toFixed(4)}.`);
  });
});

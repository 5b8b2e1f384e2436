/**
 * Chunks too long for the server's context are split to fit it (issue 10), against our fake
 * server answering in llama-server's words: pairs from every chunk, split only by the chunk's own
 * refusal (so the same pairs whatever the timing, and on every rerun), nothing sent twice, a
 * chunk that cannot fit rejected with what to do, and the run stopped only when nothing can be
 * answered. The batch activity's code is called
 * directly; the last test runs real `corpus-qa` processes on a real Temporal server.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { discoverCorpus } from '../activities/discover.js';
import { readManifestRange } from '../activities/manifest.js';
import { processBatch, shardKeyFor, shardSettingsKey } from '../activities/processBatch.js';
import { shardCatalog } from '../activities/shardPacks.js';
import { resolveRunInput, type CorpusExportOptions } from '../client/runOptions.js';
import { SizeRefusalEntry } from '../schemas/index.js';
import type { FakeLlmServer, FakeRequest } from './helpers/fakeLlmServer.js';
import { fakeLlmServers, withEnv } from './helpers/llmTestKit.js';
import { readJsonl, tempDir, treeHashes } from './helpers/files.js';
import { describeCli, startCorpusQa, waitForExit } from './helpers/processes.js';
import { runExport, temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const KEY = 'sk-fit-test';
withEnv({ OPENAI_API_KEY: KEY });
const server = fakeLlmServers();
const noHeartbeat = { heartbeat: () => undefined };

/** `docs` documents of `paragraphs` paragraphs (about 130 characters each): one chunk each at --chunk-size 8000. */
function corpus(docs: number, paragraphs: number, dir = tempDir('fit-in')): string {
  for (let d = 0; d < docs; d++) writeReport(dir, d, paragraphs);
  return dir;
}

function writeReport(dir: string, d: number, paragraphs: number, marked?: (i: number) => boolean): void {
  const topics = ['glaciers', 'rivers', 'deserts', 'forests', 'oceans', 'mountains'];
  const text = Array.from({ length: paragraphs }, (_, i) =>
    `Section ${i + 1} of the ${topics[d % topics.length]} report states that survey ${d}-${i} measured ${d * 37 + i * 11} units across the ${marked?.(i) ? 'UNREADABLE' : 'study'} area.`,
  ).join('\n\n');
  writeFileSync(join(dir, `report-${d}.txt`), text);
}

/** The journal's entries, every segment's lines parsed. */
function journalLines(out: string): Array<Record<string, unknown>> {
  const dir = join(out, '.corpus-qa', 'journal');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  return files.flatMap((f) => readFileSync(join(f.parentPath, f.name), 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>));
}

const settings = { generator: 'openai' as const, model: 'fake', chunkSize: 8000, chunkOverlap: 0, maxPairsPerChunk: 4, maxTokens: 120, requestTimeoutSeconds: 5 };

async function batchOf(input: string, s: FakeLlmServer, extra: Partial<CorpusExportOptions> = {}, out = tempDir('fit-out')) {
  const run = resolveRunInput({ inputDir: input, outDir: out, baseUrl: s.openaiBaseUrl, ...settings, ...extra });
  const discovery = await discoverCorpus({ inputDir: run.inputDir, outDir: out, globs: [], maxFileBytes: run.settings.maxFileBytes });
  return { run, out, input: { run, manifestKey: discovery.manifestKey, start: 0, end: discovery.documents } };
}

async function shardsOf(b: Awaited<ReturnType<typeof batchOf>>) {
  const entries = await readManifestRange(b.out, b.input.manifestKey, 0, b.input.end);
  const key = shardSettingsKey(b.run);
  const shards = await Promise.all(entries.map(async (e) => (await shardCatalog(b.out)).reader().read(shardKeyFor(e, key))));
  return shards.map((x) => {
    if (x?.status !== 'ok') throw new Error(`a document was not processed: ${JSON.stringify(x)}`);
    return x;
  });
}

/** The prompt as the fake server measures it: system prompt and messages. */
function promptOf(r: FakeRequest): string {
  return (r.body.messages as Array<{ content: string }>).map((m) => m.content).join('\n');
}

/** A server whose tokenizer counts one token per `charsPerToken` characters, refusing as llama-server does. */
function tokenizerRefusing(contextTokens: number, charsPerToken: number) {
  return (r: FakeRequest) => {
    const n = Math.ceil(promptOf(r).length / charsPerToken);
    return n > contextTokens ? { status: 400, message: `request (${n} tokens) exceeds the available context size (${contextTokens} tokens), try increasing it` } : undefined;
  };
}

describe("chunks longer than the server's context", () => {
  it('are split to fit: pairs from every chunk, no context_too_long, one refused request a chunk, and a rebuild from the journal sends nothing', async () => {
    const s = await server({ contextTokens: 1200 });
    // One request in flight: every chunk is still asked whole first, and split by its own refusal.
    const b = await batchOf(corpus(4, 28), s, { llmConcurrency: 1 });
    const summary = await processBatch(b.input, noHeartbeat);
    expect(summary.counters.failed).toBe(0);
    const shards = await shardsOf(b);
    for (const shard of shards) {
      expect(shard.chunks).toBe(1);
      expect(shard.pairs.some((p) => p.reasons.length === 0)).toBe(true);
      expect(shard.pairs.filter((p) => p.reasons.includes('context_too_long'))).toEqual([]);
    }
    const llm = summary.counters.llm!;
    expect(llm['fit.chunks']).toBe(4);
    expect(llm['fit.parts']).toBeGreaterThanOrEqual(8);
    expect(s.statuses.filter((x) => x === 400)).toHaveLength(4);
    expect(llm['failures.context_too_long']).toBe(4);
    // Each refusal is journaled under the refused request's key, in its own small shape.
    const refusals = journalLines(b.out).filter((e) => e.purpose === 'refused_for_size');
    expect(refusals).toHaveLength(4);
    for (const e of refusals) expect(SizeRefusalEntry.parse(e).serverSaid).toMatch(/exceeds the available context size \(1200 tokens\)/);
    // Each part asked for its share: no chunk has more than --max-pairs-per-chunk pairs.
    for (const shard of shards) expect(shard.pairs.length).toBeLessThanOrEqual(4);
    // Every part's pairs come from its part, in text order: their answers appear in the chunk in order.
    const passage = readFileSync(join(b.run.inputDir, 'report-0.txt'), 'utf8');
    const starts = shards[0]!.pairs.map((p) => passage.indexOf(p.answer));
    expect(starts.every((at) => at >= 0)).toBe(true);
    expect([...starts].sort((x, y) => x - y)).toEqual(starts);

    // Shards gone: rebuilt from the journal alone, split the same way, pair for pair.
    const first = shards.map((x) => x.pairs);
    rmSync(join(b.out, '.corpus-qa', 'shards'), { recursive: true });
    const sent = s.requests.length;
    const rebuilt = await processBatch(b.input, noHeartbeat);
    expect(s.requests.length).toBe(sent);
    expect(rebuilt.counters.llmRequests).toBe(0);
    expect((await shardsOf(b)).map((x) => x.pairs)).toEqual(first);
    expect(rebuilt.counters.llm?.['fit.chunks']).toBe(4);

    // Shards kept: reused as they are, and the run still says how its chunks were fitted.
    const reused = await processBatch(b.input, noHeartbeat);
    expect(s.requests.length).toBe(sent);
    expect(reused.counters.cacheHits).toBe(4);
    expect([reused.counters.llm?.['fit.chunks'], reused.counters.llm?.['fit.parts']]).toEqual([llm['fit.chunks'], llm['fit.parts']]);
  });

  it("split a chunk only on its own refusal: one the server answers whole stays whole, whatever the timing and on a rebuild", async () => {
    // A server that counts one token per 6 characters: report-0 fits its context whole, though
    // our estimate (4 characters a token) of its request is larger than the context; report-1 does not.
    const input = tempDir('fit-in');
    writeReport(input, 0, 20);
    writeReport(input, 1, 54);
    const runs = [];
    for (const llmConcurrency of [1, 16]) {
      const s = await server({ handler: tokenizerRefusing(1200, 6) });
      const b = await batchOf(input, s, { llmConcurrency });
      const summary = await processBatch(b.input, noHeartbeat);
      expect(s.statuses.filter((x) => x === 400)).toHaveLength(1); // report-1's whole request
      expect(summary.counters.llm?.['fit.chunks']).toBe(1);
      // report-0's whole passage runs from its first paragraph to its last.
      const whole = s.requests.filter((r) => r.passage.includes('survey 0-0 ') && r.passage.includes('survey 0-19 '));
      expect(whole.map((r) => s.statuses[r.index - 1])).toEqual([200]);
      // Shards gone (a rerun with another --format): report-0 is read back whole, nothing is sent.
      rmSync(join(b.out, '.corpus-qa', 'shards'), { recursive: true });
      const sent = s.requests.length;
      const rebuilt = await processBatch(b.input, noHeartbeat);
      expect(s.requests.length).toBe(sent);
      expect(rebuilt.counters.llm?.['fit.chunks']).toBe(1);
      runs.push({ pairs: (await shardsOf(b)).map((x) => x.pairs), keys: [...s.ledger.keys()].sort() });
    }
    // One request at a time or all at once: the same requests, the same pairs.
    expect(runs[1]).toEqual(runs[0]);
  });

  it("keep the pairs of the parts that answered when one part cannot be fitted", async () => {
    // The whole chunk is refused with the context's size; a part holding the marked paragraph is
    // refused without numbers, so it cannot be fitted; the others answer.
    const s = await server({
      handler: (r) => {
        if (r.passage.length > 2000) return { status: 400, message: `request (${Math.ceil(promptOf(r).length / 4)} tokens) exceeds the available context size (1200 tokens), try increasing it` };
        if (r.passage.includes('UNREADABLE')) return { status: 400, message: 'the request exceeds the available context size, try increasing it' };
        return undefined;
      },
    });
    const input = tempDir('fit-in');
    writeReport(input, 0, 28, (i) => i === 0);
    const b = await batchOf(input, s, { llmConcurrency: 1 });
    const summary = await processBatch(b.input, noHeartbeat);
    const [shard] = await shardsOf(b);
    expect(shard!.pairs.filter((p) => p.reasons.includes('context_too_long'))).toEqual([]);
    expect(shard!.pairs.some((p) => p.reasons.length === 0)).toBe(true);
    // The refused part's passage gave no pair: every pair is from the other parts.
    for (const p of shard!.pairs) expect(p.answer).not.toContain('UNREADABLE');
    expect(summary.counters.llm?.['fit.chunks']).toBe(1);
    expect(s.statuses.filter((x) => x === 400)).toHaveLength(2);
  });

  it('split a part again when the server counts more tokens than our estimate, from what its refusal says', async () => {
    // Three characters a token, not four: parts cut by our estimate are refused too, and cut again.
    const s = await server({ handler: tokenizerRefusing(3000, 2) });
    const b = await batchOf(corpus(2, 54), s, { llmConcurrency: 1 });
    const summary = await processBatch(b.input, noHeartbeat);
    for (const shard of await shardsOf(b)) {
      expect(shard.pairs.filter((p) => p.reasons.includes('context_too_long'))).toEqual([]);
      expect(shard.pairs.some((p) => p.reasons.length === 0)).toBe(true);
    }
    const llm = summary.counters.llm!;
    expect(llm['fit.chunks']).toBe(2);
    expect(llm['fit.parts']).toBeGreaterThan(2 * 2); // some part was split once more
    for (const r of s.requests.filter((x) => s.statuses[x.index - 1] === 200)) expect(Math.ceil(promptOf(r).length / 2)).toBeLessThanOrEqual(3000);
  });

  it('reject a chunk that cannot be fitted (the instruction alone fills the context) with what to do', async () => {
    const s = await server({ contextTokens: 900 });
    const b = await batchOf(corpus(1, 28), s, { llmConcurrency: 1 });
    const summary = await processBatch(b.input, noHeartbeat);
    expect(summary.counters.failed).toBe(0);
    const [shard] = await shardsOf(b);
    expect(shard!.pairs).toHaveLength(1);
    const row = shard!.pairs[0]!;
    expect(row.reasons).toEqual(['context_too_long']);
    expect(row.detail).toMatch(/lower --chunk-size \(now 8000\) or give the server a larger context/);
    expect(row.detail).toMatch(/request \(\d+ tokens\) exceeds the available context size \(900 tokens\)/);
    expect(summary.counters.llm?.['fit.chunks']).toBeUndefined();
    expect(s.requests).toHaveLength(1); // no part was sent: none could fit
  });

  it('with --judge, reject a refused chunk at once as context_too_long: no part is paid for that the judge could not see', async () => {
    const s = await server({ contextTokens: 1200 });
    const b = await batchOf(corpus(1, 36), s, { llmConcurrency: 1, judge: true, minScore: 3 });
    const summary = await processBatch(b.input, noHeartbeat);
    expect(summary.counters.llm?.['fit.chunks']).toBeUndefined();
    const [shard] = await shardsOf(b);
    expect(shard!.pairs).toHaveLength(1);
    expect(shard!.pairs[0]!.reasons).toEqual(['context_too_long']);
    expect(shard!.pairs[0]!.detail).toMatch(/the judge must see the whole chunk, so it is not split to fit; lower --chunk-size \(now 8000\)/);
    expect(s.requests).toHaveLength(1); // the whole chunk's generation; no part, no judge
  });

  it('leave the judge unfitted: a judge request refused for size rejects the chunk\'s pairs as context_too_long', async () => {
    // Generation fits; the judge's request, refused, is not split (it must see the whole chunk).
    const s = await server({ handler: (r) => (r.kind === 'judge' ? { status: 400, message: 'request (2000 tokens) exceeds the available context size (1200 tokens), try increasing it' } : undefined) });
    const b = await batchOf(corpus(1, 20), s, { llmConcurrency: 1, judge: true, minScore: 3 });
    await processBatch(b.input, noHeartbeat);
    const [shard] = await shardsOf(b);
    expect(shard!.pairs.length).toBeGreaterThan(1);
    for (const p of shard!.pairs) {
      expect(p.question).not.toBe('');
      expect(p.reasons).toEqual(['context_too_long']);
      expect(p.detail).toMatch(/the server refused the judge's request for this chunk as too long for its context; lower --chunk-size/);
    }
    expect(s.requests.filter((r) => r.kind === 'judge')).toHaveLength(1);
  });

  it('do not stop the run when every chunk can be fitted, and do when none can', async () => {
    // Every whole chunk is refused, by a server that counts twice our estimate of its tokens: six
    // documents, six refusals (the systematic-refusal rule's threshold is five), each then fitted.
    const fits = await server({
      handler: (r) => {
        const n = 2 * Math.ceil(promptOf(r).length / 4);
        return r.passage.length > 2000 ? { status: 400, message: `request (${n} tokens) exceeds the available context size (4000 tokens), try increasing it` } : undefined;
      },
    });
    const ok = await processBatch((await batchOf(corpus(6, 28), fits, { llmConcurrency: 16 })).input, noHeartbeat);
    expect(fits.statuses.filter((x) => x === 400)).toHaveLength(6);
    expect(ok.counters.documentsDone).toBe(6);
    expect(ok.counters.llm?.['fit.chunks']).toBe(6);
    const none = await server({ contextTokens: 900 });
    const err = (await processBatch((await batchOf(corpus(6, 28), none, { llmConcurrency: 1 })).input, noHeartbeat).catch((e: unknown) => e)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('LlmContextTooSmall');
    expect(err.message).toMatch(/exceeds the available context size \(900 tokens\).*lower --chunk-size/);
  });
});

describe('a fitted run through corpus-qa', () => {
  it('shows the fitting in stats.json and warns once; a fresh re-run in a new process sends nothing and writes the same data', async () => {
    const input = corpus(3, 28);
    const s = await server({ contextTokens: 1200 });
    const out = tempDir('fit-run');
    await runExport({ inputDir: input, outDir: out, baseUrl: s.openaiBaseUrl, ...settings, llmConcurrency: 2 });
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as { llm: { fitted?: { chunks: number; parts: number } }; pairs: { rejectedByReason: Record<string, number> } };
    expect(stats.llm.fitted?.chunks).toBe(3);
    expect(stats.llm.fitted?.parts).toBeGreaterThanOrEqual(6);
    expect(stats.pairs.rejectedByReason.context_too_long).toBeUndefined();
    const chunkIds = new Set(readJsonl(join(out, 'data/train.jsonl')).map((r) => (r as { chunk_id: string }).chunk_id));
    expect(chunkIds.size).toBe(3);
    const { 'stats.json': _s, ...data } = treeHashes(out);

    // A new process knows nothing of the server; the journal has every chunk's refusal, and every part's answer.
    const sent = s.requests.length;
    const args = ['run', input, '--out', out, '--fresh', '--generator', 'openai', '--model', 'fake', '--base-url', s.openaiBaseUrl,
      '--chunk-size', '8000', '--chunk-overlap', '0', '--max-pairs-per-chunk', '4', '--max-tokens', '120', '--request-timeout', '5',
      '--llm-concurrency', '2', '--no-progress', '--task-queue', uniqueTaskQueue()];
    const again = startCorpusQa(args, { TEMPORAL_ADDRESS: temporalAddress(), OPENAI_API_KEY: KEY });
    const exit = await waitForExit(again, 180_000);
    expect(exit.code, describeCli(again)).toBe(0);
    expect(s.requests.length).toBe(sent);
    const { 'stats.json': _s2, ...dataAgain } = treeHashes(out);
    expect(dataAgain).toEqual(data);
    const warned = (again.stdout() + again.stderr()).match(/context is 1200 tokens.*chunks are split to fit; a smaller --chunk-size avoids the split/g) ?? [];
    expect(warned, describeCli(again)).toHaveLength(1);
  });
});

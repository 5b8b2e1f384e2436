/**
 * The LLM processing core called directly (no Temporal): the request journal, retries in place
 * under faults and outages, the stall budget, real servers' refusals (context size, replies cut
 * at max_tokens, partial judge replies) and the cost budget, against our local fake server,
 * whose ledger says whether any request was answered twice.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { discoverCorpus } from '../activities/discover.js';
import { readManifestRange } from '../activities/manifest.js';
import { processBatch, shardKeyFor, shardSettingsKey, type BatchProgress } from '../activities/processBatch.js';
import { parseScores, salvagePairs } from '../activities/generate/replies.js';
import { RequestLimiter, UNSAVED_PER_SLOT } from '../activities/generate/limiter.js';
import { shardCatalog } from '../activities/shardPacks.js';
import { resolveRunInput, type CorpusExportOptions } from '../client/runOptions.js';
import { ShardContent } from '../schemas/index.js';
import type { FakeLlmServer } from './helpers/fakeLlmServer.js';
import { fakeLlmServers, withEnv } from './helpers/llmTestKit.js';
import { tempDir } from './helpers/files.js';

withEnv({ OPENAI_API_KEY: 'sk-core-test' });
const server = fakeLlmServers();

const sentence = (d: number, i: number) =>
  `Document ${d} paragraph ${i} explains that the measured value number ${d * 100 + i} was recorded by the survey team on site.`;

/** `docs` text documents of `paragraphs` paragraphs each (about 120 characters a paragraph). */
function corpus(docs: number, paragraphs: number): string {
  const dir = tempDir('core-in');
  for (let d = 0; d < docs; d++) {
    writeFileSync(join(dir, `doc${String(d).padStart(2, '0')}.txt`), Array.from({ length: paragraphs }, (_, i) => sentence(d, i)).join('\n\n'));
  }
  return dir;
}

async function batchOf(input: string, s: FakeLlmServer, extra: Partial<CorpusExportOptions> = {}, out = tempDir('core-out')) {
  const run = resolveRunInput({
    inputDir: input,
    outDir: out,
    generator: 'openai',
    model: 'fake',
    baseUrl: s.openaiBaseUrl,
    chunkSize: 400,
    chunkOverlap: 0,
    maxPairsPerChunk: 3,
    requestTimeoutSeconds: 5,
    ...extra,
  });
  const discovery = await discoverCorpus({ inputDir: run.inputDir, outDir: out, globs: [], maxFileBytes: run.settings.maxFileBytes });
  return { run, out, input: { run, manifestKey: discovery.manifestKey, start: 0, end: discovery.documents } };
}

async function shardsOf(b: Awaited<ReturnType<typeof batchOf>>) {
  const entries = await readManifestRange(b.out, b.input.manifestKey, 0, b.input.end);
  const key = shardSettingsKey(b.run);
  return Promise.all(entries.map(async (e) => (await shardCatalog(b.out)).reader().read(shardKeyFor(e, key))));
}

const pairsOf = (shards: Array<ShardContent | undefined>) => shards.map((s) => (s?.status === 'ok' ? s.pairs : s));
const noHeartbeat = { heartbeat: () => undefined };

describe('the request journal', () => {
  it('makes a document cut short cost nothing twice, and rebuilds identical shards from it without a request', async () => {
    // The last document's requests are refused with a non-retryable 400 the first time: the
    // batch fails after the others finished (some of their answers, and some of its own chunks').
    let refuse = true;
    const s = await server({ handler: (r) => (refuse && r.passage.includes('Document 3 paragraph 4') ? { status: 400, message: 'bad request' } : undefined) });
    const b = await batchOf(corpus(4, 8), s);
    const err = await processBatch(b.input, noHeartbeat).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    const sentBefore = s.requests.length;
    refuse = false;

    const done = await processBatch(b.input, noHeartbeat);
    expect(done.counters.documentsDone).toBe(4);
    expect(s.answeredTwice()).toBe(0); // the retry read every earlier answer back
    const journaled = done.counters.llm?.['journal.requests'] ?? 0;
    expect(journaled).toBeGreaterThan(0);
    expect(s.requests.length - sentBefore).toBeLessThan(8); // only what the failure left unanswered
    const first = pairsOf(await shardsOf(b));

    // Shards gone (a re-run after export): rebuilt from the journal alone, pair for pair.
    rmSync(join(b.out, '.corpus-qa', 'shards'), { recursive: true });
    const sentBeforeRebuild = s.requests.length;
    const rebuilt = await processBatch(b.input, noHeartbeat);
    expect(s.requests.length).toBe(sentBeforeRebuild);
    expect(pairsOf(await shardsOf(b))).toEqual(first);
    expect(rebuilt.counters.llmRequests).toBe(0);
    expect(rebuilt.counters.llm?.['journal.requests']).toBe(s.ledger.size); // every distinct answer, read back

    // --no-cache sends everything again.
    const fresh = await processBatch({ ...b.input, run: { ...b.run, noCache: true } }, noHeartbeat);
    expect(fresh.counters.llmRequests).toBe(rebuilt.counters.llm?.['journal.requests']);
  });
});

describe('faults and outages', () => {
  it('retries 429s and 500s in place (Retry-After honoured): a long-document batch finishes with every request answered once', async () => {
    const s = await server({ faults: [{ every: 7, status: 429, retryAfterSeconds: 1 }, { every: 11, status: 500 }] });
    const b = await batchOf(corpus(3, 12), s, { llmConcurrency: 4 });
    const summary = await processBatch(b.input, noHeartbeat);
    expect(summary.counters.documentsDone).toBe(3);
    expect(summary.counters.failed).toBe(0);
    const llm = summary.counters.llm!;
    expect(llm['failures.rate_limited']).toBe(s.statuses.filter((x) => x === 429).length);
    expect(llm['failures.server_error']).toBe(s.statuses.filter((x) => x === 500).length);
    expect(s.statuses.filter((x) => x !== 200).length / s.requests.length).toBeGreaterThan(0.15);
    expect(llm.attempts).toBe(s.requests.length); // every attempt counted, failed or not
    expect(s.answeredTwice()).toBe(0);
    expect(s.maxInFlight).toBeLessThanOrEqual(4);
  });

  it('waits for a server that went away and goes on when it is back: no document error', async () => {
    const s = await server();
    const b = await batchOf(corpus(2, 3), s);
    await s.pause();
    const beats: BatchProgress[] = [];
    const running = processBatch(b.input, { heartbeat: (d) => beats.push(structuredClone(d)) });
    await new Promise((r) => setTimeout(r, 2500));
    await s.resume();
    const summary = await running;
    expect(summary.counters.failed).toBe(0);
    expect(summary.counters.documentsDone).toBe(2);
    expect(summary.counters.llm?.['failures.unreachable']).toBeGreaterThan(0);
    expect(beats.some((x) => /LLM server unreachable, retrying in \d+ s/.test(x.live?.waiting ?? ''))).toBe(true);
  });

  it('ends with a resumable, non-retryable message when nothing has been answered for --llm-stall-timeout', async () => {
    const s = await server();
    const b = await batchOf(corpus(1, 2), s, { llmStallTimeoutSeconds: 1.5 });
    await s.pause();
    const err = (await processBatch(b.input, noHeartbeat).catch((e: unknown) => e)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('LlmStalled');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/no answer from .* run the same command again to resume/);
    expect(readdirSync(join(b.out, '.corpus-qa')).includes('local-errors')).toBe(false); // no error rows in the making
  });
});

describe("real servers' refusals", () => {
  it('records a chunk too long for the context as context_too_long, and goes on with the others', async () => {
    const s = await server({ contextTokens: 1100 }); // room for the qa-v2 prompt and a short chunk, not a 3000-char one
    // One document with short paragraphs, one with a single long paragraph (one big chunk).
    const input = corpus(1, 3);
    writeFileSync(join(input, 'long.txt'), `${'A very long sentence about the measured values of the survey. '.repeat(40)}`);
    const b = await batchOf(input, s, { chunkSize: 3000 });
    const summary = await processBatch(b.input, noHeartbeat);
    expect(summary.counters.failed).toBe(0);
    const shards = await shardsOf(b);
    const rows = shards.flatMap((x) => (x?.status === 'ok' ? x.pairs : []));
    const refused = rows.filter((p) => p.reasons[0] === 'context_too_long');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.detail).toMatch(/lower --chunk-size \(now 3000\)/);
    expect(refused[0]!.detail).toMatch(/exceeds the available context size/);
    expect(rows.some((p) => p.reasons.length === 0)).toBe(true);
  });

  it('stops the run when the first requests are all refused for size: the setup is wrong', async () => {
    const s = await server({ contextTokens: 10 });
    const b = await batchOf(corpus(6, 1), s, { llmConcurrency: 1 });
    const err = (await processBatch(b.input, noHeartbeat).catch((e: unknown) => e)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('LlmContextTooSmall');
    expect(err.message).toMatch(/lower --chunk-size/);
  });

  it('keeps the complete pairs of a reply cut at max_tokens and asks only for the rest, with more room', async () => {
    const s = await server({ honourMaxTokens: true });
    const b = await batchOf(corpus(1, 3), s, { maxTokens: 60, maxPairsPerChunk: 3 });
    await processBatch(b.input, noHeartbeat);
    const cont = s.requests.filter((r) => JSON.stringify(r.body.messages).includes('cut off at the token limit after'));
    expect(cont.length).toBeGreaterThan(0);
    for (const r of cont) expect(r.body.max_completion_tokens).toBeGreaterThan(60);
    const pairs = (await shardsOf(b)).flatMap((x) => (x?.status === 'ok' ? x.pairs : []));
    expect(pairs.filter((p) => p.reasons[0] !== 'malformed_output').length).toBeGreaterThan(0);
  });

  it('asks the judge again about the pairs it did not score, and rejects none for another pair', async () => {
    const asked: number[][] = [];
    const s = await server({
      handler: (r) => {
        if (r.kind !== 'judge') return undefined;
        const user = (r.body.messages as Array<{ role: string; content: string }>).find((m) => m.role === 'user')!.content;
        const pairs = JSON.parse(user.slice(user.indexOf('<pairs>') + 7, user.indexOf('</pairs>'))) as Array<{ index: number }>;
        asked.push(pairs.map((p) => p.index));
        // The first judge request of a chunk scores only its first pair; the next one scores all.
        const scored = r.seenBefore === 0 ? pairs.slice(0, 1) : pairs;
        return { content: JSON.stringify({ scores: scored.map((p) => ({ index: p.index, groundedness: 5, usefulness: 5 })) }) };
      },
    });
    const input = tempDir('core-judge');
    writeFileSync(join(input, 'notes.txt'), [
      'Glaciers move slowly downhill under their own weight over many years.',
      'Rivers carry sediment from the mountains down to the sea every spring.',
      'Volcanoes release gas and ash when pressure builds up beneath them.',
    ].join('\n\n'));
    const b = await batchOf(input, s, { judge: true, minScore: 3, chunkSize: 2000 });
    await processBatch(b.input, noHeartbeat);
    const pairs = (await shardsOf(b)).flatMap((x) => (x?.status === 'ok' ? x.pairs : []));
    const judged = asked[0]!.length;
    expect(judged).toBeGreaterThan(1);
    // Asked again about pairs 2..n only, numbered 1..n-1 in their own request.
    expect(asked).toEqual([asked[0], Array.from({ length: judged - 1 }, (_, i) => i + 1)]);
    expect(pairs.filter((p) => p.reasons[0] === 'malformed_output')).toEqual([]);
    expect(pairs.filter((p) => p.reasons.length === 0)).toHaveLength(judged);
  });
});

describe('the cost budget', () => {
  it('stops the batch cleanly once --max-cost is reached, and a higher budget goes on without paying again', async () => {
    const s = await server();
    const input = corpus(6, 2);
    const b = await batchOf(input, s, { llmConcurrency: 1, priceIn: 1000, priceOut: 1000, maxCostUsd: 0.2 });
    const first = await processBatch(b.input, noHeartbeat);
    expect(first.budgetReached).toBe(true);
    expect(first.end).toBeLessThan(6);
    const sent = s.requests.length;
    const more = await batchOf(input, s, { llmConcurrency: 1, priceIn: 1000, priceOut: 1000, maxCostUsd: 100 }, b.out);
    const second = await processBatch(more.input, noHeartbeat);
    expect(second.budgetReached).toBeUndefined();
    expect(second.counters.documentsDone).toBe(6);
    expect(s.answeredTwice()).toBe(0);
    expect(s.requests.length - sent).toBe(second.counters.llmRequests);
  });
});

describe('reply parsing and the limiter', () => {
  it('salvages the complete pairs of a cut-off reply, never the half-written one', () => {
    const cut = '{"pairs": [{"question": "What is A?", "answer": "a \\"quoted\\" {thing}"}, {"question": "What is B?", "answer": "b"}, {"question": "What is C';
    expect(salvagePairs(cut)).toEqual([
      { question: 'What is A?', answer: 'a "quoted" {thing}' },
      { question: 'What is B?', answer: 'b' },
    ]);
    expect(salvagePairs('nothing here')).toEqual([]);
  });

  it('keeps the scores a judge gave, ignoring bad and out-of-range entries', () => {
    const r = parseScores('{"scores": [{"index": 1, "groundedness": 5, "usefulness": 4}, {"index": 2, "groundedness": 9}, {"index": 7, "groundedness": 5, "usefulness": 5}]}', 3);
    expect(r.ok && [...r.value.keys()]).toEqual([1]);
    expect(parseScores('no json', 3).ok).toBe(false);
  });

  it('halves its limit on a 429 and raises it again as answers come', async () => {
    const l = new RequestLimiter({ concurrency: 8 });
    expect(l.current.limit).toBe(8);
    l.onRateLimited(undefined);
    expect(l.current.limit).toBe(4);
    for (let i = 0; i < 4; i++) l.onAnswer();
    expect(l.current.limit).toBe(5);
    const releases = await Promise.all(Array.from({ length: 5 }, () => l.acquire(10)));
    let sixth = false;
    const waiting = l.acquire(10).then((r) => ((sixth = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(sixth).toBe(false);
    releases[0]!.release();
    (await waiting).release();
    expect(sixth).toBe(true);
    releases.slice(1).forEach((r) => r.release());
  });

  it('counts a read reply apart from those at the server, and holds new requests while too many are not journaled yet', async () => {
    const l = new RequestLimiter({ concurrency: 2 });
    const bound = 2 * UNSAVED_PER_SLOT;
    // Replies read but not journaled, up to the bound: each leaves the server, none is released.
    const unsaved = [];
    for (let i = 0; i < bound; i++) {
      const slot = await l.acquire(10);
      slot.replied();
      unsaved.push(slot);
    }
    expect(l.current).toMatchObject({ inFlight: 0, unsaved: bound });
    let sent = false;
    const blocked = l.acquire(10).then((s) => ((sent = true), s));
    await new Promise((r) => setImmediate(r));
    expect(l.current).toMatchObject({ inFlight: 0, queued: 1 });
    expect(sent).toBe(false);
    unsaved[0]!.release(); // one reply is on disk: the waiting request goes
    (await blocked).release();
    expect(sent).toBe(true);
    unsaved.slice(1).forEach((s) => s.release());
    expect(l.current).toMatchObject({ inFlight: 0, unsaved: 0, queued: 0 });
  });

  it("takes a later run's higher --llm-concurrency at once, unless 429s hold it lower", () => {
    const l = new RequestLimiter({ concurrency: 8 });
    l.reconfigure({ concurrency: 64 });
    expect(l.current.limit).toBe(64);
    l.reconfigure({ concurrency: 4 });
    expect(l.current.limit).toBe(4);
    l.onRateLimited(undefined);
    expect(l.current.limit).toBe(2);
    l.reconfigure({ concurrency: 32 });
    expect(l.current.limit).toBe(2); // still rate limited: creeps up as answers come
    l.onAnswer();
    l.onAnswer();
    expect(l.current.limit).toBe(3);
  });
});

/**
 * npm run bench -- --llm [--latency-ms 200,2000] [--levels 1,8,32,64] [--docs-per-slot 24] [--chunks-per-doc 1] [--batch-size N]
 *                        [--kill-chunks 1000]   (--kill-chunks 0: no kill run)
 *                        [--server-in-process]  (the fake server in the bench's own process, as before)
 *
 * LLM throughput through Temporal: the local fake LLM server (test/helpers/fakeLlmServer.ts)
 * answers every request after a fixed latency; for each --llm-concurrency level, a corpus of
 * single-chunk documents (one request each) is exported with --generator openai through a real
 * Temporal dev server and an in-process worker. The fake server runs in a child process
 * (bench/fakeLlmProcess.ts), as a real one is elsewhere. Achieved requests/s is measured at the server,
 * from the first request's arrival to the last answer; the ideal is concurrency / latency.
 * Every level runs at each --latency-ms: 200 ms (a short completion from a fast server) asks for
 * 320 requests/s at 64, which on a small machine measures the worker's CPU per request more than
 * its concurrency; 2,000 ms is nearer a hosted API's answer of a few hundred tokens, where the
 * worker's CPU is no longer the bound and the figure says whether N requests are really in flight.
 * `cpuShareAtIdeal` (CPU per request x the ideal rate / cores) says which case a level is in:
 * near or above 1, the machine cannot reach the ideal whatever the orchestration does.
 *
 * Then a kill at 50%: a `corpus-qa run` process over a corpus of --kill-chunks chunks is
 * SIGKILLed when half the requests are answered, and the same command runs again. Reported:
 * requests answered twice (the ledger), those that were in flight at the kill, and what the
 * resumed run read back from the journal instead of paying (at gpt-4o-mini's list price, given
 * with --price-in/--price-out since the fake server is local). Prints one JSON report.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fork, spawn } from 'node:child_process';
import { startEmbeddedServer } from '../client/server/devServer.js';
import { runCorpusExport } from '../client/runner.js';
import { startFakeLlmServer } from '../test/helpers/fakeLlmServer.js';
import { limiterStates } from '../activities/generate/limiter.js';

const { values } = parseArgs({
  options: {
    llm: { type: 'boolean', default: true },
    'latency-ms': { type: 'string', default: '200,2000' },
    levels: { type: 'string', default: '1,8,32,64' },
    'docs-per-slot': { type: 'string', default: '24' },
    // 1: every request pays for a whole document (file read, extraction, shard): the worst case.
    // More: documents of that many chunks, as real ones are, the same number of requests in all.
    'chunks-per-doc': { type: 'string', default: '1' },
    // Unset: the batch size a run gets without --batch-size (client/runOptions.ts), what users get.
    'batch-size': { type: 'string' },
    'kill-chunks': { type: 'string', default: '1000' },
    keep: { type: 'boolean', default: false },
    'server-in-process': { type: 'boolean', default: false },
  },
});
const latencies = values['latency-ms'].split(',').map(Number);
if (latencies.some((ms) => !Number.isFinite(ms) || ms <= 0)) throw new Error(`--latency-ms: positive milliseconds, comma-separated (got ${values['latency-ms']})`);
const levels = values.levels.split(',').map(Number);
const docsPerSlot = Number(values['docs-per-slot']);
const chunksPerDoc = Math.max(1, Number(values['chunks-per-doc']));
/** Small enough that each paragraph of writeCorpus is a chunk of its own. */
const CHUNK_SIZE = 200;
const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
const work = mkdtempSync(join(tmpdir(), 'corpus-qa-bench-llm-'));

/** n short documents of `chunks` chunks each (paragraphs of ~190 characters), distinct so no shard is shared. */
function writeCorpus(dir: string, n: number, chunks: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const paragraphs = Array.from({ length: chunks }, (_, c) => {
      const id = chunks === 1 ? `${i}` : `${i}-${c}`;
      return `Station ${id} is a weather station on the northern coast that records wind and rain every hour. ` +
        `Station ${id} was opened in ${1900 + (i % 120)} and its records are kept in the city archive.`;
    });
    writeFileSync(join(dir, `doc-${String(i).padStart(5, '0')}.txt`), `${paragraphs.join('\n\n')}\n`);
  }
}

process.env.OPENAI_API_KEY ??= 'bench-key'; // the fake server accepts any key
/** The fake server the levels are measured against: what the bench needs of it. */
interface MeasuredServer {
  openaiBaseUrl: string;
  /** Arrival times (Date.now()) of the requests after the first `from`. */
  arrivals(from: number): Promise<number[]>;
  close(): Promise<void>;
}

async function startMeasuredServer(latencyMs: number): Promise<MeasuredServer> {
  if (values['server-in-process']) {
    const s = await startFakeLlmServer({ latencyMs });
    return { openaiBaseUrl: s.openaiBaseUrl, arrivals: async (from) => s.requests.slice(from).map((r) => r.at), close: () => s.close() };
  }
  const child = fork(join(import.meta.dirname, 'fakeLlmProcess.ts'), [String(latencyMs)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>(key: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: Record<string, unknown>) => {
        if (!(key in m)) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as T);
      };
      const onExit = (code: number | null) => reject(new Error(`the fake LLM server process exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const { openaiBaseUrl } = await next<{ openaiBaseUrl: string }>('openaiBaseUrl');
  return {
    openaiBaseUrl,
    arrivals: async (from) => {
      const reply = next<{ arrivals: number[] }>('arrivals');
      child.send({ arrivals: from });
      return (await reply).arrivals;
    },
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ close: true });
      await exited;
    },
  };
}

// One dev server for every level, unless TEMPORAL_ADDRESS names one.
const server = process.env.TEMPORAL_ADDRESS ? undefined : await startEmbeddedServer(join(work, 'temporal'));
const address = process.env.TEMPORAL_ADDRESS ?? server!.address;

const results = [];
for (const latencyMs of latencies) {
  const llm = await startMeasuredServer(latencyMs);
  let answeredBefore = 0;
  try {
    for (const concurrency of levels) {
      const docs = Math.ceil((concurrency * docsPerSlot) / chunksPerDoc);
      const corpus = join(work, `corpus-${latencyMs}-${concurrency}`);
      const out = join(work, `out-${latencyMs}-${concurrency}`);
      writeCorpus(corpus, docs, chunksPerDoc);
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      // The worker's limiter, sampled: is it full (requests wait for a slot), or starved (too few
      // documents in hand to use its slots)? Less noise-sensitive than requests/s on a busy machine.
      const samples: Array<{ at: number; inFlight: number; unsaved: number; queued: number; limit: number }> = [];
      const sampler = setInterval(() => {
        for (const [target, st] of limiterStates()) if (target.includes(llm.openaiBaseUrl)) samples.push({ at: Date.now(), ...st });
      }, 5);
      await runCorpusExport(
        { inputDir: corpus, outDir: out, generator: 'openai', model: 'bench', baseUrl: llm.openaiBaseUrl, llmConcurrency: concurrency, concurrency: 4,
          ...(chunksPerDoc > 1 ? { chunkSize: CHUNK_SIZE, chunkOverlap: 0 } : {}), ...(batchSize ? { batchSize } : {}) },
        { address, taskQueue: `bench-llm-${concurrency}-${Date.now()}` },
      );
      clearInterval(sampler);
      const cpu = process.cpuUsage(cpu0);
      const wallSeconds = (performance.now() - t0) / 1000;
      const reqs = (await llm.arrivals(answeredBefore)).map((at) => ({ at }));
      answeredBefore += reqs.length;
      // From the first arrival to the last answer (each answered latencyMs after it arrived).
      const spanSeconds = (Math.max(...reqs.map((r) => r.at)) + latencyMs - Math.min(...reqs.map((r) => r.at))) / 1000;
      const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as { llm: { requests: number }; settings: { batchSize: number } };
      const achieved = reqs.length / spanSeconds;
      // Requests in flight at once, from the arrival times (each is in flight for latencyMs).
      const events = reqs.flatMap((r) => [[r.at, 1], [r.at + latencyMs, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let inFlight = 0;
      let peakInFlight = 0;
      for (const [, d] of events) peakInFlight = Math.max(peakInFlight, (inFlight += d));
      const ideal = concurrency / (latencyMs / 1000);
      // The rate once the run is going: arrivals between the 10th and the 90th percentile, so the
      // ramp up (first documents being read) and down (the last requests in flight) are left out.
      const sorted = reqs.map((r) => r.at).sort((a, b) => a - b);
      const [i10, i90] = [Math.floor(sorted.length * 0.1), Math.floor(sorted.length * 0.9)];
      const steady = i90 > i10 && sorted[i90]! > sorted[i10]! ? (i90 - i10) / ((sorted[i90]! - sorted[i10]!) / 1000) : achieved;
      const firstAt = Math.min(...reqs.map((r) => r.at));
      const lastAnswer = Math.max(...reqs.map((r) => r.at)) + latencyMs;
      const during = samples.filter((s) => s.at >= firstAt && s.at <= lastAnswer);
      const mean = (f: (s: (typeof during)[number]) => number) => (during.length ? +(during.reduce((a, s) => a + f(s), 0) / during.length).toFixed(2) : null);
      const cpuMsPerRequest = (cpu.user + cpu.system) / 1000 / reqs.length;
      results.push({
        latencyMs,
        concurrency,
        documents: docs,
        batchSize: stats.settings.batchSize,
        requests: reqs.length,
        requestsInStats: stats.llm.requests,
        achievedRequestsPerSecond: +achieved.toFixed(2),
        idealRequestsPerSecond: +ideal.toFixed(2),
        efficiency: +(achieved / ideal).toFixed(3),
        steadyRequestsPerSecond: +steady.toFixed(2),
        steadyEfficiency: +(steady / ideal).toFixed(3),
        peakRequestsInFlight: peakInFlight,
        // Over the span, from samples every 5 ms: requests at the server, answers not yet journaled
        // (those at the server included), requests waiting for a slot, and the share of samples
        // where every slot at the server was taken.
        limiter: {
          meanInFlight: mean((s) => s.inFlight),
          meanUnsaved: mean((s) => s.unsaved),
          meanQueued: mean((s) => s.queued),
          fullShare: mean((s) => (s.inFlight >= s.limit ? 1 : 0)),
          samples: during.length,
        },
        wallSeconds: +wallSeconds.toFixed(2),
        // The worker's CPU (this process, all threads: discovery to export) per request: less
        // sensitive to other load on the machine than requests/s.
        cpuMsPerRequest: +cpuMsPerRequest.toFixed(2),
        // The share of the machine's cores this process alone needs to answer at the ideal rate.
        cpuShareAtIdeal: +((cpuMsPerRequest * ideal) / 1000 / availableParallelism()).toFixed(2),
        wallRequestsPerSecond: +(reqs.length / wallSeconds).toFixed(2),
      });
    }
  } finally {
    await llm.close();
  }
}

// --- a kill at 50% ---------------------------------------------------------------------------
const killChunks = Number(values['kill-chunks']);
const killServer = await startFakeLlmServer({ latencyMs: Math.min(...latencies) });
let kill: Record<string, unknown> = {};
try {
  if (killChunks > 0) {
    const corpus = join(work, 'kill-corpus');
    mkdirSync(corpus, { recursive: true });
    // Ten documents of killChunks / 10 paragraphs of ~230 characters: one chunk each at --chunk-size 300.
    const perDoc = Math.ceil(killChunks / 10);
    for (let d = 0; d < 10; d++) {
      writeFileSync(join(corpus, `report-${d}.txt`), Array.from({ length: perDoc }, (_, i) =>
        `Section ${i + 1} of report ${d} states that survey ${d}-${i} measured ${d * 37 + i * 11} units across the study area last year. ` +
        `The field team repeated survey ${d}-${i} in the spring and found the count within two percent of the first result.`).join('\n\n'));
    }
    const out = join(work, 'kill-out');
    const concurrency = 8;
    const args = [join(import.meta.dirname, '..', 'bin', 'corpus-qa.mjs'), 'run', corpus, '--out', out, '--generator', 'openai', '--model', 'bench',
      '--base-url', killServer.openaiBaseUrl, '--chunk-size', '300', '--chunk-overlap', '0', '--max-pairs-per-chunk', '2',
      '--llm-concurrency', String(concurrency), '--price-in', '0.15', '--price-out', '0.6', '--no-progress', '--task-queue', `bench-kill-${Date.now()}`];
    const env = { ...process.env, TEMPORAL_ADDRESS: address };
    const first = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    let exited = false;
    first.once('exit', () => (exited = true));
    while (killServer.ledger.size < killChunks / 2 && !exited) await new Promise((r) => setTimeout(r, 5));
    if (exited) throw new Error('the run to be killed ended before half of its requests were answered');
    const answeredAtKill = killServer.ledger.size;
    const answersAtKill = [...killServer.ledger.values()].reduce((a, n) => a + n, 0);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const t0 = performance.now();
    const second = spawn(process.execPath, args, { env, stdio: 'ignore' });
    const code = await new Promise<number | null>((r) => second.once('exit', r));
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as {
      llm: {
        requests: number;
        costUsd: number;
        saved: Record<'journal' | 'shards', { requests: number; promptTokens: number; completionTokens: number; costUsd: number }>;
        datasetCostUsd: number;
      };
    };
    kill = {
      chunks: killChunks,
      llmConcurrency: concurrency,
      exitCode: code,
      answeredBeforeKill: answeredAtKill,
      distinctRequests: killServer.ledger.size,
      requestsAnsweredTwice: killServer.answeredTwice(),
      inFlightBoundAtKill: concurrency,
      resumeSeconds: +((performance.now() - t0) / 1000).toFixed(2),
      // What the server answered from the kill on: the resumed process's requests (and the few
      // the dying one still had answered). The truth about what the resume paid.
      answeredAfterKill: [...killServer.ledger.values()].reduce((a, n) => a + n, 0) - answersAtKill,
      // stats.json covers the workflow's whole life, both processes: the documents of the batch
      // the kill cut short that were done before its last heartbeat count as paid there (they
      // were, by the killed process); those done after it are reused shards.
      workflowPaid: { requests: stats.llm.requests, costUsd: stats.llm.costUsd },
      // Documents cut short by the kill: their answered requests read back from the journal.
      readFromJournal: stats.llm.saved.journal,
      // Documents finished before the kill (after the batch's last heartbeat): their shards reused, none of their requests sent.
      reusedShards: stats.llm.saved.shards,
      datasetCostUsd: stats.llm.datasetCostUsd,
    };
  }
} finally {
  await killServer.close();
  await server?.stop();
}

console.log(
  JSON.stringify(
    {
      latenciesMs: latencies,
      cores: availableParallelism(),
      chunksPerDocument: chunksPerDoc,
      fakeServer: values['server-in-process'] ? 'in the bench process' : 'a child process',
      batchSize: batchSize ?? 'default (max(32, --llm-concurrency))',
      levels: results,
      killAtHalf: kill,
      note:
        'achieved = requests / (first request arrival .. last answer) at the fake server; ideal = --llm-concurrency / latency ' +
        '(requests in flight per worker, over all batches and documents). steady = the same between the 10th and 90th ' +
        'percentile of arrivals (without the ramp up and down). wall = the whole export (discover, ' +
        'workflow bundling on the first level, export) through Temporal. killAtHalf: SIGKILL at 50% of the answers, then the same command.',
    },
    null,
    2,
  ),
);
if (!values.keep) rmSync(work, { recursive: true, force: true });

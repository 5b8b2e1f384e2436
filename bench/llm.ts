/**
 * npm run bench -- --llm [--latency-ms 200] [--levels 1,4,8] [--docs-per-slot 24] [--batch-size 4]
 *
 * LLM throughput through Temporal: the local fake LLM server (test/helpers/fakeLlmServer.ts)
 * answers every request after a fixed latency; for each concurrency level, a corpus of
 * single-chunk documents (one request each) is exported with --generator openai through a real
 * Temporal dev server and an in-process worker. Achieved requests/s is measured at the server,
 * from the first request's arrival to the last answer; the ideal is concurrency / latency
 * (--concurrency batches in flight, one request at a time in each). Prints one JSON report.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedServer } from '../client/devServer.js';
import { runCorpusExport } from '../client/runner.js';
import { startFakeLlmServer } from '../test/helpers/fakeLlmServer.js';

const { values } = parseArgs({
  options: {
    llm: { type: 'boolean', default: true },
    'latency-ms': { type: 'string', default: '200' },
    levels: { type: 'string', default: '1,4,8' },
    'docs-per-slot': { type: 'string', default: '24' },
    'batch-size': { type: 'string', default: '4' },
    keep: { type: 'boolean', default: false },
  },
});
const latencyMs = Number(values['latency-ms']);
const levels = values.levels.split(',').map(Number);
const docsPerSlot = Number(values['docs-per-slot']);
const batchSize = Number(values['batch-size']);
const work = mkdtempSync(join(tmpdir(), 'corpus-qa-bench-llm-'));

/** n short documents of one chunk each, distinct so no shard is shared. */
function writeCorpus(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    writeFileSync(
      join(dir, `doc-${String(i).padStart(5, '0')}.txt`),
      `Station ${i} is a weather station on the northern coast that records wind and rain every hour.\n\n` +
        `Station ${i} was opened in ${1900 + (i % 120)} and its records are kept in the city archive.\n`,
    );
  }
}

process.env.OPENAI_API_KEY ??= 'bench-key'; // the fake server accepts any key
const llm = await startFakeLlmServer({ latencyMs });
// One dev server for every level, unless TEMPORAL_ADDRESS names one.
const server = process.env.TEMPORAL_ADDRESS ? undefined : await startEmbeddedServer(join(work, 'temporal'));
const address = process.env.TEMPORAL_ADDRESS ?? server!.address;

const results = [];
try {
  for (const concurrency of levels) {
    const docs = concurrency * docsPerSlot;
    const corpus = join(work, `corpus-${concurrency}`);
    const out = join(work, `out-${concurrency}`);
    writeCorpus(corpus, docs);
    const first = llm.requests.length;
    const t0 = performance.now();
    await runCorpusExport(
      { inputDir: corpus, outDir: out, generator: 'openai', model: 'bench', baseUrl: llm.openaiBaseUrl, concurrency, batchSize },
      { address, taskQueue: `bench-llm-${concurrency}-${Date.now()}` },
    );
    const wallSeconds = (performance.now() - t0) / 1000;
    const reqs = llm.requests.slice(first);
    // From the first arrival to the last answer (each answered latencyMs after it arrived).
    const spanSeconds = (Math.max(...reqs.map((r) => r.at)) + latencyMs - Math.min(...reqs.map((r) => r.at))) / 1000;
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as { llm: { requests: number } };
    const achieved = reqs.length / spanSeconds;
    // Requests in flight at once, from the arrival times (each is in flight for latencyMs).
    const events = reqs.flatMap((r) => [[r.at, 1], [r.at + latencyMs, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let inFlight = 0;
    let peakInFlight = 0;
    for (const [, d] of events) peakInFlight = Math.max(peakInFlight, (inFlight += d));
    const ideal = concurrency / (latencyMs / 1000);
    results.push({
      concurrency,
      documents: docs,
      requests: reqs.length,
      requestsInStats: stats.llm.requests,
      achievedRequestsPerSecond: +achieved.toFixed(2),
      idealRequestsPerSecond: +ideal.toFixed(2),
      efficiency: +(achieved / ideal).toFixed(3),
      peakRequestsInFlight: peakInFlight,
      wallSeconds: +wallSeconds.toFixed(2),
      wallRequestsPerSecond: +(reqs.length / wallSeconds).toFixed(2),
    });
  }
} finally {
  await llm.close();
  await server?.stop();
}

console.log(
  JSON.stringify(
    {
      latencyMs,
      batchSize,
      levels: results,
      note:
        'achieved = requests / (first request arrival .. last answer) at the fake server; ideal = concurrency / latency ' +
        '(--concurrency batches in flight, one request at a time per batch). wall = the whole export (discover, ' +
        'workflow bundling on the first level, export) through Temporal.',
    },
    null,
    2,
  ),
);
if (!values.keep) rmSync(work, { recursive: true, force: true });

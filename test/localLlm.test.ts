/**
 * The LLM path against a real model: llama.cpp's llama-server with SmolLM2-135M-Instruct, both
 * from scripts/setup-local-llm.sh, driven by real `corpus-qa run` processes through the test
 * Temporal server. Nothing is faked: the replies are whatever the tiny model writes (it often
 * ignores the JSON shape asked for: that must come out as data, never as a crash).
 *
 * Runs only when the build is already cached (building takes ~12 minutes: CI never does it);
 * otherwise the suite is skipped and says so in one line. No timed assertions: the timeouts
 * below only keep a hung run from hanging the suite.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkRow, QaRow } from '../schemas/index.js';
import { readJsonl, tempDir } from './helpers/files.js';
import { hfCheck } from './helpers/hf.js';
import { findLocalLlm, llamaServerVersion, startLlamaServer, type LlamaServer } from './helpers/localLlm.js';
import { describeCli, startCorpusQa, waitForExit } from './helpers/processes.js';
import { temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const found = findLocalLlm();
console.log(
  found.ok
    ? `local LLM check: running against llama-server ${llamaServerVersion(found.server)} with SmolLM2-135M-Instruct`
    : `local LLM check: skipped (${found.reason})`,
);

const RUN_TIMEOUT_MS = 560_000;

const SHORT_DOCS: Record<string, string> = {
  'lighthouses.txt': `Lighthouses

A lighthouse is a tower that carries a bright light to guide ships at night and warn them of rocks and shallow water. The first famous lighthouse was the Pharos of Alexandria, built in Egypt around 280 BC.

Each lighthouse has its own pattern of flashes, called its characteristic, so that sailors can tell one light from another. The Fresnel lens, invented by Augustin-Jean Fresnel in 1822, made the beams visible from more than 20 miles away.

Most lighthouses today are automated. The last staffed lighthouse in the United States is Boston Light, on Little Brewster Island.
`,
  'sourdough.md': `# Sourdough bread

Sourdough is bread leavened by a starter: a mixture of flour and water that contains wild yeast and lactic acid bacteria. The bacteria give the bread its sour taste.

## Feeding the starter

A starter is fed by discarding part of it and adding fresh flour and water, usually once a day when kept at room temperature. A starter kept in the refrigerator needs feeding about once a week.

## Baking

The dough rises slowly, often for eight to twelve hours. Bakers cut the top of the loaf with a blade before baking so that it opens in a controlled way. A loaf is done when its inside reaches about 96 degrees Celsius.

## Flour

Bread flour has more protein than cake flour, usually between 12 and 14 percent. The protein forms gluten, which traps the gas made by the yeast. Whole wheat flour makes a denser loaf and a more active starter, because the bran carries more of the wild yeast.
`,
  'bees.txt': `Honey bees

A honey bee colony has one queen, thousands of female workers and, in summer, a few hundred male drones. The queen lays up to 2,000 eggs a day.

Worker bees find flowers and tell the others where they are with the waggle dance. The angle of the dance shows the direction of the flowers relative to the Sun, and its length shows the distance.

Bees make honey from nectar. They add enzymes to it and fan it with their wings until most of the water has evaporated, then seal it in wax cells.
`,
};

/** About 8,300 characters of plain prose: one chunk of 8,000 characters is ~1,800 tokens. */
function longDocument(): string {
  const topics = [
    ['canals', 'A canal is an artificial waterway built for boats or for irrigation. Locks raise and lower boats between stretches of water at different levels.'],
    ['glaciers', 'A glacier is a large body of ice that moves slowly down a slope or valley under its own weight. Glaciers cover about ten percent of the land on Earth.'],
    ['comets', 'A comet is a small icy body that releases gas when it passes close to the Sun. Its tail always points away from the Sun, pushed by the solar wind.'],
    ['bridges', 'A suspension bridge hangs its deck from cables strung between towers. The Akashi Kaikyo Bridge in Japan has a central span of 1,991 metres.'],
    ['volcanoes', 'A volcano is an opening in the crust of a planet through which lava, ash and gases escape. Mauna Loa in Hawaii is the largest active volcano on Earth.'],
    ['deserts', 'A desert is a region that receives less than 250 millimetres of rain a year. The Atacama Desert in Chile is one of the driest places in the world.'],
  ];
  const paras: string[] = ['A short encyclopedia', ''];
  for (let round = 0; round < 6; round++) {
    for (const [name, text] of topics) {
      paras.push(`${text} This paragraph, number ${round + 1} about ${name}, repeats the facts so that the document is long.`);
      paras.push('');
    }
  }
  return paras.join('\n');
}

function writeDocs(docs: Record<string, string>): string {
  const root = tempDir('local-llm-corpus');
  for (const [name, text] of Object.entries(docs)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

function readRows<T = Record<string, unknown>>(out: string, file: string): T[] {
  try {
    return readJsonl<T>(join(out, file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

interface Stats {
  chunks: number;
  pairs: { passed: number; rejected: number; rejectedByReason: Record<string, number> };
  llm?: { requests: number; promptTokens: number; completionTokens: number; fitted?: { chunks: number; parts: number } };
}

async function cli(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = startCorpusQa(args, { TEMPORAL_ADDRESS: temporalAddress(), OPENAI_API_KEY: 'local' });
  const exit = await waitForExit(proc, RUN_TIMEOUT_MS);
  return { code: exit.code, output: describeCli(proc) };
}

/** The chunks corpus-qa makes of `root` at this chunk size (a run without --generate-qa). */
async function chunksOf(root: string, chunkSize: number): Promise<ChunkRow[]> {
  const out = tempDir('local-llm-chunks');
  const r = await cli(['run', root, '--out', out, '--chunk-size', String(chunkSize), '--no-progress', '--task-queue', uniqueTaskQueue()]);
  expect(r.code, r.output).toBe(0);
  return readRows(out, 'data/chunks.jsonl').map((row) => ChunkRow.parse(row));
}

async function llmRun(root: string, server: LlamaServer, extra: string[]): Promise<{ out: string; code: number | null; output: string }> {
  const out = tempDir('local-llm-out');
  const r = await cli([
    'run', root, '--out', out,
    '--generator', 'openai', '--model', 'smollm2', '--base-url', `${server.baseUrl}/v1`,
    '--temperature', '0', // greedy: the same build and model give the same replies
    // The server has one slot (-np 1): more requests at once would only queue there and time out.
    '--llm-concurrency', '1', '--request-timeout', '300',
    '--no-progress', '--task-queue', uniqueTaskQueue(),
    ...extra,
  ]);
  return { out, ...r, output: `${r.output}\n--- llama-server log (tail) ---\n${server.logTail(2000)}` };
}

async function verify(out: string): Promise<void> {
  const r = await cli(['verify', out]);
  expect(r.code, r.output).toBe(0);
  expect(r.output).toMatch(/OK: \d+ files/);
}

describe.skipIf(!found.ok)('a real local LLM (llama-server + SmolLM2-135M-Instruct)', () => {
  describe('three short documents, ctx 2048', () => {
    let server: LlamaServer;
    beforeAll(async () => {
      server = await startLlamaServer({ ctxSize: 2048 });
    }, 180_000);
    afterAll(async () => {
      await server?.stop();
    });

    it('runs to the end: every chunk gives pairs or a malformed_output row, verify passes, stats count the requests', async () => {
      const root = writeDocs(SHORT_DOCS);
      const chunks = await chunksOf(root, 800);
      expect(chunks.length).toBeGreaterThanOrEqual(3);

      const run = await llmRun(root, server, ['--max-tokens', '128', '--chunk-size', '800']);
      expect(run.code, run.output).toBe(0);
      await verify(run.out);

      const stats = JSON.parse(readFileSync(join(run.out, 'stats.json'), 'utf8')) as Stats;
      expect(stats.llm?.requests, run.output).toBeGreaterThan(0);
      expect(stats.llm!.requests).toBeLessThanOrEqual(2 * chunks.length); // one ask and at most one repair per chunk
      expect(stats.llm!.promptTokens).toBeGreaterThan(0);
      expect(stats.chunks).toBe(chunks.length);

      const train = readRows(run.out, 'data/train.jsonl').map((r) => QaRow.parse(r));
      const rejected = readRows<{ chunk_id: string; source: string; reason: string; question: string; answer: string; detail: string }>(run.out, 'rejected/rejected.jsonl');
      expect(readRows(run.out, 'errors.jsonl'), run.output).toEqual([]);
      for (const r of train) expect(r.generator).toBe('openai:smollm2:qa-v2:English:t0:max256');

      // Every chunk is accounted for: its pairs (passed or rejected by the rule checks), or one
      // malformed_output row holding what the model wrote.
      const byChunk = new Map<string, string[]>();
      for (const r of train) byChunk.set(r.chunk_id, [...(byChunk.get(r.chunk_id) ?? []), 'passed']);
      for (const r of rejected) byChunk.set(r.chunk_id, [...(byChunk.get(r.chunk_id) ?? []), r.reason]);
      const summary = chunks.map((c) => `${c.source} ${c.chunk_id}: ${(byChunk.get(c.chunk_id) ?? ['(nothing)']).join(', ')}`).join('\n');
      console.log(`local LLM check: ${stats.llm!.requests} requests, ${train.length} passed, ${rejected.length} rejected\n${summary}`);
      for (const c of chunks) expect(byChunk.get(c.chunk_id), summary).toBeDefined();
      expect(new Set(byChunk.keys())).toEqual(new Set(chunks.map((c) => c.chunk_id)));

      const malformed = rejected.filter((r) => r.reason === 'malformed_output');
      for (const m of malformed) {
        expect([m.question, m.answer]).toEqual(['', '']);
        expect(m.detail).toContain('after one repair attempt');
        expect(byChunk.get(m.chunk_id)).toEqual(['malformed_output']); // the chunk's only row
      }
      expect(stats.pairs.passed).toBe(train.length);
      expect(stats.pairs.rejected).toBe(rejected.length);

      // The real `datasets` loads what was written (the card lists no config for an empty train
      // split, so the files are loaded one by one).
      const files = [...(train.length ? ['data/train.jsonl'] : []), ...(rejected.length ? ['rejected/rejected.jsonl'] : [])];
      const report = hfCheck(run.out, files);
      if (train.length > 0) expect(report.files['data/train.jsonl']?.rows).toBe(train.length);
      if (rejected.length > 0) expect(report.files['rejected/rejected.jsonl']?.rows).toBe(rejected.length);
    }, 600_000);
  });

  // 2048: the qa-v2 prompt (about 650 tokens) with a short chunk fits, an 8000-char chunk
  // (~2,400 tokens with the prompt) does not whole: it is split to fit, into parts of ~1,300.
  // (At 1024 the prompt leaves room for ~250 tokens of text a part: a 3000-char chunk took
  // four parts, and the run ~60 requests and over 9 minutes on one CPU thread.)
  describe('a long document, ctx 2048', () => {
    let server: LlamaServer;
    beforeAll(async () => {
      server = await startLlamaServer({ ctxSize: 2048 });
    }, 180_000);
    afterAll(async () => {
      await server?.stop();
    });

    // The server answers 400 "request (N tokens) exceeds the available context size (2048
    // tokens) ..." for a chunk that does not fit: corpus-qa learns the context from it and splits
    // the chunk into parts that fit (contextFit.ts), so the chunk gives pairs (or rows rejected
    // for what the small model wrote), not a context_too_long row, and the run exits 0.
    it('splits chunks that exceed the context size to fit it; no context_too_long row for them; the run exits 0', async () => {
      const root = writeDocs({ 'encyclopedia.txt': longDocument(), 'bees.txt': SHORT_DOCS['bees.txt']! });
      const chunks = await chunksOf(root, 8000);
      const big = chunks.filter((c) => c.source === 'encyclopedia.txt' && c.text.length >= 7000);
      expect(big.length).toBeGreaterThanOrEqual(1);

      const run = await llmRun(root, server, ['--max-tokens', '128', '--chunk-size', '8000']);
      expect(run.code, run.output).toBe(0);

      const rejected = readRows<{ chunk_id: string; source: string; reason: string; reasons: string[] }>(run.out, 'rejected/rejected.jsonl');
      const tooLong = rejected.filter((r) => r.reason === 'context_too_long');
      const summary = rejected.map((r) => `${r.source} ${r.chunk_id}: ${r.reason}`).join('\n');
      for (const c of big) expect(tooLong.filter((r) => r.chunk_id === c.chunk_id), `${c.chunk_id} (${c.text.length} chars)\n${summary}\n${run.output}`).toEqual([]);
      const errors = readRows<{ source: string; reason: string; detail: string }>(run.out, 'errors.jsonl');
      expect(errors, run.output).toEqual([]);

      const stats = JSON.parse(readFileSync(join(run.out, 'stats.json'), 'utf8')) as Stats;
      expect(stats.pairs.rejectedByReason.context_too_long ?? 0).toBe(tooLong.length);
      expect(stats.llm?.fitted?.chunks, run.output).toBeGreaterThanOrEqual(big.length);
      await verify(run.out);
    }, 600_000);
  });
});

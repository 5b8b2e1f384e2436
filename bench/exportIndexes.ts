/**
 * npm run bench -- --export-indexes [--pairs N]: the memory of the export's corpus-wide
 * duplicate index at a corpus's size without running the corpus: N generated pairs (default
 * 7,000,000, what 1M documents of the generated bench corpus give) judged by CorpusDuplicates
 * holding every key, and holding only the keys more than one pair has (export/sharedKeys.ts,
 * used from 200,000 documents). Each mode runs in a process of its own; the report gives its
 * peak RSS, time and verdicts (the same in both, or the bench says so).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CorpusDuplicates } from '../activities/dedup.js';
import { sharedKeysOf } from '../activities/export/sharedKeys.js';
import type { ShardPair } from '../schemas/index.js';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '7000000' }, mode: { type: 'string' }, 'export-indexes': { type: 'boolean' } } });
const pairs = Number(values.pairs);

/** Pair i: one in 20 repeats an earlier fact (an exact or near duplicate), the others are facts of their own. */
function pair(i: number): ShardPair {
  const repeat = i % 20 === 7 ? Math.floor(i / 3) : i;
  const answer = i % 40 === 7 ? `A harbour crane ${repeat} is restored by the city engineers.` : `The harbour crane ${repeat} was restored by the city engineers.`;
  return { question: `What happened to crane ${i}?`, answer, reasons: [], detail: '' } as unknown as ShardPair;
}

async function* allPairs(): AsyncGenerator<ShardPair> {
  for (let i = 0; i < pairs; i++) yield pair(i);
}

async function measure(mode: 'every key' | 'shared keys'): Promise<Record<string, unknown>> {
  const started = performance.now();
  let peak = process.memoryUsage().rss;
  const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
  const timer = setInterval(sample, 50);
  const work = mkdtempSync(join(tmpdir(), 'corpus-qa-indexes-'));
  const shared = mode === 'shared keys' ? await sharedKeysOf(allPairs(), false, work) : undefined;
  const firstPassSeconds = (performance.now() - started) / 1000;
  const index = new CorpusDuplicates(shared);
  const verdicts = { kept: 0, exact: 0, near: 0 };
  for (let i = 0; i < pairs; i++) {
    const dup = index.check(pair(i), i.toString(16).padStart(16, '0'));
    verdicts[dup?.kind ?? 'kept']++;
    if (i % 100_000 === 0) sample();
  }
  sample();
  clearInterval(timer);
  rmSync(work, { recursive: true, force: true });
  return {
    mode,
    pairs,
    peakRssMb: Math.round(peak / 2 ** 20),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    firstPassSeconds: shared ? Math.round(firstPassSeconds * 10) / 10 : 0,
    keysHeld: shared ? shared.size : undefined,
    verdicts,
  };
}

if (values.mode) {
  process.stdout.write(JSON.stringify(await measure(values.mode as 'every key' | 'shared keys')));
} else {
  const run = (mode: string) =>
    JSON.parse(execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, '--export-indexes', '--mode', mode, '--pairs', String(pairs)], { encoding: 'utf8', maxBuffer: 1 << 20 }));
  const every = run('every key');
  const sharedOnly = run('shared keys');
  const same = JSON.stringify(every.verdicts) === JSON.stringify(sharedOnly.verdicts);
  console.log(JSON.stringify({ bench: 'export indexes', sameVerdicts: same, results: [every, sharedOnly] }, null, 2));
  if (!same) process.exitCode = 1;
}

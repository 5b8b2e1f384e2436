/**
 * npm run bench -- --isolation [--big-mb 300] [--interrupts 0.5,2,5,10,20,40] [--keep]
 *
 * Issue 13's combined case, with real `corpus-qa run` processes on their embedded server:
 * 20 ordinary documents (the sample corpus, a Sphinx page, a .docx, synthetic prose) next to
 * the pathological files — a 3,000-level Markdown list, 4 million nested HTML divs, a PDF flate
 * bomb, and one --big-mb file of plain text run with --max-file-mb big+100.
 *
 * 1. One uninterrupted run: wall time, the CLI's peak RSS (VmHWM from /proc, extraction threads
 *    included), the error row of each bad file, and whether every ordinary document has pairs.
 * 2. On a second --out, the same command is started again and again and sent SIGINT at each
 *    --interrupts offset (seconds after start), each run resuming the last; reported: how long
 *    each took to exit after the SIGINT, and its exit code. A last run completes, and its
 *    data/ and errors.jsonl are compared byte for byte with run 1's.
 * Prints one JSON report.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeDocx, sphinxPage } from '../test/helpers/documents.js';
import { deepHtmlDivs, deepMarkdownList, flateBombPdf } from '../test/helpers/pathological.js';
import { writeBenchCorpus } from '../test/helpers/syntheticCorpus.js';

const { values } = parseArgs({
  options: {
    isolation: { type: 'boolean', default: true },
    'big-mb': { type: 'string', default: '300' },
    interrupts: { type: 'string', default: '0.5,2,5,10,20,40' },
    keep: { type: 'boolean', default: false },
  },
});
const bigMb = Number(values['big-mb']);
const interrupts = values.interrupts.split(',').filter(Boolean).map(Number);
const BIN = join(import.meta.dirname, '..', 'bin', 'corpus-qa.mjs');
const work = mkdtempSync(join(tmpdir(), 'corpus-qa-bench-isolation-'));
const corpus = join(work, 'corpus');

/** The bad files, by the name they get in the corpus. */
const PATHOLOGICAL = ['bad/deep-list.md', 'bad/deep-divs.html', 'bad/flate-bomb.pdf', 'bad/big.txt'];

function writeCorpus(): void {
  cpSync(join(import.meta.dirname, '..', 'samples', 'corpus'), join(corpus, 'ordinary', 'samples'), { recursive: true });
  writeFileSync(join(corpus, 'ordinary', 'sphinx-config.html'), sphinxPage());
  writeFileSync(join(corpus, 'ordinary', 'guide.docx'), makeDocx([
    { style: 'Heading1', text: 'Field guide to the northern coast' },
    { text: 'The northern coast has twelve weather stations. Each station records wind speed and rainfall every hour.' },
    { style: 'Heading2', text: 'Reading the records' },
    { text: 'Records are kept in the city archive for fifty years. A request for records must name the station and the month.' },
  ]));
  writeBenchCorpus(join(corpus, 'ordinary', 'synthetic'), 20 - 11);
  mkdirSync(join(corpus, 'bad'), { recursive: true });
  writeFileSync(join(corpus, PATHOLOGICAL[0]!), deepMarkdownList(3000));
  writeFileSync(join(corpus, PATHOLOGICAL[1]!), deepHtmlDivs(4_000_000));
  writeFileSync(join(corpus, PATHOLOGICAL[2]!), flateBombPdf(1_000_000_000));
  // Ordinary prose, many paragraphs: big, not deep. Written in pieces (never held whole).
  const fd = openSync(join(corpus, PATHOLOGICAL[3]!), 'w');
  const piece = Buffer.from(Array.from({ length: 2000 }, (_, i) =>
    `Paragraph ${i}. The archive keeps the hourly records of every station on the coast, and a copy of each ledger goes to the regional office at the end of the month.\n\n`).join(''));
  for (let written = 0; written < bigMb * 1024 * 1024; written += piece.length) writeSync(fd, piece);
  closeSync(fd);
}

const filesIn = (dir: string): string[] => (readdirSync(dir, { recursive: true, withFileTypes: true }))
  .filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();

interface RunOutcome { code: number | null; signal: string | null; wallS: number; peakRssMb: number; stderrTail: string; sigintToExitS?: number }

/** `corpus-qa run`, sampling its peak RSS; with `interruptAfterS`, SIGINT at that offset. */
function runCli(out: string, interruptAfterS?: number, input = corpus): Promise<RunOutcome> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TEMPORAL_ADDRESS;
  const args = [BIN, 'run', input, '--out', out, '--generate-qa', '--max-file-mb', String(bigMb + 100), '--no-progress'];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let peakKb = 0;
  const sampler = setInterval(() => {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
    } catch {
      // exited between samples
    }
  }, 50);
  let sigintAt: number | undefined;
  const timer = interruptAfterS === undefined ? undefined : setTimeout(() => {
    sigintAt = performance.now();
    child.kill('SIGINT');
  }, interruptAfterS * 1000);
  return new Promise((resolve) => child.on('exit', (code, signal) => {
    const end = performance.now();
    clearInterval(sampler);
    clearTimeout(timer);
    resolve({
      code,
      signal,
      wallS: round((end - t0) / 1000),
      peakRssMb: Math.round(peakKb / 1024),
      stderrTail: stderr.trim().split('\n').slice(-2).join(' | '),
      ...(sigintAt !== undefined ? { sigintToExitS: round((end - sigintAt) / 1000) } : {}),
    });
  }));
}

const round = (x: number): number => Math.round(x * 100) / 100;
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

interface ErrorRow { source: string; reason: string; detail?: string }
const readJsonl = <T>(path: string): T[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

try {
  const t0 = performance.now();
  writeCorpus();
  const writeS = round((performance.now() - t0) / 1000);
  const ordinary = filesIn(corpus).filter((f) => !PATHOLOGICAL.includes(f));

  // 1. Uninterrupted.
  const outA = join(work, 'out-uninterrupted');
  const whole = await runCli(outA);
  const errors = readJsonl<ErrorRow>(join(outA, 'errors.jsonl'));
  const rows = readJsonl<{ source: string }>(join(outA, 'data', 'train.jsonl'));
  const withPairs = new Set(rows.map((r) => r.source));
  const bad = Object.fromEntries(PATHOLOGICAL.map((f) => {
    const mine = errors.filter((e) => e.source === f);
    return [f, mine.length === 1 ? `${mine[0]!.reason}: ${mine[0]!.detail ?? ''}`.slice(0, 160) : mine.length === 0 ? 'loaded' : `${mine.length} error rows`];
  }));
  const ordinaryErrors = errors.filter((e) => ordinary.includes(e.source));
  const ordinaryWithoutPairs = ordinary.filter((f) => !withPairs.has(f));

  // 0. The ordinary documents alone: the bad neighbours must not change one of their rows.
  const alone = join(work, 'ordinary-alone');
  cpSync(join(corpus, 'ordinary'), join(alone, 'ordinary'), { recursive: true });
  const outAlone = join(work, 'out-ordinary-alone');
  const aloneRun = await runCli(outAlone, undefined, alone);
  const rowsOf = (out: string): string[] => readFileSync(join(out, 'data', 'train.jsonl'), 'utf8').split('\n')
    .filter((l) => l && ordinary.includes((JSON.parse(l) as { source: string }).source));
  const ordinaryRowsUnchanged = JSON.stringify(rowsOf(outA)) === JSON.stringify(rowsOf(outAlone));

  // 2. Interrupted again and again, then completed.
  const outB = join(work, 'out-interrupted');
  const interrupted: Array<{ atS: number } & RunOutcome> = [];
  for (const at of interrupts) interrupted.push({ atS: at, ...(await runCli(outB, at)) });
  const last = await runCli(outB);
  const compared = ['data/train.jsonl', 'errors.jsonl', 'rejected/rejected.jsonl'];
  const identical = compared.every((f) => sha(join(outA, f)) === sha(join(outB, f)));

  console.log(JSON.stringify({
    bench: 'isolation',
    corpus: { ordinary: ordinary.length, pathological: PATHOLOGICAL, bigMb, writeS },
    uninterrupted: {
      ...whole,
      badFiles: bad,
      ordinaryDocumentsWithPairs: `${ordinary.length - ordinaryWithoutPairs.length}/${ordinary.length}`,
      ordinaryWithoutPairs,
      ordinaryErrors,
      pairs: rows.length,
      ordinaryRowsSameAsWithoutTheBadFiles: ordinaryRowsUnchanged,
    },
    ordinaryAlone: { code: aloneRun.code, wallS: aloneRun.wallS, peakRssMb: aloneRun.peakRssMb },
    interrupted: interrupted.map(({ stderrTail, ...r }) => ({ ...r, said: stderrTail.slice(0, 160) })),
    maxSigintToExitS: Math.max(...interrupted.map((r) => r.sigintToExitS ?? 0)),
    resumed: { ...last, identicalToUninterrupted: identical, compared },
  }, null, 2));
} finally {
  if (!values.keep) rmSync(work, { recursive: true, force: true });
  else console.error(`kept ${work}`);
}

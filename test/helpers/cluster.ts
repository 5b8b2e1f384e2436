/**
 * Real `corpus-qa` processes against a server we name (cluster mode: TEMPORAL_ADDRESS set, unlike
 * processes.ts's `startCli`, which always uses the embedded server): standalone workers, waiting
 * for output, and stopping what a test started.
 */
import { describeCli, killHard, sleep, startCorpusQa, type CliProcess } from './processes.js';

/** Waits until the process prints a line matching `pattern` (stdout or stderr); fails if it ends first. */
export async function waitForOutput(proc: CliProcess, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = proc.stdout().match(pattern) ?? proc.stderr().match(pattern);
    if (m) return m;
    if (proc.exit) throw new Error(`process ended before printing ${pattern}.\n${describeCli(proc)}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms.\n${describeCli(proc)}`);
    await sleep(25);
  }
}

export interface WorkerOptions {
  address: string;
  taskQueue: string;
  concurrency?: number;
  env?: Record<string, string | undefined>;
}

/** A standalone `corpus-qa worker`, returned once it polls (it bundles the workflow code first). */
export async function startWorker(o: WorkerOptions): Promise<CliProcess> {
  const proc = startCorpusQa(['worker', '--task-queue', o.taskQueue, '--concurrency', String(o.concurrency ?? 2)], {
    ...o.env,
    TEMPORAL_ADDRESS: o.address,
  });
  try {
    await waitForOutput(proc, /Worker polling task queue/, 90_000);
  } catch (err) {
    killHard(proc.pid);
    throw err;
  }
  return proc;
}

/** SIGINT (or the given signal), then SIGKILL whatever has not exited within `graceMs`. */
export async function stopProcesses(procs: Iterable<CliProcess>, signal: NodeJS.Signals = 'SIGKILL', graceMs = 5000): Promise<void> {
  const live = [...procs].filter((p) => !p.exit);
  for (const p of live) {
    try {
      process.kill(p.pid, signal);
    } catch {
      // gone already
    }
  }
  await Promise.all(
    live.map(async (p) => {
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
      clearTimeout(timer);
      if (!done) {
        killHard(p.pid);
        await p.exited;
      }
    }),
  );
}

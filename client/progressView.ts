/**
 * Progress on the terminal: a live bar when stderr is a TTY, otherwise a plain line now and then
 * (logs of long runs in CI or under nohup stay readable).
 */
import cliProgress from 'cli-progress';
import type { Progress } from '../schemas/index.js';

export interface ProgressView {
  update(p: Progress): void;
  stop(): void;
}

function summary(p: Progress): string {
  const c = p.counters;
  return `${p.phase}: ${c.documentsDone}/${p.documents} docs, ${c.chunks} chunks, ` +
    `${c.pairsPassed} pairs passed, ${c.pairsRejected} rejected, ${c.failed} failed`;
}

export function createProgressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{phase} |{bar}| {value}/{total} docs | {pairs} pairs | {failed} failed | {eta_formatted} left',
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        const payload = { phase: p.phase.padEnd(11), pairs: p.counters.pairsPassed, failed: p.counters.failed };
        if (!started) {
          bar.start(Math.max(p.documents, 1), p.counters.documentsDone, payload);
          started = true;
        }
        bar.setTotal(Math.max(p.documents, 1));
        bar.update(p.counters.documentsDone, payload);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let lastLine = '';
  let lastAt = 0;
  return {
    update(p) {
      const line = summary(p);
      // Plain output: only on change, and at most every 5 s unless the phase changed.
      const phaseChanged = !lastLine.startsWith(p.phase);
      if (line !== lastLine && (phaseChanged || Date.now() - lastAt > 5000 || p.phase === 'done')) {
        stream.write(`${line}\n`);
        lastLine = line;
        lastAt = Date.now();
      }
    },
    stop() {},
  };
}

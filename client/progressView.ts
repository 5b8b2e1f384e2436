/**
 * Progress on the terminal: one line redrawn in place on a TTY (cut to the terminal's width, so
 * it never wraps into a new line under tmux or a narrow window), otherwise a plain line now and
 * then (logs of long runs in CI or under nohup stay readable).
 *
 * Counts are the workflow's (finished batches) plus what the batches in flight reported in their
 * heartbeats, so an LLM run moves per request, not per batch of documents.
 */
import type { Progress } from '../schemas/index.js';
import { datasetCostMicroUsd, paid, type LlmUsage } from '../schemas/llmUsage.js';
import { addUsage } from '../schemas/llmUsage.js';
import { formatUsd } from '../activities/generate/pricing.js';

export interface ProgressView {
  update(p: Progress): void;
  stop(): void;
}

function compact(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : String(n);
}

function llmPart(u: LlmUsage, inFlight: number): string | undefined {
  const attempts = u.attempts ?? 0;
  const reused = (u['journal.requests'] ?? 0) + (u['shards.requests'] ?? 0);
  if (attempts === 0 && reused === 0 && inFlight === 0) return undefined;
  const tokens = paid(u, 'promptTokens') + paid(u, 'completionTokens');
  const cost = datasetCostMicroUsd(u);
  return `LLM ${paid(u, 'requests')} answered, ${reused} cached, ${inFlight} in flight, ${compact(tokens)} tokens` + (cost > 0 ? `, ${formatUsd(cost)}` : '');
}

/** The whole progress as one line. */
export function progressLine(p: Progress): string {
  const c = p.counters;
  const llm: LlmUsage = {};
  addUsage(llm, c.llm);
  addUsage(llm, p.live?.llm);
  const done = c.documentsDone + (p.live?.documentsDone ?? 0);
  const parts = [
    `${p.phase}: ${done}/${p.documents} docs`,
    `${c.pairsPassed} pairs passed, ${c.pairsRejected} rejected, ${c.failed} failed`,
  ];
  const l = llmPart(llm, p.live?.inFlight ?? 0);
  if (l) parts.push(l);
  if (p.live?.waiting) parts.push(p.live.waiting);
  return parts.join(' | ');
}

export function createProgressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (stream.isTTY) {
    let drawn = false;
    return {
      update(p) {
        const width = Math.max(20, (stream.columns || 100) - 1);
        const line = progressLine(p);
        stream.write(`\r${line.length > width ? `${line.slice(0, width - 1)}…` : line}\x1b[K`);
        drawn = true;
      },
      stop() {
        if (drawn) stream.write('\n');
        drawn = false;
      },
    };
  }
  let lastLine = '';
  let lastAt = 0;
  return {
    update(p) {
      const line = progressLine(p);
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

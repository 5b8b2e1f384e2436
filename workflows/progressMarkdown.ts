/**
 * The run's live progress as Markdown, shown as the workflow's "current details" in the Temporal
 * UI (it adds nothing to history). Counts are those of finished batches; what a batch in flight
 * is doing (requests in flight, waiting for an unreachable server) is in its heartbeat details,
 * on the UI's pending activities.
 */
import type { Progress } from '../schemas/index.js';
import { datasetCostMicroUsd, paid } from '../schemas/llmUsage.js';

export function progressMarkdown(p: Progress): string {
  const c = p.counters;
  const lines = [
    `**${p.phase}**: ${c.documentsDone} of ${p.documents} documents`,
    '',
    '| stage | count |',
    '| --- | --- |',
    `| loaded | ${c.loaded} |`,
    `| failed | ${c.failed} |`,
    `| chunks | ${c.chunks} |`,
    `| pairs passed | ${c.pairsPassed} |`,
    `| pairs rejected | ${c.pairsRejected} |`,
    `| batches in flight | ${p.inFlight} |`,
  ];
  const u = c.llm;
  if (u && Object.keys(u).length > 0) {
    const reused = (u['journal.requests'] ?? 0) + (u['shards.requests'] ?? 0);
    lines.push(
      `| LLM requests answered | ${paid(u, 'requests') + (u['batch.requests'] ?? 0)} |`,
      `| LLM replies reused (journal, shards) | ${reused} |`,
      `| LLM attempts that failed and were retried | ${Object.entries(u).filter(([k]) => k.startsWith('failures.')).reduce((n, [, v]) => n + v, 0)} |`,
      `| LLM tokens (prompt + completion) | ${paid(u, 'promptTokens') + paid(u, 'completionTokens')} |`,
      `| LLM cost of the dataset so far (USD, list price) | ${(datasetCostMicroUsd(u) / 1e6).toFixed(4)} |`,
    );
  }
  if (p.batches) {
    const b = p.batches.batch;
    lines.push('', `Waiting for provider batches (round ${p.batches.round}, ${p.batches.pending} requests)` +
      (b ? `: batch \`${b.id}\` is ${b.status}, ${b.done} of ${b.total} done.` : '.'));
  }
  if (p.recentFailures.length > 0) {
    lines.push('', 'Recent document errors:', ...p.recentFailures.map((f) => `- \`${f.source}\`: ${f.reason}`));
  }
  return lines.join('\n');
}

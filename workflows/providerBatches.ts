/**
 * --batch-api as a durable wait: collect the requests the journal lacks, submit them as provider
 * batches (their ids go into history), poll on workflow timers with backoff, bring the answers
 * into the journal, and go round again for what the answers lead to (repairs, the judge) or what
 * failed. A kill, a worker restart or a lost server at any point resumes here without submitting
 * a batch twice; no activity blocks while the provider works.
 */
import { ApplicationFailure, proxyActivities, sleep, type ActivityOptions } from '@temporalio/workflow';
import type { CorpusActivities } from '../activities/index.js';
import type { ResolvedRunInput } from '../schemas/index.js';
import type { LlmUsage } from '../schemas/llmUsage.js';

/** After this many rounds, what is still missing is sent directly by normal processing. */
export const MAX_BATCH_ROUNDS = 6;
const MAX_POLL_SECONDS = 600;

const STEP: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 10 },
};
const { collectBatchRequests, submitBatchRequests, fetchBatchResults } = proxyActivities<CorpusActivities>(STEP);
const { pollProviderBatch } = proxyActivities<CorpusActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 20 },
});

export interface BatchPhaseState {
  round: number;
  pending: number;
  batch?: { id: string; status: string; done: number; total: number };
}

export interface BatchPhaseResult {
  usage: LlmUsage;
  rounds: number;
}

export async function runProviderBatches(
  run: ResolvedRunInput,
  manifestKey: string,
  range: { start: number; end: number },
  spentMicroUsd: () => number,
  report: (s: BatchPhaseState) => void,
): Promise<BatchPhaseResult> {
  const usage: LlmUsage = {};
  const pollEvery = run.llmRuntime?.batchPollSeconds ?? 30;
  const maxCost = run.llmRuntime?.maxCostUsd;
  for (let round = 1; round <= MAX_BATCH_ROUNDS; round++) {
    const plan = await collectBatchRequests.executeWithOptions(
      { ...STEP, summary: `collect requests for provider batches, round ${round}` },
      [{ run, manifestKey, start: range.start, end: range.end, round }],
    );
    report({ round, pending: plan.pending });
    if (plan.pending === 0) return { usage, rounds: round };
    if (maxCost !== undefined && spentMicroUsd() + (usage['batch.costMicroUsd'] ?? 0) + plan.estimatedCostMicroUsd > maxCost * 1e6) {
      throw ApplicationFailure.create({
        type: 'BudgetExhausted',
        nonRetryable: true,
        message:
          `--max-cost $${maxCost}: the next provider batch (${plan.pending} requests, about $${(plan.estimatedCostMicroUsd / 1e6).toFixed(4)} at half price) ` +
          `would go over it. Every reply so far is kept; run the same command with a higher --max-cost to continue`,
      });
    }
    const batches = await submitBatchRequests.executeWithOptions(
      { ...STEP, summary: `submit ${plan.pending} requests as provider batches, round ${round}` },
      [{ run, file: plan.file }],
    );
    for (const b of batches) {
      let wait = pollEvery;
      for (;;) {
        const state = await pollProviderBatch({ run, batchId: b.id });
        report({ round, pending: plan.pending, batch: { id: b.id, status: state.status, done: state.succeeded + state.failed, total: state.total } });
        if (state.done) break;
        await sleep(`${wait} seconds`);
        wait = Math.min(MAX_POLL_SECONDS, Math.ceil(wait * 1.5));
      }
      const got = await fetchBatchResults.executeWithOptions(
        { ...STEP, summary: `results of provider batch ${b.id}` },
        [{ run, batchId: b.id, file: plan.file }],
      );
      for (const [k, v] of Object.entries(got.usage)) usage[k] = (usage[k] ?? 0) + v;
    }
  }
  return { usage, rounds: MAX_BATCH_ROUNDS };
}

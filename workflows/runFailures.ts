/** Why a run stops before its export, as the non-retryable failures the CLI explains. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { DocumentFailure } from '../schemas/index.js';

/** --fail-fast: the first bad document in manifest order, named with its cause. */
export function failFastFailure(f: DocumentFailure): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'DocumentFailed',
    nonRetryable: true,
    message: `${f.source}: ${f.reason}: ${f.detail} (stopped by --fail-fast)`,
    details: [f],
  });
}

/** --max-cost: what was spent, how far the run got, and how to continue without paying again. */
export function budgetFailure(maxCostUsd: number | undefined, spentMicroUsd: number, documentsDone: number, total: number): ApplicationFailure {
  const spent = spentMicroUsd / 1e6;
  return ApplicationFailure.create({
    type: 'BudgetExhausted',
    nonRetryable: true,
    message:
      `--max-cost $${maxCostUsd} reached: the LLM replies so far cost $${spent.toFixed(4)} at list price, ` +
      `after ${documentsDone} of ${total} documents. Every reply is kept; run the same command with a higher --max-cost to continue without paying for them again`,
  });
}

/**
 * How the workflow calls its activities: one base (retries with backoff, a heartbeat timeout for
 * the long ones) and what each call changes. Options are named so calls can add a per-call
 * `summary` (the UI shows it on the activity).
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { CorpusActivities } from '../activities/index.js';

const RETRY = { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 10 } as const;

/**
 * A long activity heartbeats at least every 5 s (activities/index.ts), so a 30 s heartbeat
 * timeout notices a dead worker quickly without false alarms.
 */
function long(startToCloseTimeout: string, maximumAttempts: number = RETRY.maximumAttempts): ActivityOptions {
  return { startToCloseTimeout, heartbeatTimeout: '30 seconds', retry: { ...RETRY, maximumAttempts } };
}

/** A short activity does not heartbeat: its start-to-close timeout is its deadline. */
function short(startToCloseTimeout: string, retry: ActivityOptions['retry']): ActivityOptions {
  return { startToCloseTimeout, retry: { ...RETRY, ...retry } };
}

export const DISCOVER_OPTIONS = long('2 hours');
/** A batch retried after a crash restarts after its last finished document (its heartbeat). */
export const PROCESS_OPTIONS = long('1 hour', 20);
export const EXPORT_OPTIONS = long('4 hours');

export const { discover } = proxyActivities<CorpusActivities>(DISCOVER_OPTIONS);
export const { processBatch } = proxyActivities<CorpusActivities>(PROCESS_OPTIONS);
export const { exportDataset } = proxyActivities<CorpusActivities>(EXPORT_OPTIONS);
export const { batchLabels } = proxyActivities<CorpusActivities>(short('5 minutes', { maximumInterval: '30s', maximumAttempts: 5 }));
export const { removeIntermediate } = proxyActivities<CorpusActivities>(short('30 minutes', { maximumAttempts: 5 }));

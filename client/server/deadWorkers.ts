/** Releasing the work of a local worker that was killed outright, so a resume need not wait for timeouts. */
import { ApplicationFailure, type Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { hostname } from 'node:os';
import { isAlive } from './processes.js';

/**
 * A worker killed outright (SIGKILL, OOM, power loss) never reports back: Temporal retries its
 * activities only when their heartbeat timeout expires (minutes), and sends the next workflow
 * task to its sticky queue first. When that worker ran on this machine and its process is gone,
 * fail its activities now (they are retried at once, by the retry policy) and reset stickiness.
 * Returns the dead workers' identities.
 */
export async function releaseActivitiesOfDeadWorkers(client: Client, workflowId: string): Promise<string[]> {
  const description = await client.workflow.getHandle(workflowId).describe();
  const dead = new Set<string>();
  for (const a of description.raw.pendingActivities ?? []) {
    if (a.state !== proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED) continue;
    const identity = a.lastWorkerIdentity ?? '';
    const m = /^(\d+)@(.+)$/.exec(identity);
    if (!m || m[2] !== hostname() || isAlive(Number(m[1])) || !a.activityId) continue;
    try {
      await client.activity.fail(
        { workflowId, runId: description.runId, activityId: a.activityId },
        ApplicationFailure.retryable(`worker ${identity} died while running this activity`, 'WorkerDied'),
      );
      dead.add(identity);
    } catch {
      // Completed or timed out meanwhile: nothing to release.
    }
  }
  // Cheap (a live sticky worker replays a bounded history once), and a dead worker may hold the
  // workflow's sticky task without any activity.
  await client.workflowService
    .resetStickyTaskQueue({ namespace: client.options.namespace, execution: { workflowId, runId: description.runId } })
    .catch(() => undefined);
  return [...dead];
}

/**
 * `corpus-qa worker`: a long-lived worker for a Temporal cluster. It outlives its server: when
 * the server goes away (a restart, a network cut), the SDK's worker gives up after a while with
 * "Namespace … could not be described"; this loop says so in one line, waits, connects again
 * and polls on, so an operator never has to restart the workers of a cluster by hand.
 */
import { NativeConnection } from '@temporalio/worker';
import { closeExtractionPool } from '../../activities/extract/pool.js';
import { createCorpusWorker } from '../../worker/index.js';
import type { ServerTarget } from '../server/connection.js';
import { installCliRuntime, throttledRetryNotice } from '../server/quietLogs.js';
import { isServerUnreachable } from '../runner.js';

const RECONNECT_EVERY_MS = 5000;

export async function runStandaloneWorker(target: ServerTarget, flags: { taskQueue: string; concurrency: number }): Promise<number> {
  const address = target.connectionOptions.address ?? 'localhost:7233';
  const notice = throttledRetryNotice(address);
  installCliRuntime(notice);
  // The SDK stops a running worker on SIGINT/SIGTERM by itself; between two connections there
  // is no worker to stop, so the wait for the next attempt listens too.
  let stopping = false;
  let wake: (() => void) | undefined;
  const onSignal = () => {
    stopping = true;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const pause = () => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, RECONNECT_EVERY_MS);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  let first = true;
  try {
    while (!stopping) {
      let connection: NativeConnection | undefined;
      try {
        connection = await NativeConnection.connect(target.connectionOptions);
        const worker = await createCorpusWorker({
          connection,
          namespace: target.namespace,
          taskQueue: flags.taskQueue,
          maxConcurrentActivities: flags.concurrency,
        });
        console.error(`${first ? 'Worker polling' : 'Reconnected: polling'} task queue ${flags.taskQueue} on ${address} (Ctrl-C to stop)`);
        first = false;
        await worker.run(); // ends on SIGINT/SIGTERM (graceful), or throws when the server is lost
        return 0;
      } catch (err) {
        // The first connection failing is a setting to fix, not an outage to wait out.
        if (first || !isServerUnreachable(err)) throw err;
        notice();
        await pause();
      } finally {
        await connection?.close().catch(() => undefined);
      }
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await closeExtractionPool();
  }
}

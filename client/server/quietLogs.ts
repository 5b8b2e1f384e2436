/**
 * The runtime logger of the CLI's commands: one line per warning on stderr, as the worker's own
 * (worker/index.ts), and the native core's logs forwarded to it rather than printed in colour to
 * stdout. The core's "gRPC call ... retried" warnings come by the dozen while the server is away
 * and say nothing but "still unreachable" (so do the worker's "Network error while completing
 * activity"):
 * - `run` drops them: it says once, in words, what happened when it gives up;
 * - `worker` keeps retrying for as long as it lives, so it says once that the server cannot be
 *   reached, then at most one reminder a minute with how many retries it hid.
 */
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogEntry } from '@temporalio/worker';
import { oneLineLog } from '../../worker/index.js';

const GRPC_RETRY = /^gRPC call \w+ retried|^Network error while completing activity/;
const REMINDER_MS = 60_000;
let installed = false;
let dropped = 0;

/** How many gRPC retry warnings were dropped (for diagnostics). */
export function droppedGrpcWarnings(): number {
  return dropped;
}

/** What a long-lived worker prints instead of each retry warning: one line, then a reminder a minute. */
export function throttledRetryNotice(address: string, write: (line: string) => void = (l) => process.stderr.write(l), now: () => number = Date.now): () => void {
  let lastSaid: number | undefined;
  let hidden = 0;
  return () => {
    const t = now();
    if (lastSaid === undefined) {
      write(`warning: the Temporal server at ${address} cannot be reached; the worker keeps retrying (Ctrl-C to stop)\n`);
      lastSaid = t;
    } else if (t - lastSaid >= REMINDER_MS) {
      write(`warning: the Temporal server at ${address} is still unreachable (${hidden + 1} retries in the last ${Math.round((t - lastSaid) / 1000)} s)\n`);
      lastSaid = t;
      hidden = 0;
    } else {
      hidden++;
    }
  };
}

/**
 * Installs the runtime once per process; an embedding program's own runtime is kept.
 * `onRetry` is called for each hidden gRPC retry warning.
 */
export function installCliRuntime(onRetry?: () => void): void {
  if (installed) return;
  installed = true;
  const level = (process.env.CORPUS_QA_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN';
  const oneLine = (entry: LogEntry): void => {
    if (GRPC_RETRY.test(entry.message)) {
      dropped++;
      onRetry?.();
      return;
    }
    oneLineLog(entry);
  };
  try {
    Runtime.install({
      logger: new DefaultLogger(level, oneLine),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level, other: 'ERROR' }), forward: {} } },
    });
  } catch {
    // Already installed (by the embedding program, or a test): keep its choice.
  }
}

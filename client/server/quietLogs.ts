/**
 * The runtime logger of `corpus-qa run`: one line per warning on stderr, as the worker's own
 * (worker/index.ts), and the native core's logs forwarded to it rather than printed in colour to
 * stdout. The core's "gRPC call ... retried" warnings are dropped: while the server is away they
 * come by the dozen and say nothing the CLI does not say once, in words, when it gives up (so do
 * the worker's "Network error while completing activity").
 */
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogEntry } from '@temporalio/worker';
import { oneLineLog } from '../../worker/index.js';

const GRPC_RETRY = /^gRPC call \w+ retried|^Network error while completing activity/;
let installed = false;
let dropped = 0;

/** How many gRPC retry warnings were dropped (for diagnostics). */
export function droppedGrpcWarnings(): number {
  return dropped;
}

function oneLine(entry: LogEntry): void {
  if (GRPC_RETRY.test(entry.message)) {
    dropped++;
    return;
  }
  oneLineLog(entry);
}

/** Installs the runtime once per process; an embedding program's own runtime is kept. */
export function installCliRuntime(): void {
  if (installed) return;
  installed = true;
  const level = (process.env.CORPUS_QA_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN';
  try {
    Runtime.install({
      logger: new DefaultLogger(level, oneLine),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level, other: 'ERROR' }), forward: {} } },
    });
  } catch {
    // Already installed (by the embedding program, or a test): keep its choice.
  }
}

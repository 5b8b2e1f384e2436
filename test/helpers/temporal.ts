/** Runs corpus exports in-process against the test run's real dev server. */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { CorpusExportOptions } from '../../client/runOptions.js';
import { runCorpusExport, type RunnerOptions, type RunnerResult } from '../../client/runner.js';

export function temporalAddress(): string {
  return inject('temporalAddress');
}

/** A task queue of its own per call: test files run in parallel on one server. */
export function uniqueTaskQueue(): string {
  return `test-${randomUUID()}`;
}

export async function runExport(
  options: CorpusExportOptions,
  extra: Partial<RunnerOptions> = {},
): Promise<RunnerResult> {
  return runCorpusExport(options, {
    address: temporalAddress(),
    taskQueue: uniqueTaskQueue(),
    ...extra,
  });
}

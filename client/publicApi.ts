/**
 * corpus-qa's API for your own scripts, in one place:
 * - `runCorpusExport(options)`: the whole run as `corpus-qa run` does it (an embedded dev server
 *   without TEMPORAL_ADDRESS, a worker in this process), resolving to the result;
 * - `startCorpusExport(options, { client })`: start or attach to a run on a server you own and get
 *   a handle with `progress()` and `result()`; run workers with `createCorpusWorker`;
 * - `await verifyOutput(outDir)`: the checks of `corpus-qa verify`.
 * Everything else under client/ is the CLI's own and may change.
 */
export { runCorpusExport, RunInterrupted, type RunnerOptions, type RunnerResult } from './runner.js';
export { startCorpusExport, RunConflictError, InfrastructureError, UsageError, type CorpusExportHandle, type StartOptions } from './api.js';
export { createCorpusWorker } from '../worker/index.js';
export { verifyOutput, VerifyError } from './commands/verify.js';
export type { CorpusExportOptions } from './runOptions.js';
export type { Progress, RunResult } from '../schemas/index.js';

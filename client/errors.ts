/**
 * Errors the CLI maps to exit codes (see client/cli.ts): a UsageError is the user's input (exit
 * 2), an InfrastructureError is the server or the disk under the run (exit 3). Both carry a
 * message meant for the user as is.
 */

/** Bad arguments or options: nothing was started. Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The Temporal server or the disk failed under the run; running the same command again resumes it. Exit code 3. */
export class InfrastructureError extends Error {
  override name = 'InfrastructureError';
  constructor(message: string, readonly hint = 'run the same command again to resume where it left off') {
    super(message);
  }
}

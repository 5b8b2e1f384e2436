/**
 * What the client keeps beside a run in <out>/.corpus-qa, parsed when read back: a file from
 * another version or cut short by a crash is treated as absent, never trusted as it is.
 */
import { z } from 'zod';

/** A process using the embedded dev server. */
export const ServerUser = z.object({
  pid: z.number().int(),
  /** The process's start time (Linux), so a reused pid is not taken for the user. */
  start: z.string().optional(),
  /** One per use: a process may use the same server twice at once (a script, a test). */
  id: z.string().optional(),
});
export type ServerUser = z.infer<typeof ServerUser>;

/** server.json: the embedded dev server of an output directory and who uses it. */
export const ServerRecord = z.object({
  pid: z.number().int(),
  address: z.string(),
  uiUrl: z.string(),
  /** The processes using the server; the last one to leave stops it. */
  users: z.array(ServerUser).optional(),
});
export type ServerRecord = z.infer<typeof ServerRecord>;

/** last-run.json: the last run started in an output directory, to say what changed. */
export const LastRun = z.object({
  workflowId: z.string(),
  identity: z.record(z.string(), z.unknown()),
});
export type LastRun = z.infer<typeof LastRun>;

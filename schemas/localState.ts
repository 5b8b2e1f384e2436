/**
 * What the client keeps beside a run in <out>/.corpus-qa, parsed when read back: a file from
 * another version or cut short by a crash is treated as absent, never trusted as it is.
 */
import { z } from 'zod';
import { DatasetQuality, QuestionForm } from './index.js';

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

/** What an export's quality figures counted up to a document's end (activities/exportStats.ts). */
export const QualityCounts = z.object({
  forms: z.record(QuestionForm, z.number().int()),
  passed: z.number().int(),
  pinned: z.number().int(),
  chunks: z.number().int(),
  chunksWithPairs: z.number().int(),
  documents: z.number().int(),
  documentsWithPairs: z.number().int(),
  words: z.number().int(),
  leak: z.object({ pairs: z.number().int(), byQuestion: z.number().int(), byAnswer: z.number().int() }),
  examples: DatasetQuality.shape.leakage.shape.examples,
});
export type QualityCounts = z.infer<typeof QualityCounts>;

/** A staged JSON Lines file as far as an export checkpoint has it: its first `bytes`, fsynced. */
export const StagedFileProgress = z.object({ path: z.string(), tmp: z.string(), bytes: z.number().int().min(0), rows: z.number().int().min(0) });
export type StagedFileProgress = z.infer<typeof StagedFileProgress>;

/** The key tables an export checkpoint may hold (activities/export/checkpoint.ts gives their widths). */
export const CheckpointTable = z.enum(['dedup', 'byQuestion', 'byAnswer', 'shared']);
export type CheckpointTable = z.infer<typeof CheckpointTable>;

/**
 * .corpus-qa/export-checkpoint/state.json: how far a long export got (activities/export/checkpoint.ts),
 * so that the export's retry after a kill goes on from there. Its key ties it to one export (the
 * manifest and the settings); its tables are the files `<documentsDone>-<name>.keys` beside it.
 */
export const ExportCheckpoint = z.object({
  key: z.string(),
  /** Manifest entries done: the export goes on with this one. */
  documentsDone: z.number().int().min(0),
  /** Pairs the shared keys' first pass found (0 without shared keys). */
  firstPassPairs: z.number().int().min(0),
  tally: z.object({
    loaded: z.number().int(),
    chunks: z.number().int(),
    failedByReason: z.record(z.string(), z.number().int()),
    rejectedByReason: z.record(z.string(), z.number().int()),
  }),
  duplicates: z.object({ withinDocuments: z.number().int(), acrossDocuments: z.number().int(), checked: z.number().int() }),
  quality: QualityCounts,
  /** The sinks' files, in ExportSinks' order. */
  sinks: z.array(StagedFileProgress),
  /** The key tables saved: dedup, byQuestion and byAnswer always, shared with shared keys. */
  tables: z.array(CheckpointTable),
});
export type ExportCheckpoint = z.infer<typeof ExportCheckpoint>;

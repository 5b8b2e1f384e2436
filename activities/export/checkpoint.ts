/**
 * Checkpoints of a long export, so that a kill (or a lost worker) during a million-document
 * export costs minutes, not the half hour it took so far. Every CHECKPOINT_EVERY documents the
 * rows step makes its staged files durable and saves how far they are, what it counted and its
 * key tables to <out>/.corpus-qa/export-checkpoint/. The export's next attempt finds them, cuts
 * the files back to the saved length and goes on with the next document: the same bytes as an
 * uninterrupted export.
 *
 * Not checkpointed: Parquet exports (a shard is written whole) and reviewed outputs (the
 * reviewer's decisions are applied with state of their own); they start over, as before.
 */
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ExportCheckpoint, type CheckpointTable } from '../../schemas/localState.js';
import type { ResolvedRunInput } from '../../schemas/index.js';
import { KeyTable } from '../keyTable.js';
import { readParsedIfExists, removeTree, sha256Hex, writeFileAtomic } from '../storage.js';

/** Documents between two checkpoints; an export of fewer documents takes none. Tests set fewer. */
export const CHECKPOINT_EVERY = positiveOr(Number(process.env.CORPUS_QA_EXPORT_CHECKPOINT_EVERY), 50_000);

function positiveOr(n: number, fallback: number): number {
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** The width (32-bit words a key) of each table a checkpoint may hold. */
const TABLE_WIDTHS: Record<CheckpointTable, number> = { dedup: 2, byQuestion: 5, byAnswer: 5, shared: 0 };

const folderOf = (stateDir: string) => join(stateDir, 'export-checkpoint');
const tableFile = (stateDir: string, documentsDone: number, name: string) => join(folderOf(stateDir), `${documentsDone}-${name}.keys`);

/**
 * What ties a checkpoint to one export: its manifest, every setting (a changed one starts over),
 * the workflow (a new run of the same command may have new shards: --no-cache, or documents
 * that failed on this machine and are read again) and the tool's version (an upgraded worker
 * might write other rows).
 */
export function checkpointKey(
  run: ResolvedRunInput,
  manifest: { key: string; documents: number },
  settingsKey: string,
  of: { firstRunId: string; toolVersion: string },
): string {
  return sha256Hex(JSON.stringify({ manifest, settingsKey, settings: run.settings, noCache: run.noCache ?? false, outDir: run.outDir, ...of }));
}

export interface LoadedCheckpoint {
  state: ExportCheckpoint;
  tables: Partial<Record<CheckpointTable, KeyTable>>;
}

/**
 * The checkpoint of this export, or undefined: none, another export's, or one whose files are
 * not all there any more (then it is removed, and the export starts over).
 */
export async function loadCheckpoint(stateDir: string, key: string): Promise<LoadedCheckpoint | undefined> {
  const state = await readParsedIfExists(join(folderOf(stateDir), 'state.json'), ExportCheckpoint);
  if (state?.key === key) {
    try {
      for (const f of state.sinks) if ((await stat(f.tmp)).size < f.bytes) throw new Error(`${f.tmp} is shorter than its checkpoint`);
      const tables: LoadedCheckpoint['tables'] = {};
      for (const name of state.tables) {
        tables[name] = KeyTable.fromBytes(await readFile(tableFile(stateDir, state.documentsDone, name)), TABLE_WIDTHS[name]);
      }
      return { state, tables };
    } catch {
      // Unusable (a file gone or cut short): the export starts over.
    }
  }
  await removeCheckpoint(stateDir);
  return undefined;
}

/** Saves a checkpoint: its tables first (fsynced), then state.json naming them, then the older tables go. */
export async function saveCheckpoint(stateDir: string, state: ExportCheckpoint, tables: Partial<Record<CheckpointTable, KeyTable>>): Promise<void> {
  const names = Object.keys(tables) as CheckpointTable[];
  await mkdir(folderOf(stateDir), { recursive: true });
  for (const name of names) {
    const fh = await open(tableFile(stateDir, state.documentsDone, name), 'w');
    try {
      for (const bytes of tables[name]!.toBytes()) await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  await writeFileAtomic(join(folderOf(stateDir), 'state.json'), JSON.stringify({ ...state, tables: names }), true);
  // The tables of the checkpoint before, which state.json no longer names.
  const current = `${state.documentsDone}-`;
  for (const name of await readdir(folderOf(stateDir))) {
    if (name.endsWith('.keys') && !name.startsWith(current)) await rm(join(folderOf(stateDir), name), { force: true });
  }
}

/** The staged files a checkpoint goes on writing: the export keeps them when it clears a killed attempt's temp files. */
export function stagedFilesOf(checkpoint: LoadedCheckpoint | undefined): Set<string> {
  return new Set(checkpoint?.state.sinks.map((f) => f.tmp) ?? []);
}

export async function removeCheckpoint(stateDir: string): Promise<void> {
  await removeTree(folderOf(stateDir));
}

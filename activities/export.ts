/**
 * Export: read every document's shard in manifest order and write the dataset files. Output
 * order is the manifest's, ids are derived from content, and no timestamps go into rows, so the
 * same corpus and settings always give the same bytes. Every file is written to a temporary
 * path first, and renamed into place only when all of them are complete, stats.json last; stats.json
 * holds the sha256 of every file it describes (the card too), so a set mixed by a crash between
 * two renames is detectable (`corpus-qa verify`) and the next export repairs it.
 *
 * The steps live in activities/export/: rows.ts (collect, dedup, split, write to the sinks),
 * sinks.ts (JSON Lines or Parquet), stats.ts, card.ts, commit.ts.
 */
import { join } from 'node:path';
import type { Counters, ExportSummary, ResolvedRunInput } from '../schemas/index.js';
import { generatorId as generatorIdOf } from './generate/index.js';
import { removeOrphanTempFiles, scratchDir, sha256Hex, storeFor } from './storage.js';
import { exportCard } from './export/card.js';
import { commitStagedTo } from './export/commit.js';
import { OUTPUT_DIRS, OUTPUT_FILES, REVIEW_DECISIONS_FILE, STATE_DIR_NAME } from './paths.js';
import { CHECKPOINT_EVERY, checkpointKey, loadCheckpoint, removeCheckpoint, stagedFilesOf } from './export/checkpoint.js';
import { writeRows } from './export/rows.js';
import { shardSettingsKey } from './processBatch.js';
import { ExportSinks } from './export/sinks.js';
import { discardStaged, stageFile, type StagedFile } from './export/staging.js';
import { exportSummary, pairCounts, qualityFigures, statsJson } from './export/stats.js';

export { OUTPUT_FILES } from './paths.js';

export interface ExportInput {
  run: ResolvedRunInput;
  manifestKey: string;
  documents: number;
  skipped: number;
  /** What discovery skipped and why (at most 20). */
  warnings?: string[];
  counters: Counters;
  durationsMs: { discover: number; process: number; total: number };
  workflow: { id: string; runId: string; firstRunId: string; runs: number };
}

export interface ExportDeps {
  toolVersion: string;
  sdkVersion: string;
  serverVersion: string;
  heartbeat: (details: unknown) => void;
  /** Called before each file is renamed into place (or removed), stats.json last; tests fail here. */
  beforeRename?: (file: string) => void | Promise<void>;
}

export async function exportDataset(input: ExportInput, deps: ExportDeps): Promise<ExportSummary> {
  const { run } = input;
  const qa = run.settings.generateQa;
  const store = storeFor(run.outDir);
  // Files are staged in a local directory: <out> itself, or for a bucket a scratch directory of
  // this machine, whose files the commit uploads.
  const dir = store.kind === 'local' ? run.outDir : join(scratchDir(), 'export', sha256Hex(run.outDir).slice(0, 16));
  const stateDir = join(dir, STATE_DIR_NAME);
  const manifest = { key: input.manifestKey, documents: input.documents };
  // A long JSON Lines export takes checkpoints, and an attempt after a kill goes on from the last.
  // Not Parquet (a shard is written whole), nor a reviewed output (the reviewer's decisions are
  // applied with state of their own).
  const key = checkpointKey(run, manifest, shardSettingsKey(run), { firstRunId: input.workflow.firstRunId, toolVersion: deps.toolVersion });
  const checkpointed = input.documents > CHECKPOINT_EVERY && run.settings.fileFormat !== 'parquet' && !(await storeFor(run.outDir).exists(REVIEW_DECISIONS_FILE));
  const checkpoint = checkpointed ? await loadCheckpoint(stateDir, key) : undefined;
  if (!checkpointed) await removeCheckpoint(stateDir);
  // An export killed half way left its temporary files (but those its checkpoint goes on with);
  // the complete outputs are untouched.
  for (const d of OUTPUT_DIRS) await removeOrphanTempFiles(join(dir, d), stagedFilesOf(checkpoint));

  const sinks = await ExportSinks.open(run, dir, store, checkpoint?.state.sinks).catch(async (err: unknown) => {
    // A checkpoint its files cannot be opened from would fail every retry the same way.
    await removeCheckpoint(stateDir);
    throw err;
  });
  const staged: StagedFile[] = [];
  try {
    const tally = await writeRows(run, manifest, sinks, deps.heartbeat, { stateDir, checkpointKey: checkpointed ? key : undefined, checkpoint });
    const written = await sinks.finish();
    staged.push(...written.staged);

    const pairs = pairCounts(qa, sinks);
    const quality = qualityFigures(qa, tally, pairs);
    const summary = exportSummary(tally, pairs, quality, written.files, sinks.errors.rows);
    const generatorId = qa ? generatorIdOf(run.settings) : 'none';

    const card = await stageFile(join(dir, OUTPUT_FILES.card), exportCard(input, sinks, tally, quality, generatorId));
    staged.push(card);
    const stats = statsJson(input, deps, summary, pairs, tally, generatorId, card.sha256);
    const statsFile = await stageFile(join(dir, OUTPUT_FILES.stats), `${JSON.stringify(stats, null, 2)}\n`);

    await commitStagedTo(store, dir, staged, written.remove, statsFile, deps.beforeRename);
    await removeCheckpoint(stateDir);
    return summary;
  } catch (err) {
    // A failure (not a kill) starts the next attempt over: the checkpoint's files go with the rest.
    await sinks.abort();
    await discardStaged(staged);
    await removeCheckpoint(stateDir);
    throw err;
  }
}

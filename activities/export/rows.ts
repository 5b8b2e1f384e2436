/**
 * The rows step of an export: every document of the manifest, in its order, read back from its
 * shard and written to the sinks: an error row, its chunks, or its pairs (judged for duplicates,
 * placed in their split, passed through the reviewer's decisions).
 */
import type { ErrorRow, ManifestEntry, ResolvedRunInput, ShardContent, ShardPair, ShardPart } from '../../schemas/index.js';
import { ErrorRow as ErrorRowSchema, ShardContent as ShardContentSchema } from '../../schemas/index.js';
import { chunkRow, errorRow, rejectedRow, trainingRow, wellFormed } from '../exportRows.js';
import { passedPair, QualityStats } from '../exportStats.js';
import { iterateManifest } from '../manifest.js';
import { shardKeyFor, shardSettingsKey } from '../processBatch.js';
import { readDecisions, ReviewApplier } from '../review/decisions.js';
import { shardPages } from '../shardParts.js';
import { shardCatalog, type ShardLookup } from '../shardPacks.js';
import { splitOf } from '../splits.js';
import { readParsedFrom, STATE_NAMES, storeFor } from '../storage.js';
import type { KeyTable } from '../keyTable.js';
import { CHECKPOINT_EVERY, saveCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import { PairDuplicates } from './duplicates.js';
import { findsSharedKeys, removeLeftoverPartitions, sharedKeysOf } from './sharedKeys.js';
import type { ExportSinks, RowSink } from './sinks.js';

/** What the rows step counted, for stats.json and the card. */
export interface RowTally {
  loaded: number;
  chunks: number;
  failedByReason: Record<string, number>;
  rejectedByReason: Record<string, number>;
  duplicates: PairDuplicates;
  quality: QualityStats;
  /** Set for a reviewed output (<out>/review/decisions.jsonl exists). */
  review: ReviewApplier | undefined;
}

type DocumentResult = { error: Omit<ErrorRow, 'source'> } | { shard: Extract<ShardContent, { status: 'ok' }>; key: string };

/** One manifest entry's result: its shard, or why it has none. */
async function documentResult(run: ResolvedRunInput, entry: ManifestEntry, settingsKey: string, stored: ShardLookup): Promise<DocumentResult> {
  if (entry.error) return { error: { stage: 'discover', reason: entry.error.reason, detail: entry.error.detail } };
  const key = shardKeyFor(entry, settingsKey);
  const store = storeFor(run.outDir);
  // In a pack, or (a run that an earlier version began) in a file of its own.
  const shard = (await stored.read(key)) ?? (await readParsedFrom(store, STATE_NAMES.shard(key), ShardContentSchema));
  if (!shard) {
    // Only machine-local read failures leave no shard (they must not be cached); their
    // record says why.
    const local = await readParsedFrom(store, STATE_NAMES.localError(key), ErrorRowSchema.omit({ source: true })).catch(() => undefined);
    return { error: local ?? { stage: 'load', reason: 'unreadable', detail: 'file could not be read during processing' } };
  }
  if (shard.status === 'error') return { error: { stage: shard.stage, reason: shard.reason, detail: shard.detail } };
  return { shard, key };
}

export interface RowsOptions {
  /** A local folder for the export's working files (the shared keys' partitions, checkpoints). */
  stateDir: string;
  /** Set when this export takes checkpoints (export/checkpoint.ts; export.ts decides): the key they carry. */
  checkpointKey?: string;
  /** The checkpoint to go on from (the sinks were opened from it). */
  checkpoint?: LoadedCheckpoint;
}

export async function writeRows(
  run: ResolvedRunInput,
  manifest: { key: string; documents: number },
  sinks: ExportSinks,
  heartbeat: (details: unknown) => void,
  { stateDir, checkpointKey, checkpoint }: RowsOptions,
): Promise<RowTally> {
  const { settings } = run;
  const qa = settings.generateQa;
  const settingsKey = shardSettingsKey(run);
  const stored = (await shardCatalog(run.outDir)).reader();
  // A reviewed output keeps its reviewer's decisions, keyed by pair id, on every later run.
  const storedDecisions = qa ? await readDecisions(run.outDir) : undefined;
  const splits = settings.splits.map((s) => s.name);
  // A big corpus's indexes hold only the keys more than one pair has, found by a first pass.
  // The leakage index takes them too unless a reviewer's edits change what it sees.
  const leakage = splits.length > 1 && !storedDecisions;
  await removeLeftoverPartitions(stateDir);
  const saved = checkpoint?.state;
  const tables = checkpoint?.tables ?? {};
  const firstPass = { pairs: saved?.firstPassPairs ?? 0 };
  const shared = qa && findsSharedKeys(manifest.documents)
    ? saved ? required(tables.shared, 'shared') : await sharedKeysOf(pairsToCheck(run, manifest, settingsKey, stored, heartbeat, firstPass), leakage, stateDir)
    : undefined;
  const tally: RowTally = {
    loaded: saved?.tally.loaded ?? 0,
    chunks: saved?.tally.chunks ?? 0,
    failedByReason: { ...saved?.tally.failedByReason },
    rejectedByReason: { ...saved?.tally.rejectedByReason },
    duplicates: new PairDuplicates(shared, saved && { table: required(tables.dedup, 'dedup'), counts: saved.duplicates }),
    quality: new QualityStats(splits, leakage ? shared : undefined, saved && {
      counts: saved.quality, byQuestion: required(tables.byQuestion, 'byQuestion'), byAnswer: required(tables.byAnswer, 'byAnswer'),
    }),
    review: storedDecisions ? new ReviewApplier(storedDecisions) : undefined,
  };
  const save = checkpointKey
    ? (documentsDone: number) => saveRowsCheckpoint(stateDir, checkpointKey, documentsDone, firstPass.pairs, tally, sinks, shared)
    : undefined;

  let seen = saved?.documentsDone ?? 0;
  for await (const entry of iterateManifest(run.outDir, manifest.key, manifest.documents, seen)) {
    if (save && seen > 0 && seen % CHECKPOINT_EVERY === 0 && seen !== saved?.documentsDone) await save(seen);
    if (++seen % 200 === 0) heartbeat({ index: seen });
    const result = await documentResult(run, entry, settingsKey, stored);
    if ('error' in result) {
      tally.failedByReason[result.error.reason] = (tally.failedByReason[result.error.reason] ?? 0) + 1;
      await sinks.errors.write(errorRow(entry.source, result.error));
      continue;
    }
    const { shard, key } = result;
    tally.loaded++;
    tally.chunks += shard.chunks;
    // A big document's shard is in parts: read one at a time, never the whole document at once.
    const pages = shardPages(run.outDir, key, shard);
    if (qa) await writePairs(run, entry.source, shard, pages, sinks, tally);
    else for await (const page of pages) for (const c of page.chunkRows) await sinks.split('chunks').write(chunkRow(entry.source, c));
  }

  // The shared keys are only right for the pairs they were found from: shards that changed
  // between the passes would give verdicts no index of every pair gives, so the export fails
  // (and its retry reads both passes again) rather than write them.
  if (shared && tally.duplicates.checked !== firstPass.pairs) {
    throw new Error(`the shards changed during the export: its first pass saw ${firstPass.pairs} pairs to check, its second ${tally.duplicates.checked}`);
  }
  if (tally.review) await writeReviewerRejections(tally.review, sinks.rejected, tally.rejectedByReason);
  return tally;
}

function required<T>(table: T | undefined, name: string): T {
  if (table === undefined) throw new Error(`the export checkpoint has no ${name} table`);
  return table;
}

/** A checkpoint after `documentsDone` documents: the sinks' files made durable, the tally and its tables saved. */
async function saveRowsCheckpoint(
  stateDir: string,
  key: string,
  documentsDone: number,
  firstPassPairs: number,
  tally: RowTally,
  sinks: ExportSinks,
  shared: KeyTable | undefined,
): Promise<void> {
  const files = await sinks.checkpoint();
  const duplicates = tally.duplicates.saved();
  const quality = tally.quality.saved();
  const state = {
    key,
    documentsDone,
    firstPassPairs,
    tally: { loaded: tally.loaded, chunks: tally.chunks, failedByReason: tally.failedByReason, rejectedByReason: tally.rejectedByReason },
    duplicates: duplicates.counts,
    quality: quality.counts,
    sinks: files,
    tables: [],
  };
  await saveCheckpoint(stateDir, state, { dedup: duplicates.table, byQuestion: quality.byQuestion, byAnswer: quality.byAnswer, ...(shared ? { shared } : {}) });
}

/** The pairs that passed their document's checks, in manifest order: what the corpus-wide checks see. */
async function* pairsToCheck(
  run: ResolvedRunInput,
  manifest: { key: string; documents: number },
  settingsKey: string,
  stored: ShardLookup,
  heartbeat: (details: unknown) => void,
  counted: { pairs: number },
): AsyncGenerator<ShardPair> {
  let seen = 0;
  for await (const entry of iterateManifest(run.outDir, manifest.key, manifest.documents)) {
    if (++seen % 200 === 0) heartbeat({ index: seen, step: 'shared keys' });
    const result = await documentResult(run, entry, settingsKey, stored);
    if ('error' in result) continue;
    for await (const page of shardPages(run.outDir, result.key, result.shard)) {
      for (const p of page.pairs) {
        if (p.reasons.length > 0) continue;
        counted.pairs++;
        yield p;
      }
    }
  }
}

/** One document's pairs: passed ones to the document's split, the others to rejected. */
async function writePairs(
  run: ResolvedRunInput,
  source: string,
  shard: Extract<ShardContent, { status: 'ok' }>,
  pages: AsyncIterable<ShardPart>,
  sinks: ExportSinks,
  tally: RowTally,
): Promise<void> {
  const { settings } = run;
  const split = splitOf(source, settings.splits);
  const writer = sinks.split(split);
  tally.quality.startDocument(shard.chunks, shard.words);
  const verdicts = tally.duplicates.document(source);
  for await (const page of pages) for (const { row, reasons, detail, duplicateOf } of verdicts.judge(page.pairs)) {
    const primary = reasons[0];
    if (primary === undefined) {
      const reviewed = tally.review ? tally.review.passed(row) : { row, edited: undefined };
      if (!reviewed) continue; // dropped by the reviewer: written after the last document
      tally.quality.pass(passedPair(reviewed.row), split);
      await writer.write(trainingRow(settings.format, reviewed.row, reviewed.edited));
    } else {
      tally.rejectedByReason[primary] = (tally.rejectedByReason[primary] ?? 0) + 1;
      await sinks.rejected?.write(rejectedRow({ ...row, reason: primary, reasons, detail: wellFormed(detail), duplicate_of: duplicateOf }));
    }
  }
}

/**
 * The reviewer's drops go after the validator's rejections (ReviewApplier's order), and their
 * reason is counted last, so stats.json's key order is the same from a run and from
 * `review apply`.
 */
export async function writeReviewerRejections(
  review: ReviewApplier,
  rejected: Pick<RowSink, 'write'> | undefined,
  rejectedByReason: Record<string, number>,
): Promise<void> {
  const rows = review.droppedRows();
  for (const r of rows) await rejected?.write(rejectedRow(r));
  if (rows.length > 0) rejectedByReason.reviewer_rejected = rows.length;
}

/**
 * Every path under <out>, in one place: the dataset files an export writes (OUTPUT_FILES, the
 * split and Parquet shard names), the review's decisions, and the run's state.
 *
 * Files of the dataset, relative to <out> ('/'-separated): data/<split>.jsonl (or
 * data/<split>-00000-of-00001.parquet ...), rejected/, errors.jsonl (or errors/), stats.json,
 * README.md (the card); review/decisions.jsonl (kept across runs).
 *
 * Layout under <out>/.corpus-qa/:
 *   manifests/<key>/page-000000.jsonl   the sorted manifest, in pages so a batch reads one page
 *   shards/packs/<name>.json            the results ("shards") of the documents one batch finished, keyed
 *                                       by content + settings; <name>.keys.json lists them (activities/shardPacks.ts)
 *   shards/<ab>/<key>.part-<n>.json     a big document's shard in parts (activities/shardParts.ts)
 *   shards/<ab>/<key>.json              one document's result, as earlier versions wrote them (still read by an export)
 *   journal/log/<segment>.jsonl         answered LLM requests, one JSON line each, keyed by what decides
 *                                       the answer: the paid work, kept after export; a segment per
 *                                       worker process, appended in fsynced groups (activities/generate/journalLog.ts)
 *   journal/<ab>/<key>.json             one answered request per file, as earlier versions wrote them (still read)
 *   batch-api/<run>-round-<n>.jsonl     requests collected for a provider batch (--batch-api), and
 *                                       <file>.submitted.json, the batches made of them
 *   local-errors/<key>.json             a machine-local read failure (never a shard: retried next run)
 *   last-run.json                       the client's record of the last run started here
 *   server.json, server.lock            the embedded dev server's record and its lock (client/server/)
 *   temporal.db, temporal.log           the embedded dev server's database and log
 */
import { join, relative, sep } from 'node:path';

/** The names of the files an export writes under <out>, relative to it ('/'-separated). */
export const OUTPUT_FILES = {
  train: 'data/train.jsonl',
  chunks: 'data/chunks.jsonl',
  rejected: 'rejected/rejected.jsonl',
  errors: 'errors.jsonl',
  stats: 'stats.json',
  card: 'README.md',
} as const;

/** Where each split's passed pairs go: data/<split>.jsonl. */
export function splitPath(split: string): string {
  return `data/${split}.jsonl`;
}

/**
 * Where the Parquet shards of each file go, named as the Hub names a config's splits:
 * data/<split>-…, rejected/train-…, errors/train-…. Every file is Parquet, not only the data:
 * `datasets` picks one builder for all the configs of a directory, so a JSON Lines config
 * beside Parquet ones would be read as Parquet and fail.
 */
export const PARQUET_PREFIX = {
  split: (name: string) => `data/${name}`,
  rejected: 'rejected/train',
  errors: 'errors/train',
} as const;

/** The directories (under <out>) an export writes to; its orphan sweep looks in these. */
export const OUTPUT_DIRS = ['.', 'data', 'rejected', 'errors'] as const;

export const STATE_DIR_NAME = '.corpus-qa';
export const MANIFEST_PAGE_SIZE = 1000;
/** How a pack's keys file is named after its pack: <name>.keys.json. */
export const PACK_KEYS_SUFFIX = '.keys.json';

/**
 * The names of the run's state relative to <out> ('/'-separated), for OutputStore; the path
 * functions below join them to a local <out>.
 */
export const STATE_NAMES = {
  manifestDir: (manifestKey: string) => `${STATE_DIR_NAME}/manifests/${manifestKey}`,
  manifestPage: (manifestKey: string, page: number) => `${STATE_DIR_NAME}/manifests/${manifestKey}/${manifestPageName(page)}`,
  shard: (shardKey: string) => `${STATE_DIR_NAME}/shards/${shardKey.slice(0, 2)}/${shardKey}.json`,
  /** Part `n` (1-based) of a shard stored in parts (a document of more than one page of chunks). */
  shardPart: (shardKey: string, part: number) => `${STATE_DIR_NAME}/shards/${shardKey.slice(0, 2)}/${shardKey}.part-${String(part).padStart(6, '0')}.json`,
  /** A batch's shards, packed (activities/shardPacks.ts), and the list of their keys, written after it. */
  shardPack: (packName: string) => `${STATE_DIR_NAME}/shards/packs/${packName}.json`,
  shardPackKeys: (packName: string) => `${STATE_DIR_NAME}/shards/packs/${packName}${PACK_KEYS_SUFFIX}`,
  journal: (requestKey: string) => `${STATE_DIR_NAME}/journal/${requestKey.slice(0, 2)}/${requestKey}.json`,
  batchRequests: (runKey: string, round: number) => `${STATE_DIR_NAME}/batch-api/${runKey}-round-${round}.jsonl`,
  localError: (shardKey: string) => `${STATE_DIR_NAME}/local-errors/${shardKey}.json`,
} as const;

/** The name of a local path under <out> as OutputStore names it, relative and '/'-separated. */
export function nameUnder(outDir: string, path: string): string {
  return relative(outDir, path).split(sep).join('/');
}

export function stateDir(outDir: string): string {
  return join(outDir, STATE_DIR_NAME);
}

export function manifestDir(outDir: string, manifestKey: string): string {
  return join(stateDir(outDir), 'manifests', manifestKey);
}

export function manifestPageName(page: number): string {
  return `page-${String(page).padStart(6, '0')}.jsonl`;
}

export function manifestPagePath(outDir: string, manifestKey: string, page: number): string {
  return join(manifestDir(outDir, manifestKey), manifestPageName(page));
}

export function shardPath(outDir: string, shardKey: string): string {
  return join(stateDir(outDir), 'shards', shardKey.slice(0, 2), `${shardKey}.json`);
}

/** Part `n` (1-based) of a shard stored in parts (a document of more than one page of chunks). */
export function shardPartPath(outDir: string, shardKey: string, part: number): string {
  return join(stateDir(outDir), 'shards', shardKey.slice(0, 2), `${shardKey}.part-${String(part).padStart(6, '0')}.json`);
}

export function journalDir(outDir: string): string {
  return join(stateDir(outDir), 'journal');
}

/** The journal's append-only segments (one per worker process that answered requests). */
export function journalLogDir(outDir: string): string {
  return join(journalDir(outDir), 'log');
}

/** One answered request in a file of its own: how earlier versions journaled (read, no longer written). */
export function journalPath(outDir: string, requestKey: string): string {
  return join(journalDir(outDir), requestKey.slice(0, 2), `${requestKey}.json`);
}

/** Requests collected for a provider's Batch API, one file per round, and what was submitted. */
export function batchRequestsPath(outDir: string, runKey: string, round: number): string {
  return join(stateDir(outDir), 'batch-api', `${runKey}-round-${round}.jsonl`);
}

/**
 * A read failure that depends on this machine (permissions, I/O): recorded beside the shards but
 * never as a shard, so the document is tried again on the next run.
 */
export function localErrorPath(outDir: string, shardKey: string): string {
  return join(stateDir(outDir), 'local-errors', `${shardKey}.json`);
}

/** A reviewer's decisions (corpus-qa review apply), kept across runs: not run state, never removed by a run. */
export const REVIEW_DECISIONS_FILE = 'review/decisions.jsonl';

export function reviewDecisionsPath(outDir: string): string {
  return join(outDir, REVIEW_DECISIONS_FILE);
}

/** data/train-00000-of-00004.parquet (prefix data/train): the name the Hub gives shard `index` of `count`. */
export function parquetShardPath(prefix: string, index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${prefix}-${pad(index)}-of-${pad(count)}.parquet`;
}

/** Matches the shard names of any prefix (a stale shard of an earlier export is found by it). */
export const PARQUET_SHARD_NAME = /^(.+)-(\d{5})-of-(\d{5})\.parquet$/;

/** The run's state, relative to <out> (for OutputStore; the functions above give full paths). */
export const STATE_FILES = {
  manifests: `${STATE_DIR_NAME}/manifests`,
  shards: `${STATE_DIR_NAME}/shards`,
  shardPacks: `${STATE_DIR_NAME}/shards/packs`,
  localErrors: `${STATE_DIR_NAME}/local-errors`,
  batchApi: `${STATE_DIR_NAME}/batch-api`,
  journal: `${STATE_DIR_NAME}/journal`,
  /** Run state removed at the end of a run, still being deleted in the background (storage.ts). */
  trash: `${STATE_DIR_NAME}/trash`,
  /** The client's record of the last run started here (client/runState.ts). */
  lastRun: `${STATE_DIR_NAME}/last-run.json`,
  /** The embedded dev server's record, lock, database and log (client/server/devServer.ts). */
  serverRecord: `${STATE_DIR_NAME}/server.json`,
  serverLock: `${STATE_DIR_NAME}/server.lock`,
  serverDb: `${STATE_DIR_NAME}/temporal.db`,
  serverLog: `${STATE_DIR_NAME}/temporal.log`,
} as const;

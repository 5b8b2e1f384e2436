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

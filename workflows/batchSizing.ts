/**
 * Batch sizes for runs without --batch-size (RunInput.adaptiveBatches). Each batch costs about
 * the same orchestration whatever its size (a workflow task, a round trip to the server, some
 * server CPU), so batches aim at TARGET_MS of work: long enough that this cost is a few percent,
 * short enough that a retry redoes little and the window still spreads over the worker's slots.
 *
 * The first guess comes from the discovery summary (documents and bytes); after that, from the
 * stage durations that finished batches report, summed in the counters (carried across
 * continue-as-new). Both are activity results in history, so a replay computes the same sizes.
 *
 * A replay computes them again with the code it runs, and the SDK does not compare activity
 * inputs with the history's: changing a constant or a rule here makes executions in flight
 * compute other ranges than they scheduled. Make such a change behind patched().
 */
import type { Counters, DiscoverySummary, ResolvedRunInput } from '../schemas/index.js';

export const TARGET_MS = 1500;
/**
 * Sizes are rungs of this ladder, so the estimate's noise does not give every batch another size
 * (each new size costs a batchLabels call). 20 docs is the old fixed default: whatever the
 * estimate says, history per document is never more than it was (≤ 0.3 events).
 */
export const SIZES = [20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500] as const;
/** Average document bytes per batch at most: a corpus of big files gets fewer files per batch. */
export const MAX_BATCH_BYTES = 64 * 1024 * 1024;

// Calibrated on the bench corpus (1.4 KB documents, 5-7 ms each through processBatch on a
// loaded 2-core machine): the stage durations a shard records leave out reading the file,
// handing it to the extraction thread and writing the shard, about 2.5× the stages themselves.
const PRIOR_MS_PER_DOC = 5;
const PRIOR_MS_PER_KB = 0.1;
const STAGE_FACTOR = 2.5;
const MS_PER_PROCESSED_DOC = 1;
/** A cache hit reads and parses one shard. */
const MS_PER_CACHE_HIT = 0.5;
/** Documents' worth of weight the first guess keeps against what finished batches measured. */
const PRIOR_WEIGHT_DOCS = 100;

/** Estimated wall milliseconds per document in processBatch. */
export function msPerDocument(discovery: DiscoverySummary, done: Counters): number {
  const avgKb = discovery.documents > 0 ? discovery.bytes / discovery.documents / 1024 : 0;
  const prior = PRIOR_MS_PER_DOC + PRIOR_MS_PER_KB * avgKb;
  const d = done.durationsMs;
  const processed = Math.max(0, done.documentsDone - done.cacheHits);
  const measured =
    STAGE_FACTOR * (d.load + d.chunk + d.generate + d.validate) +
    MS_PER_PROCESSED_DOC * processed +
    MS_PER_CACHE_HIT * done.cacheHits;
  return (prior * PRIOR_WEIGHT_DOCS + measured) / (PRIOR_WEIGHT_DOCS + done.documentsDone);
}

/** The ladder's largest rung not above `docs` (its smallest if none). */
function rungAtMost(docs: number): number {
  let best: number = SIZES[0];
  for (const s of SIZES) if (s <= docs) best = s;
  return best;
}

/**
 * The size of the next batch. `current` is the size the run uses now (undefined before its
 * first batch): it is kept while the target stays within 1.5× of it, so sizes change a few
 * times per run, not with every batch.
 */
export function nextBatchSize(run: ResolvedRunInput, discovery: DiscoverySummary, done: Counters, current?: number): number {
  // LLM documents take seconds each: their batches stay as they were.
  if (run.settings.generator !== 'builtin') return run.batchSize;
  const avgBytes = discovery.documents > 0 ? discovery.bytes / discovery.documents : 0;
  const target = Math.min(
    TARGET_MS / msPerDocument(discovery, done),
    avgBytes > 0 ? MAX_BATCH_BYTES / avgBytes : Infinity,
    // Enough batches to fill the window, in the corpus and in each run before continue-as-new.
    Math.ceil(Math.min(discovery.documents, run.continueAsNewAfter) / run.window),
  );
  if (current !== undefined && target <= current * 1.5 && target >= current / 1.5) return current;
  return rungAtMost(target);
}

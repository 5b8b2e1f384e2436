/**
 * Labels for processing batches (their activity summaries in the UI). The names live in the
 * manifest, not in history, so the batchLabels activity is asked for the labels of the next
 * LABELS_PER_CALL batches at a time, at the size in use; a batch of another size fetches anew.
 * With a fixed size the calls are exactly those the workflow always made.
 */
/** A few KB of history per call, asked for only as batches are scheduled. */
export const LABELS_PER_CALL = 200;

export type FetchLabels = (starts: number[], batchSize: number) => Promise<string[]>;

/** Labels for batches starting before `end` (the corpus, or what this run can schedule). */
export function batchLabeler(fetch: FetchLabels, total: number, end: number): (start: number, size: number) => Promise<string> {
  const labels = new Map<number, string>();
  let labelsSize: number | undefined;
  return async (start, size) => {
    if (size !== labelsSize) {
      labels.clear();
      labelsSize = size;
    }
    if (!labels.has(start)) {
      const starts = [start];
      for (let s = start + size; s < end && starts.length < LABELS_PER_CALL; s += size) starts.push(s);
      const got = await fetch(starts, size);
      starts.forEach((s, i) => labels.set(s, got[i] ?? `documents ${s + 1}–${Math.min(total, s + size)}`));
    }
    return labels.get(start)!;
  };
}

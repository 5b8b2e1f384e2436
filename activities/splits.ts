/**
 * Document-level splits: every pair of a document lands in the same split, so no document's
 * content leaks between train and test. The split is a pure function of the source path.
 */
import { createHash } from 'node:crypto';
import type { SplitSpec } from '../schemas/index.js';

/** A number in [0, 1) from the path's hash: uniform, stable across machines and runs. */
function unitHash(source: string): number {
  const digest = createHash('sha256').update(source).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

export function splitOf(source: string, splits: SplitSpec[]): string {
  const u = unitHash(source);
  let cumulative = 0;
  for (const s of splits) {
    cumulative += s.fraction;
    if (u < cumulative) return s.name;
  }
  return splits.at(-1)!.name; // rounding: fractions that sum to 0.9999999
}

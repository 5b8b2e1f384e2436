/**
 * Short labels for processing batches ("guides/a.md … notes/z.txt (20 docs)"), so each activity
 * in the Temporal UI says which documents it works on. The workflow asks for them a window at a
 * time: the names live in the manifest, not in history.
 */
import { readManifestRange } from './manifest.js';

export interface BatchLabelsInput {
  outDir: string;
  manifestKey: string;
  starts: number[];
  batchSize: number;
  total: number;
}

function short(path: string, max = 48): string {
  return path.length <= max ? path : `…${path.slice(path.length - max + 1)}`;
}

export async function batchLabels(input: BatchLabelsInput): Promise<string[]> {
  const labels: string[] = [];
  for (const start of input.starts) {
    const end = Math.min(input.total, start + input.batchSize);
    const entries = await readManifestRange(input.outDir, input.manifestKey, start, end);
    const first = entries[0]?.source ?? '?';
    const last = entries.at(-1)?.source ?? '?';
    labels.push(entries.length <= 1 ? short(first) : `${short(first)} … ${short(last)} (${entries.length} docs)`);
  }
  return labels;
}

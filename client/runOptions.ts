/**
 * Options a user gives a run, turned into the workflow input, and the run's identity: the
 * workflow id is derived from everything that changes the output, so running the same command
 * again finds the same run instead of starting a new one.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { z } from 'zod';
import { OutputSettings, RunInput, type ResolvedRunInput } from '../schemas/index.js';

export const CorpusExportOptions = z.object({
  inputDir: z.string().min(1),
  outDir: z.string().min(1),
  globs: z.array(z.string()).optional(),
  generateQa: z.boolean().optional(),
  failFast: z.boolean().optional(),
  chunkSize: z.number().int().optional(),
  chunkOverlap: z.number().int().optional(),
  maxPairsPerChunk: z.number().int().optional(),
  maxFileMb: z.number().positive().optional(),
  /** Processing activities in flight at once. */
  concurrency: z.number().int().min(1).max(500).optional(),
  batchSize: z.number().int().min(1).optional(),
  continueAsNewAfter: z.number().int().min(1).optional(),
  noCache: z.boolean().optional(),
  keepIntermediate: z.boolean().optional(),
});
export type CorpusExportOptions = z.infer<typeof CorpusExportOptions>;

export function resolveRunInput(options: CorpusExportOptions): ResolvedRunInput {
  const o = CorpusExportOptions.parse(options);
  const settings = OutputSettings.parse({
    generateQa: o.generateQa ?? false,
    chunkSize: o.chunkSize,
    chunkOverlap: o.chunkOverlap,
    maxPairsPerChunk: o.maxPairsPerChunk,
    maxFileBytes: o.maxFileMb === undefined ? undefined : Math.round(o.maxFileMb * 1024 * 1024),
  });
  if (settings.chunkOverlap >= settings.chunkSize) {
    throw new Error(`--chunk-overlap (${settings.chunkOverlap}) must be smaller than --chunk-size (${settings.chunkSize})`);
  }
  const inputDir = resolve(o.inputDir);
  const outDir = resolve(o.outDir);
  if (inputDir === outDir) throw new Error('--out must not be the input directory itself');
  return RunInput.parse({
    inputDir,
    outDir,
    globs: [...new Set(o.globs ?? [])].sort(),
    settings,
    failFast: o.failFast ?? false,
    window: o.concurrency,
    batchSize: o.batchSize,
    continueAsNewAfter: o.continueAsNewAfter,
    noCache: o.noCache ?? false,
    keepIntermediate: o.keepIntermediate ?? false,
  });
}

/** What makes a run this run: the inputs and every setting that changes the output. */
export function runIdentity(run: ResolvedRunInput): Record<string, unknown> {
  return {
    inputDir: run.inputDir,
    outDir: run.outDir,
    globs: run.globs,
    failFast: run.failFast,
    ...run.settings,
  };
}

/** Stable id: the same inputs and output-changing settings give the same id on any machine. */
export function workflowIdFor(run: ResolvedRunInput): string {
  const identity = JSON.stringify(runIdentity(run));
  return `corpus-qa-${createHash('sha256').update(identity).digest('hex').slice(0, 20)}`;
}

/** Human-readable list of what differs between two identities ("chunkSize 1500 → 800"). */
export function identityChanges(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => `${k} ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`);
}

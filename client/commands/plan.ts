/**
 * --dry-run: what a run would do, from a walk of the input directory alone. It reads no file
 * contents, writes nothing and needs no Temporal server.
 */
import type { ResolvedRunInput } from '../../schemas/index.js';
import { FilePlan } from '../../activities/discover.js';
import { estimateLlmUsage, type LlmEstimate } from '../../activities/generate/estimate.js';
import { estimatePassageCache } from '../../activities/generate/promptCache.js';

export interface RunPlan {
  documents: number;
  bytes: number;
  byKind: Record<string, { documents: number; bytes: number }>;
  knownErrors: number;
  estimatedChunks: number;
  estimatedGenerationCalls: number;
  /** LLM generators only: requests (generation, and judging with --judge) and tokens. */
  llm?: LlmEstimate;
  skipped: number;
  warnings: string[];
}

/** The estimate with what Anthropic's prompt cache would write and read, when the run caches passages. */
function withPassageCache(run: ResolvedRunInput, estimate: LlmEstimate | undefined, chunks: number, textChars: number): LlmEstimate | undefined {
  const { generator, llm } = run.settings;
  if (!estimate || !llm || generator === 'builtin') return estimate;
  const cache = estimatePassageCache(generator, llm, run.settings, chunks, textChars, run.llmRuntime?.batchApi ?? false);
  return cache ? { ...estimate, ...cache } : estimate;
}

/** Rough share of a file's bytes that ends up as text, by kind. */
const TEXT_SHARE: Record<string, number> = { text: 1, markdown: 0.9, html: 0.35, pdf: 0.25, other: 1 };

export async function planRun(run: ResolvedRunInput): Promise<RunPlan> {
  // Counted as the walk goes: --dry-run over a million files holds no list of them.
  const plan = new FilePlan({
    inputDir: run.inputDir,
    outDir: run.outDir,
    globs: run.globs,
    maxFileBytes: run.settings.maxFileBytes,
  });
  let documents = 0;
  const byKind: RunPlan['byKind'] = {};
  let bytes = 0;
  let knownErrors = 0;
  let estimatedChunks = 0;
  let estimatedTextChars = 0;
  const step = run.settings.chunkSize - run.settings.chunkOverlap;
  for await (const f of plan.files()) {
    documents++;
    const k = (byKind[f.kind] ??= { documents: 0, bytes: 0 });
    k.documents++;
    k.bytes += f.size;
    bytes += f.size;
    if (f.error) {
      knownErrors++;
      continue;
    }
    const textChars = f.size * (TEXT_SHARE[f.kind] ?? 1);
    if (textChars > 0) estimatedChunks += Math.max(1, Math.ceil((textChars - run.settings.chunkOverlap) / step));
    estimatedTextChars += textChars;
  }
  return {
    documents,
    bytes,
    byKind,
    knownErrors,
    estimatedChunks,
    estimatedGenerationCalls: run.settings.generateQa ? estimatedChunks : 0,
    llm: withPassageCache(run, estimateLlmUsage(run.settings, estimatedChunks, estimatedTextChars), estimatedChunks, estimatedTextChars),
    skipped: plan.skipped,
    warnings: plan.warnings,
  };
}

/**
 * Schemas shared by the client, the workflow and the activities. Each is written once: it
 * validates data at the edges and gives the TypeScript type through z.infer.
 *
 * The workflow bundle imports this module too, so it must stay free of Node APIs.
 */
import { z } from 'zod';

/** Why a document could not be turned into text. Stable codes: they end up in errors.jsonl. */
export const DocumentErrorReason = z.enum([
  'empty', // zero bytes, or only whitespace after extraction
  'binary', // NUL bytes or mostly control characters
  'invalid_utf8', // bytes that are not valid UTF-8 (and no other encoding was declared)
  'unreadable', // permission denied, vanished, I/O error
  'pdf_broken', // the PDF parser could not open it
  'unsupported_type', // an extension we do not load
  'too_large', // bigger than the configured maximum
  'no_text', // parsed fine but no text came out (e.g. a scanned PDF)
  'processing_failed', // an unexpected error in chunking or generation (a bug): not cached, retried next run
  'too_complex', // nesting, decompressed size or memory beyond the extraction limits (the detail names the limit)
  'timeout', // extraction did not finish within its time budget (the detail names the budget)
  'encrypted', // a password-protected PDF or office file
  'changed_after_discovery', // replaced (symlink, FIFO, another file) or edited between discovery and reading
]);
export type DocumentErrorReason = z.infer<typeof DocumentErrorReason>;

export const DocumentKind = z.enum(['text', 'markdown', 'html', 'pdf', 'other', 'docx', 'epub', 'pptx']);
export type DocumentKind = z.infer<typeof DocumentKind>;

/** Why a generated pair was rejected. Stable codes: they end up in rejected.jsonl. */
export const RejectReason = z.enum([
  'empty',
  'too_short',
  'too_long',
  'not_a_question',
  'not_self_contained', // the question points at text the reader cannot see ("the following", a bare heading)
  'not_grounded', // the answer (or the LLM's supporting quote) is not found in the chunk
  'incomplete_answer', // the answer stops where it introduces what it should contain (":", "such as")
  'answer_repeats_question',
  'duplicate',
  'non_text',
  'malformed_output', // the LLM's answer was not the JSON asked for, even after one repair attempt
  'low_score', // the LLM judge scored the pair below --min-score
  'context_too_long', // the LLM server refused the chunk's request as too long for its context
  'reviewer_rejected', // a person dropped the pair in a review round (corpus-qa review apply)
]);
export type RejectReason = z.infer<typeof RejectReason>;

/** What a question asks for, read from its wording (activities/questionForm.ts); reported in stats.json. */
export const QuestionForm = z.enum(['what', 'which', 'who', 'when', 'where', 'how_many', 'how', 'why', 'yes_no', 'comparison', 'other']);
export type QuestionForm = z.infer<typeof QuestionForm>;

/** The kinds of question an LLM prompt can ask for (--question-types): the forms stats.json counts, but 'other'. */
export const QuestionKind = QuestionForm.exclude(['other']);
export type QuestionKind = z.infer<typeof QuestionKind>;

export const TrainingFormat = z.enum(['qa', 'messages', 'alpaca', 'prompt-completion']);
export type TrainingFormat = z.infer<typeof TrainingFormat>;

/** How the data files are written: JSON Lines (the default) or Parquet shards (see docs/parquet.md). */
export const FileFormat = z.enum(['jsonl', 'parquet']);
export type FileFormat = z.infer<typeof FileFormat>;

export const SplitSpec = z.object({
  name: z.string().regex(/^[A-Za-z][\w-]*$/, 'split names are letters, digits, _ and -'),
  fraction: z.number().positive().max(1),
});
export type SplitSpec = z.infer<typeof SplitSpec>;

/**
 * How an LLM backend is called. This is workflow input, visible in the Temporal UI: model,
 * server and prompt only, never an API key.
 */
export const LlmSettings = z.object({
  model: z.string().min(1),
  /** OpenAI-compatible or Anthropic server; absent: the SDK's default (or OPENAI_BASE_URL / ANTHROPIC_BASE_URL). */
  baseUrl: z.url().optional(),
  /** Prompt template file activities/generate/prompts/<template>.txt; its name is its version. */
  template: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/).default('qa-v2'),
  /** Language the questions and answers are written in; 'auto': each document's own (activities/language.ts). */
  language: z.string().regex(/^[\p{L}][\p{L} ()-]{0,39}$/u).default('English'),
  /**
   * The only kinds of question the prompt asks for; absent: every kind, mixed. Kept in
   * QuestionKind order without repeats, so the same set is the same run whatever order it was given in.
   */
  questionTypes: z
    .array(QuestionKind)
    .min(1)
    .transform((kinds) => QuestionKind.options.filter((k) => kinds.includes(k)))
    .optional(),
  temperature: z.number().min(0).max(2).optional(),
  /** Reply token limit; absent: the server's default (OpenAI-compatible) or 4096 (Anthropic). */
  maxTokens: z.number().int().min(16).max(100_000).optional(),
  /** Per-request timeout; a timed-out request is retried by Temporal like a 5xx. */
  timeoutMs: z.number().int().min(100).max(3_600_000).default(120_000),
  /** Score each pair that passed the rule checks with the same backend; below minScore: rejected. */
  judge: z.boolean().default(false),
  minScore: z.number().min(1).max(5).default(3),
  /**
   * Anthropic prompt caching of passages long enough to be cached (activities/generate/promptCache.ts).
   * Absent: on. False (--no-prompt-cache): every passage in the user message, as before caching.
   * Never written as true, so the settings, and the workflow ids, of earlier runs stay as they were.
   */
  promptCache: z.literal(false).optional(),
});
export type LlmSettings = z.infer<typeof LlmSettings>;

/** Settings that change what a run writes. They key the workflow id and the shards. */
export const OutputSettings = z.object({
  generateQa: z.boolean().default(false),
  generator: z.enum(['builtin', 'openai', 'anthropic']).default('builtin'),
  /** LLM backends only (absent for 'builtin'). No secrets: keys come from the worker's environment. */
  llm: LlmSettings.optional(),
  chunkSize: z.number().int().min(200).max(100_000).default(1500),
  chunkOverlap: z.number().int().min(0).max(10_000).default(150),
  maxPairsPerChunk: z.number().int().min(1).max(50).default(8),
  maxFileBytes: z.number().int().positive().default(50 * 1024 * 1024),
  /** Row shape of the passed pairs: plain QA, chat messages, Alpaca, or prompt/completion. */
  format: TrainingFormat.default('qa'),
  /** Document-level splits; fractions sum to 1. */
  splits: z.array(SplitSpec).min(1).default([{ name: 'train', fraction: 1 }]),
  /** SPDX id (or other) written to the dataset card's `license` field; '' for none. */
  license: z.string().default(''),
  /**
   * 'parquet' for Parquet data files; absent (never 'jsonl') for JSON Lines, so the identity,
   * stats.json and card of a JSON Lines run are what they were before Parquet existed.
   */
  fileFormat: z.literal('parquet').optional(),
  /** Parquet only (--shard-rows): rows per shard at most; shards are cut at ~500 MB anyway. */
  parquetShardRows: z.number().int().min(1).optional(),
});
export type OutputSettings = z.infer<typeof OutputSettings>;

/**
 * How LLM requests are sent. None of it changes what a request answers, so none of it is in
 * the run's identity or the shard keys. Absent for the built-in generator, and in histories
 * written before it existed.
 */
export const LlmRuntime = z.object({
  /** Requests in flight at once per worker, over all batches and documents. */
  concurrency: z.number().int().min(1).max(1024).default(16),
  /** Caps for providers with known quotas: requests and tokens per minute, per worker. */
  rpm: z.number().positive().optional(),
  tpm: z.number().positive().optional(),
  /** A run that gets no answer at all for this long ends (resumable) instead of waiting on. */
  stallSeconds: z.number().positive().max(7 * 24 * 3600).default(300),
  /** Stop cleanly once the dataset's LLM cost (paid now or earlier, in USD) reaches this. */
  maxCostUsd: z.number().positive().optional(),
  /** USD per million tokens; override the price table. */
  priceIn: z.number().min(0).optional(),
  priceOut: z.number().min(0).optional(),
  /** Send requests through the provider's Batch API (half price, hours), as durable waits. */
  batchApi: z.boolean().default(false),
  /** First wait between looks at a provider batch; it grows by half each time, up to 10 minutes. */
  batchPollSeconds: z.number().positive().max(3600).default(30),
});
export type LlmRuntime = z.infer<typeof LlmRuntime>;

/** Everything the workflow needs to run. Small: it is visible in the Temporal UI. */
export const RunInput = z.object({
  inputDir: z.string().min(1), // absolute
  outDir: z.string().min(1), // absolute
  globs: z.array(z.string()).default([]),
  settings: OutputSettings,
  failFast: z.boolean().default(false),
  /**
   * Documents per processing activity: fewer history events per document. With
   * `adaptiveBatches` it is the size of an LLM run's batches only (and of any worker that
   * predates adaptive sizing).
   */
  batchSize: z.number().int().min(1).max(1000).default(20),
  /**
   * Set when no --batch-size was given: the workflow sizes batches by work (see
   * workflows/batchSizing.ts). Absent in inputs written before it existed, so executions
   * started by older clients keep fixed batches of `batchSize`, command for command.
   */
  adaptiveBatches: z.boolean().optional(),
  /** Processing activities scheduled at once (queued at the server beyond the worker's slots). */
  window: z.number().int().min(1).max(500).default(4),
  /** Documents processed by one workflow run before it continues as new. */
  continueAsNewAfter: z.number().int().min(1).default(5000),
  /** Process every document again even if its shard exists (the shard is rewritten). */
  noCache: z.boolean().default(false),
  /** Keep manifest and shards after a successful export (they make re-runs incremental). */
  keepIntermediate: z.boolean().default(false),
  /**
   * How LLM requests are sent. None of it changes what a request answers, so none of it is in
   * the run's identity or the shard keys. Absent in histories written before it existed.
   */
  llmRuntime: LlmRuntime.optional(),
});
export type RunInput = z.input<typeof RunInput>;
export type ResolvedRunInput = z.output<typeof RunInput>;

/** One line of the manifest. Sorted by `source`; `index` is the position in that order. */
export const ManifestEntry = z.object({
  index: z.number().int().nonnegative(),
  source: z.string(), // relative to the input directory, '/' separators
  kind: DocumentKind,
  size: z.number().int().nonnegative(),
  sha256: z.string(), // '' when the file could not be read during discovery
  error: z.object({ reason: DocumentErrorReason, detail: z.string() }).optional(),
  /** The name is not valid UTF-8: `source` has its bad bytes and `%` percent-encoded (see activities/readDocument.ts). */
  escapedSource: z.boolean().optional(),
  /** Reached through a symlink: the real path relative to the input directory's real path, escaped the same way. */
  target: z.string().optional(),
  /** `dev:ino` of the file discovery hashed; processing reads only that file. */
  fileId: z.string().optional(),
});
export type ManifestEntry = z.infer<typeof ManifestEntry>;

export const DiscoverySummary = z.object({
  manifestKey: z.string(),
  documents: z.number().int(),
  bytes: z.number().int(),
  byKind: z.record(z.string(), z.number().int()),
  skipped: z.number().int(), // symlinks that escape or loop, hidden/output dirs are not counted
  warnings: z.array(z.string()), // at most a few; the full list is in the manifest's sidecar
});
export type DiscoverySummary = z.infer<typeof DiscoverySummary>;

/** A chunk of a document's extracted text. Offsets are Unicode code points into that text. */
export const Chunk = z.object({
  chunkId: z.string(),
  index: z.number().int(),
  text: z.string(),
  charStart: z.number().int(),
  charEnd: z.number().int(),
  heading: z.string().optional(), // the nearest heading above the chunk, when known
  /** The document's title (its first top-level heading or title line), when it has one. */
  title: z.string().optional(),
  /** Headings from the outermost down to `heading`: the chunk's place in the document. */
  section: z.array(z.string()).optional(),
  /** The document's language (ISO 639-1, activities/language.ts), when the detector is sure. */
  language: z.string().optional(),
  /** For sources with pages (PDF): the pages the chunk starts and ends on, 1-based. */
  pageStart: z.number().int().optional(),
  pageEnd: z.number().int().optional(),
});
export type Chunk = z.infer<typeof Chunk>;

/** A generated pair after validation, as stored in a document's shard. */
export const ShardPair = z.object({
  question: z.string(),
  answer: z.string(),
  chunkId: z.string(),
  charStart: z.number().int(),
  charEnd: z.number().int(),
  /** The chunk's pages (1-based), 0 for sources without pages. */
  pageStart: z.number().int(),
  pageEnd: z.number().int(),
  generator: z.string(),
  /** The answer's evidence in the document's extracted text (code points); -1 when not found. */
  answerStart: z.number().int(),
  answerEnd: z.number().int(),
  questionForm: QuestionForm,
  reasons: z.array(RejectReason), // empty = passed
  detail: z.string(),
});
export type ShardPair = z.infer<typeof ShardPair>;

/** Per-stage durations in milliseconds. */
export const StageDurations = z.object({
  load: z.number(),
  chunk: z.number(),
  generate: z.number(),
  validate: z.number(),
});
export type StageDurations = z.infer<typeof StageDurations>;

/** Counters the workflow keeps. Bounded in size whatever the corpus. */
export const Counters = z.object({
  documentsDone: z.number().int(),
  loaded: z.number().int(),
  failed: z.number().int(),
  failedByReason: z.record(z.string(), z.number().int()),
  chunks: z.number().int(),
  pairsGenerated: z.number().int(),
  pairsPassed: z.number().int(),
  pairsRejected: z.number().int(),
  rejectedByReason: z.record(z.string(), z.number().int()),
  cacheHits: z.number().int(),
  durationsMs: StageDurations,
  /** LLM requests that returned an answer, and their tokens (0 for the built-in generator). */
  llmRequests: z.number().int(),
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  /**
   * Every LLM figure by name (see activities/generate/usage.ts): attempts, failures by kind,
   * tokens and cost by stage, journal and shard reuse. A flat record so the workflow can add it
   * up without knowing the names. Absent in counters carried by runs that predate it.
   */
  llm: z.record(z.string(), z.number()).optional(),
});
export type Counters = z.infer<typeof Counters>;

/** A document error as the workflow sees it (errors.jsonl row shape, camel-cased). */
export const DocumentFailure = z.object({
  index: z.number().int(),
  source: z.string(),
  stage: z.enum(['discover', 'load', 'chunk', 'generate', 'validate', 'process']),
  reason: DocumentErrorReason,
  detail: z.string(),
});
export type DocumentFailure = z.infer<typeof DocumentFailure>;

export const BatchSummary = z.object({
  start: z.number().int(),
  end: z.number().int(), // exclusive; may be short of the requested end under fail-fast
  counters: Counters,
  /** First failure in manifest order within the batch, if any (fail-fast needs it). */
  firstFailure: DocumentFailure.optional(),
  /** A few recent failures for the progress view; the full list is written by export. */
  sampleFailures: z.array(DocumentFailure),
  /** Set when the batch stopped early because the run's --max-cost was reached. */
  budgetReached: z.boolean().optional(),
});
export type BatchSummary = z.infer<typeof BatchSummary>;

export const Phase = z.enum(['discovering', 'batching', 'processing', 'exporting', 'done', 'failed']);
export type Phase = z.infer<typeof Phase>;

/** What the `progress` query returns. */
export const Progress = z.object({
  phase: Phase,
  documents: z.number().int(),
  counters: Counters,
  inFlight: z.number().int(),
  recentFailures: z.array(DocumentFailure),
  runsSoFar: z.number().int(), // workflow runs including this one (continue-as-new count + 1)
  /** --batch-api: where the provider batches stand. */
  batches: z
    .object({
      round: z.number().int(),
      pending: z.number().int(),
      batch: z.object({ id: z.string(), status: z.string(), done: z.number().int(), total: z.number().int() }).optional(),
    })
    .optional(),
  /**
   * What the batches in flight have done since they started, from their last heartbeats (added
   * by the client: the workflow hears of a batch only when it ends). LLM runs move per request.
   */
  live: z
    .object({
      documentsDone: z.number().int(),
      llm: z.record(z.string(), z.number()),
      inFlight: z.number().int(),
      waiting: z.string().optional(),
    })
    .optional(),
});
export type Progress = z.infer<typeof Progress>;

/** A share in [0, 1], rounded to 4 decimals so stats.json and the card never print float noise. */
const Share = z.number().min(0).max(1);

/**
 * What the passed pairs are worth beyond their count (stats.json `quality`, the card's
 * "Quality" section). "Passed" means written to a data file, after the corpus-wide dedup.
 */
export const DatasetQuality = z.object({
  /** Passed pairs by question form (activities/questionForm.ts); every form present, in enum order. */
  questionForms: z.record(QuestionForm, z.number().int()),
  /** The most frequent form and its share of the passed pairs; null when no pair passed. */
  largestForm: z.object({ form: QuestionForm, share: Share }).nullable(),
  coverage: z.object({
    chunks: z.number().int(),
    chunksWithPairs: z.number().int(),
    chunkShare: Share,
    /** Documents loaded (errors excluded). */
    documents: z.number().int(),
    documentsWithPairs: z.number().int(),
    documentShare: Share,
    /** Words of the loaded documents' extracted text. */
    words: z.number().int(),
    pairsPer1000Words: z.number().min(0),
  }),
  /** Passed pairs whose answer is pinned to its evidence (answer_start ≥ 0). */
  evidence: z.object({ pinned: z.number().int(), pinnedShare: Share }),
  duplicates: z.object({
    withinDocuments: z.number().int(),
    acrossDocuments: z.number().int(),
    /** Duplicates among all generated pairs (passed + rejected). */
    shareOfGenerated: Share,
    /** The rule, in words (activities/dedup.ts), also printed in the card. */
    rule: z.string(),
  }),
  /**
   * Cross-split leakage: passed pairs whose normalized question, or the content words of whose
   * answer, a passed pair of another split already had (counted once per pair, in manifest order).
   */
  leakage: z.object({
    pairs: z.number().int(),
    byQuestion: z.number().int(),
    byAnswer: z.number().int(),
    /** The first few, in manifest order: a pair and one pair of another split it collides with. */
    examples: z.array(
      z.object({ id: z.string(), split: z.string(), collidesWith: z.string(), otherSplit: z.string(), by: z.enum(['question', 'answer']) }),
    ),
  }),
});
export type DatasetQuality = z.infer<typeof DatasetQuality>;

/** The run's final tally, counted from what the export wrote (the workflow's counters are a live estimate). */
export const ExportSummary = z.object({
  /** Documents whose text was used, and the others by reason (errors.jsonl). */
  loaded: z.number().int(),
  failedByReason: z.record(z.string(), z.number().int()),
  files: z.record(z.string(), z.object({ rows: z.number().int(), sha256: z.string() })),
  pairsPassed: z.number().int(),
  pairsRejected: z.number().int(),
  duplicatesAcrossDocuments: z.number().int(),
  /** Rejected pairs by primary reason, as written (cross-document duplicates included). */
  rejectedByReason: z.record(z.string(), z.number().int()).default({}),
  chunks: z.number().int(),
  errors: z.number().int(),
  /** With --generate-qa: the quality figures stats.json holds. */
  quality: DatasetQuality.optional(),
});
export type ExportSummary = z.infer<typeof ExportSummary>;

/**
 * The parts of stats.json that are read back (by verify, tests, scripts); the rest (settings,
 * versions, timings) is for people and passes through unchecked.
 */
export const StatsJson = z.looseObject({
  documents: z.looseObject({
    discovered: z.number().int(),
    loaded: z.number().int(),
    failed: z.number().int(),
    failedByReason: z.record(z.string(), z.number().int()),
  }),
  chunks: z.number().int(),
  pairs: z.object({
    generated: z.number().int(),
    passed: z.number().int(),
    rejected: z.number().int(),
    rejectedByReason: z.record(z.string(), z.number().int()),
    duplicatesAcrossDocuments: z.number().int(),
    splits: z.record(z.string(), z.number().int()),
  }),
  /** With --generate-qa only. */
  quality: DatasetQuality.optional(),
  /** Only when <out>/review/decisions.jsonl exists: what the review decided. */
  review: z.lazy(() => ReviewTally).optional(),
  files: z.record(z.string(), z.object({ rows: z.number().int().optional(), sha256: z.string() })),
});
export type StatsJson = z.infer<typeof StatsJson>;

export const RunResult = z.object({
  workflowId: z.string(),
  outDir: z.string(),
  documents: z.number().int(),
  /** Entries skipped during discovery (symlink loops, links out of the input), at most 20. */
  warnings: z.array(z.string()).default([]),
  counters: Counters,
  export: ExportSummary,
});
export type RunResult = z.infer<typeof RunResult>;

/** Rows as written to the output files. Snake case: that is what dataset users expect. */
/**
 * The columns every pair row carries after its text, in this order: where the pair comes from.
 * Written once: the row builders (activities/exportRows.ts) and the card's features
 * (activities/datasetCard.ts) take their keys and order from here.
 */
export const RowMeta = {
  source: z.string(),
  chunk_id: z.string(),
  char_start: z.number().int(),
  char_end: z.number().int(),
  /** Pages of the passage (1-based, inclusive); 0 for sources without pages. */
  page_start: z.number().int(),
  page_end: z.number().int(),
  answer_start: z.number().int(),
  answer_end: z.number().int(),
  question_type: QuestionForm,
  generator: z.string(),
};
export type RowMeta = z.infer<z.ZodObject<typeof RowMeta>>;

export const QaRow = z.object({
  id: z.string(),
  question: z.string(),
  answer: z.string(),
  ...RowMeta,
});
export type QaRow = z.infer<typeof QaRow>;

export const RejectedRow = QaRow.extend({
  reason: RejectReason,
  reasons: z.array(RejectReason).min(1),
  detail: z.string(),
  /** For `duplicate`: the id of the pair that was kept; '' otherwise (never null). */
  duplicate_of: z.string(),
});

export const MessagesRow = z.object({
  id: z.string(),
  messages: z.tuple([
    z.object({ role: z.literal('user'), content: z.string() }),
    z.object({ role: z.literal('assistant'), content: z.string() }),
  ]),
  ...RowMeta,
});

export const AlpacaRow = z.object({ id: z.string(), instruction: z.string(), input: z.string(), output: z.string(), ...RowMeta });

export const PromptCompletionRow = z.object({ id: z.string(), prompt: z.string(), completion: z.string(), ...RowMeta });

/** The schema of a passed-pair row, per training format. */
export const TRAINING_ROW_SCHEMAS = {
  qa: QaRow,
  messages: MessagesRow,
  alpaca: AlpacaRow,
  'prompt-completion': PromptCompletionRow,
} as const;
export type RejectedRow = z.infer<typeof RejectedRow>;

/** A passed-pair row as read back; a reviewed output's rows also carry `edited`. */
export function trainingRowSchema(format: TrainingFormat, reviewed: boolean): z.ZodType<Record<string, unknown>> {
  const base = TRAINING_ROW_SCHEMAS[format] as z.ZodObject;
  return reviewed ? base.extend({ edited: z.boolean() }) : base;
}

export const ErrorRow = z.object({
  source: z.string(),
  stage: z.string(),
  reason: DocumentErrorReason,
  detail: z.string(),
});
export type ErrorRow = z.infer<typeof ErrorRow>;

export const ChunkRow = z.object({
  id: z.string(),
  text: z.string(),
  source: z.string(),
  chunk_id: z.string(),
  char_start: z.number().int(),
  char_end: z.number().int(),
  page_start: z.number().int(),
  page_end: z.number().int(),
});
export type ChunkRow = z.infer<typeof ChunkRow>;

export { addCounters, emptyCounters } from './counters.js';

/**
 * A heading found in a document's extracted text. Offsets are JavaScript string (UTF-16)
 * indices into that text; it never leaves the worker, so it needs no code-point offsets.
 */
export const Heading = z.object({
  text: z.string(),
  level: z.number().int().min(1).max(6),
  start: z.number().int(),
  end: z.number().int(),
});
export type Heading = z.infer<typeof Heading>;

/**
 * One answered LLM request in the journal (<out>/.corpus-qa/journal): the unit of paid work.
 * Stored as soon as the reply arrives and before it is used, keyed by everything that decides
 * the answer, so a retry, a resume or a re-run with other validation reads it instead of paying.
 */
export const JournalEntry = z.object({
  v: z.literal(1),
  key: z.string(),
  /** Which request this was (generate, repair, continue, judge...), for people reading the files. */
  purpose: z.string(),
  reply: z.object({
    text: z.string(),
    promptTokens: z.number().int().nonnegative(),
    completionTokens: z.number().int().nonnegative(),
    truncated: z.boolean(),
    finishReason: z.string(),
    /** Anthropic prompt caching: prompt tokens read from / written to the cache (part of promptTokens); absent: none. */
    cacheReadTokens: z.number().int().positive().optional(),
    cacheWriteTokens: z.number().int().positive().optional(),
  }),
  /** USD per million tokens in force when it was paid (the price table changes over time). */
  costMicroUsd: z.number().int().nonnegative(),
  viaBatch: z.boolean(),
});
export type JournalEntry = z.infer<typeof JournalEntry>;

/**
 * A request the server refused as too long for its context, kept under the request's own key
 * once the chunk was split by it (activities/generate/contextFit.ts): a rerun reads the same
 * words and takes the same split without asking. No `reply`, so a version that does not know
 * this entry takes it for a corrupt one and asks again.
 */
export const REFUSED_FOR_SIZE = 'refused_for_size';
export const SizeRefusalEntry = z.object({
  v: z.literal(1),
  key: z.string(),
  purpose: z.literal(REFUSED_FOR_SIZE),
  /** What the server said, the numbers of its context included. */
  serverSaid: z.string().min(1),
});
export type SizeRefusalEntry = z.infer<typeof SizeRefusalEntry>;

/** What the journal holds under a request's key: the reply, or the server's refusal for size. */
export const JournalRecord = z.union([SizeRefusalEntry, JournalEntry]);
export type JournalRecord = z.infer<typeof JournalRecord>;

/** What a document's shard holds: its chunks' pairs (or chunk rows), or why it failed. */
export const ShardContent = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('ok'),
    chunks: z.number().int(),
    /** Words in the document's extracted text: the base of pairs per 1,000 words. */
    words: z.number().int().default(0),
    /** Chunk rows, kept only when the run exports chunks (no --generate-qa). */
    chunkRows: z.array(Chunk),
    pairs: z.array(ShardPair),
    durationsMs: StageDurations,
    /** LLM figures for this document (activities/generate/usage.ts); absent for the built-in generator. */
    llm: z.record(z.string(), z.number()).optional(),
    /**
     * A document of more than one page of chunks keeps its chunk rows and pairs in this many
     * part files beside the shard (ShardPart, activities/shardParts.ts), not inline: `chunkRows`
     * and `pairs` are then empty. Absent for every other document (their shards are as before).
     */
    parts: z.number().int().min(1).optional(),
  }),
  z.object({
    status: z.literal('error'),
    stage: z.enum(['load', 'chunk', 'generate', 'validate', 'process']),
    reason: DocumentErrorReason,
    detail: z.string(),
    durationsMs: StageDurations,
  }),
]);
export type ShardContent = z.infer<typeof ShardContent>;

/** The shards of documents one batch finished, in the order they finished (activities/shardPacks.ts). */
export const ShardPack = z
  .object({ keys: z.array(z.string()), shards: z.array(ShardContent) })
  .refine((p) => p.keys.length === p.shards.length, 'a pack needs one shard per key');
export type ShardPack = z.infer<typeof ShardPack>;

/** A pack's keys, beside it: what a catalog reads to know the pack without reading its shards. */
export const ShardPackKeys = z.array(z.string().regex(/^[0-9a-f]{64}$/));

/** One page of a big document's shard: its chunks' rows (chunk export) or pairs, in order. */
export const ShardPart = z.object({
  chunkRows: z.array(Chunk),
  pairs: z.array(ShardPair),
});
export type ShardPart = z.infer<typeof ShardPart>;

/**
 * A reviewer's decision on one passed pair, as stored in <out>/review/decisions.jsonl (one row a
 * pair id, sorted by id). `question` and `answer` are the pair as generated: an edited row's
 * original text is needed again when a later review changes its decision.
 * An edit's empty `question_edit` / `answer_edit` leaves that side as generated.
 */
export const ReviewDecision = z.object({
  id: z.string().min(1),
  decision: z.enum(['keep', 'drop', 'edit']),
  question: z.string(),
  answer: z.string(),
  question_edit: z.string(),
  answer_edit: z.string(),
});
export type ReviewDecision = z.infer<typeof ReviewDecision>;

/** How many passed pairs of this output a decision applied to (stats.json `review`, the card). */
export const ReviewTally = z.object({
  reviewed: z.number().int(),
  kept: z.number().int(),
  dropped: z.number().int(),
  edited: z.number().int(),
});
export type ReviewTally = z.infer<typeof ReviewTally>;

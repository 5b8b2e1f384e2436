/**
 * --batch-api: the requests a run needs go through the provider's Batch API (half price, answers
 * within hours) instead of one by one. The workflow drives rounds of four short activities; the
 * hours of waiting in between are workflow timers, so no worker sits in a slot meanwhile and none
 * needs to be up at all.
 *
 *   collect   run the normal pipeline over the documents with a generator that answers from the
 *             journal and, for every request it cannot, writes the request to a file instead
 *   submit    that file as provider batches (ids recorded before they go into history)
 *   poll      one look at a batch's state
 *   fetch     its results into the journal
 *
 * Each round gets further into the pipeline (generation, then repairs and continuations of
 * those replies, then the judge); when a round collects nothing, every document's requests are
 * in the journal and normal processing runs from it, sending nothing. Failed items are simply
 * collected again in the next round.
 */
import { ApplicationFailure } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import type { LlmSettings, ResolvedRunInput } from '../schemas/index.js';
import { addReply, type LlmUsage } from '../schemas/llmUsage.js';
// batchApi.ts (and the whole SDKs it uses) is imported when a provider is first needed, not by every command.
import type { BatchItem, BatchProvider, BatchState } from './generate/batchApi.js';
import { apiKeyFromEnv } from './generate/chat.js';
import { createGenerator } from './generate/index.js';
import { Journal } from './generate/journal.js';
import { cacheSavingMicroUsd, costMicroUsd, priceFor, replyCostMicroUsd } from './generate/pricing.js';
import { estimatePromptTokens, RequestPending, type LlmCall } from './generate/requester.js';
import { readManifestRange } from './manifest.js';
import { loadOrProcess, shardSettingsKey } from './processBatch.js';
import { shardCatalog, ShardPackWriter } from './shardPacks.js';
import { batchRequestsPath, nameUnder, readParsedFrom, readRequiredFrom, scratchDir, sha256Hex, STATE_NAMES, storeFor, type OutputStore } from './storage.js';
import { commitStagedFile } from './export/commit.js';
import { StagedLineWriter } from './export/staging.js';

export interface CollectInput {
  run: ResolvedRunInput;
  manifestKey: string;
  start: number;
  end: number;
  round: number;
}

export interface CollectSummary {
  /** Requests not in the journal yet, written to `file`. */
  pending: number;
  file: string;
  /** Documents still waiting for some of them. */
  documentsPending: number;
  /** List-price estimate of the pending requests at the batch discount, micro-USD. */
  estimatedCostMicroUsd: number;
}

const CollectedRequest = z.object({
  customId: z.string(),
  purpose: z.string(),
  system: z.string(),
  /** The cached passage block (promptCache.ts); absent: none. */
  cachedPrefix: z.string().optional(),
  messages: z.array(z.object({ role: z.enum(['user', 'assistant']), content: z.string() })),
  maxTokens: z.number().int().optional(),
});
type CollectedRequest = z.infer<typeof CollectedRequest>;

const Submitted = z.object({
  batches: z.array(z.object({ id: z.string(), group: z.number().int(), items: z.number().int() })),
  /** Submissions begun and not yet written down: after a crash, looked for before sending again. */
  intents: z.array(z.object({ group: z.number().int(), tag: z.string(), at: z.number(), items: z.number().int() })).default([]),
});

/** Names one submission to the provider: random, so two runs with the same settings never share one; kept in its intent for the retries. */
function newSubmissionTag(): string {
  return `corpus-qa-${randomBytes(12).toString('hex')}`;
}

export interface SubmittedBatch {
  id: string;
  items: number;
}

function llmOf(run: ResolvedRunInput): { backend: 'openai' | 'anthropic'; llm: LlmSettings } {
  const g = run.settings.generator;
  if (g === 'builtin' || !run.settings.llm) throw new Error('--batch-api needs --generator openai or anthropic');
  return { backend: g, llm: run.settings.llm };
}

async function providerFor(run: ResolvedRunInput): Promise<BatchProvider> {
  const { backend, llm } = llmOf(run);
  const key = apiKeyFromEnv(backend);
  const { anthropicBatchProvider, openAiBatchProvider } = await import('./generate/batchApi.js');
  return backend === 'openai' ? openAiBatchProvider(llm, key) : anthropicBatchProvider(llm, key);
}

export async function collectBatchRequests(input: CollectInput, heartbeat: (d: unknown) => void): Promise<CollectSummary> {
  const { run } = input;
  const collected = new Map<string, LlmCall>();
  const generator = createGenerator(run.settings, {
    outDir: run.outDir,
    runtime: run.llmRuntime,
    collect: (key, call) => {
      if (!collected.has(key)) collected.set(key, call);
    },
  });
  const settingsKey = shardSettingsKey(run);
  const packs = new ShardPackWriter(run.outDir);
  const stored = packs.lookup(run.noCache ? undefined : (await shardCatalog(run.outDir)).reader());
  let documentsPending = 0;
  const PAGE = 200;
  for (let from = input.start; from < input.end; from += PAGE) {
    const entries = await readManifestRange(run.outDir, input.manifestKey, from, Math.min(input.end, from + PAGE));
    for (const entry of entries) {
      try {
        // A document whose every request is in the journal gets its shard now, as usual.
        const done = await loadOrProcess({ run }, entry, settingsKey, { heartbeat }, generator, undefined, stored);
        if (done.toStore) packs.add(done.toStore.key, done.toStore.shard);
        if (packs.full) await packs.flush();
      } catch (err) {
        if (!(err instanceof RequestPending)) throw err;
        documentsPending++;
      }
    }
    await packs.flush();
    heartbeat({ index: from });
  }
  const store = storeFor(run.outDir);
  const name = STATE_NAMES.batchRequests(settingsKey, input.round);
  // The workflow carries the file's local path, or its s3:// URL (staged here, then uploaded).
  const local = store.kind === 'local';
  const file = local ? batchRequestsPath(run.outDir, settingsKey, input.round) : store.describe(name);
  const staging = local ? file : join(scratchDir(), 'batch-api', `${sha256Hex(file).slice(0, 16)}.jsonl`);
  const writer = await new StagedLineWriter(staging).open();
  const { llm } = llmOf(run);
  const price = priceFor(llm, run.llmRuntime ?? {});
  let estimate = 0;
  for (const [key, call] of collected) {
    const row: CollectedRequest = {
      customId: key,
      purpose: call.purpose,
      system: call.system,
      ...(call.cachedPrefix !== undefined ? { cachedPrefix: call.cachedPrefix } : {}),
      messages: call.messages,
      ...(call.maxTokens ? { maxTokens: call.maxTokens } : {}),
    };
    await writer.writeLine(JSON.stringify(row));
    // A cached prefix is counted at the full input price: whether the provider caches it is its call.
    const promptTokens = estimatePromptTokens(call);
    estimate += costMicroUsd(price, promptTokens, call.maxTokens ?? llm.maxTokens ?? 400, true);
  }
  // Complete and fsynced: only now may a reader see it.
  await commitStagedFile(store, name, await writer.finish());
  return { pending: collected.size, file, documentsPending, estimatedCostMicroUsd: estimate };
}

/** The store and name of a batch file as the workflow carries it (a local path, or its s3:// URL). */
function batchFile(run: ResolvedRunInput, file: string): { store: OutputStore; name: string } {
  const store = storeFor(run.outDir);
  const name = store.kind === 's3' ? file.slice(store.root.length + 1) : nameUnder(run.outDir, file);
  return { store, name };
}

async function readCollected(run: ResolvedRunInput, file: string): Promise<CollectedRequest[]> {
  const { store, name } = batchFile(run, file);
  const text = await readRequiredFrom(store, name, 'the requests collected for a provider batch');
  return text.split('\n').filter(Boolean).map((l) => CollectedRequest.parse(JSON.parse(l)));
}

/**
 * Submits the round's requests as provider batches. Idempotent: each batch id is written down
 * as soon as the provider gives it, so a retry after a crash submits only what was not yet. And
 * an intent is written down before each submission: a crash between the provider accepting a
 * batch and our writing its id leaves the intent, and the retry looks for that batch at the
 * provider (findSubmitted) instead of paying for it twice.
 */
export async function submitBatchRequests(input: { run: ResolvedRunInput; file: string }, heartbeat: (d: unknown) => void): Promise<SubmittedBatch[]> {
  const items: BatchItem[] = (await readCollected(input.run, input.file)).map((r) => ({
    customId: r.customId,
    request: { system: r.system, ...(r.cachedPrefix !== undefined ? { cachedPrefix: r.cachedPrefix } : {}), messages: r.messages, ...(r.maxTokens ? { maxTokens: r.maxTokens } : {}) },
  }));
  const provider = await providerFor(input.run);
  const { splitIntoBatches } = await import('./generate/batchApi.js');
  const groups = splitIntoBatches(items, provider);
  const { store, name } = batchFile(input.run, input.file);
  const recordName = `${name}.submitted.json`;
  const record = (await readParsedFrom(store, recordName, Submitted)) ?? { batches: [], intents: [] };
  for (const [group, batch] of groups.entries()) {
    if (record.batches.some((b) => b.group === group)) continue;
    const intent = record.intents.find((i) => i.group === group);
    let id = intent ? await findSubmitted(provider, intent, new Set(record.batches.map((b) => b.id))) : undefined;
    if (id === undefined) {
      const tag = intent?.tag ?? newSubmissionTag();
      record.intents = [...record.intents.filter((i) => i.group !== group), { group, tag, at: Date.now(), items: batch.length }];
      await store.write(recordName, JSON.stringify(record), true);
      id = await provider.submit(batch, undefined, tag);
    }
    record.batches.push({ id, group, items: batch.length });
    record.intents = record.intents.filter((i) => i.group !== group);
    await store.write(recordName, JSON.stringify(record), true);
    heartbeat({ submitted: record.batches.length });
  }
  return record.batches.sort((a, b) => a.group - b.group).map((b) => ({ id: b.id, items: b.items }));
}

/**
 * The batch an earlier attempt's intent made, if the provider has it. A server that cannot list
 * batches (some OpenAI-compatible ones) answers with a final error: then the batch is submitted
 * again, as before intents existed, rather than never.
 */
async function findSubmitted(provider: BatchProvider, intent: { tag: string; items: number; at: number }, known: Set<string>): Promise<string | undefined> {
  try {
    return await provider.findSubmitted({ tag: intent.tag, items: intent.items, sinceMs: intent.at, known });
  } catch (err) {
    if (err instanceof ApplicationFailure && err.nonRetryable) return undefined;
    throw err;
  }
}

export async function pollProviderBatch(input: { run: ResolvedRunInput; batchId: string }): Promise<BatchState> {
  return (await providerFor(input.run)).poll(input.batchId);
}

export interface FetchSummary {
  succeeded: number;
  failed: number;
  /** What the answers cost: `batch.requests`, `batch.promptTokens`, ... (usage names). */
  usage: LlmUsage;
  /** A few item errors, for the progress view and the log. */
  sampleErrors: string[];
}

/** The batch's answers into the journal; failed items are left for the next round. */
export async function fetchBatchResults(input: { run: ResolvedRunInput; batchId: string; file: string }): Promise<FetchSummary> {
  const { llm } = llmOf(input.run);
  const price = priceFor(llm, input.run.llmRuntime ?? {});
  const purposeOf = new Map((await readCollected(input.run, input.file)).map((r) => [r.customId, r.purpose]));
  const journal = new Journal(input.run.outDir);
  const usage: LlmUsage = {};
  const sampleErrors: string[] = [];
  let succeeded = 0;
  let failed = 0;
  for (const r of await (await providerFor(input.run)).results(input.batchId)) {
    // Not a request of ours (a batch taken for ours after a crash, on an account shared with
    // another run): its answer is not ours to keep or pay for. Ours without an answer are
    // collected again by the next round.
    if (!purposeOf.has(r.customId)) continue;
    if (!r.ok) {
      failed++;
      if (sampleErrors.length < 5) sampleErrors.push(r.error);
      continue;
    }
    succeeded++;
    const cost = replyCostMicroUsd(price, r.reply, true);
    await journal.put(r.customId, purposeOf.get(r.customId) ?? 'generate', r.reply, cost, true);
    addReply(usage, 'batch', { ...r.reply, costMicroUsd: cost, cacheSavedMicroUsd: cacheSavingMicroUsd(price, r.reply, true) });
  }
  return { succeeded, failed, usage, sampleErrors };
}

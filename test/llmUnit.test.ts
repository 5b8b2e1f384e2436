/**
 * The parts of LLM generation that need no Temporal: error mapping, Retry-After, reply parsing,
 * prompt templates, options, the dry-run estimate, and a batch that fails half-way and resumes
 * (against the local fake server, calling the activity's code directly).
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { APIError as OpenAiApiError, APIConnectionTimeoutError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverCorpus } from '../activities/discover.js';
import { createGenerator } from '../activities/generate/index.js';
import { llmGeneratorId } from '../activities/generate/llm.js';
import { cleanPairs, extractJson, PairsReply, parseReply, parseScores, salvagePairs } from '../activities/generate/replies.js';
import { retryAfterMs, toLlmFailure, type RequestTarget } from '../activities/generate/llmErrors.js';
import { MAX_PARTS, parseContextRefusal, partsNeeded, refusalRatio, shareOut, splitText } from '../activities/generate/contextFit.js';
import { generationValues, judgeValues, loadTemplate, parseTemplate, render } from '../activities/generate/prompts.js';
import { LlmGenerator } from '../activities/generate/llm.js';
import { processBatch, shardKeyFor, shardSettingsKey, type BatchProgress } from '../activities/processBatch.js';
import { readManifestRange } from '../activities/manifest.js';
import { planRun } from '../client/commands/plan.js';
import { costMicroUsd } from '../activities/generate/pricing.js';
import { identityChanges, parseQuestionTypes, resolveRunInput, runIdentity, workflowIdFor } from '../client/runOptions.js';
import { PIPELINE_VERSION } from '../activities/pipeline.js';
import { builtinGenerator } from '../activities/generate/builtin/index.js';
import { LlmSettings, OutputSettings, type Chunk } from '../schemas/index.js';
import { z } from 'zod';
import { startFakeLlmServer, type FakeLlmServer } from './helpers/fakeLlmServer.js';
import { tempDir } from './helpers/files.js';

const target: RequestTarget = { backend: 'openai', model: 'm1', baseUrl: 'http://127.0.0.1:1/v1', timeoutMs: 5000, apiKey: 'sk-secret-123456' };

function apiError(status: number, message: string, headers: Record<string, string> = {}) {
  return OpenAiApiError.generate(status, { message }, undefined, new Headers(headers));
}

function failure(err: unknown): ApplicationFailure {
  const f = toLlmFailure(err, target);
  expect(f).toBeInstanceOf(ApplicationFailure);
  return f as ApplicationFailure;
}

describe('LLM request failures', () => {
  it('reads Retry-After as seconds, milliseconds or an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '1' }))).toBe(1000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }), now)).toBe(30_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(new Headers({}))).toBeUndefined();
  });

  it('retries 429 and 5xx with the delay the server asked for, and timeouts with backoff', () => {
    const rl = failure(apiError(429, 'slow down', { 'retry-after': '2' }));
    expect([rl.type, rl.nonRetryable, rl.nextRetryDelay]).toEqual(['LlmRateLimited', false, 2000]);
    const se = failure(apiError(503, 'overloaded'));
    expect([se.type, se.nonRetryable, se.nextRetryDelay]).toEqual(['LlmServerError', false, undefined]);
    const to = failure(new APIConnectionTimeoutError());
    expect([to.type, to.nonRetryable]).toEqual(['LlmTimeout', false]);
    expect(to.message).toMatch(/timed out after 5s/);
  });

  it('stops on 401, 403, 404 and other 4xx, saying what to fix, without the key', () => {
    const auth = failure(apiError(401, 'Incorrect API key provided: sk-secret-123456'));
    expect([auth.type, auth.nonRetryable]).toEqual(['LlmAuthenticationFailed', true]);
    expect(auth.message).toMatch(/set OPENAI_API_KEY/);
    expect(auth.message).not.toContain('sk-secret-123456');
    expect(failure(apiError(403, 'no')).type).toBe('LlmPermissionDenied');
    const nf = failure(apiError(404, 'model m1 not found'));
    expect([nf.type, nf.nonRetryable]).toEqual(['LlmModelNotFound', true]);
    expect(nf.message).toMatch(/model 'm1' was not found .* check --model/);
    expect(failure(apiError(400, 'unsupported parameter')).nonRetryable).toBe(true);
  });

  it('leaves errors that are not the SDK\'s alone', () => {
    const e = new TypeError('bug');
    expect(toLlmFailure(e, target)).toBe(e);
  });
});

describe("fitting a chunk to the server's context", () => {
  // What real servers say when a request does not fit, and the numbers read from it.
  const REFUSALS: Array<[server: string, message: string, expected: { limit: number; requested?: number } | undefined]> = [
    ['llama.cpp llama-server', 'request (556 tokens) exceeds the available context size (512 tokens), try increasing it', { limit: 512, requested: 556 }],
    ['llama.cpp llama-server, older (numbers from the body)', 'the request exceeds the available context size, try increasing it (n_prompt_tokens=556, n_ctx=512)', { limit: 512, requested: 556 }],
    ['vLLM / OpenAI', "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (1900 in the messages, 200 in the completion). Please reduce the length of the messages or completion.", { limit: 2048, requested: 1900 }],
    ['vLLM / OpenAI, without the split of its count', "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens. Please reduce the length of the messages or completion.", { limit: 2048, requested: 2100 }],
    ['OpenAI', "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.", { limit: 8192, requested: 9000 }],
    ['vLLM, newer', "'max_tokens' is too large: 500. This model's maximum context length is 2048 tokens and your request has 1900 input tokens (500 > 2048 - 1900).", { limit: 2048, requested: 1900 }],
    ['Anthropic', 'prompt is too long: 210000 tokens > 200000 maximum', { limit: 200000, requested: 210000 }],
    ['llama.cpp llama-server, older (no numbers)', 'the request exceeds the available context size, try increasing it', undefined],
    ['a proxy', '413 Payload Too Large', undefined],
  ];

  /** The SDK's error for a response body `{"error": {...}}`, as the server sent it. */
  const refusedWith = (status: number, error: Record<string, unknown>) => OpenAiApiError.generate(status, { error }, undefined, new Headers());

  it.each(REFUSALS)('reads the context from %s', (_server, message, expected) => {
    expect(parseContextRefusal(message)).toEqual(expected);
    // As the requester sees it: the mapped failure's message, with where the server is in front.
    const mapped = failure(refusedWith(message.startsWith('413 ') ? 413 : 400, { message: message.replace(/^413 /, '') }));
    expect(mapped.type).toBe('LlmContextTooLong');
    expect(parseContextRefusal(mapped.message)).toEqual(expected);
  });

  it("adds an older llama-server's n_ctx from the error body to the message", () => {
    const f = failure(refusedWith(400, { message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error', n_prompt_tokens: 700, n_ctx: 512 }));
    expect(f.type).toBe('LlmContextTooLong');
    expect(parseContextRefusal(f.message)).toEqual({ limit: 512, requested: 700 });
    // A message that has its numbers gets nothing added.
    const plain = failure(refusedWith(400, { message: 'request (556 tokens) exceeds the available context size (512 tokens), try increasing it', n_prompt_tokens: 556, n_ctx: 512 }));
    expect(plain.message).not.toContain('n_ctx=');
  });

  it('plans the fewest parts that fit, with room for the instruction and the reply, or none', () => {
    const budget = { limit: 2000, overheadTokens: 800, replyTokens: 300, ratio: 1 };
    // floor(2000 * 0.85) - 300 - 800 = 600 tokens of text a part, 2400 characters.
    expect(partsNeeded(2400, budget)).toBe(1);
    expect(partsNeeded(2404, budget)).toBe(2);
    expect(partsNeeded(7000, budget)).toBe(3);
    // The server counts twice our estimate: the instruction takes more and each part holds less.
    expect(partsNeeded(2400, { ...budget, ratio: 2 })).toBeUndefined(); // 1700 - 300 - 1600 < 64
    expect(partsNeeded(2400, { ...budget, limit: 4000, ratio: 2 })).toBe(1); // 3400 - 300 - 1600 = 1500 a part: 600 x 2 fits
    expect(partsNeeded(4000, { ...budget, limit: 4000, ratio: 2 })).toBe(2); // 1000 x 2 does not
    // The instruction alone fills the context; or a chunk would take more than MAX_PARTS parts.
    expect(partsNeeded(100, { ...budget, overheadTokens: 1400 })).toBeUndefined();
    expect(partsNeeded(2400 * MAX_PARTS + 4, budget)).toBeUndefined();
    expect(refusalRatio({ limit: 512, requested: 600 }, 300)).toBe(2);
    expect(refusalRatio({ limit: 512, requested: 200 }, 300)).toBe(1);
    expect(refusalRatio({ limit: 512 }, 300)).toBe(1);
    // vLLM / OpenAI count the completion's room in "requested": the ratio is the prompt's alone.
    const vllm = parseContextRefusal("This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (1900 in the messages, 200 in the completion).")!;
    expect(refusalRatio(vllm, 950)).toBe(2);
  });

  it('shares the pairs out between the parts, all of them, earlier parts first', () => {
    expect(shareOut(3, 1)).toEqual([3]);
    expect(shareOut(3, 2)).toEqual([1, 2]);
    expect(shareOut(6, 3)).toEqual([2, 2, 2]);
    expect(shareOut(2, 4)).toEqual([0, 1, 0, 1]);
    for (const [m, n] of [[5, 3], [3, 7], [10, 4]] as const) expect(shareOut(m, n).reduce((a, b) => a + b, 0)).toBe(m);
  });

  it('cuts at paragraph breaks, else sentence ends, else spaces; the parts are the text', () => {
    const paragraphs = ['First paragraph says one thing. It goes on a while.', 'Second paragraph says another thing entirely here.', 'Third one closes the passage with a last remark.'].join('\n\n');
    const two = splitText(paragraphs, 3);
    expect(two.join('')).toBe(paragraphs);
    expect(two.map((p) => p.trim())).toEqual(paragraphs.split('\n\n'));
    const sentences = 'One sentence is here and it is long enough. Another sentence follows it right away. A third ends the text.';
    const cut = splitText(sentences, 2);
    expect(cut.join('')).toBe(sentences);
    expect(cut[0]).toMatch(/\.\s$/);
    expect(cut[1]).toMatch(/^[A-Z]/);
    const words = 'word '.repeat(100).trim();
    const byWords = splitText(words, 4);
    expect(byWords).toHaveLength(4);
    expect(byWords.join('')).toBe(words);
    for (const p of byWords.slice(1)) expect(p.startsWith('word')).toBe(true);
    expect(splitText('x'.repeat(10), 3).join('')).toBe('x'.repeat(10));
    expect(splitText(paragraphs, 1)).toEqual([paragraphs]);
  });
});

describe('structured replies', () => {
  const Pairs = z.object({ pairs: z.array(z.object({ question: z.string(), answer: z.string() })) });

  it('accepts JSON in code fences or with text around it', () => {
    expect(extractJson('```json\n{"pairs": []}\n```')).toEqual({ pairs: [] });
    expect(extractJson('Here it is: {"pairs": [{"question": "Q?", "answer": "A"}]} Hope this helps')).toEqual({
      pairs: [{ question: 'Q?', answer: 'A' }],
    });
  });

  it('says what is wrong with a reply, for the repair request', () => {
    const bad = parseReply('not json at all', Pairs);
    expect(bad).toMatchObject({ ok: false });
    expect(!bad.ok && bad.error).toMatch(/not valid JSON/);
    const shape = parseReply('{"pairs": [{"question": 1}]}', Pairs);
    expect(!shape.ok && shape.error).toMatch(/expected shape.*pairs/);
    expect(parseReply('', Pairs)).toEqual({ ok: false, error: 'the reply is empty' });
  });
});

describe('prompt templates and generator ids', () => {
  it('loads the shipped templates with their three sections', () => {
    for (const name of ['qa-v1', 'qa-v2', 'judge-v1', 'judge-v2']) {
      const t = loadTemplate(name);
      expect(t.system.length).toBeGreaterThan(20);
      expect(t.user).toContain('<passage>');
      expect(t.repair).toContain('{{error}}');
    }
  });

  it('rejects a template without a section, and a placeholder without a value', () => {
    expect(() => parseTemplate('x', '=== system\nhi\n=== user\nu')).toThrow(/missing section '=== repair'/);
    expect(() => render('{{a}} {{b}}', { a: 1 })).toThrow(/\{\{b\}\}/);
    // A passage that contains braces is inserted as is, not read as a placeholder.
    expect(render('<{{text}}>', { text: '{{pairs}} $& $1' })).toBe('<{{pairs}} $& $1>');
  });

  it('names backend, model, template, language and judge in the id that keys the shards', () => {
    const s = LlmSettings.parse({ model: 'llama3.1' });
    expect(llmGeneratorId('openai', s)).toBe('openai:llama3.1:qa-v2:English');
    expect(llmGeneratorId('anthropic', { ...s, language: 'Brazilian Portuguese', judge: true, minScore: 4 })).toBe(
      'anthropic:llama3.1:qa-v2:Brazilian_Portuguese+judge-v2>=4',
    );
    // Runs on qa-v1 keep their judge, so their ids (and shards) are what they were.
    expect(llmGeneratorId('openai', { ...s, template: 'qa-v1', judge: true, minScore: 3 })).toBe('openai:llama3.1:qa-v1:English+judge-v1>=3');
    expect(llmGeneratorId('openai', { ...s, language: 'auto', questionTypes: ['who', 'when'] })).toBe('openai:llama3.1:qa-v2:auto-v1:types=who+when');
    const base = OutputSettings.parse({ generateQa: true, generator: 'openai', llm: s });
    const run0 = resolveRunInput({ inputDir: '/a', outDir: '/b' });
    const key = (settings: OutputSettings) => shardSettingsKey({ ...run0, settings });
    expect(key(base)).not.toBe(key({ ...base, llm: { ...s, language: 'French' } }));
    expect(key(base)).not.toBe(key({ ...base, llm: { ...s, judge: true } }));
    expect(key(base)).not.toBe(key({ ...base, llm: { ...s, questionTypes: ['why'] } }));
    expect(key(base)).not.toBe(key({ ...base, llm: { ...s, language: 'auto' } }));
    expect(key(base)).not.toBe(key({ ...base, llm: { ...s, model: 'other' } }));
    expect(key(base)).toBe(key({ ...base, llm: { ...s, timeoutMs: 5000 } }));
    // The same model name on another server (another quantization, another build) answers differently.
    expect(key(base)).not.toBe(key({ ...base, llm: { ...s, baseUrl: 'http://elsewhere:1/v1' } }));
    expect(() => createGenerator(OutputSettings.parse({ generateQa: true, generator: 'openai' }), { outDir: '/x' })).toThrow(/needs LLM settings/);
  });
});

describe('run options for LLM backends', () => {
  it('needs --model, implies --generate-qa, and refuses LLM flags for the built-in generator', () => {
    expect(() => resolveRunInput({ inputDir: '/a', outDir: '/b', generator: 'openai' })).toThrow(/--generator openai needs --model/);
    expect(() => resolveRunInput({ inputDir: '/a', outDir: '/b', generateQa: true, model: 'x' })).toThrow(/--model: only with --generator/);
    expect(() => resolveRunInput({ inputDir: '/a', outDir: '/b', generator: 'openai', model: 'm', baseUrl: 'localhost:11434' })).toThrow(/--base-url/);
    expect(() => resolveRunInput({ inputDir: '/a', outDir: '/b', generator: 'openai', model: 'm', promptTemplate: 'qa-v9' })).toThrow(/no template "qa-v9" \(available: .*qa-v1/);
    expect(() => resolveRunInput({ inputDir: '/a', outDir: '/b', generator: 'openai', model: 'm', minScore: 3 })).toThrow(/--min-score: only with --judge/);
    const run = resolveRunInput({ inputDir: '/a', outDir: '/b', generator: 'openai', model: 'm', baseUrl: 'http://localhost:11434/v1/', requestTimeoutSeconds: 30 });
    expect(run.settings.generateQa).toBe(true);
    expect(run.settings.llm).toEqual({ model: 'm', baseUrl: 'http://localhost:11434/v1', template: 'qa-v2', language: 'English', timeoutMs: 30_000, judge: false, minScore: 3 });
  });

  it('keeps keys out of the workflow input, and built-in runs keep their workflow id', () => {
    const before = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-never-in-input-999';
    try {
      const run = resolveRunInput({ inputDir: '/a', outDir: '/b', generator: 'openai', model: 'm' });
      expect(JSON.stringify(run)).not.toContain('sk-never-in-input-999');
    } finally {
      if (before === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = before;
    }
    const builtin = resolveRunInput({ inputDir: '/a', outDir: '/b', generateQa: true });
    expect(builtin.settings.llm).toBeUndefined();
    expect(JSON.stringify(builtin)).not.toContain('llm');
    expect(workflowIdFor(builtin)).toBe(workflowIdFor(resolveRunInput({ inputDir: '/a', outDir: '/b', generateQa: true, generator: 'builtin' })));
  });

  it('puts the pipeline and generator versions in the run identity, so an upgrade is a new run', () => {
    const builtin = runIdentity(resolveRunInput({ inputDir: '/a', outDir: '/b', generateQa: true }));
    expect(builtin.pipeline).toBe(PIPELINE_VERSION);
    expect(builtin.generatorVersion).toBe(builtinGenerator.id);
    const chunksOnly = runIdentity(resolveRunInput({ inputDir: '/a', outDir: '/b' }));
    expect(chunksOnly.generatorVersion).toBeNull();
    const llm = runIdentity(resolveRunInput({ inputDir: '/a', outDir: '/b', generator: 'openai', model: 'm' }));
    expect(String(llm.generatorVersion)).toContain('m');
    // What the CLI prints when an older version's run is found in the same directory.
    expect(identityChanges({ ...builtin, pipeline: 'p2' }, builtin)).toEqual([`pipeline "p2" → "${PIPELINE_VERSION}"`]);
  });

  it('estimates requests and tokens in the dry-run plan', async () => {
    const dir = tempDir('llm-plan');
    for (let i = 0; i < 4; i++) writeFileSync(join(dir, `d${i}.txt`), 'word '.repeat(500)); // 2500 chars: 2 chunks each
    const plan = await planRun(resolveRunInput({ inputDir: dir, outDir: tempDir('llm-plan-out'), generator: 'openai', model: 'm' }));
    expect(plan.estimatedChunks).toBe(8);
    expect(plan.llm?.requests).toBe(8);
    expect(plan.llm?.promptTokens).toBeGreaterThan((4 * 2500) / 4);
    expect(plan.llm?.completionTokens).toBe(8 * 8 * 45);
    const judged = await planRun(resolveRunInput({ inputDir: dir, outDir: tempDir('llm-plan-out'), generator: 'anthropic', model: 'm', judge: true }));
    expect(judged.llm?.requests).toBe(16);
    const builtin = await planRun(resolveRunInput({ inputDir: dir, outDir: tempDir('llm-plan-out'), generateQa: true }));
    expect(builtin.llm).toBeUndefined();
    // Default chunks (1,500 characters) are too short for Anthropic's prompt cache: nothing counted.
    expect(judged.llm?.cacheWriteTokens).toBeUndefined();
  });

  it('counts Anthropic prompt caching in the dry-run estimate only where a run would cache', async () => {
    const dir = tempDir('llm-plan-cache');
    for (let i = 0; i < 3; i++) writeFileSync(join(dir, `d${i}.txt`), 'word '.repeat(4800)); // 24,000 chars: 4 chunks of 6,000
    const plan = (extra: Record<string, unknown>) =>
      planRun(resolveRunInput({ inputDir: dir, outDir: tempDir('llm-plan-cache-out'), generator: 'anthropic', model: 'claude-sonnet-4-6', judge: true, chunkSize: 6000, chunkOverlap: 0, ...extra }));
    const cached = (await plan({})).llm!;
    // Each passage (~1,500 tokens) is written once by generation and read once by the judge.
    expect(cached.cacheWriteTokens).toBe(Math.ceil((3 * 24000) / 4));
    expect(cached.cacheReadTokens).toBe(cached.cacheWriteTokens);
    const price = { inPerMTok: 3, outPerMTok: 15, source: 'table' as const, note: '' };
    expect(costMicroUsd(price, cached.promptTokens, cached.completionTokens, false, cached)).toBeLessThan(costMicroUsd(price, cached.promptTokens, cached.completionTokens));
    // Batch rounds may outlast the cache: the judge's is counted as a second write (an upper bound).
    const batch = (await plan({ batchApi: true })).llm!;
    expect(batch.cacheWriteTokens).toBe(2 * cached.cacheWriteTokens!);
    expect(batch.cacheReadTokens).toBeUndefined();
    // No cache: without the judge, with --no-prompt-cache, for OpenAI, or below the model's minimum (Haiku 4.5: 4,096).
    for (const extra of [{ judge: false }, { promptCache: false }, { generator: 'openai' }, { model: 'claude-haiku-4-5' }]) {
      expect((await plan(extra)).llm?.cacheWriteTokens).toBeUndefined();
    }
  });
});

describe('pairs with supporting quotes (qa-v2 replies)', () => {
  const pairsOf = (text: string) => {
    const r = parseReply(text, PairsReply);
    if (!r.ok) throw new Error(r.error);
    return cleanPairs(r.value.pairs, 10);
  };

  it('keeps each pair\'s quote, and a pair without one', () => {
    expect(pairsOf('{"pairs": [{"question": "Who maintains Lantern?", "answer": "the Lantern team", "quote": " Lantern is maintained by the Lantern team. "}, {"question": "Is Lantern free?", "answer": "Yes"}]}')).toEqual([
      { question: 'Who maintains Lantern?', answer: 'the Lantern team', quote: 'Lantern is maintained by the Lantern team.' },
      { question: 'Is Lantern free?', answer: 'Yes' },
    ]);
    expect('quote' in pairsOf('{"pairs": [{"question": "Q?", "answer": "A"}]}')[0]!).toBe(false);
  });

  it('reads quotes and answers as models write them, without failing the reply', () => {
    const [list, odd, empty] = pairsOf(
      '{"pairs": [{"question": "How many tides a day?", "answer": 2, "quote": ["Most coasts have two high tides.", "And two low tides."]},' +
        ' {"question": "Is it wet?", "answer": true, "quote": {"text": "x"}}, {"question": "Q?", "answer": "A", "quote": "  "}]}',
    );
    expect(list).toEqual({ question: 'How many tides a day?', answer: '2', quote: 'Most coasts have two high tides. And two low tides.' });
    expect(odd).toEqual({ question: 'Is it wet?', answer: 'Yes' });
    expect('quote' in empty!).toBe(false);
  });

  it('salvages complete pairs with their quotes from a reply cut off at the token limit', () => {
    const cut = '{"pairs": [{"question": "What is A?", "answer": "a", "quote": "A is a {thing}."}, {"question": "What is B?", "answer": "b"}, {"question": "What is C?", "answer": "c", "quo';
    expect(salvagePairs(cut)).toEqual([
      { question: 'What is A?', answer: 'a', quote: 'A is a {thing}.' },
      { question: 'What is B?', answer: 'b' },
    ]);
  });
});

describe('qa-v2 and judge-v2 prompts', () => {
  const chunk: Chunk = {
    chunkId: 'abc-0001', index: 1, charStart: 0, charEnd: 60, text: 'Lantern requires Python 3.10 or later. It runs on Linux and macOS.',
    heading: 'Requirements', title: 'Installing Lantern', section: ['Installing Lantern', 'Requirements'], language: 'de',
  };
  const s = LlmSettings.parse({ model: 'm' });
  const user = (settings: LlmSettings, c: Chunk = chunk) => render(loadTemplate(settings.template).user, generationValues(c, settings, 5));

  it('gives the model the document title, the section path, every kind of question, and asks for quotes', () => {
    const u = user(s);
    expect(u).toContain('Document: Installing Lantern\nSection: Installing Lantern > Requirements');
    expect(u).toContain(`<passage>\n${chunk.text}\n</passage>`);
    expect(u).toContain('Write up to 5 question/answer pairs about the passage above, in English.');
    for (const kind of ['what:', 'which:', 'who:', 'when:', 'where:', 'how many / how much:', 'how:', 'why:', 'yes/no:', 'comparison:']) expect(u).toContain(`  - ${kind}`);
    expect(u).toContain('"quote"');
    const bare = user(s, { chunkId: 'x-0000', index: 0, charStart: 0, charEnd: 9, text: 'Some text.' });
    expect(bare).toContain('Document: (no title)\nSection: (none)');
  });

  it('asks only for the kinds of --question-types', () => {
    const u = user({ ...s, questionTypes: ['how_many', 'why'] });
    expect(u.match(/^ {2}- .*$/gm)).toEqual([
      '  - how many / how much: a number, with its unit and qualifier',
      '  - why: a reason the passage gives ("because", "so that", "in order to")',
    ]);
  });

  it('with --language auto writes in the chunk\'s detected language, and falls back to the passage\'s when unsure', () => {
    expect(user({ ...s, language: 'auto' })).toContain('pairs about the passage above, in German.');
    const { language: _, ...unsure } = chunk;
    expect(user({ ...s, language: 'auto' }, unsure)).toContain("pairs about the passage above, in the passage's language.");
    expect(user({ ...s, language: 'French' })).toContain('in French.');
  });

  it('renders qa-v1 and judge-v1 exactly as before the new placeholders (their journal entries stay valid)', () => {
    const v1 = { ...s, template: 'qa-v1' };
    expect(user(v1)).toBe(render(loadTemplate('qa-v1').user, { pairs: 5, language: 'English', heading: 'Requirements', text: chunk.text }));
    const pairs = [{ question: 'What does Lantern require?', answer: 'Python 3.10 or later' }];
    const before = { text: chunk.text, count: 1, language: 'English', pairs: JSON.stringify([{ index: 1, ...pairs[0] }], null, 1) };
    expect(render(loadTemplate('judge-v1').user, judgeValues(chunk, pairs, v1))).toBe(render(loadTemplate('judge-v1').user, before));
  });

  it('has the judge mark down questions that need the passage to be understood', () => {
    const u = render(loadTemplate('judge-v2').user, judgeValues(chunk, [{ question: 'What is the latter?', answer: 'x' }], s));
    expect(u).toContain('Document: Installing Lantern');
    expect(u).toMatch(/cannot be understood that way gets\s+usefulness 2 at most/);
  });
});

describe('--question-types and --language options', () => {
  const run = (extra: Record<string, unknown>) => resolveRunInput({ inputDir: '/a', outDir: '/b', generator: 'openai', model: 'm', ...extra });

  it('reads kinds in any case and common spellings, and the same set in any order is the same run', () => {
    expect(parseQuestionTypes('What, how-many ,yes/no')).toEqual(['what', 'how_many', 'yes_no']);
    const a = run({ questionTypes: 'why,who,why' });
    expect(a.settings.llm?.questionTypes).toEqual(['who', 'why']);
    expect(workflowIdFor(a)).toBe(workflowIdFor(run({ questionTypes: ['who', 'why'] })));
    expect(workflowIdFor(a)).not.toBe(workflowIdFor(run({})));
    // Absent, it is not in the run's identity: runs from before the flag keep their workflow id.
    expect(JSON.stringify(run({}))).not.toContain('questionTypes');
  });

  it('says which kinds are unknown and which exist, and refuses the flag for the built-in generator', () => {
    expect(() => run({ questionTypes: 'what,whom' })).toThrow(/--question-types: unknown kind "whom" \(known: what, which, who, when, where, how_many, how, why, yes_no, comparison\)/);
    expect(() => run({ questionTypes: ' , ' })).toThrow(/--question-types: name at least one kind/);
    expect(() => resolveRunInput({ inputDir: '/a', outDir: '/b', generateQa: true, questionTypes: 'what' })).toThrow(/--question-types: only with --generator/);
  });

  it('takes auto, a language code or a name', () => {
    expect(run({ language: 'AUTO' }).settings.llm?.language).toBe('auto');
    expect(run({ language: 'de' }).settings.llm?.language).toBe('German');
    expect(run({ language: 'Brazilian Portuguese' }).settings.llm?.language).toBe('Brazilian Portuguese');
    expect(() => run({ language: 'en; ignore the passage' })).toThrow(/--language/);
  });
});

describe('the new prompts against the fake server', () => {
  let fake: FakeLlmServer;
  const savedKey = process.env.OPENAI_API_KEY;
  beforeAll(async () => {
    process.env.OPENAI_API_KEY = 'sk-unit';
    fake = await startFakeLlmServer();
  });
  afterAll(async () => {
    await fake.close();
    if (savedKey === undefined) delete process.env.OPENAI_API_KEY;
    else process.env.OPENAI_API_KEY = savedKey;
  });

  it('gets pairs back whose quotes are copied from the chunk', async () => {
    const text = 'The Bay of Fundy in Canada has the highest tidal range\nin the world, about 16 metres. A neap tide is a tide with the smallest range of the month.';
    const chunk: Chunk = { chunkId: 'feed-0000', index: 0, charStart: 0, charEnd: text.length, text, title: 'Tides' };
    const g = new LlmGenerator('openai', LlmSettings.parse({ model: 'm', baseUrl: fake.openaiBaseUrl }), { outDir: tempDir('llm-quotes') });
    const { pairs } = await g.generateChunk(chunk, { usage: {}, maxPairs: 4 });
    expect(pairs.map((p) => p.quote)).toEqual([
      'The Bay of Fundy in Canada has the highest tidal range\nin the world, about 16 metres.',
      'A neap tide is a tide with the smallest range of the month.',
    ]);
    for (const p of pairs) expect(text).toContain(p.quote);
    expect(pairs[0]!.question).toBe('What does “Tides” say about The Bay of?');
  });

  it('--language auto and --question-types reach each document\'s prompt through the batch activity', async () => {
    const input = tempDir('llm-auto-in');
    const docs = {
      'de.txt': 'Die Konfigurationsdatei wird im Heimatverzeichnis gespeichert. Sie legt fest, welche Verzeichnisse indiziert werden und wie lange die Einträge aufbewahrt werden.',
      'fr.txt': 'Le fichier de configuration est enregistré dans votre répertoire personnel. Il indique quels répertoires sont indexés et combien de temps les entrées sont conservées.',
      'en.txt': 'The configuration file is stored in your home directory. It controls which directories are indexed and how long the entries are kept before they are removed.',
      'code.txt': 'x = 1\ny = 2\nprint(x + y)',
    };
    for (const [name, text] of Object.entries(docs)) writeFileSync(join(input, name), text);
    const out = tempDir('llm-auto-out');
    const run = resolveRunInput({ inputDir: input, outDir: out, generator: 'openai', model: 'm', baseUrl: fake.openaiBaseUrl, language: 'auto', questionTypes: 'when,who' });
    const discovery = await discoverCorpus({ inputDir: input, outDir: out, globs: [], maxFileBytes: run.settings.maxFileBytes });
    const before = fake.requests.length;
    await processBatch({ run, manifestKey: discovery.manifestKey, start: 0, end: discovery.documents }, { heartbeat: () => undefined });
    const prompts = new Map(fake.requests.slice(before).map((r) => [r.passage, JSON.stringify(r.body.messages)]));
    const languageOf = (doc: string) => /in ([^.]+)\.\\n/.exec(prompts.get(doc) ?? '')?.[1];
    expect(languageOf(docs['de.txt'])).toBe('German');
    expect(languageOf(docs['fr.txt'])).toBe('French');
    expect(languageOf(docs['en.txt'])).toBe('English');
    expect(languageOf(docs['code.txt'])).toBe("the passage's language");
    for (const p of prompts.values()) {
      expect(p).toContain('  - who: ');
      expect(p).toContain('  - when: ');
      expect(p).not.toContain('  - what: ');
    }
  });
});

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
import { extractJson, parseReply, parseScores, salvagePairs } from '../activities/generate/replies.js';
import { retryAfterMs, toLlmFailure, type RequestTarget } from '../activities/generate/llmErrors.js';
import { loadTemplate, parseTemplate, render } from '../activities/generate/prompts.js';
import { processBatch, shardKeyFor, shardSettingsKey, type BatchProgress } from '../activities/processBatch.js';
import { readManifestRange } from '../activities/manifest.js';
import { shardPath } from '../activities/storage.js';
import { planRun } from '../client/plan.js';
import { resolveRunInput, workflowIdFor } from '../client/runOptions.js';
import { LlmSettings, OutputSettings } from '../schemas/index.js';
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
    for (const name of ['qa-v1', 'judge-v1']) {
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
    expect(llmGeneratorId('openai', s)).toBe('openai:llama3.1:qa-v1:English');
    expect(llmGeneratorId('anthropic', { ...s, language: 'Brazilian Portuguese', judge: true, minScore: 4 })).toBe(
      'anthropic:llama3.1:qa-v1:Brazilian_Portuguese+judge-v1>=4',
    );
    const base = OutputSettings.parse({ generateQa: true, generator: 'openai', llm: s });
    const run0 = resolveRunInput({ inputDir: '/a', outDir: '/b' });
    const key = (settings: OutputSettings) => shardSettingsKey({ ...run0, settings });
    expect(key(base)).not.toBe(key({ ...base, llm: { ...s, language: 'French' } }));
    expect(key(base)).not.toBe(key({ ...base, llm: { ...s, judge: true } }));
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
    expect(run.settings.llm).toEqual({ model: 'm', baseUrl: 'http://localhost:11434/v1', template: 'qa-v1', language: 'English', timeoutMs: 30_000, judge: false, minScore: 3 });
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
  });
});

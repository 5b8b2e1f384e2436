/**
 * The OpenAI-compatible synchronous path over node:http (activities/generate/jsonHttp.ts), against
 * the local fake server: each way a request can fail becomes the same failure the SDK's errors
 * gave (llmErrors.ts), the key never shows, a cancelled request is our abort and not the
 * server's fault, and one kept-alive connection carries request after request.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { APIUserAbortError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatRequest } from '../activities/generate/chat.js';
import { failureKind, retryDelayMs } from '../activities/generate/llmErrors.js';
import { openAiBackend } from '../activities/generate/openai.js';
import { LlmSettings } from '../schemas/index.js';
import { startFakeLlmServer, type FakeLlmOptions, type FakeLlmServer } from './helpers/fakeLlmServer.js';

const KEY = 'sk-http-test-5b2d8e41';
const servers: FakeLlmServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function backendAt(options: FakeLlmOptions, extra: Partial<LlmSettings> = {}) {
  const server = await startFakeLlmServer({ acceptKeys: [KEY], ...options });
  servers.push(server);
  const backend = openAiBackend(LlmSettings.parse({ model: 'fake-model', baseUrl: server.openaiBaseUrl, timeoutMs: 5000, ...extra }), KEY);
  return { server, backend };
}

const request = (passage: string, signal?: AbortSignal): ChatRequest => ({
  system: 'You write question/answer pairs about a passage. Reply with JSON only.',
  messages: [{ role: 'user', content: `Write up to 2 pairs in English.\n<passage>\n${passage}\n</passage>` }],
  ...(signal ? { signal } : {}),
});

const failed = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
};

describe('the OpenAI-compatible path over node:http', () => {
  it('sends the body and the key as the SDK did, and reads the completion', async () => {
    const { server, backend } = await backendAt({});
    const reply = await backend.complete(request('The lighthouse on the cape was built in 1874 by the harbour board.'));
    expect(JSON.parse(reply.text)).toHaveProperty('pairs');
    expect([reply.finishReason, reply.truncated, reply.promptTokens > 0]).toEqual(['stop', false, true]);
    expect(server.requests[0]!.credential).toBe(KEY);
    expect(server.requests[0]!.body).toMatchObject({ model: 'fake-model', response_format: { type: 'json_object' } });
  });

  it('maps 429 with Retry-After, 5xx, a context refusal and a bad key to the failures the SDK errors gave', async () => {
    const statuses = [
      { status: 429, headers: { 'retry-after': '3' }, message: 'slow down' },
      { status: 503, message: 'overloaded' },
      { status: 400, message: 'request (556 tokens) exceeds the available context size (512 tokens)' },
      { status: 401, message: `Incorrect API key provided: ${KEY}` },
    ];
    const { backend } = await backendAt({ handler: (r) => statuses[r.index - 1] });
    const rl = await failed(backend.complete(request('a')));
    expect([failureKind(rl), retryDelayMs(rl)]).toEqual(['rate_limited', 3000]);
    expect(rl.message).toContain('slow down');
    expect(failureKind(await failed(backend.complete(request('b'))))).toBe('server_error');
    const ctx = await failed(backend.complete(request('c')));
    expect([failureKind(ctx), ctx.message]).toEqual(['context_too_long', expect.stringContaining('exceeds the available context size')]);
    const auth = await failed(backend.complete(request('d')));
    expect([auth.type, auth.nonRetryable]).toEqual(['LlmAuthenticationFailed', true]);
    expect(auth.message).not.toContain(KEY);
  });

  it('names a timeout as such, leaves our own cancellation unmapped, and says a closed port is unreachable', async () => {
    const { server, backend } = await backendAt({ handler: () => ({ hangMs: 60_000 }) }, { timeoutMs: 300 });
    const to = await failed(backend.complete(request('slow')));
    expect([failureKind(to), to.message]).toEqual(['timeout', expect.stringMatching(/timed out after 0.3s/)]);

    const cancel = new AbortController();
    const pending = backend.complete(request('cancelled', cancel.signal)).catch((e: unknown) => e);
    cancel.abort(new Error('activity cancelled'));
    const aborted = await pending;
    expect(aborted).toBeInstanceOf(APIUserAbortError); // toLlmFailure gives it back as is: the requester rethrows the signal's reason

    await server.pause();
    const down = await failed(backend.complete(request('down')));
    expect([failureKind(down), down.message]).toEqual(['unreachable', expect.stringMatching(/^cannot reach the openai server at .*ECONNREFUSED/)]);
  });

  it('carries request after request on one kept-alive connection', async () => {
    let connections = 0;
    const plain = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ choices: [{ message: { content: '{"pairs":[]}' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 2 } }));
      });
    });
    plain.on('connection', () => connections++);
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      const { port } = plain.address() as AddressInfo;
      const backend = openAiBackend(LlmSettings.parse({ model: 'm', baseUrl: `http://127.0.0.1:${port}/v1`, timeoutMs: 5000 }), KEY);
      for (let i = 0; i < 20; i++) expect((await backend.complete(request(`p${i}`))).completionTokens).toBe(2);
      expect(connections).toBe(1);
    } finally {
      plain.closeAllConnections();
      await new Promise((r) => plain.close(r));
    }
  });
});

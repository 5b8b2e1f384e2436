/**
 * A local LLM server of our own for tests and the bench: node:http on 127.0.0.1, a free port,
 * speaking just enough of two protocols for the official SDKs pointed at it by base URL:
 *
 *   POST /v1/chat/completions   OpenAI chat completions (openai SDK, baseURL <url>/v1)
 *   POST /v1/messages           Anthropic messages      (@anthropic-ai/sdk, baseURL <url>)
 *
 * By default it answers like a well-behaved model: question/answer pairs taken from the
 * passage's sentences, and judge scores, both deterministic functions of the prompt. A test
 * injects faults (status codes, hangs, malformed replies) with `handler`, which sees every
 * request first and returns a reply or `undefined` for the default answer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Protocol = 'openai' | 'anthropic';

export interface FakeRequest {
  /** 1-based, in arrival order. */
  index: number;
  protocol: Protocol;
  kind: 'generate' | 'judge';
  /** A repair request: the conversation already holds a reply and the error it had. */
  repair: boolean;
  /** The passage between <passage> and </passage> in the prompt. */
  passage: string;
  /** How many requests of this kind for this passage (repairs counted apart) came before this one. */
  seenBefore: number;
  model: string;
  /** The credential as sent (Authorization: Bearer, or Anthropic's x-api-key). */
  credential: string | undefined;
  body: Record<string, unknown>;
  at: number;
}

export type FakeReply =
  | { content: string }
  | { status: number; message?: string; headers?: Record<string, string> }
  | { hangMs: number };

export interface FakeLlmOptions {
  /** Delay before every answer (the bench's fixed latency). */
  latencyMs?: number;
  /** Keys the server accepts; a request with any other gets a 401 that echoes the key it got. */
  acceptKeys?: string[];
  handler?: (req: FakeRequest) => FakeReply | undefined;
}

export interface FakeLlmServer {
  /** http://127.0.0.1:<port> — Anthropic's base URL; OpenAI's is `${url}/v1`. */
  url: string;
  openaiBaseUrl: string;
  requests: FakeRequest[];
  /** Replies sent, by status (200, 429, ...), and hangs. */
  statuses: number[];
  hangs: number;
  maxInFlight: number;
  options: FakeLlmOptions;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// The default "model"

function sentences(passage: string): string[] {
  return passage
    .split(/\n\s*\n|(?<=[.!?])\s+(?=[A-Z"“])/)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s.split(' ').length >= 6 && /[.!?]$/.test(s));
}

/** Pairs from a passage: one per sentence, asking about the sentence's first words. */
export function defaultPairs(passage: string, max: number): Array<{ question: string; answer: string }> {
  return sentences(passage)
    .slice(0, max)
    .map((s) => {
      const topic = s.split(' ').slice(0, 3).join(' ').replace(/[^\p{L}\p{N} ]/gu, '');
      return { question: `What does the text state about ${topic}?`, answer: s };
    });
}

/** Judge scores: fully grounded; short answers are judged less useful (2), others 4. */
export function defaultScores(pairs: Array<{ index: number; answer: string }>) {
  return pairs.map((p) => ({ index: p.index, groundedness: 5, usefulness: p.answer.length < 90 ? 2 : 4 }));
}

function defaultAnswer(kind: FakeRequest['kind'], prompt: string): string {
  const passage = between(prompt, '<passage>', '</passage>');
  if (kind === 'judge') {
    const pairs = JSON.parse(between(prompt, '<pairs>', '</pairs>')) as Array<{ index: number; answer: string }>;
    return JSON.stringify({ scores: defaultScores(pairs) });
  }
  const max = Number(/Write up to (\d+) /.exec(prompt)?.[1] ?? 8);
  return JSON.stringify({ pairs: defaultPairs(passage, max) });
}

function between(text: string, open: string, close: string): string {
  const a = text.indexOf(open);
  const b = text.indexOf(close, a + open.length);
  return a < 0 || b < 0 ? '' : text.slice(a + open.length, b).trim();
}

// ---------------------------------------------------------------------------------------------
// The protocols

interface ParsedBody {
  system: string;
  messages: Array<{ role: string; content: string }>;
  model: string;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => (typeof c === 'object' && c && 'text' in c ? String(c.text) : '')).join('');
  return '';
}

function parseBody(protocol: Protocol, body: Record<string, unknown>): ParsedBody {
  const raw = (body.messages ?? []) as Array<{ role: string; content: unknown }>;
  const messages = raw.map((m) => ({ role: m.role, content: textOf(m.content) }));
  if (protocol === 'openai') {
    return {
      system: messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n'),
      messages: messages.filter((m) => m.role !== 'system'),
      model: String(body.model),
    };
  }
  return { system: textOf(body.system), messages, model: String(body.model) };
}

const tokens = (s: string) => Math.ceil(s.length / 4);

function okBody(protocol: Protocol, model: string, prompt: string, content: string, n: number): unknown {
  if (protocol === 'openai') {
    return {
      id: `chatcmpl-${n}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: tokens(prompt), completion_tokens: tokens(content), total_tokens: tokens(prompt) + tokens(content) },
    };
  }
  return {
    id: `msg_${n}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: content }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: tokens(prompt), output_tokens: tokens(content) },
  };
}

function errorBody(protocol: Protocol, status: number, message: string): unknown {
  if (protocol === 'openai') {
    return { error: { message, type: status === 401 ? 'invalid_request_error' : 'server_error', param: null, code: status === 401 ? 'invalid_api_key' : null } };
  }
  const type = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status === 404 ? 'not_found_error' : 'api_error';
  return { type: 'error', error: { type, message } };
}

/** OpenAI sends `Authorization: Bearer`; Anthropic `x-api-key` (SDK 0.x) or `Authorization: Bearer` (1.x). */
function credentialOf(protocol: Protocol, req: IncomingMessage): string | undefined {
  const bearer = req.headers.authorization?.replace(/^Bearer /, '');
  if (protocol === 'openai') return bearer;
  return typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : bearer;
}

export async function startFakeLlmServer(options: FakeLlmOptions = {}): Promise<FakeLlmServer> {
  const seen = new Map<string, number>();
  let inFlight = 0;
  const state = {
    requests: [] as FakeRequest[],
    statuses: [] as number[],
    hangs: 0,
    maxInFlight: 0,
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed || !res.socket || res.socket.destroyed) return; // the client gave up (timeout)
    state.statuses.push(status);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      let done = false;
      const finish = () => {
        if (!done) {
          done = true;
          inFlight--;
        }
      };
      res.on('close', finish);
      void handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: unknown) => {
        send(res, 500, { error: { message: `fake server bug: ${String(err)}` } });
      });
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse, text: string) => {
    const protocol: Protocol | undefined =
      req.method === 'POST' && req.url === '/v1/chat/completions' ? 'openai' : req.method === 'POST' && req.url === '/v1/messages' ? 'anthropic' : undefined;
    if (!protocol) return send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
    const body = JSON.parse(text) as Record<string, unknown>;
    const parsed = parseBody(protocol, body);
    const prompt = [parsed.system, ...parsed.messages.map((m) => m.content)].join('\n');
    const firstUser = parsed.messages.find((m) => m.role === 'user')?.content ?? '';
    const kind = firstUser.includes('<pairs>') ? 'judge' : 'generate';
    const repair = parsed.messages.length > 1;
    const passage = between(firstUser, '<passage>', '</passage>');
    const key = `${kind}:${repair}:${passage}`;
    const seenBefore = seen.get(key) ?? 0;
    seen.set(key, seenBefore + 1);
    const request: FakeRequest = {
      index: state.requests.length + 1,
      protocol,
      kind,
      repair,
      passage,
      seenBefore,
      model: parsed.model,
      credential: credentialOf(protocol, req),
      body,
      at: Date.now(),
    };
    state.requests.push(request);

    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    if (options.acceptKeys && !options.acceptKeys.includes(request.credential ?? '')) {
      // Like some real servers, echo what was sent: the client must keep it out of its messages.
      return send(res, 401, errorBody(protocol, 401, `Incorrect API key provided: ${request.credential ?? '(none)'}`));
    }
    const reply = options.handler?.(request) ?? { content: defaultAnswer(kind, firstUser) };
    if ('hangMs' in reply) {
      state.hangs++;
      await new Promise((r) => {
        const t = setTimeout(r, reply.hangMs);
        res.on('close', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
      return send(res, 200, okBody(protocol, parsed.model, prompt, defaultAnswer(kind, firstUser), request.index));
    }
    if ('status' in reply) {
      return send(res, reply.status, errorBody(protocol, reply.status, reply.message ?? `injected ${reply.status}`), reply.headers);
    }
    return send(res, 200, okBody(protocol, parsed.model, prompt, reply.content, request.index));
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    get requests() {
      return state.requests;
    },
    get statuses() {
      return state.statuses;
    },
    get hangs() {
      return state.hangs;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    options,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

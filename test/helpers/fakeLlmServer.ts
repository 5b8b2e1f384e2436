/**
 * A local LLM server of our own for tests and the bench: node:http on 127.0.0.1, a free port,
 * speaking just enough of two protocols for the official SDKs pointed at it by base URL:
 *
 *   POST /v1/chat/completions             OpenAI chat completions (openai SDK, baseURL <url>/v1)
 *   POST /v1/files, GET /v1/files/:id/content, POST /v1/batches, GET /v1/batches(/:id)
 *                                         OpenAI Batch API (JSONL input and output files)
 *   POST /v1/messages                     Anthropic messages      (@anthropic-ai/sdk, baseURL <url>)
 *   POST /v1/messages/batches, GET /v1/messages/batches(/:id), GET /v1/messages/batches/:id/results
 *                                         Anthropic Message Batches API
 *
 * By default it answers like a well-behaved model: question/answer pairs taken from the
 * passage's sentences (with a verbatim supporting quote each when the prompt asks for quotes),
 * and judge scores, both deterministic functions of the prompt. A test injects faults (status
 * codes, hangs, malformed replies) with `handler`, which sees every request first (each batch
 * item too, with `viaBatch: true`) and returns a reply or `undefined` for the default answer;
 * or, without a handler, with `faults` patterns by request index. It can
 * also behave like a small real server (`contextTokens`, `honourMaxTokens`), go away and come back
 * on the same port (`pause`, `resume`), and keeps a ledger of what it answered so a test can tell
 * whether any request was paid for twice.
 *
 * Anthropic prompt caching is honoured as the API does it: the prefix up to the last block marked
 * `cache_control` (system blocks, then message content blocks) is remembered for five minutes
 * (`promptCacheTtlMs`) per model; a request reports `cache_creation_input_tokens` when it writes
 * it and `cache_read_input_tokens` when it finds it, and `input_tokens` without them. A prefix
 * under the minimum (1,024 tokens; 2,048 for Haiku 3.x; 4,096 for Haiku 4.5 and Opus 4.5/4.6;
 * characters / 4) is ignored, silently.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Protocol = 'openai' | 'anthropic';

export interface FakeRequest {
  /** 1-based, in arrival order (batch items get theirs when the batch is created). */
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
  /** An item of a batch (OpenAI Batch API or Anthropic Message Batches), not a synchronous request. */
  viaBatch: boolean;
  batchId?: string;
  customId?: string;
  /** Anthropic prompt caching, as reported in the answer's usage: tokens read from / written to the cache. */
  promptCache?: { read: number; write: number };
}

export type FakeReply =
  | { content: string }
  | { status: number; message?: string; headers?: Record<string, string> }
  /** Synchronous: answer after this long (or never, if the client gives up). A batch item: it expires. */
  | { hangMs: number }
  /** A batch item that never ran: missing from OpenAI's output, `expired` in Anthropic's results. */
  | { expire: true };

/** A fault on every `every`-th request: indexes offset+every, offset+2*every, ... */
export interface FaultPattern {
  every: number;
  offset?: number;
  status: number;
  retryAfterSeconds?: number;
  message?: string;
}

export interface FakeLlmOptions {
  /** Delay before every synchronous answer (the bench's fixed latency). */
  latencyMs?: number;
  /** Keys the server accepts; a request with any other gets a 401 that echoes the key it got. */
  acceptKeys?: string[];
  handler?: (req: FakeRequest) => FakeReply | undefined;
  /** Deterministic faults by request index, for requests the handler left alone. */
  faults?: FaultPattern[];
  /** A prompt longer than this many tokens (characters / 4) is refused with a 400 in llama-server's words (Anthropic's on /v1/messages). */
  contextTokens?: number;
  /** Cut a reply longer than the request's max tokens to that many tokens (4 characters each). */
  honourMaxTokens?: boolean;
  /** A batch is done this long after its creation (default 0: at the first poll)... */
  batchDelayMs?: number;
  /** ...or, when set, at its N-th poll. */
  batchPollsUntilDone?: number;
  /** How long a cached prompt prefix lives after its last use (Anthropic's default: 5 minutes). */
  promptCacheTtlMs?: number;
}

export interface FakeBatch {
  id: string;
  protocol: Protocol;
  items: number;
  createdAt: number;
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
  /** Batches created, in order. */
  batches: FakeBatch[];
  /** Requests answered with 200 (synchronous or batch item), by `ledgerKey` of their body. */
  ledger: Map<string, number>;
  /** How many distinct requests were answered more than once. */
  answeredTwice(): number;
  options: FakeLlmOptions;
  /** Stop listening and drop every connection: clients get ECONNREFUSED until `resume`. */
  pause(): Promise<void>;
  /** Listen again, on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// The default "model"

/** The passage's sentences: `raw` exactly as in the passage, `text` with its whitespace collapsed. */
function sentences(passage: string): Array<{ raw: string; text: string }> {
  return passage
    .split(/\n\s*\n|(?<=[.!?])\s+(?=[A-Z"“])/)
    .map((piece) => ({ raw: piece.trim(), text: piece.replace(/\s+/g, ' ').trim() }))
    .filter((s) => s.text.split(' ').length >= 6 && /[.!?]$/.test(s.text));
}

export interface DefaultPairsOptions {
  /** The prompt asked for a supporting quote per pair (qa-v2 and later). */
  quotes?: boolean;
  /** The document title the prompt gave, named in the question so that it stands on its own. */
  title?: string;
}

/**
 * Pairs from a passage: one per sentence, asking about the sentence's first words, the sentence
 * as the answer. Asked for quotes, each pair quotes its sentence verbatim from the passage and
 * its question names the document ("What does “Installing Lantern” say about …?").
 */
export function defaultPairs(passage: string, max: number, o: DefaultPairsOptions = {}): Array<{ question: string; answer: string; quote?: string }> {
  return sentences(passage)
    .slice(0, max)
    .map((s) => {
      const topic = s.text.split(' ').slice(0, 3).join(' ').replace(/[^\p{L}\p{N} ]/gu, '');
      if (!o.quotes) return { question: `What does the text state about ${topic}?`, answer: s.text };
      const question = o.title ? `What does “${o.title}” say about ${topic}?` : `What is known about ${topic}?`;
      return { question, answer: s.text, quote: s.raw };
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
  const title = /^Document: (.+)$/m.exec(prompt)?.[1];
  const quotes = prompt.includes('"quote"');
  return JSON.stringify({ pairs: defaultPairs(passage, max, { quotes, ...(title && title !== '(no title)' ? { title } : {}) }) });
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

/** Anthropic's minimum cacheable prefix, in tokens: a shorter prefix marked `cache_control` is not cached. */
export function fakeCacheMinimum(model: string): number {
  if (/opus-4-[56]|haiku-4-5/i.test(model)) return 4096;
  return /haiku/i.test(model) ? 2048 : 1024;
}

/**
 * The prefix up to the last block marked `cache_control`, in Anthropic's order (system, then the
 * messages' content blocks): its identity and its size; undefined without a mark.
 */
function markedPrefix(body: Record<string, unknown>): { key: string; tokens: number } | undefined {
  const blocks: unknown[] = [];
  if (Array.isArray(body.system)) blocks.push(...(body.system as unknown[]));
  for (const m of (body.messages ?? []) as Array<{ role: string; content: unknown }>) {
    if (Array.isArray(m.content)) blocks.push(...(m.content as unknown[]).map((c) => ({ role: m.role, ...(c as object) })));
    else blocks.push({ role: m.role, type: 'text', text: String(m.content) });
  }
  const last = blocks.findLastIndex((b) => typeof b === 'object' && b !== null && 'cache_control' in b && (b as { cache_control?: unknown }).cache_control);
  if (last < 0) return undefined;
  const prefix = blocks.slice(0, last + 1);
  const text = prefix.map((b) => textOf([b])).join('');
  return { key: createHash('sha256').update(`${String(body.model)}\u0000${canonical(prefix)}`).digest('hex'), tokens: tokens(text) };
}

type CacheUse = { read: number; write: number };

function okBody(protocol: Protocol, model: string, prompt: string, content: string, n: number, cut = false, cache: CacheUse = { read: 0, write: 0 }): unknown {
  if (protocol === 'openai') {
    return {
      id: `chatcmpl-${n}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: cut ? 'length' : 'stop', logprobs: null }],
      usage: { prompt_tokens: tokens(prompt), completion_tokens: tokens(content), total_tokens: tokens(prompt) + tokens(content) },
    };
  }
  return {
    id: `msg_${n}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: content }],
    stop_reason: cut ? 'max_tokens' : 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: Math.max(0, tokens(prompt) - cache.read - cache.write),
      output_tokens: tokens(content),
      ...(cache.read || cache.write ? { cache_creation_input_tokens: cache.write, cache_read_input_tokens: cache.read } : {}),
    },
  };
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** Anthropic's error object (the `error` of an error response, and of an `errored` batch result). */
function anthropicError(status: number, message: string) {
  return { type: ANTHROPIC_ERROR_TYPES[status] ?? 'api_error', message };
}

function errorBody(protocol: Protocol, status: number, message: string): unknown {
  if (protocol === 'openai') {
    return { error: { message, type: status === 401 ? 'invalid_request_error' : 'server_error', param: null, code: status === 401 ? 'invalid_api_key' : null } };
  }
  return { type: 'error', error: anthropicError(status, message) };
}

/**
 * What llama.cpp's llama-server (OpenAI protocol) and Anthropic say about a prompt longer than
 * the context, numbers included: corpus-qa learns the context from them (contextFit.ts).
 */
function contextErrorBody(protocol: Protocol, promptTokens: number, contextTokens: number): unknown {
  if (protocol === 'openai') {
    return {
      error: {
        code: 400,
        message: `request (${promptTokens} tokens) exceeds the available context size (${contextTokens} tokens), try increasing it`,
        type: 'exceed_context_size_error',
        n_prompt_tokens: promptTokens,
        n_ctx: contextTokens,
      },
    };
  }
  return { type: 'error', error: { type: 'invalid_request_error', message: `prompt is too long: ${promptTokens} tokens > ${contextTokens} maximum` } };
}

/** OpenAI sends `Authorization: Bearer`; Anthropic `x-api-key` (SDK 0.x) or `Authorization: Bearer` (1.x). */
function credentialOf(protocol: Protocol, req: IncomingMessage): string | undefined {
  const bearer = req.headers.authorization?.replace(/^Bearer /, '');
  if (protocol === 'openai') return bearer;
  return typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : bearer;
}

/** The fields that decide an answer; ids, metadata and transport options do not. */
const LEDGER_FIELDS = ['model', 'system', 'messages', 'temperature', 'max_tokens', 'max_completion_tokens', 'response_format'];

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The ledger's key for a request body: the same request, sent twice, has the same key. */
export function ledgerKey(body: Record<string, unknown>): string {
  const kept = Object.fromEntries(LEDGER_FIELDS.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
  return createHash('sha256').update(canonical(kept)).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// The server

/** A reply decided for one request, ready to send (or to write into a batch's output). */
interface Outcome {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface Incoming {
  request: FakeRequest;
  parsed: ParsedBody;
  prompt: string;
  firstUser: string;
}

interface StoredBatch extends FakeBatch {
  polls: number;
  /** OpenAI's batch metadata, as given on create. */
  metadata: Record<string, string> | null;
  endpoint: string;
  inputFileId?: string;
  /** Per item, in submission order; `expired` for an item that never ran. */
  results: Array<{ customId: string; outcome: Outcome | 'expired' }>;
  outputFileId?: string;
  errorFileId?: string;
  settled: boolean;
}

interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  bytes: Buffer;
  createdAt: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const seconds = (ms: number) => Math.floor(ms / 1000);

export async function startFakeLlmServer(options: FakeLlmOptions = {}): Promise<FakeLlmServer> {
  const seen = new Map<string, number>();
  /** Anthropic prompt cache: prefix key -> when it expires. */
  const promptCache = new Map<string, number>();
  const ledger = new Map<string, number>();
  const files = new Map<string, StoredFile>();
  const batches = new Map<string, StoredBatch>();
  let inFlight = 0;
  const state = {
    requests: [] as FakeRequest[],
    statuses: [] as number[],
    hangs: 0,
    maxInFlight: 0,
  };

  /** False when the client is gone (it timed out): nothing was answered. */
  const sendRaw = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): boolean => {
    if (res.destroyed || !res.socket || res.socket.destroyed) return false;
    state.statuses.push(status);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
    return true;
  };
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => sendRaw(res, status, JSON.stringify(body), headers);
  const record = (body: Record<string, unknown>) => {
    const key = ledgerKey(body);
    ledger.set(key, (ledger.get(key) ?? 0) + 1);
  };

  // --- One chat request, synchronous or a batch item: the same logic for both.

  const intake = (protocol: Protocol, body: Record<string, unknown>, credential: string | undefined, item?: { batchId: string; customId: string }): Incoming => {
    const parsed = parseBody(protocol, body);
    const prompt = [parsed.system, ...parsed.messages.map((m) => m.content)].join('\n');
    const firstUser = parsed.messages.find((m) => m.role === 'user')?.content ?? '';
    const kind = firstUser.includes('<pairs>') ? 'judge' : 'generate';
    const repair = parsed.messages.length > 1;
    // The passage is in the user message, or (prompt caching) in a system block.
    const passage = between(firstUser, '<passage>', '</passage>') || between(parsed.system, '<passage>', '</passage>');
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
      credential,
      body,
      at: Date.now(),
      viaBatch: item !== undefined,
      ...item,
    };
    state.requests.push(request);
    return { request, parsed, prompt, firstUser };
  };

  /** What answering this request does with the prompt cache: writes its marked prefix, or reads it. */
  const useCache = (r: Incoming): CacheUse => {
    if (r.request.protocol !== 'anthropic') return { read: 0, write: 0 };
    const prefix = markedPrefix(r.request.body);
    if (!prefix || prefix.tokens < fakeCacheMinimum(r.parsed.model)) return { read: 0, write: 0 };
    const now = Date.now();
    const hit = (promptCache.get(prefix.key) ?? 0) > now;
    promptCache.set(prefix.key, now + (options.promptCacheTtlMs ?? 5 * 60_000));
    const use = hit ? { read: prefix.tokens, write: 0 } : { read: 0, write: prefix.tokens };
    r.request.promptCache = use;
    return use;
  };

  /** The text a default answer is read from: the first user message, and the system prompt when the passage is there. */
  const answerSource = (r: Incoming) => (r.firstUser.includes('<passage>') ? r.firstUser : `${r.parsed.system}\n${r.firstUser}`);

  const faultFor = (index: number): FakeReply | undefined => {
    const f = options.faults?.find((p) => index > (p.offset ?? 0) && (index - (p.offset ?? 0)) % p.every === 0);
    if (!f) return undefined;
    return {
      status: f.status,
      message: f.message ?? `injected ${f.status} (every ${f.every})`,
      ...(f.retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(f.retryAfterSeconds) } } : {}),
    };
  };

  /** The handler's reply, else a fault pattern's, else a context overflow, else the default answer. */
  const decide = (r: Incoming): FakeReply | Outcome => {
    const custom = options.handler?.(r.request) ?? faultFor(r.request.index);
    if (custom) return custom;
    if (options.contextTokens !== undefined && tokens(r.prompt) > options.contextTokens) {
      return { status: 400, body: contextErrorBody(r.request.protocol, tokens(r.prompt), options.contextTokens) };
    }
    return { content: defaultAnswer(r.request.kind, answerSource(r)) };
  };

  const outcomeOf = (r: Incoming, reply: Exclude<FakeReply, { hangMs: number } | { expire: true }> | Outcome): Outcome => {
    if ('body' in reply) return reply;
    if ('status' in reply) {
      return { status: reply.status, body: errorBody(r.request.protocol, reply.status, reply.message ?? `injected ${reply.status}`), headers: reply.headers };
    }
    let content = reply.content;
    const limit = Number(r.request.body.max_completion_tokens ?? r.request.body.max_tokens);
    const cut = options.honourMaxTokens === true && Number.isFinite(limit) && tokens(content) > limit;
    if (cut) content = content.slice(0, limit * 4);
    return { status: 200, body: okBody(r.request.protocol, r.parsed.model, r.prompt, content, r.request.index, cut, useCache(r)) };
  };

  const chat = async (protocol: Protocol, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) => {
    const r = intake(protocol, body, credentialOf(protocol, req));
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    if (options.acceptKeys && !options.acceptKeys.includes(r.request.credential ?? '')) {
      // Like some real servers, echo what was sent: the client must keep it out of its messages.
      return send(res, 401, errorBody(protocol, 401, `Incorrect API key provided: ${r.request.credential ?? '(none)'}`));
    }
    let reply = decide(r);
    if ('hangMs' in reply) {
      const hangMs = reply.hangMs;
      state.hangs++;
      await new Promise((resolve) => {
        const t = setTimeout(resolve, hangMs);
        res.on('close', () => {
          clearTimeout(t);
          resolve(undefined);
        });
      });
      reply = { content: defaultAnswer(r.request.kind, answerSource(r)) };
    }
    if ('expire' in reply) reply = { content: defaultAnswer(r.request.kind, answerSource(r)) }; // only batch items expire
    const out = outcomeOf(r, reply);
    if (send(res, out.status, out.body, out.headers) && out.status === 200) record(body);
  };

  const batchItem = (protocol: Protocol, body: Record<string, unknown>, credential: string | undefined, batchId: string, customId: string) => {
    const r = intake(protocol, body, credential, { batchId, customId });
    const reply = decide(r);
    if ('hangMs' in reply || 'expire' in reply) return { customId, outcome: 'expired' as const };
    const outcome = outcomeOf(r, reply);
    if (outcome.status === 200) record(body);
    return { customId, outcome };
  };

  // --- Batches: answered when created; reported done after batchDelayMs or batchPollsUntilDone polls.

  const isDone = (b: StoredBatch) =>
    options.batchPollsUntilDone !== undefined ? b.polls >= options.batchPollsUntilDone : Date.now() - b.createdAt >= (options.batchDelayMs ?? 0);

  const newBatch = (protocol: Protocol, id: string, endpoint: string, inputFileId?: string): StoredBatch => {
    const b: StoredBatch = { id, protocol, items: 0, createdAt: Date.now(), polls: 0, metadata: null, endpoint, inputFileId, results: [], settled: false };
    batches.set(id, b);
    return b;
  };

  const storeFile = (filename: string, purpose: string, bytes: Buffer): StoredFile => {
    const f = { id: `file-${files.size + 1}`, filename, purpose, bytes, createdAt: Date.now() };
    files.set(f.id, f);
    return f;
  };

  const fileObject = (f: StoredFile) => ({
    id: f.id,
    object: 'file',
    bytes: f.bytes.length,
    created_at: seconds(f.createdAt),
    filename: f.filename,
    purpose: f.purpose,
    status: 'processed',
    status_details: null,
    expires_at: null,
  });

  /** Writes a finished OpenAI batch's output and error files (once), in OpenAI's batch output format. */
  const settleOpenAi = (b: StoredBatch) => {
    if (b.settled) return;
    b.settled = true;
    const ok: string[] = [];
    const failed: string[] = [];
    b.results.forEach(({ customId, outcome }, i) => {
      if (outcome === 'expired') return; // never ran: in neither file
      const line = JSON.stringify({
        id: `batch_req_${b.id}_${i + 1}`,
        custom_id: customId,
        response: { status_code: outcome.status, request_id: `req_${b.id}_${i + 1}`, body: outcome.body },
        error: null,
      });
      (outcome.status === 200 ? ok : failed).push(line);
    });
    const jsonl = (lines: string[]) => Buffer.from(lines.map((l) => `${l}\n`).join(''));
    if (ok.length) b.outputFileId = storeFile(`${b.id}_output.jsonl`, 'batch_output', jsonl(ok)).id;
    if (failed.length) b.errorFileId = storeFile(`${b.id}_error.jsonl`, 'batch_output', jsonl(failed)).id;
  };

  const counts = (b: StoredBatch) => {
    const c = { succeeded: 0, errored: 0, expired: 0 };
    for (const { outcome } of b.results) {
      if (outcome === 'expired') c.expired++;
      else if (outcome.status === 200) c.succeeded++;
      else c.errored++;
    }
    return c;
  };

  const openAiBatchObject = (b: StoredBatch) => {
    const done = b.polls > 0 && isDone(b);
    if (done) settleOpenAi(b);
    const c = counts(b);
    const created = seconds(b.createdAt);
    const status = !done ? (b.polls === 0 ? 'validating' : 'in_progress') : c.expired > 0 ? 'expired' : 'completed';
    return {
      id: b.id,
      object: 'batch',
      endpoint: b.endpoint,
      errors: null,
      input_file_id: b.inputFileId,
      completion_window: '24h',
      status,
      output_file_id: b.outputFileId ?? null,
      error_file_id: b.errorFileId ?? null,
      created_at: created,
      in_progress_at: b.polls > 0 ? created : null,
      expires_at: created + 24 * 3600,
      finalizing_at: done ? created : null,
      completed_at: status === 'completed' ? created : null,
      failed_at: null,
      expired_at: status === 'expired' ? created : null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: b.items, completed: done ? c.succeeded : 0, failed: done ? c.errored + c.expired : 0 },
      metadata: b.metadata,
    };
  };

  const createOpenAiBatch = (body: Record<string, unknown>, credential: string | undefined) => {
    const input = files.get(String(body.input_file_id));
    if (!input) throw new HttpError(404, `No such File object: ${String(body.input_file_id)}`);
    if (body.endpoint !== '/v1/chat/completions') throw new HttpError(400, `unsupported endpoint ${String(body.endpoint)}`);
    if (body.completion_window !== '24h') throw new HttpError(400, `completion_window must be '24h'`);
    const lines = input.bytes.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    const items = lines.map((l, i) => {
      const item = JSON.parse(l) as { custom_id?: unknown; method?: unknown; url?: unknown; body?: Record<string, unknown> };
      if (typeof item.custom_id !== 'string' || item.method !== 'POST' || item.url !== body.endpoint || !item.body) {
        throw new HttpError(400, `line ${i + 1} of ${input.id} is not a batch request for ${String(body.endpoint)}`);
      }
      return { customId: item.custom_id, body: item.body };
    });
    if (new Set(items.map((i) => i.customId)).size !== items.length) throw new HttpError(400, 'custom_id values must be unique');
    const b = newBatch('openai', `batch_${batches.size + 1}`, String(body.endpoint), input.id);
    b.items = items.length;
    if (body.metadata && typeof body.metadata === 'object') b.metadata = body.metadata as Record<string, string>;
    b.results = items.map((i) => batchItem('openai', i.body, credential, b.id, i.customId));
    return openAiBatchObject(b);
  };

  const anthropicBatchObject = (b: StoredBatch, url: string) => {
    const done = b.polls > 0 && isDone(b);
    const c = counts(b);
    const created = new Date(b.createdAt).toISOString();
    return {
      id: b.id,
      type: 'message_batch',
      processing_status: done ? 'ended' : 'in_progress',
      request_counts: done
        ? { processing: 0, succeeded: c.succeeded, errored: c.errored, canceled: 0, expired: c.expired }
        : { processing: b.items, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      ended_at: done ? created : null,
      created_at: created,
      expires_at: new Date(b.createdAt + 24 * 3600 * 1000).toISOString(),
      archived_at: null,
      cancel_initiated_at: null,
      results_url: done ? `${url}/v1/messages/batches/${b.id}/results` : null,
    };
  };

  const createAnthropicBatch = (body: Record<string, unknown>, credential: string | undefined, url: string) => {
    const requests = body.requests as Array<{ custom_id?: unknown; params?: Record<string, unknown> }> | undefined;
    if (!Array.isArray(requests) || requests.length === 0) throw new HttpError(400, 'requests: at least one request is required');
    for (const r of requests) if (typeof r.custom_id !== 'string' || !r.params) throw new HttpError(400, 'each request needs custom_id and params');
    if (new Set(requests.map((r) => r.custom_id)).size !== requests.length) throw new HttpError(400, 'custom_id values must be unique');
    const b = newBatch('anthropic', `msgbatch_${String(batches.size + 1).padStart(4, '0')}`, '/v1/messages');
    b.items = requests.length;
    b.results = requests.map((r) => batchItem('anthropic', r.params!, credential, b.id, r.custom_id as string));
    return anthropicBatchObject(b, url);
  };

  const anthropicResults = (b: StoredBatch): string =>
    b.results
      .map(({ customId, outcome }) => {
        const result =
          outcome === 'expired'
            ? { type: 'expired' }
            : outcome.status === 200
              ? { type: 'succeeded', message: outcome.body }
              : {
                  type: 'errored',
                  // The shape of an error response, as the API (and the SDK's types) have it.
                  error: { type: 'error', error: (outcome.body as { error: unknown }).error, request_id: `req_${b.id}_${customId}` },
                };
        return `${JSON.stringify({ custom_id: customId, result })}\n`;
      })
      .join('');

  // --- Routes

  /** The providers' list endpoints: newest first, a page of `limit` after the cursor (no poll counted). */
  const listBatches = (protocol: Protocol, query: URLSearchParams, toObject: (b: StoredBatch) => unknown) => {
    const all = [...batches.values()].filter((b) => b.protocol === protocol).reverse();
    const after = query.get(protocol === 'openai' ? 'after' : 'after_id');
    const from = after ? all.findIndex((b) => b.id === after) + 1 : 0;
    const page = all.slice(from, from + Number(query.get('limit') ?? 20));
    const more = from + page.length < all.length;
    return protocol === 'openai'
      ? { object: 'list', data: page.map(toObject), first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: more }
      : { data: page.map(toObject), first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: more };
  };

  const batchOf = (protocol: Protocol, id: string): StoredBatch => {
    const b = batches.get(id);
    if (!b || b.protocol !== protocol) throw new HttpError(404, `No such batch: ${id}`);
    return b;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const { pathname: path, searchParams: query } = new URL(req.url ?? '/', 'http://x');
    const post = req.method === 'POST';
    if (post && path === '/v1/chat/completions') return chat('openai', req, res, JSON.parse(raw.toString('utf8')) as Record<string, unknown>);
    if (post && path === '/v1/messages') return chat('anthropic', req, res, JSON.parse(raw.toString('utf8')) as Record<string, unknown>);

    const protocol: Protocol = path.startsWith('/v1/messages/') ? 'anthropic' : 'openai';
    try {
      const credential = credentialOf(protocol, req);
      if (options.acceptKeys && !options.acceptKeys.includes(credential ?? '')) {
        throw new HttpError(401, `Incorrect API key provided: ${credential ?? '(none)'}`);
      }
      const json = () => JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      let m: RegExpExecArray | null;
      if (post && path === '/v1/files') {
        const form = await new Response(raw, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
        const file = form.get('file');
        if (!(file instanceof Blob)) throw new HttpError(400, 'file: a file is required');
        const name = 'name' in file && typeof file.name === 'string' ? file.name : 'upload';
        return send(res, 200, fileObject(storeFile(name, String(form.get('purpose') ?? ''), Buffer.from(await file.arrayBuffer()))));
      }
      if (req.method === 'GET' && (m = /^\/v1\/files\/([^/]+)\/content$/.exec(path))) {
        const f = files.get(decodeURIComponent(m[1]!));
        if (!f) throw new HttpError(404, `No such File object: ${m[1]}`);
        return sendRaw(res, 200, f.bytes.toString('utf8'), { 'content-type': 'application/octet-stream' });
      }
      if (post && path === '/v1/batches') return send(res, 200, createOpenAiBatch(json(), credential));
      if (req.method === 'GET' && path === '/v1/batches') return send(res, 200, listBatches('openai', query, openAiBatchObject));
      if (req.method === 'GET' && path === '/v1/messages/batches') return send(res, 200, listBatches('anthropic', query, (b) => anthropicBatchObject(b, url)));
      if (req.method === 'GET' && (m = /^\/v1\/batches\/([^/]+)$/.exec(path))) {
        const b = batchOf('openai', decodeURIComponent(m[1]!));
        b.polls++;
        return send(res, 200, openAiBatchObject(b));
      }
      if (post && path === '/v1/messages/batches') return send(res, 200, createAnthropicBatch(json(), credential, url));
      if (req.method === 'GET' && (m = /^\/v1\/messages\/batches\/([^/]+)$/.exec(path))) {
        const b = batchOf('anthropic', decodeURIComponent(m[1]!));
        b.polls++;
        return send(res, 200, anthropicBatchObject(b, url));
      }
      if (req.method === 'GET' && (m = /^\/v1\/messages\/batches\/([^/]+)\/results$/.exec(path))) {
        const b = batchOf('anthropic', decodeURIComponent(m[1]!));
        if (!(b.polls > 0 && isDone(b))) throw new HttpError(400, `batch ${b.id} is still processing; results are available once it has ended`);
        return sendRaw(res, 200, anthropicResults(b), { 'content-type': 'application/binary' });
      }
      throw new HttpError(404, `no route ${req.method} ${req.url}`);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      return send(res, err.status, errorBody(protocol, err.status, err.message));
    }
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
      void handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        send(res, 500, { error: { message: `fake server bug: ${String(err)}` } });
      });
    });
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve()); // called with an error if already stopped (paused): fine
      server.closeAllConnections();
    });

  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
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
    get batches() {
      return [...batches.values()].map(({ id, protocol, items, createdAt }) => ({ id, protocol, items, createdAt }));
    },
    ledger,
    answeredTwice: () => [...ledger.values()].filter((n) => n > 1).length,
    options,
    pause: stop,
    resume: () => (server.listening ? Promise.resolve() : listen(port)),
    close: stop,
  };
}

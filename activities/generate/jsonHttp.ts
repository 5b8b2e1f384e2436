/**
 * One JSON POST over node:http(s) with a keep-alive agent: the synchronous chat path's transport.
 * The SDK's request over Node's fetch cost about 20% of the worker's main thread at 64 requests
 * in flight (WHATWG streams, AbortSignal and Headers objects, the SDK's own request building and
 * logging per call); this does the same request with a plain socket pool and one JSON.parse.
 *
 * Failures are thrown as the SDK's own error classes (given by the caller), built the way the SDK
 * builds them, so llmErrors.ts maps them exactly as before: a status with the body's error, the
 * server's headers (Retry-After), a timeout, our own abort, a connection error with its cause.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** The SDK's error constructors, in the shapes llmErrors.ts reads. */
export interface SdkErrors {
  status(status: number, errorJson: object | undefined, message: string | undefined, headers: Headers): Error;
  timeout(): Error;
  aborted(): Error;
  connection(cause: Error): Error;
}

export interface PostOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Socket errors that mean a kept-alive connection was closed by the server as we reused it. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

export class JsonHttpClient {
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  /** Each path's request target, parsed once (a URL per request showed in the profile). */
  private readonly targets = new Map<string, RequestTarget>();

  constructor(
    /** Where paths are resolved, as the SDK does: base URL + path. */
    private readonly baseUrl: string,
    private readonly errors: SdkErrors,
  ) {
    const https = baseUrl.startsWith('https:');
    this.agent = agentFor(https);
    this.send = https ? httpsRequest : httpRequest;
  }

  async post(path: string, body: unknown, options: PostOptions): Promise<unknown> {
    let url = this.targets.get(path);
    if (!url) this.targets.set(path, (url = targetOf(new URL(this.baseUrl + (this.baseUrl.endsWith('/') && path.startsWith('/') ? path.slice(1) : path)))));
    const data = Buffer.from(JSON.stringify(body));
    try {
      return await this.attempt(url, data, options, true);
    } catch (err) {
      // A kept-alive socket the server had just closed: the request never reached it. Once more;
      // a second failure is a connection error like any other (a server going away resets
      // every socket, and the caller's retry with backoff is what waits for it).
      if (err instanceof StaleSocket) return this.attempt(url, data, options, false);
      throw err;
    }
  }

  private attempt(target: RequestTarget, data: Buffer, { headers, timeoutMs, signal }: PostOptions, retryStale: boolean): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(this.errors.aborted());
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, value?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(value);
      };
      const onAbort = () => finish(this.errors.aborted());
      const timer = setTimeout(() => finish(this.errors.timeout()), timeoutMs);
      const req = this.send(
        {
          ...target,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': String(data.length), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => finish(this.errors.connection(err)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              try {
                finish(undefined, JSON.parse(text));
              } catch (err) {
                finish(err as Error);
              }
              return;
            }
            // As the SDK does: the body's JSON if it is JSON (its `error` is what the message quotes), else its text.
            let json: object | undefined;
            try {
              const parsed: unknown = JSON.parse(text);
              json = parsed && typeof parsed === 'object' ? parsed : undefined;
            } catch {
              json = undefined;
            }
            finish(this.errors.status(status, json, json ? undefined : text, headersOf(res)));
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (retryStale && req.reusedSocket && err.code && STALE_SOCKET.has(err.code) && !settled) {
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(new StaleSocket());
          return;
        }
        finish(this.errors.connection(err));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(data);
    });
  }
}

class StaleSocket extends Error {}

interface RequestTarget {
  protocol: string;
  hostname: string;
  port: string;
  path: string;
  auth?: string;
}

function targetOf(url: URL): RequestTarget {
  return {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''), // an IPv6 literal without its brackets, as node:http wants it
    port: url.port,
    path: url.pathname + url.search,
    ...(url.username ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` } : {}),
  };
}

const agents = new Map<boolean, HttpAgent>();

/**
 * One keep-alive pool per process (for http, and for https), shared by every batch's backend:
 * a pool per backend made every new batch open its connections again.
 */
function agentFor(https: boolean): HttpAgent {
  let agent = agents.get(https);
  if (!agent) agents.set(https, (agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true })));
  return agent;
}

function headersOf(res: IncomingMessage): Headers {
  const h = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) h.append(name, v);
  }
  return h;
}

/**
 * A real local LLM for tests: llama.cpp's `llama-server` and SmolLM2-135M-Instruct, as built and
 * fetched by scripts/setup-local-llm.sh (it writes $CACHE/local-llm.json). Nothing here builds
 * or downloads anything: when the build is not cached, localLlmPaths() says why and the tests
 * that need it skip.
 *
 * The server is started bound to 127.0.0.1 only, with --no-repack, one slot (-np 1), one
 * thread (see StartLlamaServerOptions.threads) and no web UI; LLAMA_ARG_* variables of the caller's environment (llama.cpp reads them as flags)
 * are dropped so that only the arguments given here count.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../client/server/devServer.js';
import { cacheDir, isExecutable } from '../../client/server/temporalCli.js';

export const SETUP_HINT = 'run bash scripts/setup-local-llm.sh';

export interface LocalLlmPaths {
  server: string;
  model: string;
}

export type LocalLlmLookup = ({ ok: true } & LocalLlmPaths) | { ok: false; reason: string };


function isGguf(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const b = Buffer.alloc(4);
      return readSync(fd, b, 0, 4, 0) === 4 && b.toString('latin1') === 'GGUF';
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/**
 * Where the server and the model are: CORPUS_QA_LLAMA_SERVER and CORPUS_QA_LLAMA_MODEL when
 * both are set, else $CACHE/local-llm.json (written by scripts/setup-local-llm.sh).
 */
export function findLocalLlm(): LocalLlmLookup {
  let server = process.env.CORPUS_QA_LLAMA_SERVER;
  let model = process.env.CORPUS_QA_LLAMA_MODEL;
  let from = 'CORPUS_QA_LLAMA_SERVER/CORPUS_QA_LLAMA_MODEL';
  if (!server || !model) {
    const manifest = join(cacheDir(), 'local-llm.json');
    if (!existsSync(manifest)) return { ok: false, reason: `llama-server not built; ${SETUP_HINT}` };
    try {
      const m = JSON.parse(readFileSync(manifest, 'utf8')) as Partial<LocalLlmPaths>;
      server = m.server;
      model = m.model;
    } catch (err) {
      return { ok: false, reason: `${manifest} is unreadable (${(err as Error).message}); ${SETUP_HINT}` };
    }
    from = manifest;
  }
  if (!server || !isExecutable(server)) return { ok: false, reason: `llama-server not built (${server ?? '?'} from ${from} is not an executable); ${SETUP_HINT}` };
  if (!model || !isGguf(model)) return { ok: false, reason: `model missing (${model ?? '?'} from ${from} is not a GGUF file); ${SETUP_HINT}` };
  return { ok: true, server, model };
}

/** {server, model}, or undefined when not built (whyNoLocalLlm() says why). */
export function localLlmPaths(): LocalLlmPaths | undefined {
  const r = findLocalLlm();
  return r.ok ? { server: r.server, model: r.model } : undefined;
}

export function whyNoLocalLlm(): string | undefined {
  const r = findLocalLlm();
  return r.ok ? undefined : r.reason;
}

/** The environment llama-server gets: the caller's, without llama.cpp's own LLAMA_ARG_* flags. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LLAMA_ARG_')) env[k] = v;
  return env;
}

/** `llama-server --version`'s first line without "version: ", e.g. "0.6.0-dev (build 11434, commit ...)". */
export function llamaServerVersion(server: string): string {
  // It prints the version on stderr and exits 0.
  const r = spawnSync(server, ['--version'], { encoding: 'utf8', env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const line = text.split('\n').find((l) => l.startsWith('version'));
  return line ? line.replace(/^version:\s*/, '').trim() : `unknown (${r.error?.message ?? `exit ${r.status}`})`;
}

export interface LlamaServer {
  /** http://127.0.0.1:PORT (append /v1 for the OpenAI-compatible API). */
  baseUrl: string;
  port: number;
  pid: number;
  /** Where the server's stdout and stderr go. */
  logPath: string;
  /** The last part of the server's log (for failure messages). */
  logTail(chars?: number): string;
  /** SIGTERM, then SIGKILL if it has not exited within a few seconds. Idempotent. */
  stop(): Promise<void>;
}

export interface StartLlamaServerOptions {
  ctxSize: number;
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  /** Name reported in /v1/models (requests may name any model: the server has one). */
  alias?: string;
  /**
   * CPU threads; default 1 (or CORPUS_QA_LLAMA_THREADS). On this 2-core machine the server
   * shares the CPU with the CLI, Temporal and the other test worker, and ggml's threads wait
   * for each other at every step: measured with SmolLM2-135M under that load, 2 threads gave
   * 2-4 tokens/s and 1 thread 55-75 tokens/s.
   */
  threads?: number;
  /** More llama-server arguments. */
  extraArgs?: string[];
  /** How long to wait for GET /health to be ok (the first load takes a few seconds). */
  readyTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that dies without stop() must not leave a server behind.
  process.on('exit', () => {
    for (const child of running) {
      try {
        child.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function readTail(path: string, chars: number): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.length > chars ? text.slice(-chars) : text;
  } catch {
    return '';
  }
}

async function healthOk(baseUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return false;
    const body = (await res.json()) as { status?: string };
    return body.status === 'ok';
  } catch {
    return false;
  }
}

async function startOnce(paths: LocalLlmPaths, port: number, opts: StartLlamaServerOptions): Promise<LlamaServer | { exited: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'corpus-qa-llama-'));
  const logPath = join(dir, 'llama-server.log');
  const args = [
    '-m', paths.model,
    '--host', '127.0.0.1',
    '--port', String(port),
    '-c', String(opts.ctxSize),
    '--no-repack',
    '-np', '1',
    '--alias', opts.alias ?? 'smollm2',
    '--no-webui',
    '-t', String(opts.threads ?? (Number(process.env.CORPUS_QA_LLAMA_THREADS) || 1)),
    ...(opts.extraArgs ?? []),
  ];
  const log = openSync(logPath, 'a');
  const child = spawn(paths.server, args, { env: serverEnv(), stdio: ['ignore', log, log] });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${paths.server}`);
  running.add(child);
  installExitHook();
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitedP = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      resolve();
    }),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const server: LlamaServer = {
    baseUrl,
    port,
    pid: child.pid,
    logPath,
    logTail: (chars = 3000) => readTail(logPath, chars),
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exitedP.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exitedP;
      }
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (exited) return { exited: `llama-server exited (${JSON.stringify(exited)}) before it was ready:\n${server.logTail()}` };
    if (await healthOk(baseUrl)) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`llama-server did not become ready at ${baseUrl}/health within ${opts.readyTimeoutMs ?? 120_000} ms:\n${server.logTail()}`);
    }
    await sleep(200);
  }
}

/**
 * Starts llama-server with the model from localLlmPaths() and waits until GET /health answers
 * {"status":"ok"}. Without a given port, a free one is picked (and another tried if it was
 * taken before the server bound it).
 */
export async function startLlamaServer(opts: StartLlamaServerOptions): Promise<LlamaServer> {
  const found = findLocalLlm();
  if (!found.ok) throw new Error(found.reason);
  let last = '';
  for (let attempt = 0; attempt < (opts.port ? 1 : 3); attempt++) {
    const r = await startOnce(found, opts.port ?? (await freePort()), opts);
    if (!('exited' in r)) return r;
    last = r.exited;
    if (!/bind|address already in use/i.test(last)) break;
  }
  throw new Error(last);
}

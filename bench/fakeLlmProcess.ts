/**
 * The fake LLM server (test/helpers/fakeLlmServer.ts) in a process of its own, for the LLM bench:
 * a real LLM server is elsewhere, and in the bench's process its HTTP parsing, answers and
 * timers took the main thread from the worker being measured. Started with an IPC channel; says
 * { url, openaiBaseUrl } once listening, answers { arrivals: from } with the arrival times of the
 * requests after index `from`, and closes on { close: true }.
 */
import { startFakeLlmServer } from '../test/helpers/fakeLlmServer.js';

type Ask = { arrivals: number } | { close: true };

const server = await startFakeLlmServer({ latencyMs: Number(process.argv[2] ?? '200') });
process.on('message', (m: Ask) => {
  if ('arrivals' in m) {
    process.send!({ arrivals: server.requests.slice(m.arrivals).map((r) => r.at) });
  } else {
    void server.close().then(() => process.disconnect());
  }
});
process.send!({ url: server.url, openaiBaseUrl: server.openaiBaseUrl });

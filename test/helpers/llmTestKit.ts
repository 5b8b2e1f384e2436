/** What every LLM test file sets up: keys in the environment for its duration, fake servers closed after each test. */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startFakeLlmServer, type FakeLlmOptions, type FakeLlmServer } from './fakeLlmServer.js';

/** Sets these variables before the file's tests and restores what was there after. */
export function withEnv(vars: Record<string, string>): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  beforeAll(() => {
    Object.assign(process.env, vars);
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

/** A starter of fake LLM servers; each one is closed when its test ends. */
export function fakeLlmServers(): (options?: FakeLlmOptions) => Promise<FakeLlmServer> {
  const servers: FakeLlmServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (options = {}) => {
    const s = await startFakeLlmServer(options);
    servers.push(s);
    return s;
  };
}

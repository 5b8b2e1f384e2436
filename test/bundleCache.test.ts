import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleKey, cachedWorkflowBundle, workflowBundleCache } from '../worker/bundleCache.js';
import { sdkVersion, WORKFLOWS_PATH } from '../worker/index.js';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const dir = mkdtempSync(join(tmpdir(), 'bundle-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('workflow bundle cache', () => {
  it('builds once, then reads the stored bundle for the same sources', async () => {
    const key = bundleKey(WORKFLOWS_PATH, sdkVersion());
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    const first = await cachedWorkflowBundle(WORKFLOWS_PATH, sdkVersion(), dir, quiet);
    expect(readdirSync(join(dir, 'bundles'))).toEqual([`${key}.js`]);
    // A marker in the stored file (stored whole, with its trailer) proves the second call read
    // it instead of bundling again.
    const file = join(dir, 'bundles', `${key}.js`);
    workflowBundleCache(dir).store(key!, `${first.code}\n// marker`);
    const second = await cachedWorkflowBundle(WORKFLOWS_PATH, sdkVersion(), dir, quiet);
    expect(second.code).toBe(`${first.code}\n// marker`);
    expect(readFileSync(file, 'utf8').startsWith(second.code)).toBe(true);
  }, 120_000);

  it('a stored bundle cut short is built again, and stored whole', async () => {
    const key = bundleKey(WORKFLOWS_PATH, sdkVersion())!;
    const file = join(dir, 'bundles', `${key}.js`);
    const built = await cachedWorkflowBundle(WORKFLOWS_PATH, sdkVersion(), undefined, quiet);
    workflowBundleCache(dir).store(key, built.code);
    const whole = readFileSync(file);
    // What a crash between the write and its sync can leave: the start of the file only.
    truncateSync(file, Math.floor(whole.length / 2));
    const again = await cachedWorkflowBundle(WORKFLOWS_PATH, sdkVersion(), dir, quiet);
    expect(again.code).toBe(built.code);
    expect(readFileSync(file).equals(whole)).toBe(true);
  }, 120_000);

  it('keys on the SDK version as well as the sources', () => {
    expect(bundleKey(WORKFLOWS_PATH, '0.0.0')).not.toBe(bundleKey(WORKFLOWS_PATH, sdkVersion()));
  });
});

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleKey, cachedWorkflowBundle } from '../worker/bundleCache.js';
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
    // A marker in the stored file proves the second call read it instead of bundling again.
    const file = join(dir, 'bundles', `${key}.js`);
    writeFileSync(file, `${first.code}\n// marker`);
    const second = await cachedWorkflowBundle(WORKFLOWS_PATH, sdkVersion(), dir, quiet);
    expect(second.code.endsWith('// marker')).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(second.code);
  }, 120_000);

  it('keys on the SDK version as well as the sources', () => {
    expect(bundleKey(WORKFLOWS_PATH, '0.0.0')).not.toBe(bundleKey(WORKFLOWS_PATH, sdkVersion()));
  });
});

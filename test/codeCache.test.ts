/**
 * The on-disk cache of built code (activities/codeCache.ts) that the workflow bundle and the
 * extraction thread bundle share: stores from several processes at once leave one whole file,
 * a file cut short is not served, and pruning takes the least recently used first, never the
 * file just stored.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CodeCache, sourceKey } from '../activities/codeCache.js';

const ROOT = join(import.meta.dirname, '..');
const STORE_SCRIPT = join(import.meta.dirname, 'helpers', 'storeCode.ts');
/** As in storeCode.ts. */
const STORED_CHARS = 4 * 1024 * 1024;

const temp = mkdtempSync(join(tmpdir(), 'code-cache-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => join(temp, `cache-${++dirs}`);
const cacheIn = (dir: string, keep = 8) => new CodeCache(dir, { extension: '.js', label: 'test file', keep });
const key = (n: number) => n.toString(16).padStart(32, '0');

/** Sets a file's last use, in seconds from now. */
function usedAt(file: string, secondsFromNow: number): void {
  const t = new Date(Date.now() + secondsFromNow * 1000);
  utimesSync(file, t, t);
}

describe('the code cache', () => {
  it('two processes storing the same key at once leave one whole file and no temporary one', async () => {
    const dir = newDir();
    const writers = ['a', 'b'].map((fill) => {
      const child = spawn(process.execPath, ['--import', 'tsx', STORE_SCRIPT, dir, key(1), fill, '12'], { cwd: ROOT, stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = new Promise<string>((resolve) => child.on('exit', (code) => resolve(`exit ${code} ${stderr}`.trim())));
      return { child, exited };
    });
    // Both wait for this line, so they store (and read back) over each other.
    for (const w of writers) w.child.stdin!.end('go\n');
    expect(await Promise.all(writers.map((w) => w.exited))).toEqual(['exit 0', 'exit 0']);
    expect(readdirSync(dir)).toEqual([`${key(1)}.js`]);
    const stored = cacheIn(dir).read(key(1));
    expect(stored === 'a'.repeat(STORED_CHARS) || stored === 'b'.repeat(STORED_CHARS)).toBe(true);
  }, 120_000);

  it('a file cut short, or without its trailer, is not served; storing again mends it', () => {
    const cache = cacheIn(newDir());
    const file = cache.store(key(1), 'export const x = 1;');
    expect(cache.read(key(1))).toBe('export const x = 1;');
    expect(cache.find(key(1))).toBe(file);
    truncateSync(file, statSync(file).size - 1);
    expect(cache.read(key(1))).toBeUndefined();
    expect(cache.find(key(1))).toBeUndefined();
    writeFileSync(file, 'export const x = 1;');
    expect(cache.read(key(1))).toBeUndefined();
    expect(cache.find(key(1))).toBeUndefined();
    // The trailer names the key: a whole file stored for another key is not this one's.
    writeFileSync(file, readFileSync(cache.store(key(2), 'export const x = 2;')));
    expect(cache.read(key(1))).toBeUndefined();
    expect(cache.store(key(1), 'export const x = 1;')).toBe(file);
    expect(cache.read(key(1))).toBe('export const x = 1;');
    expect(cache.find(key(1))).toBe(file);
  });

  it('a read marks the file as used', () => {
    const cache = cacheIn(newDir());
    const file = cache.store(key(1), 'code');
    // Used an hour ago; a read makes it now (well within the ten minutes allowed here).
    const recently = () => statSync(file).mtimeMs > Date.now() - 600_000;
    usedAt(file, -3600);
    expect(recently()).toBe(false);
    cache.read(key(1));
    expect(recently()).toBe(true);
    usedAt(file, -3600);
    cache.find(key(1));
    expect(recently()).toBe(true);
  });

  it('pruning removes the least recently used, not the oldest stored, and keeps `keep` others', () => {
    const dir = newDir();
    const cache = cacheIn(dir, 2);
    const [f1, f2, f3] = [1, 2, 3].map((n) => cache.store(key(n), `code ${n}`));
    usedAt(f1!, -300);
    usedAt(f2!, -200);
    usedAt(f3!, -100);
    // The oldest stored is the most recently used one now.
    expect(cache.find(key(1))).toBe(f1);
    cache.store(key(4), 'code 4');
    expect(readdirSync(dir).sort()).toEqual([key(1), key(3), key(4)].map((k) => `${k}.js`));
  });

  it('the file just stored is never pruned, even when the others look more recently used', () => {
    const dir = newDir();
    const cache = cacheIn(dir, 1);
    for (const n of [1, 2]) usedAt(cache.store(key(n), `code ${n}`), 3600);
    // A clock behind the one that marked the others: the new file looks the least recently used.
    cache.store(key(3), 'code 3');
    expect(readdirSync(dir).sort()).toEqual([key(2), key(3)].map((k) => `${k}.js`));
    expect(cacheIn(dir, 0).store(key(4), 'code 4')).toBe(join(dir, `${key(4)}.js`));
    expect(readdirSync(dir)).toEqual([`${key(4)}.js`]);
  });

  it('keys change with a source, a listed file and the tag, and not with anything else', () => {
    const root = newDir();
    mkdirSync(join(root, 'src'), { recursive: true });
    const inputs = { root, dirs: ['src'], sources: /\.ts$/, files: ['package.json'], tag: 'tool 1\n' };
    const write = (name: string, text: string) => writeFileSync(join(root, name), text);
    write('src/a.ts', 'export const a = 1;');
    write('src/notes.txt', 'not a source');
    const first = sourceKey(inputs);
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    write('src/notes.txt', 'still not a source');
    expect(sourceKey(inputs)).toBe(first);
    write('package.json', '{}');
    const withPackage = sourceKey(inputs);
    expect(withPackage).not.toBe(first);
    write('src/a.ts', 'export const a = 2;');
    expect(sourceKey(inputs)).not.toBe(withPackage);
    expect(sourceKey({ ...inputs, tag: 'tool 2\n' })).not.toBe(sourceKey(inputs));
  });
});

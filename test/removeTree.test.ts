import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTree } from '../activities/storage.js';

const bases: string[] = [];
const newBase = () => {
  const base = mkdtempSync(join(tmpdir(), 'corpus-qa-rmtree-'));
  bases.push(base);
  return base;
};
afterEach(() => {
  for (const b of bases.splice(0)) rmSync(b, { recursive: true, force: true });
});

describe('removeTree', () => {
  it('removes a tree of many files and folders, and only the links, never what they point at', async () => {
    const base = newBase();
    const outside = join(base, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'keep.txt'), 'kept');
    const tree = join(base, 'tree');
    // More files per folder than one batch of unlinks, and folders several deep.
    for (let d = 0; d < 3; d++) {
      const dir = join(tree, `d${d}`, 'inner', 'deeper');
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 150; f++) writeFileSync(join(dir, `f${f}.json`), '{}');
      writeFileSync(join(tree, `d${d}`, 'top.json'), '{}');
    }
    symlinkSync(outside, join(tree, 'd0', 'link-to-dir'));
    symlinkSync(join(outside, 'keep.txt'), join(tree, 'd1', 'link-to-file'));
    symlinkSync(join(base, 'nowhere'), join(tree, 'dangling'));

    await removeTree(tree);
    expect(existsSync(tree)).toBe(false);
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('kept');
  });

  it('takes a single file, and a missing path is no error', async () => {
    const base = newBase();
    const file = join(base, 'one.txt');
    writeFileSync(file, 'x');
    await removeTree(file);
    expect(existsSync(file)).toBe(false);
    await expect(removeTree(join(base, 'missing', 'deeper'))).resolves.toBeUndefined();
    expect(existsSync(base)).toBe(true);
  });

  it('given a symlink, removes the link and never what it points at, dangling or not', async () => {
    const base = newBase();
    const target = join(base, 'target');
    mkdirSync(join(target, 'inner'), { recursive: true });
    writeFileSync(join(target, 'inner', 'keep.txt'), 'kept');
    symlinkSync(target, join(base, 'link'));
    symlinkSync(join(base, 'nowhere'), join(base, 'dangling'));
    await removeTree(join(base, 'link'));
    await removeTree(join(base, 'dangling'));
    expect(readdirSync(base)).toEqual(['target']);
    expect(readFileSync(join(target, 'inner', 'keep.txt'), 'utf8')).toBe('kept');
  });
});

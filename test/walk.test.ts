/**
 * The walk (activities/walk.ts) yields files in source order without sorting a list of them:
 * a directory sorts among its siblings as its name plus '/'.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilePlan, planFiles } from '../activities/discover.js';
import { tempDir } from './helpers/files.js';

const plan = (root: string) => planFiles({ inputDir: root, outDir: join(tempDir('walk-out'), 'out'), globs: [], maxFileBytes: 1e6 });

describe('the walk', () => {
  it('yields sources in byte order where a directory name is a prefix of its siblings', async () => {
    const root = tempDir('walk');
    for (const dir of ['a', 'a/y', 'a-b', 'ab', 'a.d', 'b']) mkdirSync(join(root, dir));
    const files = ['a.txt', 'a0.txt', 'a/x.txt', 'a/y/z.txt', 'a/y.txt', 'a-b/y.txt', 'ab/z.txt', 'a.d/q.txt', 'b/c.txt', 'a b.txt'];
    for (const f of files) writeFileSync(join(root, f), `${f}\n`);
    symlinkSync(join(root, 'a.txt'), join(root, 'a.link.txt')); // a symlink to a file sorts by its name
    const { files: planned } = await plan(root);
    const sources = planned.map((f) => f.source);
    expect(sources).toEqual([...sources].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    expect(sources).toEqual([
      'a b.txt', 'a-b/y.txt', 'a.d/q.txt', 'a.link.txt', 'a.txt', 'a/x.txt', 'a/y.txt', 'a/y/z.txt', 'a0.txt', 'ab/z.txt', 'b/c.txt',
    ]);
  });

  it('walks a directory reached twice by the path first in source order, with a warning for the other', async () => {
    const root = tempDir('walk-twice');
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs', 'guide.txt'), 'guide\n');
    symlinkSync(join(root, 'docs'), join(root, 'docs-link')); // 'docs-link/' < 'docs/': '-' < '/'
    symlinkSync(join(root, 'docs'), join(root, 'zz-link'));
    const filePlan = new FilePlan({ inputDir: root, outDir: join(tempDir('walk-out'), 'out'), globs: [], maxFileBytes: 1e6 });
    const sources: string[] = [];
    for await (const f of filePlan.files()) sources.push(f.source);
    expect(sources).toEqual(['docs-link/guide.txt']);
    expect(filePlan.skipped).toBe(2);
    expect(filePlan.warnings).toEqual([
      'docs: skipped, directory already visited through another path (symlink)',
      'zz-link: skipped, directory already visited through another path (symlink)',
    ]);
  });
});

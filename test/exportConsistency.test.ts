/**
 * The output directory as a set (issue #13): an export stages every file and renames them into
 * place together, stats.json last, and stats.json holds the sha256 of every file it describes.
 * An export that fails between two renames leaves a mixed set: `corpus-qa verify` names the file
 * that differs, and the next export repairs it, with the bytes a clean export gives.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { outputStore } from '../activities/storage.js';
import { describe, expect, it } from 'vitest';
import { outputSetProblem, verifyOutput } from '../client/commands/verify.js';
import { writeGoodDocs } from './helpers/corpus.js';
import { directRun } from './helpers/directRun.js';
import { sha256File, tempDir, treeHashes } from './helpers/files.js';

class InjectedCrash extends Error {}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => !n.startsWith('.corpus-qa'));
}

/** Corpus A: the good documents and an empty one (an error row). */
function corpusA(): string {
  const root = tempDir('consist');
  writeGoodDocs(root);
  writeFileSync(join(root, 'empty.txt'), '');
  return root;
}

/** Corpus B: what A becomes: one more document, the empty one gone (so errors.jsonl goes too). */
function toCorpusB(root: string): void {
  rmSync(join(root, 'empty.txt'));
  writeFileSync(join(root, 'added.md'), `# Added\n\nThe added document defines a term. A "widget" shall mean a small device that does one thing well.\n\n${'More prose about widgets and their uses. '.repeat(20)}\n`);
}

const crashAt = (file: string) => ({
  beforeRename: (f: string) => {
    if (f === file) throw new InjectedCrash(`crash before renaming ${f}`);
  },
});

describe('export consistency', () => {
  it('stats.json holds the sha256 of every file it describes, the card included', async () => {
    const root = corpusA();
    const out = tempDir('consist-out');
    await directRun(root, out, { generateQa: true });
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    const onDisk = allFiles(out).filter((f) => f.endsWith('.jsonl') || f === 'README.md').sort();
    const described = Object.keys(stats.files).sort();
    expect(described).toEqual(expect.arrayContaining(['README.md', 'data/train.jsonl', 'errors.jsonl']));
    expect(onDisk).toEqual(described);
    for (const f of described) expect(stats.files[f].sha256).toBe(sha256File(join(out, f)));
    expect(await outputSetProblem(outputStore(out))).toBeUndefined();
  });

  for (const file of ['README.md', 'errors.jsonl', 'stats.json']) {
    it(`an export failing before it renames ${file} leaves a set verify rejects by name; the next export repairs it`, async () => {
      const root = corpusA();
      const out = tempDir('consist-out');
      await directRun(root, out, { generateQa: true });
      await verifyOutput(out);
      const before = treeHashes(out);

      toCorpusB(root);
      await expect(directRun(root, out, { generateQa: true, deps: crashAt(file) })).rejects.toBeInstanceOf(InjectedCrash);
      // No temporary file is left, and the old stats.json is still there...
      expect(allFiles(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
      expect(sha256File(join(out, 'stats.json'))).toBe(before['stats.json']);
      // ...next to the new data file: a mixed set, and verify says which file.
      expect(sha256File(join(out, 'data/train.jsonl'))).not.toBe(before['data/train.jsonl']);
      await expect(verifyOutput(out)).rejects.toThrow(/^data\/train\.jsonl: sha256 is [0-9a-f]{12}…, stats\.json records [0-9a-f]{12}…: the output directory mixes files of two exports/);

      // The next export repairs it: the same bytes as a clean export of corpus B.
      await directRun(root, out, { generateQa: true });
      await verifyOutput(out);
      const clean = tempDir('consist-clean');
      await directRun(root, clean, { generateQa: true });
      const repaired = treeHashes(out);
      const fresh = treeHashes(clean);
      delete repaired['stats.json'];
      delete fresh['stats.json'];
      expect(repaired).toEqual(fresh);
      expect(existsSync(join(out, 'errors.jsonl'))).toBe(false);
    });
  }

  it('verify names a file stats.json does not describe, and one it describes that is missing', async () => {
    const root = tempDir('consist');
    writeGoodDocs(root);
    const out = tempDir('consist-out');
    await directRun(root, out, { generateQa: true });
    expect(existsSync(join(out, 'errors.jsonl'))).toBe(false);
    writeFileSync(join(out, 'errors.jsonl'), '{"source":"x.txt","stage":"load","reason":"empty","detail":"left over"}\n');
    expect(await outputSetProblem(outputStore(out))).toMatch(/^errors\.jsonl: present, but stats\.json does not describe it/);
    rmSync(join(out, 'errors.jsonl'));
    const card = readFileSync(join(out, 'README.md'));
    rmSync(join(out, 'README.md'));
    expect(await outputSetProblem(outputStore(out))).toMatch(/^README\.md: missing, but stats\.json describes it/);
    writeFileSync(join(out, 'README.md'), Buffer.concat([card, Buffer.from('\n')]));
    expect(await outputSetProblem(outputStore(out))).toMatch(/^README\.md: sha256 is/);
  });

  it('`corpus-qa verify` exits 1 on a mixed set and names the file', async () => {
    const root = corpusA();
    const out = tempDir('consist-out');
    await directRun(root, out, { generateQa: true });
    toCorpusB(root);
    await expect(directRun(root, out, { generateQa: true, deps: crashAt('stats.json') })).rejects.toBeInstanceOf(InjectedCrash);
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'corpus-qa.mjs'), 'verify', out], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toMatch(/data\/train\.jsonl: sha256 is .*mixes files of two exports/);
  });
});

/**
 * The acceptance run: real documents the project has never seen (license texts, package
 * READMEs, HTML manuals and PDFs found on this machine) mixed with every kind of bad file, run
 * through the `corpus-qa` command as a user would.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorRow, QaRow } from '../schemas/index.js';
import { readJsonl, tempDir } from './helpers/files.js';
import { hfCheck } from './helpers/hf.js';
import { temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const ROOT = join(import.meta.dirname, '..');

function findFiles(dir: string, pattern: RegExp, limit: number): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch {
      return;
    }
    for (const e of entries) {
      if (out.length >= limit) return;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && pattern.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

const LICENSES = ['Apache-2.0', 'GPL-3', 'MPL-2.0', 'BSD', 'LGPL-2.1']
  .map((n) => `/usr/share/common-licenses/${n}`)
  .filter(existsSync);
const READMES = ['zod', 'commander', 'marked', 'picomatch', 'html-to-text', 'webpack', 'rxjs', 'source-map', 'cli-progress', 'chai']
  .map((n) => join(ROOT, 'node_modules', n, 'README.md'))
  .filter(existsSync);
const MANUALS = findFiles('/usr/share/doc', /\.html?$/, 12);
const PDFS = findFiles('/usr/share/doc', /\.pdf$/, 2);

const BAD: Record<string, string> = {
  'bad/empty.txt': 'empty',
  'bad/blank.md': 'empty',
  'bad/program.txt': 'binary',
  'bad/broken.pdf': 'pdf_broken',
};

describe('a real corpus through the corpus-qa command', () => {
  const input = tempDir('real');
  const out = tempDir('real-out');
  let run: ReturnType<typeof spawnSync>;

  beforeAll(() => {
    const put = (dir: string, files: string[]) => {
      mkdirSync(join(input, dir), { recursive: true });
      for (const f of files) copyFileSync(f, join(input, dir, `${basename(join(f, '..'))}-${basename(f)}`));
    };
    put('licenses', LICENSES);
    put('readmes', READMES);
    put('manuals', MANUALS);
    put('pdfs', PDFS);
    mkdirSync(join(input, 'bad'));
    writeFileSync(join(input, 'bad/empty.txt'), '');
    writeFileSync(join(input, 'bad/blank.md'), '  \n\n\t\n');
    writeFileSync(join(input, 'bad/program.txt'), readFileSync(process.execPath).subarray(0, 4096));
    // Legacy single-byte text is decoded (windows-1252), not refused.
    writeFileSync(join(input, 'legacy-latin1.md'), Buffer.from('# Caf\xe9\n\nUne note en Latin-1.\n', 'latin1'));
    writeFileSync(join(input, 'bad/broken.pdf'), '%PDF-1.5\n1 0 obj << /Type /Catalog garbage');
    symlinkSync('/etc/hostname', join(input, 'bad/outside.txt'));
    symlinkSync('loop-b', join(input, 'bad/loop-a'));
    symlinkSync('loop-a', join(input, 'bad/loop-b'));
    symlinkSync('..', join(input, 'bad/parent'));
    run = spawnSync(process.execPath, [join(ROOT, 'bin/corpus-qa.mjs'), 'run', input, '--out', out, '--generate-qa', '--task-queue', uniqueTaskQueue()], {
      encoding: 'utf8',
      env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress() },
      timeout: 170_000,
    });
  });

  it('exits 0 and reports the bad files as warnings', () => {
    expect(run.status, String(run.stderr)).toBe(0);
    expect(String(run.stdout)).toMatch(/Warning: 4 documents could not be used/);
  });

  it('writes one error row per bad file, with its reason, and skips the symlinks', () => {
    const errors = readJsonl(join(out, 'errors.jsonl')).map((r) => ErrorRow.parse(r));
    expect(Object.fromEntries(errors.map((e) => [e.source, e.reason]))).toEqual(BAD);
  });

  it('gives pairs for the readable documents with prose', () => {
    const train = readJsonl(join(out, 'data/train.jsonl')).map((r) => QaRow.parse(r));
    const withPairs = new Set(train.map((r) => r.source));
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    const loaded = stats.documents.loaded as number;
    expect(loaded).toBe(LICENSES.length + READMES.length + MANUALS.length + PDFS.length + 1); // + the Latin-1 note
    // Every license and PDF is prose; a few manual pages are only navigation links. The BSD text
    // never names itself (it opens on its copyright line), and a question that cannot say which
    // license it asks about is not self-contained, so it may give none.
    for (const dir of ['licenses/', 'pdfs/']) {
      const all = readdirSync(join(input, dir)).map((f) => `${dir}${f}`).filter((f) => !f.endsWith('-BSD'));
      expect(all.length).toBeGreaterThan(0);
      for (const source of all) expect(withPairs, source).toContain(source);
    }
    // Pages that are only code (libffi's examples), an index or a list of links give no pair: the
    // built-in generator asks nothing it cannot ask in words that stand alone.
    expect(withPairs.size / loaded).toBeGreaterThanOrEqual(0.65);
    expect(train.every((r) => !r.source.startsWith('bad/'))).toBe(true);
  });

  it('writes stats whose counts match the files, and every file loads with datasets', () => {
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    const lines = (f: string) => readJsonl(join(out, f)).length;
    expect(stats.pairs.passed).toBe(lines('data/train.jsonl'));
    expect(stats.pairs.rejected).toBe(existsSync(join(out, 'rejected/rejected.jsonl')) ? lines('rejected/rejected.jsonl') : 0);
    expect(stats.documents.failed).toBe(lines('errors.jsonl'));
    const report = hfCheck(out);
    for (const [file, r] of Object.entries(report.files)) {
      expect(r.ok, `${file}: ${r.error}`).toBe(true);
      expect(r.rows).toBe(lines(file));
    }
    expect(report.configs.default?.splits?.train?.rows).toBe(lines('data/train.jsonl'));
  });
});

/**
 * npm run bench -- --remove-tree [--files N]: the memory of deleting a run's shards. N small
 * files (default 200,000) in folders of 200, as a big run leaves them, removed by Node's
 * recursive rm and by storage/removeTree.ts, each in a process of its own; the report gives
 * each one's RSS before it starts, its peak RSS and its time.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { removeTree } from '../activities/storage/removeTree.js';

const { values } = parseArgs({ options: { files: { type: 'string', default: '200000' }, mode: { type: 'string' }, dir: { type: 'string' }, 'remove-tree': { type: 'boolean' } } });
const files = Number(values.files);
const PER_FOLDER = 200;

function writeTree(root: string): void {
  for (let i = 0; i < files; i++) {
    const folder = join(root, Math.floor(i / PER_FOLDER).toString(16).padStart(4, '0'));
    if (i % PER_FOLDER === 0) mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${i.toString(16).padStart(40, '0')}.json`), '{}');
  }
}

if (values.mode && values.dir) {
  const rssBeforeMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  const started = performance.now();
  await (values.mode === 'node rm' ? rm(values.dir, { recursive: true, force: true }) : removeTree(values.dir));
  process.stdout.write(JSON.stringify({
    mode: values.mode,
    files,
    rssBeforeMb,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    seconds: Math.round((performance.now() - started) / 100) / 10,
  }));
} else {
  const work = mkdtempSync(join(tmpdir(), 'corpus-qa-rmtree-'));
  const run = (mode: string) => {
    const dir = join(work, mode.replace(' ', '-'));
    writeTree(dir);
    const args = [...process.execArgv, process.argv[1]!, '--remove-tree', '--mode', mode, '--dir', dir, '--files', String(files)];
    return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }));
  };
  const results = [run('node rm'), run('removeTree')];
  rmSync(work, { recursive: true, force: true });
  console.log(JSON.stringify({ bench: 'remove tree', results }, null, 2));
}

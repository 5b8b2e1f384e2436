/**
 * Operating runs through the real workflow: run identity (attach, already complete, changed
 * settings), incremental re-runs from kept shards, cleanup, --no-cache, status and cancel.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addressTarget } from '../client/server/connection.js';
import { cancelRun, runStatus } from '../client/commands/operate.js';
import { deletionsDone } from '../activities/storage.js';
import { writeBenchCorpus } from './helpers/syntheticCorpus.js';
import { writeGoodDocs } from './helpers/corpus.js';
import { tempDir, treeHashes } from './helpers/files.js';
import { countShards, waitUntil } from './helpers/processes.js';
import { runExport, temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const OUTPUTS = ['data/train.jsonl', 'rejected/rejected.jsonl', 'errors.jsonl', 'README.md'];

describe('run identity and incremental re-runs', () => {
  it('processes only added and edited documents when shards are kept, and matches a from-scratch run', async () => {
    const root = tempDir('incr');
    writeGoodDocs(root);
    const out = tempDir('incr-out');
    const first: string[] = [];
    await runExport({ inputDir: root, outDir: out, generateQa: true, keepIntermediate: true }, { onProcessDocument: (s) => first.push(s) });
    expect(first.length).toBe(6);

    writeFileSync(join(root, 'notes/new.txt'), 'Glaciers\n\nA glacier is a persistent body of dense ice that moves under its own weight.\n');
    writeFileSync(join(root, 'notes/tides.txt'), 'Tides\n\nA tide is the rise and fall of sea levels. A neap tide is a tide with the smallest range.\n');
    const second: string[] = [];
    const again = await runExport(
      { inputDir: root, outDir: out, generateQa: true, keepIntermediate: true },
      { onProcessDocument: (s) => second.push(s) },
    );
    expect(again.handle.status).toBe('started'); // the input changed, so not "already complete"
    expect(again.handle.notes.join(' ')).toMatch(/input changed/);
    expect(second.sort()).toEqual(['notes/new.txt', 'notes/tides.txt']);

    const scratch = tempDir('incr-scratch');
    await runExport({ inputDir: root, outDir: scratch, generateQa: true });
    const a = treeHashes(out);
    const b = treeHashes(scratch);
    for (const f of OUTPUTS) expect(a[f], f).toBe(b[f]);
  });

  it('removes shards after a successful export unless asked to keep them, and --no-cache processes everything', async () => {
    const root = tempDir('clean');
    writeGoodDocs(root);
    const out = tempDir('clean-out');
    await runExport({ inputDir: root, outDir: out, generateQa: true });
    expect(countShards(out)).toBe(0);
    expect(existsSync(join(out, '.corpus-qa', 'manifests'))).toBe(false);
    // Moved into the trash at once and deleted in the background (this process is the worker).
    await deletionsDone();
    expect(existsSync(join(out, '.corpus-qa', 'trash'))).toBe(false);
    // What a process killed while deleting left behind, the next run deletes.
    const leftover = join(out, '.corpus-qa', 'trash', '1-2-deadbeef', 'shards', 'ab');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(join(leftover, 'x.json'), '{}');
    await runExport({ inputDir: root, outDir: out, generateQa: true }, { fresh: true });
    await deletionsDone();
    expect(existsSync(join(out, '.corpus-qa', 'trash'))).toBe(false);
    expect(countShards(out)).toBe(0);

    const kept = tempDir('clean-kept');
    await runExport({ inputDir: root, outDir: kept, generateQa: true, keepIntermediate: true });
    expect(countShards(kept)).toBe(6);
    const processed: string[] = [];
    await runExport({ inputDir: root, outDir: kept, generateQa: true, keepIntermediate: true, noCache: true }, {
      fresh: true,
      onProcessDocument: (s) => processed.push(s),
    });
    expect(processed.length).toBe(6);
  });

  it('says which settings changed when the same output directory gets other settings', async () => {
    const root = tempDir('changed');
    writeGoodDocs(root);
    const out = tempDir('changed-out');
    const a = await runExport({ inputDir: root, outDir: out, generateQa: true });
    const b = await runExport({ inputDir: root, outDir: out, generateQa: true, chunkSize: 800 });
    expect(b.handle.workflowId).not.toBe(a.handle.workflowId);
    expect(b.handle.notes.join(' ')).toMatch(/settings changed .*chunkSize 1500 → 800/);
  });
});

describe('status and cancel', () => {
  it('shows progress, cancels cleanly without partial output, and resumes where it stopped', async () => {
    const root = tempDir('cancel');
    writeBenchCorpus(root, 40);
    const out = tempDir('cancel-out');
    const options = { inputDir: root, outDir: out, generateQa: true, batchSize: 2, concurrency: 2 };
    const taskQueue = uniqueTaskQueue();
    const slow = () => new Promise<void>((r) => setTimeout(r, 40));
    const running = runExport(options, { taskQueue, onProcessDocument: slow }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await waitUntil('some shards', () => countShards(out) >= 8);

    const target = addressTarget(temporalAddress());
    const status = await runStatus({ outDir: out, target });
    expect(status.status).toBe('RUNNING');
    expect(status.progress?.phase).toBe('processing');
    expect(status.progress?.documents).toBe(40);

    const message = await cancelRun({ outDir: out, target, taskQueue });
    expect(message).toMatch(/cancelled/);
    expect(await running).toBeInstanceOf(WorkflowFailedError);
    expect((await runStatus({ outDir: out, target })).status).toBe('CANCELLED');
    expect(existsSync(join(out, 'data'))).toBe(false); // no partial output
    const done = countShards(out);
    expect(done).toBeGreaterThanOrEqual(8);
    expect(done).toBeLessThan(40);

    // The same command again resumes: only the documents without a shard are processed.
    const resumed: string[] = [];
    const again = await runExport(options, { taskQueue, onProcessDocument: (s) => resumed.push(s) });
    expect(again.handle.notes.join(' ')).toMatch(/ended cancel/);
    expect(resumed.length).toBe(40 - done);
    expect(again.result.documents).toBe(40);
  });
});

describe('outputs that another run overwrote', () => {
  it('does not call a run complete when the files on disk are another run\'s', async () => {
    const root = tempDir('overwritten');
    writeGoodDocs(root);
    const out = tempDir('overwritten-out');
    const a = await runExport({ inputDir: root, outDir: out, generateQa: true });
    await runExport({ inputDir: root, outDir: out, generateQa: true, chunkSize: 700 });
    const again = await runExport({ inputDir: root, outDir: out, generateQa: true });
    expect(again.handle.workflowId).toBe(a.handle.workflowId);
    expect(again.handle.status).toBe('started');
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    expect(stats.workflow.id).toBe(a.handle.workflowId);
  });
});

/**
 * An export killed mid-way goes on from its last checkpoint (activities/export/checkpoint.ts):
 * the export runs in a child process that is SIGKILLed, as by a crash, with no cleanup; its next
 * attempt starts at the checkpoint, and the files come out byte-identical to an export that was
 * never killed and took no checkpoints.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExportCheckpoint } from '../schemas/localState.js';
import { writeBenchCorpus } from './helpers/syntheticCorpus.js';

const ROOT = join(import.meta.dirname, '..');
const CHILD = join(import.meta.dirname, 'helpers', 'exportChild.ts');
const base = mkdtempSync(join(tmpdir(), 'corpus-qa-export-checkpoint-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function child(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, signal: r.signal, out: r.stdout.trim() ? (JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>) : undefined, stderr: r.stderr };
}

/** Every file of an output but the state folder, by relative path: the bytes a user gets. */
function outputFiles(out: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const e of readdirSync(out, { recursive: true, withFileTypes: true })) {
    const rel = join(e.parentPath, e.name).slice(out.length + 1);
    if (e.isFile() && !rel.startsWith('.corpus-qa')) files[rel] = readFileSync(join(out, rel), 'utf8');
  }
  return files;
}

describe('export checkpoints', () => {
  it('a killed export goes on from its last checkpoint, and writes the bytes of one never killed', { timeout: 300_000 }, () => {
    const corpus = join(base, 'corpus');
    writeBenchCorpus(corpus, 490);
    // Guides with one title and the same parts: their questions leak between the splits. Half
    // come first in the manifest and half after the checkpoint, with a copy of the first one
    // there (its pairs are duplicates of an earlier document's): the verdicts after the
    // checkpoint need the dedup and leakage tables saved before it.
    const parts = ['pump', 'valve', 'filter', 'motor'];
    const uses = ['moves cooling water through the plant', 'lifts crude oil from the lower tanks', 'cleans the air of the control room', 'drives the main conveyor'];
    const guide = (i: number) =>
      `# Site guide\n\n${parts.map((p, j) => `## The ${p}\n\nThe ${p} is a device that ${uses[(i + j) % uses.length]} during every shift of building ${i}. The ${p} was installed in ${1950 + i + j} by the original builders.\n`).join('\n')}`;
    for (const dir of ['a-guides', 'z-guides']) mkdirSync(join(corpus, dir));
    for (let i = 0; i < 10; i++) writeFileSync(join(corpus, i < 5 ? 'a-guides' : 'z-guides', `guide${i}.md`), guide(i));
    writeFileSync(join(corpus, 'z-guides', 'guide0-copy.md'), guide(0));
    // An error row on each side of the checkpoint: errors.jsonl is checkpointed too.
    for (const dir of ['a-guides', 'z-guides']) writeFileSync(join(corpus, dir, 'empty.txt'), '');
    const killed = join(base, 'killed');
    const prepared = child(['prepare', corpus, killed]);
    expect(prepared.status, prepared.stderr).toBe(0);
    const reference = join(base, 'reference');
    cpSync(killed, reference, { recursive: true });
    const sharedKeys = join(base, 'shared-keys');
    cpSync(killed, sharedKeys, { recursive: true });
    const newRun = join(base, 'new-run');
    cpSync(killed, newRun, { recursive: true });

    const every100 = { CORPUS_QA_EXPORT_CHECKPOINT_EVERY: '100' };
    // Heartbeats come every 200 documents: killed at the one of document 400, after the checkpoint at 300.
    const first = child(['export', corpus, killed, '400'], every100);
    expect(first.signal, first.stderr).toBe('SIGKILL');
    const statePath = join(killed, '.corpus-qa', 'export-checkpoint', 'state.json');
    const state = ExportCheckpoint.parse(JSON.parse(readFileSync(statePath, 'utf8')));
    expect(state.documentsDone).toBe(300);
    expect(state.tables.sort()).toEqual(['byAnswer', 'byQuestion', 'dedup']);
    // What a killed attempt flushed past its checkpoint (here: half a row, as a kill mid-write
    // leaves it; rows are buffered by the MB, so 100 documents' worth did not reach the file).
    const trainTmp = state.sinks.find((f) => f.path.endsWith('train.jsonl'))!;
    expect(statSync(trainTmp.tmp).size).toBe(trainTmp.bytes);
    appendFileSync(trainTmp.tmp, '{"question": "half a row');

    const resumed = child(['export', corpus, killed], every100);
    expect(resumed.status, resumed.stderr).toBe(0);
    // It started at document 300: its only heartbeat is the one of document 400.
    expect(resumed.out?.heartbeats).toEqual([400]);
    expect(existsSync(join(killed, '.corpus-qa', 'export-checkpoint'))).toBe(false);

    const uninterrupted = child(['export', corpus, reference]);
    expect(uninterrupted.status, uninterrupted.stderr).toBe(0);
    expect(uninterrupted.out?.heartbeats).toEqual([200, 400]);
    expect(resumed.out?.pairsPassed).toBe(uninterrupted.out?.pairsPassed);
    expect(Number(uninterrupted.out?.leakage)).toBeGreaterThan(0);
    const rejected = readFileSync(join(reference, 'rejected', 'rejected.jsonl'), 'utf8');
    expect(rejected).toContain('z-guides/guide0-copy.md');
    const want = outputFiles(reference);
    expect(Object.keys(want).sort()).toEqual(['README.md', 'data/test.jsonl', 'data/train.jsonl', 'errors.jsonl', 'rejected/rejected.jsonl', 'stats.json']);
    expect(want['errors.jsonl']!.trim().split('\n')).toHaveLength(2);
    expect(outputFiles(killed)).toEqual(want);

    // Another run's export (a new workflow of the same command: its shards may differ) does not
    // take up the checkpoint: it starts over, and removes it.
    expect(child(['export', corpus, newRun, '400'], every100).signal).toBe('SIGKILL');
    const another = child(['export', corpus, newRun], { ...every100, EXPORT_CHILD_RUN: 'another' });
    expect(another.status, another.stderr).toBe(0);
    expect(another.out?.heartbeats).toEqual([200, 400]);
    // stats.json names the run: only its data files are the same.
    const { 'stats.json': _, ...wantData } = want;
    const { 'stats.json': statsOfNewRun, ...newRunData } = outputFiles(newRun);
    expect(newRunData).toEqual(wantData);
    expect(statsOfNewRun).toContain('"firstRunId": "another"');

    // With only the shared keys indexed, the shared table is checkpointed and restored too.
    const shared = { ...every100, CORPUS_QA_SHARED_KEYS_FROM: '0' };
    const sharedFirst = child(['export', corpus, sharedKeys, '400'], shared);
    expect(sharedFirst.signal, sharedFirst.stderr).toBe('SIGKILL');
    const sharedState = ExportCheckpoint.parse(JSON.parse(readFileSync(join(sharedKeys, '.corpus-qa', 'export-checkpoint', 'state.json'), 'utf8')));
    expect(sharedState.tables.sort()).toEqual(['byAnswer', 'byQuestion', 'dedup', 'shared']);
    const sharedResumed = child(['export', corpus, sharedKeys], shared);
    expect(sharedResumed.status, sharedResumed.stderr).toBe(0);
    expect(sharedResumed.out?.heartbeats).toEqual([400]);
    expect(outputFiles(sharedKeys)).toEqual(want);
  });
});

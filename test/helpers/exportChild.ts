/**
 * An export in a process of its own, for test/exportCheckpoint.test.ts: `prepare IN OUT` runs
 * discovery and processing; `export IN OUT [KILL_AT]` runs the export, SIGKILLed (as by a crash,
 * with no cleanup) at the heartbeat of document KILL_AT. The export's checkpoint interval is
 * CORPUS_QA_EXPORT_CHECKPOINT_EVERY of this process's environment. Prints what it saw as JSON.
 */
import { discoverCorpus } from '../../activities/discover.js';
import { exportDataset } from '../../activities/export.js';
import { processBatch } from '../../activities/processBatch.js';
import { resolveRunInput } from '../../client/runOptions.js';
import { emptyCounters } from '../../schemas/index.js';

const [mode, inputDir, outDir, killAt] = process.argv.slice(2);
// Two splits: the leakage tables are checkpointed too.
const runWithSplits = resolveRunInput({ inputDir: inputDir!, outDir: outDir!, generateQa: true, split: 'train=0.7,test=0.3' });
const discovery = await discoverCorpus(
  { inputDir: runWithSplits.inputDir, outDir: runWithSplits.outDir, globs: [], maxFileBytes: runWithSplits.settings.maxFileBytes },
  () => undefined,
);

if (mode === 'prepare') {
  await processBatch({ run: runWithSplits, manifestKey: discovery.manifestKey, start: 0, end: discovery.documents }, { heartbeat: () => undefined });
  console.log(JSON.stringify({ documents: discovery.documents }));
} else {
  const heartbeats: number[] = [];
  const summary = await exportDataset(
    {
      run: runWithSplits,
      manifestKey: discovery.manifestKey,
      documents: discovery.documents,
      skipped: discovery.skipped,
      warnings: discovery.warnings,
      counters: emptyCounters(),
      durationsMs: { discover: 0, process: 0, total: 0 },
      // EXPORT_CHILD_RUN: another workflow's export, as a new run of the same command is.
      workflow: { id: 'direct', runId: 'direct', firstRunId: process.env.EXPORT_CHILD_RUN ?? 'direct', runs: 1 },
    },
    {
      toolVersion: 'test', sdkVersion: 'test', serverVersion: 'test',
      heartbeat: (d) => {
        const index = (d as { index: number; step?: string }).step ? undefined : (d as { index: number }).index;
        if (index === undefined) return;
        heartbeats.push(index);
        if (killAt !== undefined && index === Number(killAt)) process.kill(process.pid, 'SIGKILL');
      },
    },
  );
  console.log(JSON.stringify({ heartbeats, pairsPassed: summary.pairsPassed, leakage: summary.quality?.leakage.pairs }));
}

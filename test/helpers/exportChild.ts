/**
 * An export in a process of its own, for test/exportCheckpoint.test.ts: `prepare IN OUT` runs
 * discovery and processing; `export IN OUT [KILL_AT]` runs the export, SIGKILLed (as by a crash,
 * with no cleanup) at the heartbeat of document KILL_AT. The export's checkpoint interval is
 * CORPUS_QA_EXPORT_CHECKPOINT_EVERY of this process's environment. Prints what it saw as JSON.
 */
import { exportDataset } from '../../activities/export.js';
import { processBatch } from '../../activities/processBatch.js';
import { discover, exportInput } from './directRun.js';

const [mode, inputDir, outDir, killAt] = process.argv.slice(2);
// Two splits: the leakage tables are checkpointed too.
const { run, discovery } = await discover(inputDir!, outDir!, { generateQa: true, split: 'train=0.7,test=0.3' });

if (mode === 'prepare') {
  await processBatch({ run, manifestKey: discovery.manifestKey, start: 0, end: discovery.documents }, { heartbeat: () => undefined });
  console.log(JSON.stringify({ documents: discovery.documents }));
} else {
  const heartbeats: number[] = [];
  // EXPORT_CHILD_RUN: another workflow's export, as a new run of the same command is.
  const summary = await exportDataset(exportInput(run, discovery, process.env.EXPORT_CHILD_RUN), {
    toolVersion: 'test', sdkVersion: 'test', serverVersion: 'test',
    heartbeat: (d) => {
      const { index, step } = d as { index: number; step?: string };
      if (step) return; // the shared keys' first pass
      heartbeats.push(index);
      if (killAt !== undefined && index === Number(killAt)) process.kill(process.pid, 'SIGKILL');
    },
  });
  console.log(JSON.stringify({ heartbeats, pairsPassed: summary.pairsPassed, leakage: summary.quality?.leakage.pairs }));
}

/**
 * Using corpus-qa from your own script: start (or attach to) an export on a Temporal server,
 * run a worker in this process, print progress, and read the result.
 *
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 npx tsx examples/export-from-script.ts ./docs ./dataset
 *
 * Without TEMPORAL_ADDRESS, `runCorpusExport` (client/publicApi.ts) does the same on an embedded
 * dev server; this example shows the lower-level API for programs that own their connection.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createCorpusWorker, startCorpusExport } from '../client/publicApi.js';

const [inputDir = 'samples/corpus', outDir = 'out/example'] = process.argv.slice(2);
const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';

const connection = await Connection.connect({ address });
const client = new Client({ connection });
const handle = await startCorpusExport({ inputDir, outDir, generateQa: true }, { client });
console.log(`${handle.status} ${handle.workflowId}`);

const nativeConnection = await NativeConnection.connect({ address });
const worker = await createCorpusWorker({ connection: nativeConnection });
const timer = setInterval(async () => {
  const p = await handle.progress().catch(() => undefined);
  if (p) console.log(`${p.phase}: ${p.counters.documentsDone}/${p.documents} documents, ${p.counters.pairsPassed} pairs`);
}, 1000);
const result = await worker.runUntil(handle.result());
clearInterval(timer);
console.log(`passed ${result.export.pairsPassed}, rejected ${result.export.pairsRejected}, errors ${result.export.errors}`);
await nativeConnection.close();
await connection.close();

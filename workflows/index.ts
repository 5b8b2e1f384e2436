// The worker bundles this file: every workflow the task queue serves is exported here.
export { corpusExportWorkflow, progressQuery } from './corpusExport.js';
export type { CarriedState } from './corpusExport.js';

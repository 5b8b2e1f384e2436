/**
 * What the workflow knows of its own progress: the phase, the counters summed from finished
 * batches, the latest document failures. The `progress` query and the UI's current details read
 * it; these counts are a live estimate, the export's summary is the final tally.
 */
import { defineQuery, setCurrentDetails, setHandler } from '@temporalio/workflow';
import { addCounters, emptyCounters } from '../schemas/counters.js';
import type { BatchSummary, Counters, DocumentFailure, Phase, Progress } from '../schemas/index.js';
import type { BatchPhaseState } from './providerBatches.js';
import { progressMarkdown } from './progressMarkdown.js';

export const progressQuery = defineQuery<Progress>('progress');

const RECENT_FAILURES_KEPT = 10;

export class RunProgress {
  phase: Phase;
  documents = 0;
  counters: Counters;
  recentFailures: DocumentFailure[];
  inFlight = 0;
  batches: BatchPhaseState | undefined;

  constructor(
    readonly runsSoFar: number,
    carried?: { discovery: { documents: number }; counters: Counters; recentFailures: DocumentFailure[] },
  ) {
    this.phase = carried ? 'processing' : 'discovering';
    this.documents = carried?.discovery.documents ?? 0;
    this.counters = carried?.counters ?? emptyCounters();
    this.recentFailures = carried?.recentFailures ?? [];
    setHandler(progressQuery, () => this.progress());
  }

  progress(): Progress {
    return {
      phase: this.phase,
      documents: this.documents,
      counters: this.counters,
      inFlight: this.inFlight,
      recentFailures: this.recentFailures,
      runsSoFar: this.runsSoFar,
      ...(this.batches ? { batches: this.batches } : {}),
    };
  }

  /** The UI's current details (adds nothing to history). */
  show(phase: Phase = this.phase): void {
    this.phase = phase;
    setCurrentDetails(progressMarkdown(this.progress()));
  }

  add(counters: Counters): void {
    this.counters = addCounters(this.counters, counters);
  }

  /** A finished batch: its counts, and its failures for the "latest errors" list. */
  addBatch(summary: BatchSummary): void {
    this.add(summary.counters);
    if (summary.sampleFailures.length > 0) {
      this.recentFailures = [...this.recentFailures, ...summary.sampleFailures].slice(-RECENT_FAILURES_KEPT);
    }
  }
}

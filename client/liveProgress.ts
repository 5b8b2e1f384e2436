/**
 * Progress between batch completions. The workflow counts a batch when it ends (a batch of LLM
 * work can take many minutes); until then its heartbeats carry what it has done so far. Reading
 * them from the run's pending activities makes progress move per document and per request
 * without a single extra history event.
 */
import { defaultPayloadConverter, type WorkflowHandle } from '@temporalio/client';
import type { Progress } from '../schemas/index.js';
import { addUsage, type LlmUsage } from '../schemas/llmUsage.js';

interface HeartbeatShape {
  counters?: { documentsDone?: number; llm?: LlmUsage };
  live?: { inFlight?: number; waiting?: string };
}

export async function liveProgress(handle: WorkflowHandle): Promise<NonNullable<Progress['live']>> {
  const description = await handle.describe();
  const live = { documentsDone: 0, llm: {} as LlmUsage, inFlight: 0, waiting: undefined as string | undefined };
  for (const a of description.raw.pendingActivities ?? []) {
    const payload = a.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    let beat: HeartbeatShape | undefined;
    try {
      beat = defaultPayloadConverter.fromPayload<HeartbeatShape>(payload);
    } catch {
      continue; // not a batch's heartbeat (discovery, export)
    }
    live.documentsDone += beat?.counters?.documentsDone ?? 0;
    addUsage(live.llm, beat?.counters?.llm);
    // In-flight requests are per worker (shared by its batches): the largest is the best guess.
    live.inFlight = Math.max(live.inFlight, beat?.live?.inFlight ?? 0);
    live.waiting ??= beat?.live?.waiting;
  }
  return { documentsDone: live.documentsDone, llm: live.llm, inFlight: live.inFlight, ...(live.waiting ? { waiting: live.waiting } : {}) };
}

/**
 * The request journal: every answered LLM request, stored under <out>/.corpus-qa/journal as soon
 * as the reply arrives and before anything uses it. A request's key is a hash of everything that
 * decides its answer, so whatever happens later (an activity retry, a kill -9 and resume, a
 * re-run with another format, threshold or split, a second worker) finds the reply and sends
 * nothing. It is the most expensive thing a run holds: export keeps it; `corpus-qa clean
 * --journal` removes it.
 *
 * Entries are lines of append-only segments written by group commit (journalLog.ts). Entries
 * in a file of their own, as earlier versions wrote them, are still read.
 */
import { JournalEntry, JournalRecord, REFUSED_FOR_SIZE, type SizeRefusalEntry } from '../../schemas/index.js';
import { isS3Url, readParsedFrom, sha256Hex, STATE_NAMES, storeFor, type OutputStore } from '../storage.js';
import type { ChatMessage, ChatReply } from './chat.js';
import { journalLogFor, type JournalLog } from './journalLog.js';

/** Everything that decides a request's answer, and nothing else (no key, no timeout). */
export interface RequestIdentity {
  backend: string;
  model: string;
  /** The same model name on another server gives other answers. */
  baseUrl: string;
  /** Prompt template (its name is its version) and the shape the reply must have. */
  template: string;
  schema: string;
  system: string;
  /** The cached passage block sent before `system` (promptCache.ts); absent: none. */
  cachedPrefix?: string;
  messages: ChatMessage[];
  temperature: number | null;
  maxTokens: number | null;
}

export function requestKey(id: RequestIdentity): string {
  // Fixed key order: the same request gives the same key in any process.
  return sha256Hex(
    JSON.stringify([
      'corpus-qa-request-v1',
      id.backend,
      id.model,
      id.baseUrl,
      id.template,
      id.schema,
      id.temperature,
      id.maxTokens,
      id.system,
      id.messages.map((m) => [m.role, m.content]),
      // Last and only when present: a request without one keeps the key it always had.
      ...(id.cachedPrefix !== undefined ? [['cachedPrefix', id.cachedPrefix]] : []),
    ]),
  );
}

export class Journal {
  private readonly store: OutputStore;
  /** Local <out> only: an object store has no appends, so there each entry is an object of its own. */
  private readonly log: JournalLog | undefined;

  constructor(
    outDir: string,
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    this.store = storeFor(outDir);
    this.log = isS3Url(outDir) ? undefined : journalLogFor(outDir);
  }

  /** The stored reply, or undefined (also for a refusal: see lookup). */
  async get(key: string): Promise<JournalEntry | undefined> {
    const record = await this.lookup(key);
    return record && isReply(record) ? record : undefined;
  }

  /** The stored reply or refusal for size, or undefined; a corrupt entry is a miss (and is written again). */
  async lookup(key: string): Promise<JournalRecord | undefined> {
    if (this.log) {
      const line = await this.log.read(key);
      if (line !== undefined) {
        const entry = parseEntry(line, (why) => this.warn(`journal entry ${key} ignored: ${why}`));
        if (entry?.key === key) return entry;
      }
      if (!this.log.mayHaveOneFileEntry(key)) return undefined;
    }
    const entry = await readParsedFrom(this.store, STATE_NAMES.journal(key), JournalRecord, (why) => this.warn(`journal entry ignored: ${why}`));
    return entry?.key === key ? entry : undefined;
  }

  /** A refusal for size that split a chunk, kept under the refused request's key (durable, as a reply is). */
  async putRefusal(key: string, serverSaid: string): Promise<void> {
    const entry: SizeRefusalEntry = { v: 1, key, purpose: REFUSED_FOR_SIZE, serverSaid };
    if (this.log) await this.log.append(key, JSON.stringify(entry));
    else await this.store.write(STATE_NAMES.journal(key), JSON.stringify(entry), true);
  }

  /**
   * Durable before it returns: the reply was paid for, and a crash right after must not lose it.
   * `written` hears earlier, once a kill -9 can no longer lose the entry (journalLog.ts).
   */
  async put(key: string, purpose: string, reply: ChatReply, costMicroUsd: number, viaBatch: boolean, written?: () => void): Promise<JournalEntry> {
    const entry: JournalEntry = {
      v: 1,
      key,
      purpose,
      reply: {
        text: reply.text,
        promptTokens: reply.promptTokens,
        completionTokens: reply.completionTokens,
        truncated: reply.truncated,
        finishReason: reply.finishReason,
        // A replay from the journal counts the cached tokens as the answer did.
        ...(reply.cacheReadTokens ? { cacheReadTokens: reply.cacheReadTokens } : {}),
        ...(reply.cacheWriteTokens ? { cacheWriteTokens: reply.cacheWriteTokens } : {}),
      },
      costMicroUsd,
      viaBatch,
    };
    if (this.log) await this.log.append(key, JSON.stringify(entry), written);
    else {
      await this.store.write(STATE_NAMES.journal(key), JSON.stringify(entry), true);
      written?.();
    }
    return entry;
  }
}

export function isReply(record: JournalRecord): record is JournalEntry {
  return record.purpose !== REFUSED_FOR_SIZE;
}

function parseEntry(line: string, onCorrupt: (why: string) => void): JournalRecord | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    onCorrupt(`not JSON (${(err as Error).message})`);
    return undefined;
  }
  const r = JournalRecord.safeParse(json);
  if (!r.success) onCorrupt(`unexpected content (${r.error.message.slice(0, 200)})`);
  return r.success ? r.data : undefined;
}

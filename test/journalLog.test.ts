/**
 * The request journal's segments (activities/generate/journalLog.ts): replies appended by group
 * commit are read back in this process and by another, a torn last line is skipped, entries in
 * a file of their own (as earlier versions wrote them) are still read, and `clean --journal`
 * counts and removes both kinds.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal } from '../activities/generate/journal.js';
import { journalLogFor, JournalLog } from '../activities/generate/journalLog.js';
import { journalLogDir, journalPath, removeJournal, writeFileAtomic } from '../activities/storage.js';
import { tempDir } from './helpers/files.js';

const reply = (n: number) => ({ text: `{"pairs":[{"question":"Q${n}?","answer":"A${n} — ünïcode"}]}`, promptTokens: 100 + n, completionTokens: n, truncated: false, finishReason: 'stop' });
const keyOf = (n: number) => n.toString(16).padStart(64, '0');

function segments(out: string): string[] {
  return readdirSync(journalLogDir(out)).filter((n) => n.endsWith('.jsonl'));
}

describe('the journal log', () => {
  it('writes replies that arrive together into one segment, each readable here and from a fresh index', async () => {
    const out = tempDir('jlog');
    const journal = new Journal(out);
    // 40 replies at once: one segment, 40 lines, each put resolved only once it is on disk.
    await Promise.all(Array.from({ length: 40 }, (_, n) => journal.put(keyOf(n), 'generate', reply(n), n, false)));
    expect(segments(out)).toHaveLength(1);
    expect(readFileSync(join(journalLogDir(out), segments(out)[0]!), 'utf8').split('\n')).toHaveLength(41);
    for (const n of [0, 17, 39]) expect((await journal.get(keyOf(n)))?.reply).toEqual(reply(n));
    expect(await journal.get(keyOf(40))).toBeUndefined();

    // Another process sees the same entries: an index built from the files alone.
    const other = new JournalLog(out);
    for (let n = 0; n < 40; n++) expect(JSON.parse((await other.read(keyOf(n)))!).reply).toEqual(reply(n));
  });

  it("keeps a refusal for size under the request's key, read back zod-parsed: not a reply, and a malformed one is a miss", async () => {
    const out = tempDir('jlog');
    const warned: string[] = [];
    const journal = new Journal(out, (m) => warned.push(m));
    const said = 'request (556 tokens) exceeds the available context size (512 tokens), try increasing it';
    await journal.putRefusal(keyOf(1), said);
    expect(await journal.lookup(keyOf(1))).toEqual({ v: 1, key: keyOf(1), purpose: 'refused_for_size', serverSaid: said });
    expect(await journal.get(keyOf(1))).toBeUndefined(); // not a reply
    // A refusal without the server's words is no refusal: a miss, and said so.
    await journalLogFor(out).append(keyOf(2), JSON.stringify({ v: 1, key: keyOf(2), purpose: 'refused_for_size', serverSaid: '' }));
    expect(await journal.lookup(keyOf(2))).toBeUndefined();
    expect(warned.join('\n')).toMatch(new RegExp(`journal entry ${keyOf(2)} ignored: unexpected content`));
    // Another process reads the refusal the same way.
    expect(JSON.parse((await new JournalLog(out).read(keyOf(1)))!)).toEqual({ v: 1, key: keyOf(1), purpose: 'refused_for_size', serverSaid: said });
  });

  it('says when a line is written, before it is synced, and resolves every append however they interleave with the syncs', async () => {
    const out = tempDir('jlog');
    const log = new JournalLog(out);
    const events: string[] = [];
    const puts: Array<Promise<void>> = [];
    // Each append starts when the one before it is written: while a sync runs, or just as one ends.
    for (let n = 0; n < 60; n++) {
      await new Promise<void>((written) => {
        const line = JSON.stringify({ v: 1, key: keyOf(n), purpose: 'generate', reply: reply(n), costMicroUsd: n, viaBatch: false });
        puts.push(log.append(keyOf(n), line, () => (events.push(`written ${n}`), written())).then(() => void events.push(`synced ${n}`)));
      });
    }
    await Promise.all(puts);
    for (let n = 0; n < 60; n++) expect(events.indexOf(`written ${n}`)).toBeLessThan(events.indexOf(`synced ${n}`));
    expect(events.filter((e) => e.startsWith('synced'))).toHaveLength(60);
    for (const n of [0, 31, 59]) expect(JSON.parse((await new JournalLog(out).read(keyOf(n)))!).costMicroUsd).toBe(n);
  });

  it('puts replies appended while the journal is removed under it (clean --journal) into a new segment, none lost or failed', async () => {
    const out = tempDir('jlog');
    const log = new JournalLog(out);
    const line = (n: number) => JSON.stringify({ v: 1, key: keyOf(n), purpose: 'generate', reply: reply(n), costMicroUsd: n, viaBatch: false });
    await log.append(keyOf(0), line(0));
    // Removed while replies 1..30 are being written and synced, some into the removed segment.
    const puts = Array.from({ length: 30 }, (_, i) => log.append(keyOf(i + 1), line(i + 1)));
    await removeJournal(out);
    const later = Array.from({ length: 10 }, (_, i) => log.append(keyOf(i + 31), line(i + 31)));
    await Promise.all([...puts, ...later]);
    const fresh = new JournalLog(out);
    for (let n = 31; n <= 40; n++) expect(JSON.parse((await fresh.read(keyOf(n)))!).costMicroUsd).toBe(n);
    // Replies 1..30 may have been synced before the removal took them (that is what clean does);
    // none failed, and what came after is in the new journal, here and for another process.
    for (let n = 31; n <= 40; n++) expect(JSON.parse((await log.read(keyOf(n)))!).costMicroUsd, `reply ${n}`).toBe(n);
  });

  it('skips a line cut short by a crash and a line that is not an entry, and finds what another process appends later', async () => {
    const out = tempDir('jlog');
    const writer = new JournalLog(out);
    await writer.append(keyOf(1), JSON.stringify({ v: 1, key: keyOf(1), purpose: 'generate', reply: reply(1), costMicroUsd: 1, viaBatch: false }));
    // A crashed process's segment: a line that is not JSON, an entry of the wrong shape, then half a line.
    writeFileSync(
      join(journalLogDir(out), '00000000000001-1-deadbeef.jsonl'),
      `not json\n{"v":1,"key":"${keyOf(4)}","purpose":"generate"}\n{"v":1,"key":"${keyOf(2)}","purpose":"gen`,
    );
    const warnings: string[] = [];
    const reader = new Journal(out, (w) => warnings.push(w));
    expect((await reader.get(keyOf(1)))?.reply).toEqual(reply(1));
    expect(await reader.get(keyOf(2))).toBeUndefined();
    // The wrong shape is a miss (the request is sent and journaled again), and is said.
    expect(await reader.get(keyOf(4))).toBeUndefined();
    expect(warnings).toEqual([expect.stringContaining(`journal entry ${keyOf(4)} ignored: unexpected content`)]);

    // Appended by the first process after another built its index: found on that one's next miss.
    const rescanning = new JournalLog(out, 0);
    expect(await rescanning.read(keyOf(3))).toBeUndefined();
    await writer.append(keyOf(3), JSON.stringify({ v: 1, key: keyOf(3), purpose: 'judge', reply: reply(3), costMicroUsd: 3, viaBatch: false }));
    expect(JSON.parse((await rescanning.read(keyOf(3)))!).purpose).toBe('judge');
  });

  it('still reads entries in a file of their own, and clean --journal counts and removes both kinds', async () => {
    const out = tempDir('jlog');
    const old = { v: 1, key: keyOf(7), purpose: 'generate', reply: reply(7), costMicroUsd: 7, viaBatch: false };
    await writeFileAtomic(journalPath(out, keyOf(7)), JSON.stringify(old), true);
    const journal = new Journal(out);
    expect((await journal.get(keyOf(7)))?.reply).toEqual(reply(7));
    await journal.put(keyOf(8), 'generate', reply(8), 8, false);
    await journal.put(keyOf(9), 'generate', reply(9), 9, false);
    expect(await removeJournal(out)).toBe(3);

    // Removed under a live process: no stale hit, and the next reply goes into a new journal on disk.
    expect(await journal.get(keyOf(8))).toBeUndefined();
    await journal.put(keyOf(10), 'generate', reply(10), 10, false);
    expect(segments(out)).toHaveLength(1);
    expect(JSON.parse((await new JournalLog(out).read(keyOf(10)))!).reply).toEqual(reply(10));
  });
});

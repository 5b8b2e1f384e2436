/**
 * De-duplication on meaning (activities/dedup.ts): answers decide, not question wording; the
 * first pair is kept; the corpus-wide index stays a few tens of bytes a key.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { contentWords, CorpusDuplicates, dedupKeys, DocumentDuplicates, MIN_FACT_WORDS, type DedupPair } from '../activities/dedup.js';
import { idFromWords, idWords, KeyTable, keyOf } from '../activities/keyTable.js';

const pair = (question: string, answer: string, answerStart = -1, answerEnd = -1): DedupPair => ({ question, answer, answerStart, answerEnd });

/** Runs pairs through one document's index in order: the index each duplicates, or -1 for kept. */
function inDocument(pairs: DedupPair[]): number[] {
  const d = new DocumentDuplicates();
  return pairs.map((p, i) => {
    const dup = d.check(p);
    if (dup) return dup.index;
    d.keep(p, i);
    return -1;
  });
}

const FOOTER = 'Copyright 2024 the Example Project. All rights reserved. Licensed under the Apache License.';

describe('duplicates on meaning', () => {
  it('a long answer repeated under other questions is one fact (a footer on every page)', () => {
    expect(contentWords(FOOTER).length).toBeGreaterThanOrEqual(MIN_FACT_WORDS);
    expect(inDocument([
      pair('Who holds the copyright of the Example Project?', FOOTER),
      pair('What does the page footer say?', FOOTER),
      pair('Under which license is the project?', `  ${FOOTER.toUpperCase()} `),
    ])).toEqual([-1, 0, 0]);
  });

  it('the same generic question over different answers is different facts, not duplicates', () => {
    const notes = [
      'Note: the configuration file must be readable by the service user before it starts.',
      'Note: entries older than the retention period are deleted at midnight by the cleaner.',
      'Note: the index is rebuilt from scratch when the schema version of the database changes.',
    ];
    expect(inDocument(notes.map((n) => pair('What does the section “Note” say?', n)))).toEqual([-1, -1, -1]);
  });

  it('short answers are facts only together with their question', () => {
    expect(inDocument([
      pair('When was Lantern first released?', '2004'),
      pair('When was Beacon first released?', '2004'),
      pair('When was Lantern first released?', '2004.'),
      pair('when was lantern first released', '2004'),
    ])).toEqual([-1, -1, 0, 0]);
    expect(dedupKeys(pair('Q?', '2004')).near).toBeUndefined();
  });

  it('the same content words in the same order are a near duplicate; in another order they are not', () => {
    const a = 'A spring tide occurs when the Sun, the Moon and the Earth are in line.';
    const d = new DocumentDuplicates();
    d.keep(pair('When does a spring tide occur?', a), 0);
    expect(d.check(pair('What causes a spring tide?', 'spring tides occur when Sun, Moon, and Earth are in line'))).toBeUndefined(); // "tides"
    expect(d.check(pair('What causes a spring tide?', 'The spring tide occurs when Sun, Moon, and Earth are in line!'))).toEqual({ index: 0, kind: 'near' });
    // One content word more is another fact.
    expect(d.check(pair('What causes a spring tide?', `${a} exactly`))).toBeUndefined();
  });

  it('the same words in another order can be the opposite fact (regression: Bash parameter expansion)', () => {
    expect(inDocument([
      pair('What is the U expansion?', 'a string that is the value of parameter with lowercase alphabetic characters converted to uppercase'),
      pair('What is the L expansion?', 'a string that is the value of parameter with uppercase alphabetic characters converted to lowercase'),
    ])).toEqual([-1, -1]);
  });

  it('evidence spans that nearly coincide are duplicates; a short answer inside a long one is not', () => {
    const d = new DocumentDuplicates();
    d.keep(pair('What is a tide?', 'the regular rise and fall of the sea', 100, 200), 0);
    // 90 of 100 code points shared: the same evidence, paraphrased.
    expect(d.check(pair('Define a tide.', 'a rise and fall of sea level', 110, 200))).toEqual({ index: 0, kind: 'span' });
    expect(d.check(pair('What rises and falls?', 'the sea', 160, 175))).toBeUndefined();
    expect(d.check(pair('What is elsewhere?', 'other text', 300, 400))).toBeUndefined();
    // Unlocated evidence (-1) never matches by span.
    expect(d.check(pair('Unlocated?', 'something else', -1, -1))).toBeUndefined();
  });

  it('finds an overlapping span among many kept ones, kept in any order', () => {
    const d = new DocumentDuplicates();
    const starts = Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) * 50);
    starts.forEach((s, i) => d.keep(pair(`Q${i}?`, `answer number ${i}`, s, s + 40), i));
    const target = starts.indexOf(5000);
    expect(d.check(pair('Again?', 'a paraphrase', 5002, 5040))).toEqual({ index: target, kind: 'span' });
  });
});

describe('corpus-wide index', () => {
  it('keeps the first pair and names it for every later duplicate', () => {
    const c = new CorpusDuplicates();
    expect(c.check(pair('Who holds the copyright?', FOOTER), '00000000000000aa')).toBeUndefined();
    expect(c.check(pair('What does the footer say?', FOOTER), '00000000000000bb')).toEqual({ of: '00000000000000aa', kind: 'exact' });
    expect(c.check(pair('When was it released?', '2004'), 'ffffffff00000001')).toBeUndefined();
    expect(c.check(pair('When was it released?', '2004'), 'ffffffff00000002')).toEqual({ of: 'ffffffff00000001', kind: 'exact' });
  });

  it('retains a few hundred bytes at most a key for 100,000 pairs (not a Map of strings), and finds them all again', () => {
    // Retained memory, measured after a full collection: heap and array buffers together, so a
    // Map of strings would be counted as much as typed arrays.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const used = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const id = (i: number) => i.toString(16).padStart(16, '0');
    const before = used();
    const c = new CorpusDuplicates();
    const n = 100_000;
    for (let i = 0; i < n; i++) if (c.check(pair(`Question ${i}?`, `answer ${i}`), id(i))) throw new Error(`pair ${i} is not a duplicate`);
    const bytes = used() - before;
    expect(c.size).toBe(n);
    // About 64 B a key on a quiet machine; what else the process allocates meanwhile moves it by
    // tens of bytes. The bound only has to tell typed arrays from the ~800 B a key that a Map of
    // question strings retained (issue 15).
    expect(bytes / n).toBeLessThan(300);
    for (let i = 0; i < n; i += 997) expect(c.check(pair(`question ${i}`, `Answer ${i}.`), 'ffffffffffffffff')?.of).toBe(id(i));
  });
});

describe('key table', () => {
  it('round-trips ids and survives growth', () => {
    for (const id of ['0000000000000000', 'ffffffffffffffff', '0123456789abcdef']) expect(idFromWords(...idWords(id))).toBe(id);
    const t = new KeyTable(1, 4);
    for (let i = 0; i < 1000; i++) t.set(keyOf(`k${i}`), [i]);
    expect(t.size).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(t.get(keyOf(`k${i}`))?.[0]).toBe(i);
    expect(t.get(keyOf('absent'))).toBeUndefined();
  });
});

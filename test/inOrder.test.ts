/** mapInOrder (activities/inOrder.ts): bounded calls in flight, results in index order. */
import { describe, expect, it } from 'vitest';
import { mapInOrder, mapInOrderFrom } from '../activities/inOrder.js';

describe('mapInOrder', () => {
  it('yields in index order whatever order the calls finish in, with at most `limit` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const fn = async (i: number) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, (7 * i) % 5)); // later indices often finish first
      inFlight--;
      return i * 10;
    };
    const out: number[] = [];
    for await (const v of mapInOrder(23, 4, fn)) out.push(v);
    expect(out).toEqual(Array.from({ length: 23 }, (_, i) => i * 10));
    expect(peak).toBe(4);
  });

  it('rethrows a failed call when its turn comes, after the results before it', async () => {
    const out: number[] = [];
    const run = async () => {
      for await (const v of mapInOrder(6, 3, async (i) => (i === 4 ? Promise.reject(new Error('call 4')) : i))) out.push(v);
    };
    await expect(run()).rejects.toThrow('call 4');
    expect(out).toEqual([0, 1, 2, 3]);
  });

  it('gives nothing for no indices', async () => {
    const out: unknown[] = [];
    for await (const v of mapInOrder(0, 4, async () => 1)) out.push(v);
    expect(out).toEqual([]);
  });
});

describe('mapInOrderFrom', () => {
  it('pulls from an async source only as slots free, and closes it when the consumer stops early', async () => {
    let pulled = 0;
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const out: number[] = [];
    for await (const v of mapInOrderFrom(source(), 3, async (item, index) => [item, index] as const)) {
      out.push(v[0] * 1000 + v[1]);
      // Never more than `limit` items pulled ahead of the one being consumed.
      expect(pulled - out.length).toBeLessThanOrEqual(3);
      if (out.length === 5) break;
    }
    expect(out).toEqual([0, 1001, 2002, 3003, 4004]);
    expect(closed).toBe(true);
    expect(pulled).toBeLessThan(10);
  });
});

/**
 * `fn` over the items of `source` with at most `limit` calls in flight, the results yielded in
 * the source's order. The next item is pulled from the source only once a slot is free, so what
 * is held stays bounded however long the source is, and a source that is itself a walk is
 * walked only as fast as the work goes. For file work one file at a time left libuv's thread
 * pool idle between calls (discovery's hashing, the input's fingerprint).
 *
 * `fn` is called as soon as its item is pulled, before the next is asked for.
 */
export async function* mapInOrderFrom<S, T>(
  source: AsyncIterable<S> | Iterable<S>,
  limit: number,
  fn: (item: S, index: number) => Promise<T>,
): AsyncGenerator<T> {
  const items = (Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()) as
    AsyncIterator<S> | Iterator<S>;
  const inFlight: Array<Promise<T>> = [];
  let pulled = 0;
  let ended = false;
  const pull = async () => {
    const next = await items.next();
    if (next.done) {
      ended = true;
      return;
    }
    const result = fn(next.value, pulled++);
    result.catch(() => undefined); // rethrown when its turn comes, not reported as unhandled before
    inFlight.push(result);
  };
  try {
    while (!ended && inFlight.length < limit) await pull();
    while (inFlight.length > 0) {
      const result = await inFlight.shift()!;
      if (!ended) await pull(); // once this one is done: never more than `limit` at once
      yield result;
    }
  } finally {
    if (!ended) await items.return?.();
  }
}

/** mapInOrderFrom over the indices 0..count-1. */
export function mapInOrder<T>(count: number, limit: number, fn: (index: number) => Promise<T>): AsyncGenerator<T> {
  function* indices() {
    for (let i = 0; i < count; i++) yield i;
  }
  return mapInOrderFrom(indices(), limit, (i) => fn(i));
}

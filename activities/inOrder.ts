/**
 * `fn` over the indices 0..count-1 with at most `limit` calls in flight, the results yielded in
 * index order. A call starts only once its index is within `limit` of the one being yielded, so
 * what is held stays bounded whatever `count` is. For file work one file at a time left libuv's
 * thread pool idle between calls (discovery's hashing, the input's fingerprint).
 */
export async function* mapInOrder<T>(count: number, limit: number, fn: (index: number) => Promise<T>): AsyncGenerator<T> {
  const started = new Map<number, Promise<T>>();
  const start = (index: number) => {
    if (index >= count) return;
    const result = fn(index);
    result.catch(() => undefined); // rethrown when its turn comes, not reported as unhandled before
    started.set(index, result);
  };
  for (let index = 0; index < Math.min(limit, count); index++) start(index);
  for (let index = 0; index < count; index++) {
    const result = await started.get(index)!;
    started.delete(index);
    start(index + limit); // once this one is done: never more than `limit` at once
    yield result;
  }
}

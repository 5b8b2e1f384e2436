/**
 * The S3 OutputStore (activities/storage/s3Store.ts) against a real S3-compatible server
 * (SeaweedFS's weed, test/helpers/s3Server.ts): what the run's code relies on, name by name.
 * Skipped, with the reason, when weed is not built (scripts/setup-s3.sh).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputStore, readParsedFrom, storeFor, type OutputStore } from '../activities/storage.js';
import { DIRECTORY_COMPLETE_MARKER, parseS3Url, resetS3Client, S3StoreError } from '../activities/storage/s3Store.js';
import { findWeed, startS3Server, type S3TestServer } from './helpers/s3Server.js';

const found = findWeed();
if (!found.ok) console.warn(`S3 store tests: skipped (${found.reason})`);

const ENV_KEYS = ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_REGION', 'AWS_PROFILE'];

function withEnv(env: Record<string, string>): void {
  for (const k of ENV_KEYS) delete process.env[k];
  Object.assign(process.env, env);
  resetS3Client();
}

describe('s3:// URLs', () => {
  it('splits bucket and prefix and refuses what is not one', () => {
    expect(parseS3Url('s3://my-bucket/a/b/')).toEqual({ bucket: 'my-bucket', prefix: 'a/b' });
    expect(parseS3Url('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(() => parseS3Url('s3://My_Bucket/x')).toThrow(/s3:\/\/My_Bucket\/x: not an s3:\/\/bucket\/prefix URL/);
    expect(() => parseS3Url('s3://bucket/a/../b')).toThrow(/must not have empty, \. or \.\. parts/);
  });
});

describe.skipIf(!found.ok)('the S3 OutputStore on a real S3-compatible server (weed)', () => {
  let server: S3TestServer;
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

  beforeAll(async () => {
    server = await startS3Server((found as { weed: string }).weed);
    await server.createBucket('unit');
    withEnv(server.env);
  }, 120_000);

  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    resetS3Client();
    await server?.stop();
  });

  it('writes, reads back, lists and removes names under the prefix', async () => {
    const store = storeFor('s3://unit/run-a');
    await store.check();
    expect(await store.readText('.corpus-qa/shards/ab/abc.json')).toBeUndefined();
    expect(await store.exists('.corpus-qa/shards/ab/abc.json')).toBe(false);
    await store.write('.corpus-qa/shards/ab/abc.json', '{"status":"x"}');
    await store.write('.corpus-qa/shards/ab/abd.json', new TextEncoder().encode('{"é":1}'));
    await store.write('.corpus-qa/shards/cd/cde.json', '{}');
    expect(await store.exists('.corpus-qa/shards/ab/abc.json')).toBe(true);
    expect(await store.readText('.corpus-qa/shards/ab/abd.json')).toBe('{"é":1}');
    expect((await store.list('.corpus-qa/shards')).sort()).toEqual(['ab', 'cd']);
    expect((await store.list('.corpus-qa/shards/ab')).sort()).toEqual(['abc.json', 'abd.json']);
    expect(await store.list('nothing/here')).toEqual([]);
    expect(await server.keys('unit', 'run-a/')).toEqual(['run-a/.corpus-qa/shards/ab/abc.json', 'run-a/.corpus-qa/shards/ab/abd.json', 'run-a/.corpus-qa/shards/cd/cde.json']);

    await store.remove('.corpus-qa/shards/ab');
    expect(await server.keys('unit', 'run-a/')).toEqual(['run-a/.corpus-qa/shards/cd/cde.json']);
    await store.remove('.corpus-qa');
    expect(await server.keys('unit', 'run-a/')).toEqual([]);
  });

  it('reads bytes whole or in a range, and sizes, as the local store does', async () => {
    const store = storeFor('s3://unit/run-d');
    const local = outputStore(mkdtempSync(join(tmpdir(), 'corpus-qa-s3-bytes-')));
    const bytes = Uint8Array.from([0xc3, 0x28, 0x0a, ...Buffer.from('tail PAR1')]); // invalid UTF-8 first
    for (const s of [store, local]) {
      await s.write('data/x.bin', bytes);
      await s.write('data/empty.bin', '');
    }
    const answers = async (s: OutputStore) => ({
      whole: Buffer.from((await s.readBytes('data/x.bin'))!).toString('hex'),
      footer: Buffer.from((await s.readBytes('data/x.bin', { offset: bytes.length - 4, length: 4 }))!).toString('latin1'),
      pastEnd: (await s.readBytes('data/x.bin', { offset: bytes.length - 2, length: 8 }))!.length,
      emptyRange: (await s.readBytes('data/empty.bin', { offset: 0, length: 8 }))!.length,
      missing: await s.readBytes('data/none.bin'),
      missingRange: await s.readBytes('data/none.bin', { offset: 0, length: 8 }),
      size: await s.size('data/x.bin'),
      emptySize: await s.size('data/empty.bin'),
      missingSize: await s.size('data/none.bin'),
    });
    const fromS3 = await answers(store);
    expect(fromS3).toEqual({
      whole: Buffer.from(bytes).toString('hex'),
      footer: 'PAR1',
      pastEnd: 2,
      emptyRange: 0,
      missing: undefined,
      missingRange: undefined,
      size: bytes.length,
      emptySize: 0,
      missingSize: undefined,
    });
    expect(await answers(local)).toEqual(fromS3);
  });

  it('parses what it reads back, and names the object when it is corrupt', async () => {
    const store = storeFor('s3://unit/run-b');
    await store.write('x.json', 'not json');
    const why: string[] = [];
    const schema = { safeParse: (v: unknown) => ({ success: true as const, data: v }) };
    expect(await readParsedFrom(store, 'x.json', schema, (w) => why.push(w))).toBeUndefined();
    expect(why[0]).toMatch(/^s3:\/\/unit\/run-b\/x\.json: not JSON/);
  });

  it('uploads a local file whole, and makes a folder visible only with its marker', async () => {
    const store = storeFor('s3://unit/run-c');
    const local = join(mkdtempSync(join(tmpdir(), 'corpus-qa-s3-')), 'train.jsonl');
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => `{"i":${i}}\n`).join(''));
    writeFileSync(local, bytes);
    await store.putFile('data/train.jsonl', local);
    expect((await server.get('unit', 'run-c/data/train.jsonl'))?.equals(bytes)).toBe(true);

    await store.writeDirectoryOnce('.corpus-qa/manifests/k1', [
      { name: 'page-000000.jsonl', data: 'a\n', durable: true },
      { name: 'warnings.json', data: '[]', durable: false },
    ]);
    expect(await server.keys('unit', 'run-c/.corpus-qa/manifests/')).toEqual([
      `run-c/.corpus-qa/manifests/k1/${DIRECTORY_COMPLETE_MARKER}`,
      'run-c/.corpus-qa/manifests/k1/page-000000.jsonl',
      'run-c/.corpus-qa/manifests/k1/warnings.json',
    ]);
    // Complete already: a second writer leaves it as it is.
    await store.writeDirectoryOnce('.corpus-qa/manifests/k1', [{ name: 'page-000000.jsonl', data: 'other\n', durable: true }]);
    expect(await store.readText('.corpus-qa/manifests/k1/page-000000.jsonl')).toBe('a\n');
  });

  it('says which bucket cannot be used, and why: wrong keys, a missing bucket, no server', async () => {
    try {
      withEnv({ ...server.env, AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
      const err = await storeFor('s3://unit/x').check().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(S3StoreError);
      expect((err as Error).message).toMatch(/^s3:\/\/unit\/x: bucket unit cannot be used: access denied by the endpoint http:\/\/127\.0\.0\.1:\d+ .*check the credentials/);

      withEnv(server.env);
      const missing = await storeFor('s3://no-such-bucket/x').check().catch((e: unknown) => e);
      expect((missing as Error).message).toMatch(/^s3:\/\/no-such-bucket\/x: bucket no-such-bucket cannot be used: the bucket no-such-bucket does not exist/);

      withEnv({ ...server.env, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' });
      const down = await storeFor('s3://unit/x').check().catch((e: unknown) => e);
      expect((down as Error).message).toMatch(/^s3:\/\/unit\/x: bucket unit cannot be used: cannot reach the endpoint http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
    } finally {
      withEnv(server.env);
    }
  }, 60_000);
});

/**
 * A real S3-compatible server for tests: SeaweedFS's `weed server -s3` (master, volume, filer
 * and S3 gateway in one process), as built by scripts/setup-s3.sh into $CACHE/weed/weed.
 * Nothing here builds anything: when the binary is not there, findWeed() says why and the tests
 * that need it skip.
 *
 * Every port is chosen free on 127.0.0.1 and given explicitly (gRPC ports too: weed's default is
 * port + 10000, which may be taken); everything binds to loopback; telemetry is off. The S3
 * gateway checks signatures against one static identity (the keys below), so a test can also
 * see what wrong credentials do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../client/server/devServer.js';
import { cacheDir, isExecutable } from '../../client/server/temporalCli.js';

export const S3_SETUP_HINT = 'run bash scripts/setup-s3.sh';

export const S3_TEST_KEYS = { accessKeyId: 'corpusqatestkey', secretAccessKey: 'corpusqatestsecret0123456789' } as const;

export type WeedLookup = { ok: true; weed: string } | { ok: false; reason: string };

/** CORPUS_QA_WEED, else $CACHE/weed/weed (scripts/setup-s3.sh). */
export function findWeed(): WeedLookup {
  const weed = process.env.CORPUS_QA_WEED || join(cacheDir(), 'weed', 'weed');
  if (!existsSync(weed)) return { ok: false, reason: `weed (SeaweedFS) not built at ${weed}; ${S3_SETUP_HINT}` };
  if (!isExecutable(weed)) return { ok: false, reason: `${weed} is not executable; ${S3_SETUP_HINT}` };
  return { ok: true, weed };
}

export interface S3TestServer {
  endpoint: string;
  /** The environment a corpus-qa process needs to reach it (endpoint, keys, region unset). */
  env: Record<string, string>;
  client: S3Client;
  createBucket(name: string): Promise<void>;
  /** Every key under `prefix`, sorted. */
  keys(bucket: string, prefix: string): Promise<string[]>;
  /** An object's bytes, or undefined. */
  get(bucket: string, key: string): Promise<Buffer | undefined>;
  stop(): Promise<void>;
}

/**
 * Starts weed in a temporary directory and waits until its S3 gateway answers. A port found
 * free can be taken by another process before weed binds it: then it is started again, on
 * other ports, up to three times.
 */
export async function startS3Server(weed: string, timeoutMs = 90_000): Promise<S3TestServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startS3ServerOnce(weed, timeoutMs);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startS3ServerOnce(weed: string, timeoutMs: number): Promise<S3TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'corpus-qa-weed-'));
  const config = join(dir, 's3.json');
  writeFileSync(
    config,
    JSON.stringify({
      identities: [{ name: 'corpus-qa-test', credentials: [{ accessKey: S3_TEST_KEYS.accessKeyId, secretKey: S3_TEST_KEYS.secretAccessKey }], actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'] }],
    }),
  );
  // Distinct: freePort() does not hold the port it found, so two calls can give the same one
  // (a filer and a volume server both on one gRPC port made weed exit).
  const port: Record<string, number> = {};
  const taken = new Set<number>();
  for (const name of ['master', 'masterGrpc', 'volume', 'volumeGrpc', 'filer', 'filerGrpc', 's3', 's3Grpc']) {
    let p = await freePort();
    while (taken.has(p)) p = await freePort();
    taken.add(p);
    port[name] = p;
  }
  const args = [
    'server',
    `-dir=${join(dir, 'data')}`,
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-master.port=${port.master}`,
    `-master.port.grpc=${port.masterGrpc}`,
    '-master.telemetry=false',
    '-master.volumeSizeLimitMB=64',
    '-volume.max=16',
    `-volume.port=${port.volume}`,
    `-volume.port.grpc=${port.volumeGrpc}`,
    '-filer',
    `-filer.port=${port.filer}`,
    `-filer.port.grpc=${port.filerGrpc}`,
    '-s3',
    `-s3.port=${port.s3}`,
    `-s3.port.grpc=${port.s3Grpc}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    `-s3.config=${config}`,
  ];
  mkdirSync(join(dir, 'data'), { recursive: true });
  const proc: ChildProcess = spawn(weed, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-20_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let exited: number | null | undefined;
  proc.on('exit', (code) => (exited = code));

  const endpoint = `http://127.0.0.1:${port.s3}`;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // as activities/storage/s3Store.ts does
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3_TEST_KEYS, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const stop = async () => {
    client.destroy();
    if (exited === undefined) {
      const gone = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  // Ready when a bucket can be made and written to: the S3 gateway is up and has a filer and a
  // volume server behind it (it answers before the volume server has registered).
  const deadline = Date.now() + timeoutMs;
  const probe = `probe-${port.s3}`;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`weed exited (${exited}) before its S3 gateway was ready:\n${log}`);
    }
    try {
      await client.send(new CreateBucketCommand({ Bucket: probe })).catch((err: { name?: string }) => {
        if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
      });
      await client.send(new PutObjectCommand({ Bucket: probe, Key: 'ready', Body: 'ok' }));
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`weed's S3 gateway at ${endpoint} not ready after ${timeoutMs} ms (${(err as Error).message}):\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ACCESS_KEY_ID: S3_TEST_KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_TEST_KEYS.secretAccessKey,
      // The tests' own files only: no ~/.aws of the machine.
      AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    },
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async keys(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async get(bucket, key) {
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return Buffer.from(await r.Body!.transformToByteArray());
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
        throw err;
      }
    },
    stop,
  };
}

/**
 * <out> in an S3-compatible bucket (`--out s3://bucket/prefix`): the OutputStore of
 * activities/storage.ts over the official @aws-sdk/client-s3. A single PutObject is atomic (a
 * reader sees the old object or the new one, never half of one), so every write is one put of
 * the whole object; there are no temporary keys to sweep.
 *
 * Credentials, region and endpoint come from the standard AWS environment and config files
 * only (the SDK's default chain). A custom endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, as
 * S3-compatible servers need) turns on path-style addressing; the region defaults to us-east-1.
 * Nothing of this is ever a workflow input: the workflow carries the s3:// URL only.
 *
 * The SDK is imported on first use, so runs with a local <out> never load it.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { sha256OfStream, type OutputStore } from '../storage.js';

export const S3_URL_PREFIX = 's3://';

export function isS3Url(out: string): boolean {
  return out.startsWith(S3_URL_PREFIX);
}

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing '/', '' for the bucket's root. */
  prefix: string;
}

/** s3://bucket/a/b/ → { bucket, prefix: 'a/b' }; an error naming the URL when it is not one. */
export function parseS3Url(url: string): S3Location {
  const rest = url.slice(S3_URL_PREFIX.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, '');
  // The S3 bucket naming rules (lower case, digits, dots, hyphens; 3 to 63 characters).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new S3StoreError(`${url}: not an s3://bucket/prefix URL (bucket name "${bucket}" is not valid)`);
  if (prefix && prefix.split('/').some((p) => p === '.' || p === '..' || p === '')) throw new S3StoreError(`${url}: the prefix must not have empty, . or .. parts`);
  return { bucket, prefix };
}

/** An S3 failure, said with the bucket and key it was about and what to check. */
export class S3StoreError extends Error {
  override name = 'S3StoreError';
}

/** The custom endpoint from the environment, if one is set (the SDK reads the same variables). */
export function customEndpoint(): string | undefined {
  return process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
}

let clientPromise: Promise<{ client: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> | undefined;

/** One client per process: its connection pool is shared by every activity of the worker. */
function s3(): Promise<{ client: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> {
  clientPromise ??= (async () => {
    // The SDK warns on every Node 20 process that its future versions will need Node 22: a note
    // for whoever upgrades the dependency, not for a user of a run (unless they ask for it).
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const sdk = await import('@aws-sdk/client-s3');
    const custom = customEndpoint() !== undefined;
    const options = {
      forcePathStyle: custom,
      // S3-compatible servers do not all know the SDK's newer default checksums (CRC32 with
      // aws-chunked uploads); send them only where AWS requires them.
      ...(custom ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
    };
    const region = await regionOrDefault(sdk);
    return { client: new sdk.S3Client({ ...options, region }), sdk };
  })();
  return clientPromise;
}

/** The region of the standard chain (AWS_REGION, the config file), else us-east-1. */
async function regionOrDefault(sdk: typeof import('@aws-sdk/client-s3')): Promise<string> {
  const probe = new sdk.S3Client({});
  try {
    return await probe.config.region();
  } catch {
    return 'us-east-1';
  } finally {
    probe.destroy();
  }
}

/** Forgets the client (tests change the environment between cases). */
export function resetS3Client(): void {
  void clientPromise?.then(({ client }) => client.destroy()).catch(() => undefined);
  clientPromise = undefined;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  errors?: Array<{ code?: string; message?: string }>;
}

function isNotFound(err: unknown): boolean {
  const e = err as SdkError;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

/** What went wrong, in words a user can act on; the SDK's own message follows. */
export function describeS3Error(err: unknown, bucket: string): string {
  const e = err as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const code = e.code ?? e.errors?.[0]?.code ?? e.name;
  const where = customEndpoint() ? `the endpoint ${customEndpoint()}` : 'the AWS S3 endpoint';
  const said = (e.message || e.errors?.[0]?.message || String(code ?? err)).split('\n')[0];
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'TimeoutError') {
    return `cannot reach ${where} (${code}); check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL`;
  }
  if (e.name === 'CredentialsProviderError') return `no AWS credentials found (${said}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE`;
  if (e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch' || status === 403) {
    return `access denied by ${where} (${e.name ?? status}: ${said}); check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_PROFILE) and the bucket's permissions`;
  }
  if (e.name === 'NoSuchBucket' || status === 404) return `the bucket ${bucket} does not exist at ${where}`;
  return `${e.name ?? 'error'}${status ? ` (HTTP ${status})` : ''}: ${said}`;
}

/** The S3 OutputStore of `url` (s3://bucket/prefix). */
export function s3Store(url: string): OutputStore {
  const { bucket, prefix } = parseS3Url(url);
  const root = `${S3_URL_PREFIX}${bucket}${prefix ? `/${prefix}` : ''}`;
  const keyOf = (rel: string) => {
    // '.' is <out> itself; './x' is x (never strip the dot of '.corpus-qa').
    const clean = rel === '.' ? '' : rel.replace(/^\.\//, '').replace(/\/+$/, '');
    return prefix ? (clean ? `${prefix}/${clean}` : prefix) : clean;
  };
  const describe = (rel: string) => (rel === '' || rel === '.' ? root : `${root}/${rel.replace(/^\.\//, '')}`);
  const fail = (what: string, rel: string, err: unknown): never => {
    if (err instanceof S3StoreError) throw err;
    throw new S3StoreError(`${describe(rel)}: ${what} failed: ${describeS3Error(err, bucket)}`, { cause: err });
  };

  /** Every key under `relDir` (recursive), or with Delimiter the direct children. */
  async function listKeys(relDir: string, delimiter: boolean): Promise<{ keys: string[]; folders: string[] }> {
    const { client, sdk } = await s3();
    const base = keyOf(relDir);
    const listPrefix = base ? `${base}/` : '';
    const keys: string[] = [];
    const folders: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: listPrefix, ContinuationToken: token, ...(delimiter ? { Delimiter: '/' } : {}) }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) folders.push(p.Prefix);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const strip = (k: string) => k.slice(listPrefix.length).replace(/\/$/, '');
    return { keys: delimiter ? keys.map(strip) : keys, folders: folders.map(strip) };
  }

  const store: OutputStore = {
    root,
    kind: 's3',
    pathOf(rel) {
      throw new Error(`${describe(rel)}: an object in a bucket has no local path (this code needs a local --out)`);
    },
    describe,

    async exists(rel) {
      return (await store.size(rel)) !== undefined;
    },

    async readText(rel) {
      const { client, sdk } = await s3();
      try {
        const r = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: keyOf(rel) }));
        return (await r.Body?.transformToString('utf8')) ?? '';
      } catch (err) {
        if (isNotFound(err)) return undefined;
        return fail('GetObject', rel, err);
      }
    },

    async readBytes(rel, range) {
      if (range && range.length <= 0) return (await store.exists(rel)) ? new Uint8Array() : undefined;
      const { client, sdk } = await s3();
      try {
        const Range = range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined;
        const r = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: keyOf(rel), Range }));
        return (await r.Body?.transformToByteArray()) ?? new Uint8Array();
      } catch (err) {
        if (isNotFound(err)) return undefined;
        // A range that starts past the end: the object has no bytes there (as a short local read).
        if ((err as SdkError).$metadata?.httpStatusCode === 416) return new Uint8Array();
        return fail('GetObject', rel, err);
      }
    },

    async size(rel) {
      const { client, sdk } = await s3();
      try {
        const head = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: keyOf(rel) }));
        return head.ContentLength ?? 0;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        return fail('HeadObject', rel, err);
      }
    },

    async sha256(rel) {
      const { client, sdk } = await s3();
      try {
        return await sha256OfStream(async () => {
          const r = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: keyOf(rel) }));
          return r.Body as AsyncIterable<Uint8Array> | undefined;
        });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        return fail('GetObject', rel, err);
      }
    },

    async list(relDir) {
      try {
        const { keys, folders } = await listKeys(relDir, true);
        return [...new Set([...folders, ...keys])].filter((n) => n !== '');
      } catch (err) {
        return fail('ListObjectsV2', relDir, err);
      }
    },

    // An acknowledged PutObject is stored durably: `durable` has nothing to add.
    async write(rel, data) {
      const { client, sdk } = await s3();
      try {
        await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: keyOf(rel), Body: typeof data === 'string' ? Buffer.from(data, 'utf8') : data }));
      } catch (err) {
        fail('PutObject', rel, err);
      }
    },

    async putFile(rel, localPath) {
      const { client, sdk } = await s3();
      try {
        const { size } = await stat(localPath);
        // A stream with its length: a data file is never held in memory whole. One PutObject
        // takes up to 5 GB; shard bigger datasets with --file-format parquet --shard-rows.
        await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: keyOf(rel), Body: createReadStream(localPath), ContentLength: size }));
      } catch (err) {
        fail('PutObject', rel, err);
      }
    },

    async remove(rel) {
      const { client, sdk } = await s3();
      try {
        const { keys } = await listKeys(rel, false);
        const all = [keyOf(rel), ...keys];
        // One DeleteObject per key: every S3-compatible server has it (DeleteObjects needs a
        // Content-MD5 some do not check the same way), and removal is not on a hot path.
        for (let i = 0; i < all.length; i += 16) {
          await Promise.all(all.slice(i, i + 16).map((Key) => client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key }))));
        }
      } catch (err) {
        fail('DeleteObject', rel, err);
      }
    },

    /**
     * The files, then a marker written last: a set is complete exactly when its marker is there
     * (S3 has no rename of a folder). The callers key their folders by content, so a second
     * writer writes the same bytes.
     */
    async writeDirectoryOnce(relDir, files) {
      const marker = `${relDir}/${DIRECTORY_COMPLETE_MARKER}`;
      if (await store.exists(marker)) return;
      for (const f of files) await store.write(`${relDir}/${f.name}`, f.data);
      await store.write(marker, '');
    },

    async check() {
      const { client, sdk } = await s3();
      try {
        await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
      } catch (err) {
        throw new S3StoreError(`${root}: bucket ${bucket} cannot be used: ${describeS3Error(err, bucket)}`, { cause: err });
      }
    },
  };
  return store;
}

/** The last object of a folder written by writeDirectoryOnce (a manifest). */
export const DIRECTORY_COMPLETE_MARKER = '.complete';

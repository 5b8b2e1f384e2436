/**
 * A local stand-in for the HuggingFace Hub, for the tests of `corpus-qa push`: node:http on
 * 127.0.0.1, a free port, speaking just enough of the Hub's API for the official
 * `@huggingface/hub` client (2.x) pointed at it with `hubUrl` / HF_ENDPOINT:
 *
 *   POST /api/repos/create                          create a repo; 409 when it exists (as the Hub)
 *   POST /api/datasets/{ns}/{name}/branch/{branch}  create a branch; 409 when it exists
 *   GET  /api/datasets/{ns}/{name}/tree/{rev}       list a revision's files (?recursive=true)
 *   POST /api/datasets/{ns}/{name}/preupload/{rev}  which files go through LFS: the Hub's rule,
 *                                                    10 MiB or more, or binary (a NUL in the sample)
 *   POST /datasets/{ns}/{name}.git/info/lfs/objects/batch
 *                                                    the Git LFS batch API; answers `transfer:
 *                                                    "basic"` (no Xet), so the client PUTs each object
 *   PUT  /lfs-objects/{oid}                          the "basic" upload URL it hands out; the body's
 *                                                    sha256 and size must be the oid's
 *   POST /api/datasets/{ns}/{name}/commit/{rev}      the NDJSON commit: a header line, then `file`
 *                                                    (base64 content), `lfsFile` (an uploaded oid) and
 *                                                    `deletedFile` lines
 *
 * What it does not do: Xet storage (the client falls back to classic LFS when the batch answer is
 * not "xet"), multipart LFS uploads, pull requests, pagination. Every request is recorded with its
 * Authorization header, and every /api and .git request must carry `Bearer <token>` (else 401), so
 * a test sees what the client sent. Committed files live in memory, per repo and branch.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const HUB_LFS_THRESHOLD_BYTES = 10 * 1024 * 1024;

export interface HubRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface StandInRepo {
  id: string;
  type: string;
  visibility: string | undefined;
  /** branch → path → bytes */
  branches: Map<string, Map<string, Buffer>>;
  commits: Array<{ branch: string; summary: string; regular: string[]; lfs: string[]; deleted: string[] }>;
}

export interface HubStandIn {
  url: string;
  token: string;
  requests: HubRequest[];
  repos: Map<string, StandInRepo>;
  /** LFS objects received through PUT, by oid. */
  lfsObjects: Map<string, Buffer>;
  /** The files of a repo's branch (path → bytes); empty when there is no such repo or branch. */
  files(repo: string, branch?: string): Map<string, Buffer>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  res.writeHead(status, { 'Content-Type': contentType });
  res.end(JSON.stringify(body));
}

export async function startHubStandIn(opts: { token?: string; lfsThresholdBytes?: number } = {}): Promise<HubStandIn> {
  const token = opts.token ?? `hf_standin${randomBytes(8).toString('hex')}`;
  const lfsThreshold = opts.lfsThresholdBytes ?? HUB_LFS_THRESHOLD_BYTES;
  const requests: HubRequest[] = [];
  const repos = new Map<string, StandInRepo>();
  const lfsObjects = new Map<string, Buffer>();
  let url = '';

  const repoOf = (ns: string, name: string): StandInRepo => {
    const repo = repos.get(`${ns}/${name}`);
    if (!repo) throw new HttpError(404, `Repository not found: ${ns}/${name}`);
    return repo;
  };
  const branchOf = (repo: StandInRepo, rev: string): Map<string, Buffer> => {
    const branch = repo.branches.get(decodeURIComponent(rev));
    if (!branch) throw new HttpError(404, `Revision not found: ${decodeURIComponent(rev)}`);
    return branch;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization });
    // The upload URL stands for a presigned storage URL: no token (the client sends none there).
    const upload = /^\/lfs-objects\/([0-9a-f]{64})$/.exec(path);
    if (req.method === 'PUT' && upload) {
      const bytes = await readBody(req);
      const oid = upload[1]!;
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== oid) throw new HttpError(400, `sha256 of the upload is ${actual}, not the oid ${oid}`);
      lfsObjects.set(oid, bytes);
      res.writeHead(200, { ETag: `"${oid}"` }).end();
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) throw new HttpError(401, 'Invalid credentials in Authorization header');

    if (req.method === 'POST' && path === '/api/repos/create') {
      const body = JSON.parse((await readBody(req)).toString('utf8')) as { name: string; organization: string; type: string; visibility?: string };
      const id = `${body.organization}/${body.name}`;
      if (repos.has(id)) throw new HttpError(409, `You already created this ${body.type} repo`);
      repos.set(id, { id, type: body.type, visibility: body.visibility, branches: new Map([['main', new Map()]]), commits: [] });
      send(res, 200, { url: `${url}/${body.type === 'model' ? '' : `${body.type}s/`}${id}`, name: id, id: randomBytes(12).toString('hex') });
      return;
    }

    const branch = /^\/api\/datasets\/([^/]+)\/([^/]+)\/branch\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && branch) {
      const repo = repoOf(branch[1]!, branch[2]!);
      const name = decodeURIComponent(branch[3]!);
      const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as { startingPoint?: string };
      if (repo.branches.has(name)) throw new HttpError(409, `Reference already exists: ${name}`);
      repo.branches.set(name, new Map(branchOf(repo, body.startingPoint ?? 'main')));
      send(res, 200, {});
      return;
    }

    const tree = /^\/api\/datasets\/([^/]+)\/([^/]+)\/tree\/([^/]+)(\/.*)?$/.exec(path);
    if (req.method === 'GET' && tree) {
      const files = branchOf(repoOf(tree[1]!, tree[2]!), tree[3]!);
      const under = tree[4] ? `${decodeURIComponent(tree[4].slice(1))}/` : '';
      if (query.get('recursive') !== 'true') throw new HttpError(400, 'the stand-in lists recursively only');
      const entries = [...files.entries()]
        .filter(([p]) => p.startsWith(under))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([p, bytes]) => ({ type: 'file', path: p, size: bytes.length, oid: createHash('sha1').update(bytes).digest('hex') }));
      send(res, 200, entries);
      return;
    }

    const preupload = /^\/api\/datasets\/([^/]+)\/([^/]+)\/preupload\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && preupload) {
      branchOf(repoOf(preupload[1]!, preupload[2]!), preupload[3]!);
      const body = JSON.parse((await readBody(req)).toString('utf8')) as { files: Array<{ path: string; size: number; sample: string }> };
      send(res, 200, {
        files: body.files.map((f) => ({
          path: f.path,
          uploadMode: f.size >= lfsThreshold || Buffer.from(f.sample, 'base64').includes(0) ? 'lfs' : 'regular',
        })),
      });
      return;
    }

    const batch = /^\/datasets\/([^/]+)\/([^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(path);
    if (req.method === 'POST' && batch) {
      repoOf(batch[1]!, batch[2]!);
      const body = JSON.parse((await readBody(req)).toString('utf8')) as { operation: string; transfers?: string[]; objects: Array<{ oid: string; size: number }> };
      if (body.operation !== 'upload' || !body.transfers?.includes('basic')) throw new HttpError(422, 'the stand-in takes basic uploads only');
      res.writeHead(200, { 'Content-Type': 'application/vnd.git-lfs+json' });
      res.end(JSON.stringify({
        transfer: 'basic',
        objects: body.objects.map((o) => ({
          oid: o.oid,
          size: o.size,
          // An object the store holds already needs no upload: no actions (as the Hub answers).
          ...(lfsObjects.has(o.oid) ? {} : { authenticated: true, actions: { upload: { href: `${url}/lfs-objects/${o.oid}`, expires_in: 3600 } } }),
        })),
      }));
      return;
    }

    const commit = /^\/api\/datasets\/([^/]+)\/([^/]+)\/commit\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && commit) {
      const repo = repoOf(commit[1]!, commit[2]!);
      const files = branchOf(repo, commit[3]!);
      const lines = (await readBody(req)).toString('utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> });
      if (lines[0]?.key !== 'header') throw new HttpError(400, 'the first NDJSON line must be the header');
      const next = new Map(files);
      const record = { branch: decodeURIComponent(commit[3]!), summary: String(lines[0].value.summary), regular: [] as string[], lfs: [] as string[], deleted: [] as string[] };
      for (const { key, value } of lines.slice(1)) {
        const p = String(value.path);
        if (key === 'file') {
          if (value.encoding !== 'base64') throw new HttpError(400, `${p}: expected base64 content`);
          next.set(p, Buffer.from(String(value.content), 'base64'));
          record.regular.push(p);
        } else if (key === 'lfsFile') {
          const bytes = lfsObjects.get(String(value.oid));
          if (!bytes) throw new HttpError(422, `${p}: LFS object ${String(value.oid)} was never uploaded`);
          if (bytes.length !== value.size) throw new HttpError(422, `${p}: size ${String(value.size)} is not the uploaded object's ${bytes.length}`);
          next.set(p, bytes);
          record.lfs.push(p);
        } else if (key === 'deletedFile') {
          if (!next.delete(p)) throw new HttpError(404, `${p}: no such file to delete`);
          record.deleted.push(p);
        } else {
          throw new HttpError(400, `unknown commit line ${key}`);
        }
      }
      repo.branches.set(record.branch, next);
      repo.commits.push(record);
      const oid = createHash('sha1').update(`${repo.id}@${repo.commits.length}`).digest('hex');
      send(res, 200, { success: true, commitOid: oid, commitUrl: `${url}/datasets/${repo.id}/commit/${oid}`, hookOutput: '' });
      return;
    }
    throw new HttpError(404, `the stand-in has no ${req.method} ${path}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) send(res, status, { error: (err as Error).message });
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token,
    requests,
    repos,
    lfsObjects,
    files: (repo, branch = 'main') => repos.get(repo)?.branches.get(branch) ?? new Map(),
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
  };
}

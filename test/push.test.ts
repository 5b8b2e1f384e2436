/**
 * `corpus-qa push` and `run --push-to-hub` against a local stand-in of the HuggingFace Hub
 * (test/helpers/hubStandIn.ts), with the official `@huggingface/hub` client doing the talking.
 * The real Hub is not reachable from the test machines: what is covered is the client's use of
 * the Hub's repo, preupload, LFS batch ("basic" transfer, not Xet) and commit APIs, as the
 * stand-in speaks them.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushDataset } from '../client/commands/push.js';
import { verifyOutput } from '../client/commands/verify.js';
import { writeFixtureCorpus } from './helpers/corpus.js';
import { sha256File, tempDir } from './helpers/files.js';
import { HUB_LFS_THRESHOLD_BYTES, startHubStandIn, type HubStandIn } from './helpers/hubStandIn.js';
import { BIN } from './helpers/processes.js';
import { temporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

/**
 * The CLI as a child process, awaited: not spawnSync, which would block this process's event
 * loop, and with it the stand-in the CLI is talking to.
 */
async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete fullEnv[k];
  const child = spawn(process.execPath, [BIN, ...args], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'], timeout: 170_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

/** Every file under dir, relative, but the run state in .corpus-qa/. */
function outputFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        if (name !== '.corpus-qa') walk(p);
      } else {
        found.push(relative(dir, p));
      }
    }
  };
  walk(dir);
  return found.sort();
}

function expectSameFiles(hub: HubStandIn, repo: string, out: string): void {
  const remote = hub.files(repo);
  expect([...remote.keys()].sort()).toEqual(outputFiles(out));
  for (const [path, bytes] of remote) expect(bytes.equals(readFileSync(join(out, path))), path).toBe(true);
}

let hub: HubStandIn;
let corpus: string;
let out: string;
let hubEnv: Record<string, string | undefined>;
const taskQueue = uniqueTaskQueue();

beforeAll(async () => {
  hub = await startHubStandIn();
  hubEnv = { HF_TOKEN: hub.token, HF_ENDPOINT: hub.url, HF_TOKEN_PATH: undefined, HF_HOME: tempDir('hf-home') };
  corpus = writeFixtureCorpus(tempDir('push-corpus')).root;
  out = tempDir('push-out');
  const run = await cli(['run', corpus, '--out', out, '--generate-qa', '--task-queue', taskQueue, '--no-progress'], { TEMPORAL_ADDRESS: temporalAddress() });
  expect(run.code, run.stderr).toBe(0);
});

afterAll(async () => {
  await hub?.close();
});

describe('corpus-qa push', () => {
  it('uploads exactly the dataset files, byte for byte, to a private dataset repo it creates', async () => {
    expect(existsSync(join(out, '.corpus-qa'))).toBe(true);
    const r = await cli(['push', out, 'alice/lantern-qa', '--private'], hubEnv);
    expect(r.code, r.stderr).toBe(0);

    const repo = hub.repos.get('alice/lantern-qa')!;
    expect(repo).toMatchObject({ type: 'dataset', visibility: 'private' });
    expectSameFiles(hub, 'alice/lantern-qa', out);
    expect(outputFiles(out)).toEqual(expect.arrayContaining(['README.md', 'data/train.jsonl', 'errors.jsonl', 'rejected/rejected.jsonl', 'stats.json']));
    expect(repo.commits).toHaveLength(1);
    expect(repo.commits[0]!.lfs).toEqual([]); // all small text: inline in the commit

    // Every request that needs one carried the token as a Bearer token; none printed it.
    const api = hub.requests.filter((q) => !q.path.startsWith('/lfs-objects/'));
    expect(api.length).toBeGreaterThanOrEqual(3);
    for (const q of api) expect(q.authorization, `${q.method} ${q.path}`).toBe(`Bearer ${hub.token}`);
    expect(r.stdout + r.stderr).not.toContain(hub.token);
    expect(r.stdout).toContain(`${hub.url}/datasets/alice/lantern-qa`);
    expect(r.stdout).toMatch(/Pushed 5 files \(/);
    expect(r.stderr).toMatch(/Created dataset repo alice\/lantern-qa \(private\)/);
  });

  it('pushes again to the existing repo with the token file, removing a data file the output no longer has', async () => {
    const repo = 'alice/again';
    const first = await cli(['push', out, repo], hubEnv);
    expect(first.code, first.stderr).toBe(0);
    // Without --private no visibility is sent: the namespace's default applies (public on the Hub).
    expect(hub.repos.get(repo)!.visibility).toBeUndefined();
    // As if an earlier export had a test split: its file is on the Hub, not in the output.
    hub.repos.get(repo)!.branches.get('main')!.set('data/test.jsonl', Buffer.from('{"id":"old"}\n'));
    hub.repos.get(repo)!.branches.get('main')!.set('notes.md', Buffer.from('the owner\'s own file\n'));

    const home = tempDir('hf-home-file');
    writeFileSync(join(home, 'token'), `${hub.token}\n`);
    const second = await cli(['push', out, repo, '--message', 'second push'], { ...hubEnv, HF_TOKEN: undefined, HF_HOME: home });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/Dataset repo alice\/again exists/);
    expect(second.stdout).toMatch(/Removed 1 files no longer in the output: data\/test\.jsonl/);
    const commits = hub.repos.get(repo)!.commits;
    expect(commits.map((c) => c.summary)).toEqual(['Upload dataset with corpus-qa', 'second push']);
    expect(commits[1]!.deleted).toEqual(['data/test.jsonl']);
    const remote = hub.files(repo);
    expect(remote.has('notes.md')).toBe(true); // not a place the export writes: left alone
    remote.delete('notes.md');
    expectSameFiles(hub, repo, out);
  });

  it('commits to another branch with --revision, creating it from main', async () => {
    const repo = 'alice/branches';
    expect((await cli(['push', out, repo], hubEnv)).code).toBe(0);
    hub.repos.get(repo)!.branches.get('main')!.set('data/old.jsonl', Buffer.from('{"id":"old"}\n'));
    // A name with a slash: every call must put it in the URL encoded.
    const r = await cli(['push', out, repo, '--revision', 'release/v1'], hubEnv);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Created branch release\/v1/);
    expect(hub.repos.get(repo)!.commits.at(-1)).toMatchObject({ branch: 'release/v1', deleted: ['data/old.jsonl'] });
    expect([...hub.files(repo, 'release/v1').keys()].sort()).toEqual(outputFiles(out));
    expect(hub.files(repo, 'main').has('data/old.jsonl')).toBe(true); // main is not touched
    expect(r.stdout).toContain(`${hub.url}/datasets/${repo}/tree/release%2Fv1`);
  });

  it('without a token: exit 2, says where it looked, and sends nothing', async () => {
    const before = hub.requests.length;
    const home = tempDir('hf-home-empty');
    const r = await cli(['push', out, 'alice/no-token'], { ...hubEnv, HF_TOKEN: undefined, HF_HOME: home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no HuggingFace token: set HF_TOKEN');
    expect(r.stderr).toContain(join(home, 'token'));
    expect(hub.requests.length).toBe(before);
  });

  it('a wrong token: exit 1 with the Hub\'s answer, and the token is not printed', async () => {
    const wrong = 'hf_wrongwrongwrong';
    const r = await cli(['push', out, 'alice/wrong-token'], { ...hubEnv, HF_TOKEN: wrong });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/creating alice\/wrong-token: the Hub answered 401: .*is the token valid/);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(hub.repos.has('alice/wrong-token')).toBe(false);
  });

  it('refuses an output that does not exist, is not finished, or is not the set its export wrote', async () => {
    const missing = await cli(['push', join(tempDir('nothing'), 'out'), 'alice/x'], hubEnv);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/out: no such directory/);

    const unfinished = tempDir('unfinished');
    mkdirSync(join(unfinished, '.corpus-qa', 'shards'), { recursive: true });
    const r = await cli(['push', unfinished, 'alice/x'], hubEnv);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not a finished corpus-qa output \(stats\.json: missing\); push uploads the output of a completed `corpus-qa run` only/);

    const edited = tempDir('edited');
    cpSync(out, edited, { recursive: true });
    writeFileSync(join(edited, 'errors.jsonl'), readFileSync(join(out, 'errors.jsonl'), 'utf8').split('\n').slice(1).join('\n'));
    const e = await cli(['push', edited, 'alice/x'], hubEnv);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/is not a finished corpus-qa output \(errors\.jsonl: sha256 is/);

    const bad = await cli(['push', out, 'not-a-repo-name'], hubEnv);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/repo "not-a-repo-name": expected <user or org>\/<name>/);
    expect(hub.repos.has('alice/x')).toBe(false);
  });

  it('a Hub that cannot be reached: exit 3, naming it', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await cli(['push', out, 'alice/unreachable', '--hub-url', `http://127.0.0.1:${port}`], hubEnv);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach the Hub at http://127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('uploads a data file over the Hub\'s LFS threshold through LFS, checked against its sha256', async () => {
    // A big output, made directly: the run's rows repeated, and stats.json made to describe them.
    const big = tempDir('push-big');
    cpSync(out, big, { recursive: true });
    const rows = readFileSync(join(out, 'data/train.jsonl'), 'utf8');
    const copies = Math.ceil((HUB_LFS_THRESHOLD_BYTES + 1) / Buffer.byteLength(rows));
    writeFileSync(join(big, 'data/train.jsonl'), rows.repeat(copies));
    const stats = JSON.parse(readFileSync(join(big, 'stats.json'), 'utf8'));
    const n = rows.split('\n').length - 1;
    stats.pairs.passed = n * copies;
    stats.pairs.splits.train = n * copies;
    stats.files['data/train.jsonl'] = { rows: n * copies, sha256: sha256File(join(big, 'data/train.jsonl')) };
    writeFileSync(join(big, 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
    await verifyOutput(big); // a finished output, as far as verify can tell
    expect(statSync(join(big, 'data/train.jsonl')).size).toBeGreaterThanOrEqual(HUB_LFS_THRESHOLD_BYTES);

    const lines: string[] = [];
    const result = await pushDataset({ outDir: big, repo: 'alice/big', token: hub.token, hubUrl: hub.url, onProgress: (l) => lines.push(l) });
    expect(result.lfs).toEqual(['data/train.jsonl']);
    expect(lines.join('\n')).toMatch(/data\/train\.jsonl \([\d.]+ MiB\) uploaded through LFS/);
    const commit = hub.repos.get('alice/big')!.commits[0]!;
    expect(commit.lfs).toEqual(['data/train.jsonl']);
    expect(commit.regular.sort()).toEqual(['README.md', 'errors.jsonl', 'rejected/rejected.jsonl', 'stats.json']);
    expect(hub.lfsObjects.has(stats.files['data/train.jsonl'].sha256)).toBe(true);
    expectSameFiles(hub, 'alice/big', big);
    expect(result.url).toBe(`${hub.url}/datasets/alice/big`);
  });
});

describe('corpus-qa run --push-to-hub', () => {
  it('pushes after the run; the flag is not part of the run identity', async () => {
    const r = await cli(['run', corpus, '--out', out, '--generate-qa', '--task-queue', taskQueue, '--no-progress', '--push-to-hub', 'bob/from-run', '--hub-private'],
      { ...hubEnv, TEMPORAL_ADDRESS: temporalAddress() });
    expect(r.code, r.stderr).toBe(0);
    // The same run as the one without the flag: found completed, outputs untouched.
    expect(r.stderr).toMatch(/Found completed workflow/);
    expect(r.stdout).toMatch(/Already complete/);
    expect(hub.repos.get('bob/from-run')).toMatchObject({ type: 'dataset', visibility: 'private' });
    expectSameFiles(hub, 'bob/from-run', out);
    expect(r.stdout).toContain(`${hub.url}/datasets/bob/from-run`);
    expect(r.stdout + r.stderr).not.toContain(hub.token);
  });

  it('without a token: exit 2 before anything starts', async () => {
    const fresh = join(tempDir('no-token-run'), 'out');
    const r = await cli(['run', corpus, '--out', fresh, '--generate-qa', '--push-to-hub', 'bob/x'], { ...hubEnv, HF_TOKEN: undefined, TEMPORAL_ADDRESS: temporalAddress() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no HuggingFace token');
    expect(existsSync(fresh)).toBe(false);
  });
});

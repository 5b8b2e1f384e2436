/**
 * `corpus-qa push <out> <user/name>`: upload a finished output directory to a dataset repo on the
 * HuggingFace Hub with the official `@huggingface/hub` client, in one commit.
 *
 * What goes up is the dataset only: the files stats.json describes (the card README.md, data/,
 * rejected/, errors.jsonl: the set the export wrote together) and stats.json itself; never the run
 * state in .corpus-qa/. An output that `corpus-qa verify` does not pass is refused, so a half
 * export or a mixed set never reaches the Hub. Files that an earlier push put in the dataset's
 * places (data/, rejected/, errors.jsonl) and this export no longer has are deleted in the same
 * commit, so the repo holds the same set as the directory.
 *
 * The client decides per file, from the Hub's preupload answer, whether the bytes go inline
 * (base64 in the commit) or through LFS; for LFS it uses Xet storage when the Hub offers it and
 * classic LFS otherwise.
 */
import { pathToFileURL } from 'node:url';
import type { CommitOperation } from '@huggingface/hub';

/** The Hub client, imported by `push` only: every other command would pay ~10 MB and ~0.15 s for it. */
type Hub = typeof import('@huggingface/hub');
import { StatsJson } from '../../schemas/index.js';
import { isLocalDirectory, OUTPUT_FILES, outputStore, STATE_DIR_NAME, type OutputStore } from '../../activities/storage.js';
import { InfrastructureError, UsageError } from '../errors.js';
import { verifyOutput, VerifyError } from './verify.js';

export interface PushOptions {
  outDir: string;
  /** "user/name" or "org/name" */
  repo: string;
  token: string;
  hubUrl: string;
  private?: boolean;
  /** Branch to commit to (created from main when missing); default main. */
  revision?: string;
  message?: string;
  onProgress?: (line: string) => void;
}

export interface PushResult {
  url: string;
  created: boolean;
  files: Array<{ path: string; bytes: number }>;
  bytes: number;
  /** Files whose bytes went through LFS (the Hub's choice: large or binary files). */
  lfs: string[];
  deleted: string[];
  commitOid: string | undefined;
}

/** The output is not one that may be pushed (missing, unfinished, or not passing verify). Exit 1. */
export class PushRefused extends Error {
  override name = 'PushRefused';
}

const REPO_NAME = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
/** Where an export puts dataset files: a file here that the export did not write is stale. */
const DATASET_PLACES = (path: string) => path.startsWith('data/') || path.startsWith('rejected/') || path === 'errors.jsonl';

export function checkRepoName(repo: string): void {
  if (!REPO_NAME.test(repo) || repo.length > 200) {
    throw new UsageError(`repo ${JSON.stringify(repo)}: expected <user or org>/<name>, e.g. alice/lantern-qa`);
  }
}

/**
 * The files to upload, relative to outDir: what stats.json describes, and stats.json. Refuses an
 * output that does not exist or that verify does not pass.
 */
export async function datasetFiles(store: OutputStore): Promise<Array<{ path: string; bytes: number }>> {
  const outDir = store.root;
  if (store.kind === 'local' && !(await isLocalDirectory(outDir))) throw new PushRefused(`${outDir}: no such directory`);
  try {
    await verifyOutput(outDir);
  } catch (err) {
    if (!(err instanceof VerifyError)) throw err;
    throw new PushRefused(`${outDir} is not a finished corpus-qa output (${err.message}); ` +
      'push uploads the output of a completed `corpus-qa run` only (`corpus-qa verify` checks it)');
  }
  const stats = StatsJson.safeParse(JSON.parse((await store.readText(OUTPUT_FILES.stats))!)); // verify found it
  if (!stats.success) {
    // verify passes a stats.json from before the files were listed; push needs the list.
    const issue = stats.error.issues[0]!;
    throw new PushRefused(`stats.json: ${issue.path.join('.') || 'content'}: ${issue.message} (written by an older corpus-qa?); ` +
      'export again with this version (`corpus-qa run ... --fresh`) to push it');
  }
  const paths = [...Object.keys(stats.data.files), OUTPUT_FILES.stats].sort();
  for (const p of paths) {
    // stats.json is ours, but it is read back from disk: never let it point outside the dataset.
    if (p.startsWith('/') || p.split('/').some((s) => s === '..' || s === '') || p.startsWith(`${STATE_DIR_NAME}/`)) {
      throw new PushRefused(`stats.json: files names ${JSON.stringify(p)}, which is not a dataset file`);
    }
  }
  // verify found every one of them (with its sha256), so each has a size.
  return Promise.all(paths.map(async (path) => ({ path, bytes: (await store.size(path))! })));
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Any message that reaches the user: the token is never part of one, even if a server echoes it. */
function scrub(message: string, token: string): string {
  return message.split(token).join('hf_***');
}

/** Turns the client's failures into ours: the Hub's answer (exit 1), or an unreachable Hub (exit 3). */
function hubFailure(hub: Hub, err: unknown, opts: PushOptions, doing: string): Error {
  if (err instanceof hub.HubApiError) {
    const hint = err.statusCode === 401 ? ' (is the token valid?)' : err.statusCode === 403 ? ' (does the token have write access to this namespace?)' : '';
    return new Error(scrub(`${doing}: the Hub answered ${err.statusCode}: ${err.message}${hint}`, opts.token));
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (err instanceof TypeError && cause) {
    return new InfrastructureError(scrub(`${doing}: cannot reach the Hub at ${opts.hubUrl} (${cause.code ?? cause.message})`, opts.token));
  }
  return new Error(scrub(`${doing}: ${(err as Error).message}`, opts.token));
}

export async function pushDataset(opts: PushOptions): Promise<PushResult> {
  checkRepoName(opts.repo);
  const hub: Hub = await import('@huggingface/hub');
  const say = opts.onProgress ?? (() => undefined);
  const out = outputStore(opts.outDir);
  const files = await datasetFiles(out);
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  const repo = { type: 'dataset' as const, name: opts.repo };
  const branch = opts.revision ?? 'main';
  const common = { repo, accessToken: opts.token, hubUrl: opts.hubUrl };

  let created = true;
  try {
    await hub.createRepo({ ...common, ...(opts.private !== undefined ? { visibility: opts.private ? 'private' : 'public' } : {}) });
    say(`Created dataset repo ${opts.repo}${opts.private ? ' (private)' : ''}`);
  } catch (err) {
    // 409: it exists (and is ours to write, or the commit says otherwise). Its visibility stays.
    if (!(err instanceof hub.HubApiError && err.statusCode === 409)) throw hubFailure(hub, err, opts, `creating ${opts.repo}`);
    created = false;
    say(`Dataset repo ${opts.repo} exists${opts.private ? ' (its visibility is left as it is)' : ''}`);
  }
  if (branch !== 'main') {
    try {
      await hub.createBranch({ ...common, branch });
      say(`Created branch ${branch}`);
    } catch (err) {
      if (!(err instanceof hub.HubApiError && err.statusCode === 409)) throw hubFailure(hub, err, opts, `creating branch ${branch}`);
    }
  }

  const local = new Set(files.map((f) => f.path));
  const deleted: string[] = [];
  if (!created) {
    try {
      // The client puts the revision in the path as is (the commit calls encode it): encode it here.
      for await (const entry of hub.listFiles({ ...common, revision: encodeURIComponent(branch), recursive: true })) {
        if (entry.type === 'file' && DATASET_PLACES(entry.path) && !local.has(entry.path)) deleted.push(entry.path);
      }
    } catch (err) {
      throw hubFailure(hub, err, opts, `listing the files of ${opts.repo}@${branch}`);
    }
  }

  say(`Uploading ${files.length} files (${formatBytes(bytes)}) to ${opts.repo}@${branch}` +
    (deleted.length ? `, removing ${deleted.length} no longer in the output (${deleted.join(', ')})` : ''));
  const operations: CommitOperation[] = [
    ...files.map((f) => ({ operation: 'addOrUpdate' as const, path: f.path, content: pathToFileURL(out.pathOf(f.path)) })),
    ...deleted.map((path) => ({ operation: 'delete' as const, path })),
  ];
  const sizes = new Map(files.map((f) => [f.path, f.bytes]));
  // Only LFS files report upload progress (the inline ones travel in the commit request itself).
  const lfs = new Set<string>();
  let commitOid: string | undefined;
  try {
    const iter = hub.commitIter({
      ...common,
      branch,
      operations,
      title: opts.message ?? 'Upload dataset with corpus-qa',
    });
    for (;;) {
      const step = await iter.next();
      if (step.done) {
        commitOid = step.value?.commit.oid;
        break;
      }
      const event = step.value;
      if (event.event === 'phase' && event.phase === 'committing') say('Committing');
      if (event.event === 'fileProgress' && event.state === 'uploading' && event.progress === 1 && !lfs.has(event.path)) {
        lfs.add(event.path);
        say(`  ${event.path} (${formatBytes(sizes.get(event.path) ?? 0)}) uploaded through LFS`);
      }
    }
  } catch (err) {
    throw hubFailure(hub, err, opts, `uploading to ${opts.repo}@${branch}`);
  }
  return {
    url: `${opts.hubUrl}/datasets/${opts.repo}${branch === 'main' ? '' : `/tree/${encodeURIComponent(branch)}`}`,
    created,
    files,
    bytes,
    lfs: [...lfs].sort(),
    deleted,
    commitOid,
  };
}

export function formatPushResult(r: PushResult): string {
  const lines = [`Pushed ${r.files.length} files (${formatBytes(r.bytes)}${r.lfs.length ? `; ${r.lfs.length} through LFS` : ''}) in commit ${r.commitOid?.slice(0, 12) ?? '?'}:`];
  for (const f of r.files) lines.push(`  ${f.path.padEnd(28)} ${formatBytes(f.bytes)}`);
  if (r.deleted.length) lines.push(`Removed ${r.deleted.length} files no longer in the output: ${r.deleted.join(', ')}`);
  lines.push(r.url);
  return lines.join('\n');
}

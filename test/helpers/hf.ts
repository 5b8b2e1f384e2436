/** Loads output files with the real Python `datasets`, from the venv scripts/setup.sh made. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../../client/server/temporalCli.js';

export interface HfFileResult {
  ok: boolean;
  rows?: number;
  columns?: string[];
  features?: Record<string, string>;
  error?: string;
  text_digest?: string;
}

export interface HfSplit {
  rows: number;
  columns: string[];
  features?: Record<string, string>;
  text_digest: string;
}

export interface HfReport {
  files: Record<string, HfFileResult>;
  configs: Record<string, { ok: boolean; error?: string; splits?: Record<string, HfSplit>; streaming?: Record<string, HfSplit> }>;
}

export function venvPython(): string {
  const python = process.env.CORPUS_QA_PYTHON ?? join(cacheDir(), 'venv', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`no Python venv at ${python}: run bash scripts/setup.sh`);
  return python;
}

export function hfCheck(outDir: string, files?: string[]): HfReport {
  const script = join(import.meta.dirname, '..', '..', 'scripts', 'hf_check.py');
  const args = [script, outDir, ...(files ? ['--files', ...files] : [])];
  let stdout: string;
  try {
    stdout = execFileSync(venvPython(), args, {
      encoding: 'utf8',
      env: { ...process.env, HF_DATASETS_OFFLINE: '1', HF_HUB_OFFLINE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    // Exit 1 means some file did not load; the report on stdout says which.
    const e = err as { status?: number; stdout?: string; stderr?: string };
    if (e.status !== 1 || !e.stdout) throw new Error(`hf_check.py crashed: ${e.stderr ?? String(err)}`);
    stdout = e.stdout;
  }
  return JSON.parse(stdout) as HfReport;
}

/**
 * The same digest hf_check.py computes over what `datasets` returned, over the rows of our own
 * file: every string, in column order, nested lists and objects included.
 */
export function textDigest(rows: Array<Record<string, unknown>>): string {
  const h = createHash('sha256');
  const feed = (v: unknown): void => {
    if (typeof v === 'string') {
      h.update(Buffer.from(v, 'utf8'));
      h.update('\x1f');
    } else if (Array.isArray(v)) {
      v.forEach(feed);
    } else if (v && typeof v === 'object') {
      Object.values(v).forEach(feed);
    }
  };
  for (const row of rows) {
    Object.values(row).forEach(feed);
    h.update('\x1e');
  }
  return h.digest('hex');
}

/** Loads output files with the real Python `datasets`, from the venv scripts/setup.sh made. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../../client/temporalCli.js';

export interface HfFileResult {
  ok: boolean;
  rows?: number;
  columns?: string[];
  features?: Record<string, string>;
  error?: string;
}

export interface HfReport {
  files: Record<string, HfFileResult>;
  configs: Record<string, { ok: boolean; error?: string; splits?: Record<string, { rows: number; columns: string[] }> }>;
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

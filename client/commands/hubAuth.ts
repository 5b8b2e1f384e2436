/**
 * Where `corpus-qa push` finds the Hub and the token, the way the HuggingFace tools do, so a
 * machine set up with `huggingface-cli login` (or `hf auth login`) needs nothing more:
 *   token:    HF_TOKEN, else the token file: HF_TOKEN_PATH, else $HF_HOME/token, else
 *             $XDG_CACHE_HOME/huggingface/token, else ~/.cache/huggingface/token
 *   endpoint: --hub-url, else HF_ENDPOINT, else https://huggingface.co
 * The token is a secret: it is returned to the caller and never put in a message.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export function hubTokenPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_TOKEN_PATH) return env.HF_TOKEN_PATH;
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return join(home, 'token');
}

/** The token, or a UsageError that says where it was looked for (and never shows a token). */
export function resolveHubToken(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.HF_TOKEN?.trim();
  const path = hubTokenPath(env);
  const token = fromEnv || (existsSync(path) ? readFileSync(path, 'utf8').trim() : '');
  const source = fromEnv ? 'HF_TOKEN' : `the token file ${path}`;
  if (!token) {
    throw new UsageError(`no HuggingFace token: set HF_TOKEN, or log in with \`hf auth login\` (looked for ${path}); ` +
      'the token needs write access (https://huggingface.co/settings/tokens)');
  }
  // The client refuses any other shape with a message of its own; say where the bad one came from.
  if (!token.startsWith('hf_')) throw new UsageError(`the HuggingFace token in ${source} does not start with "hf_"`);
  return token;
}

export function resolveHubUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = flag || env.HF_ENDPOINT || DEFAULT_HUB_URL;
  if (!/^https?:\/\/[^/\s]+/.test(url)) throw new UsageError(`${flag ? '--hub-url' : 'HF_ENDPOINT'}: expected an http(s) URL (got ${JSON.stringify(url)})`);
  return url.replace(/\/+$/, '');
}

/**
 * Prompt templates: plain text files in ./prompts, one per version. A template's file name is
 * its version and goes into the generator id, which keys the cached shards: edit a copy under a
 * new name, never a template that runs have used.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PROMPTS_DIR = fileURLToPath(new URL('./prompts/', import.meta.url));

/** The judge's template. Its version goes into the generator id when --judge is on. */
export const JUDGE_TEMPLATE = 'judge-v1';

export interface PromptTemplate {
  name: string;
  system: string;
  user: string;
  repair: string;
}

const SECTIONS = ['system', 'user', 'repair'] as const;
const cache = new Map<string, PromptTemplate>();

export function templatePath(name: string): string {
  return `${PROMPTS_DIR}${name}.txt`;
}

export function templateExists(name: string): boolean {
  return /^[a-z0-9][a-z0-9._-]*$/.test(name) && existsSync(templatePath(name));
}

export function availableTemplates(): string[] {
  return readdirSync(PROMPTS_DIR)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => f.slice(0, -'.txt'.length))
    .sort();
}

/** Parses a template: '#' comment lines, then sections that each start with '=== name'. */
export function parseTemplate(name: string, source: string): PromptTemplate {
  const sections: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of source.split(/\r?\n/)) {
    const header = /^=== ([a-z]+)\s*$/.exec(line);
    if (header) {
      current = sections[header[1]!] = [];
    } else if (current) {
      current.push(line);
    } else if (line.trim() !== '' && !line.startsWith('#')) {
      throw new Error(`prompt template ${name}: text before the first '=== section' line`);
    }
  }
  const out: Partial<PromptTemplate> = { name };
  for (const s of SECTIONS) {
    const lines = sections[s];
    if (!lines) throw new Error(`prompt template ${name}: missing section '=== ${s}'`);
    out[s] = lines.join('\n').trim();
  }
  return out as PromptTemplate;
}

export function loadTemplate(name: string): PromptTemplate {
  let t = cache.get(name);
  if (!t) {
    if (!templateExists(name)) {
      throw new Error(`prompt template '${name}' not found (available: ${availableTemplates().join(', ')})`);
    }
    t = parseTemplate(name, readFileSync(templatePath(name), 'utf8'));
    cache.set(name, t);
  }
  return t;
}

/** Fills {{name}} placeholders. A placeholder without a value is a template bug: say so. */
export function render(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`prompt placeholder {{${key}}} has no value`);
    return String(v);
  });
}

/**
 * Prompt templates: plain text files in ./prompts, one per version. A template's file name is
 * its version and goes into the generator id, which keys the cached shards: edit a copy under a
 * new name, never a template that runs have used.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { QuestionKind, type Chunk, type LlmSettings } from '../../schemas/index.js';
import { languageName } from '../language.js';
import type { CandidatePair } from '../types.js';

export const PROMPTS_DIR = fileURLToPath(new URL('./prompts/', import.meta.url));

/** The newest judge template. Its version goes into the generator id when --judge is on. */
export const JUDGE_TEMPLATE = 'judge-v2';

/**
 * The judge that goes with a generation template: runs on qa-v1 keep judge-v1, so their ids,
 * shards and journal entries stay valid; every newer template is judged by the newest judge.
 */
export function judgeTemplateFor(template: string): string {
  return template === 'qa-v1' ? 'judge-v1' : JUDGE_TEMPLATE;
}

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

/**
 * The passage as every shipped template writes it in its user section. It is the part of a
 * chunk's prompts that generation and the judge share, so with Anthropic prompt caching it can
 * move to a cached first system block (see promptCache.ts) while the rest stays the template's.
 */
export const PASSAGE_BLOCK = '<passage>\n{{text}}\n</passage>';

/** Stands where the passage was in the user message when the passage is sent as a system block. */
export const PASSAGE_REFERENCE = 'The passage is the one at the start of the system prompt.';

/**
 * The template with its passage taken out of the user message (replaced by PASSAGE_REFERENCE),
 * or undefined when its user section does not hold PASSAGE_BLOCK exactly once: such a template
 * is always sent as written.
 */
export function withoutPassage(t: PromptTemplate): PromptTemplate | undefined {
  const at = t.user.indexOf(PASSAGE_BLOCK);
  if (at < 0 || t.user.indexOf(PASSAGE_BLOCK, at + 1) >= 0) return undefined;
  return { ...t, user: t.user.slice(0, at) + PASSAGE_REFERENCE + t.user.slice(at + PASSAGE_BLOCK.length) };
}

/** Fills {{name}} placeholders. A placeholder without a value is a template bug: say so. */
export function render(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`prompt placeholder {{${key}}} has no value`);
    return String(v);
  });
}

// ---------------------------------------------------------------------------------------------
// The values a chunk's prompts are filled with. Built here, apart from sending (llm.ts) and from
// reading replies (replies.ts), so a template's placeholders have one source.

/** What each kind of question is for, as the prompt lists it (the passage must support it). */
const KIND_LINES: Record<QuestionKind, string> = {
  what: 'what: a definition, a property or a purpose',
  which: 'which: one of several named options, settings or items',
  who: 'who: a person, team or organisation the passage names',
  when: 'when: a date, a version, a duration or the order of events',
  where: 'where: a place, a file, a menu or another location the passage names',
  how_many: 'how many / how much: a number, with its unit and qualifier',
  how: 'how: a procedure, its steps in order',
  why: 'why: a reason the passage gives ("because", "so that", "in order to")',
  yes_no: 'yes/no: a statement the passage makes explicitly; the answer starts with Yes or No, then the fact',
  comparison: 'comparison: how two things the passage compares differ',
};

/** `{{kinds}}`: the run's --question-types, or every kind. */
export function kindsList(kinds: readonly QuestionKind[] | undefined): string {
  return (kinds ?? QuestionKind.options).map((k) => `  - ${KIND_LINES[k]}`).join('\n');
}

/** Said when --language auto cannot tell a document's language: the model follows the passage. */
export const PASSAGE_LANGUAGE = "the passage's language";

/** `{{language}}` for a chunk: the one asked for, or with 'auto' its document's (see activities/language.ts). */
export function promptLanguage(setting: string, chunk: Pick<Chunk, 'language'>): string {
  if (setting !== 'auto') return setting;
  return (chunk.language !== undefined ? languageName(chunk.language) : undefined) ?? PASSAGE_LANGUAGE;
}

/** Where the chunk sits, for `{{title}}` and `{{section}}`; qa-v1's `{{heading}}` too. */
function placeValues(chunk: Chunk): Record<string, string> {
  return {
    title: chunk.title ?? '(no title)',
    section: chunk.section?.length ? chunk.section.join(' > ') : (chunk.heading ?? '(none)'),
    heading: chunk.heading ?? '(none)',
  };
}

/** Every placeholder a generation template may use (a template uses the ones it names). */
export function generationValues(chunk: Chunk, settings: LlmSettings, maxPairs: number): Record<string, string | number> {
  return {
    ...placeValues(chunk),
    pairs: maxPairs,
    language: promptLanguage(settings.language, chunk),
    kinds: kindsList(settings.questionTypes),
    text: chunk.text,
  };
}

/** Every placeholder a judge template may use. */
export function judgeValues(chunk: Chunk, pairs: CandidatePair[], settings: LlmSettings): Record<string, string | number> {
  return {
    ...placeValues(chunk),
    text: chunk.text,
    count: pairs.length,
    language: promptLanguage(settings.language, chunk),
    pairs: JSON.stringify(pairs.map((p, i) => ({ index: i + 1, question: p.question, answer: p.answer })), null, 1),
  };
}

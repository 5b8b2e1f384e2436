/**
 * The commented config file `corpus-qa init` writes. It is made from the options of the `run`
 * command itself (description, default), so it lists every setting and cannot drift from --help.
 */
import type { Option } from 'commander';
import { stringify } from 'yaml';
import { configKeyOf, type RunConfig } from '../config.js';

/** Values shown for settings with no default, so that uncommenting a line gives a valid setting. */
const EXAMPLES: Partial<Record<keyof RunConfig, unknown>> = {
  outDir: './dataset',
  globs: ['**/*.md', '**/*.pdf'],
  generateQa: true,
  failFast: false,
  keepIntermediate: false,
  split: 'train=0.9,validation=0.05,test=0.05',
  license: 'cc-by-4.0',
  generator: 'builtin',
  model: 'gpt-4o-mini',
  baseUrl: 'http://localhost:11434/v1',
  promptTemplate: 'qa-v2',
  language: 'auto',
  questionTypes: 'what,how,why',
  temperature: 0.2,
  maxTokens: 4096,
  requestTimeoutSeconds: 120,
  judge: false,
  minScore: 3,
  llmConcurrency: 16,
  rpm: 500,
  tpm: 200000,
  llmStallTimeoutSeconds: 300,
  maxCostUsd: 5,
  priceIn: 0.15,
  priceOut: 0.6,
  shardRows: 100000,
  pushToHub: 'your-name/your-dataset',
  hubPrivate: false,
  batchApi: false,
  batchPollSeconds: 30,
  batchSize: 20,
  continueAsNewAfter: 1000,
  uiPort: 8233,
};

/** Set in the starter file; every other setting is there commented out. */
const ACTIVE: (keyof RunConfig)[] = ['outDir', 'generateQa'];

const HEADER = `# corpus-qa run settings. \`corpus-qa run <dir>\` reads corpus-qa.config.yaml (or .yml, .json)
# from <dir>, else from the working directory, or the file named by --config FILE.
# A flag typed on the command line wins over this file; this file wins over the defaults.
# Keys are the run's options in camelCase (the flag spelling works too: chunk-size, out).
# Relative paths are relative to this file's directory. Uncomment a line to set it.
# API keys never go here: the worker reads OPENAI_API_KEY or ANTHROPIC_API_KEY from its
# environment, and the settings are visible in the Temporal UI. See docs/config.md.
`;

function valueText(value: unknown): string {
  return stringify(value, { collectionStyle: 'flow' }).trimEnd();
}

/** The starter file for these `run` options (the command's `.options`). */
export function starterConfig(runOptions: readonly Option[]): string {
  const parts = [HEADER];
  for (const option of runOptions) {
    const key = configKeyOf(option.attributeName());
    if (!key) continue; // --dry-run, --fresh, --config: what one invocation does, not a setting
    // A --no-x flag: the setting is on unless turned off (noCache is the option's own name).
    const fallback = option.negate ? (key === 'noCache' ? false : true) : option.defaultValue;
    const hasDefault = fallback !== undefined && !(Array.isArray(fallback) && fallback.length === 0);
    const value = ACTIVE.includes(key) || !hasDefault ? EXAMPLES[key] : fallback;
    if (value === undefined) throw new Error(`starter config: no value to show for ${key}`);
    const note = hasDefault && !ACTIVE.includes(key) ? ` [default: ${valueText(fallback)}]` : '';
    const line = `${key}: ${valueText(value)}`;
    parts.push(`\n# ${option.long}: ${option.description}${note}\n${ACTIVE.includes(key) ? line : `# ${line}`}\n`);
  }
  return parts.join('');
}

/**
 * The dataset card (<out>/README.md). Its YAML header is what makes `load_dataset(<out>)` work:
 * `configs` names exactly the files of each config, so nothing else in the directory (stats,
 * errors, the hidden state dir) is picked up, and `dataset_info.features` declares the column
 * types so they never depend on inference (an empty file still has its columns).
 */

type FeatureType = 'string' | 'int64' | 'string_list';

export interface CardConfig {
  name: string;
  path: string; // relative to the output directory
  features: Record<string, FeatureType>;
}

export const QA_FEATURES: Record<string, FeatureType> = {
  id: 'string',
  question: 'string',
  answer: 'string',
  source: 'string',
  chunk_id: 'string',
  char_start: 'int64',
  char_end: 'int64',
  generator: 'string',
};

export const REJECTED_FEATURES: Record<string, FeatureType> = {
  ...QA_FEATURES,
  reason: 'string',
  reasons: 'string_list',
  detail: 'string',
};

export const CHUNK_FEATURES: Record<string, FeatureType> = {
  id: 'string',
  text: 'string',
  source: 'string',
  chunk_id: 'string',
  char_start: 'int64',
  char_end: 'int64',
};

export const ERROR_FEATURES: Record<string, FeatureType> = {
  source: 'string',
  stage: 'string',
  reason: 'string',
  detail: 'string',
};

function featureYaml(features: Record<string, FeatureType>, indent: string): string[] {
  const lines: string[] = [];
  for (const [name, type] of Object.entries(features)) {
    lines.push(`${indent}- name: ${name}`);
    if (type === 'string_list') {
      lines.push(`${indent}  list: string`);
    } else {
      lines.push(`${indent}  dtype: ${type}`);
    }
  }
  return lines;
}

export function cardYaml(configs: CardConfig[]): string {
  const lines = ['---', 'configs:'];
  for (const c of configs) {
    lines.push(`- config_name: ${c.name}`, '  data_files:', '  - split: train', `    path: ${c.path}`);
  }
  lines.push('dataset_info:');
  for (const c of configs) {
    lines.push(`- config_name: ${c.name}`, '  features:');
    lines.push(...featureYaml(c.features, '  '));
  }
  lines.push('---');
  return lines.join('\n');
}

export interface CardFacts {
  generateQa: boolean;
  documents: number;
  loaded: number;
  failed: number;
  chunks: number;
  passed: number;
  rejected: number;
  generator: string;
  settingsTable: Array<[string, string]>;
}

export function renderCard(configs: CardConfig[], facts: CardFacts): string {
  const body: string[] = [
    '',
    '# corpus-qa dataset',
    '',
    facts.generateQa
      ? `Question/answer pairs generated from ${facts.loaded} of ${facts.documents} documents with the \`${facts.generator}\` generator by [corpus-qa](https://www.npmjs.com/package/corpus-qa).`
      : `Text chunks of ${facts.loaded} of ${facts.documents} documents, made by corpus-qa for retrieval use.`,
    '',
    '## Contents',
    '',
    '| config | file | rows |',
    '| --- | --- | --- |',
  ];
  const rowsOf: Record<string, number> = { default: facts.generateQa ? facts.passed : facts.chunks, rejected: facts.rejected };
  for (const c of configs) body.push(`| \`${c.name}\` | \`${c.path}\` | ${rowsOf[c.name] ?? ''} |`);
  body.push(
    '',
    `Documents that could not be read (${facts.failed}) are listed in \`errors.jsonl\`; counts and timings are in \`stats.json\`.`,
    '',
    '## Loading',
    '',
    '```python',
    'from datasets import load_dataset',
    '',
    'ds = load_dataset("path/to/this/directory")            # the default config, split "train"',
  );
  if (facts.generateQa) body.push('rejected = load_dataset("path/to/this/directory", "rejected")');
  body.push('```', '', '## Settings', '', '| setting | value |', '| --- | --- |');
  for (const [k, v] of facts.settingsTable) body.push(`| ${k} | ${v} |`);
  body.push('');
  return `${cardYaml(configs)}\n${body.join('\n')}`;
}

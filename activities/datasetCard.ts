/**
 * The dataset card (<out>/README.md). Its YAML header is what makes `load_dataset(<out>)` work:
 * `configs` names exactly the files of each config, so nothing else in the directory (stats,
 * errors, the hidden state dir) is picked up, and `dataset_info.features` declares the column
 * types so they never depend on inference.
 */
import { z } from 'zod';
import { ChunkRow, ErrorRow, RejectedRow, RowMeta, type DatasetQuality, type ReviewTally, type TrainingFormat } from '../schemas/index.js';
import { LEAK_MIN_WORDS } from './exportStats.js';
import { OUTPUT_FILES } from './paths.js';

/** A column type as the card declares it. */
export type Feature = 'string' | 'int64' | 'bool' | { list: 'string' } | { list: Record<string, 'string'> };

/**
 * The card's type of each column of a flat row schema: numbers are int64, booleans bool, arrays
 * lists of strings, the rest strings. The rows' schemas (schemas/index.ts) are the source.
 */
function featuresOf(shape: Record<string, z.ZodType>): Record<string, Feature> {
  return Object.fromEntries(
    Object.entries(shape).map(([k, schema]): [string, Feature] => [
      k,
      schema instanceof z.ZodNumber ? 'int64' : schema instanceof z.ZodBoolean ? 'bool' : schema instanceof z.ZodArray ? { list: 'string' } : 'string',
    ]),
  );
}

const META = featuresOf(RowMeta);

export const TRAINING_FEATURES: Record<TrainingFormat, Record<string, Feature>> = {
  qa: { id: 'string', question: 'string', answer: 'string', ...META },
  messages: { id: 'string', messages: { list: { role: 'string', content: 'string' } }, ...META },
  alpaca: { id: 'string', instruction: 'string', input: 'string', output: 'string', ...META },
  'prompt-completion': { id: 'string', prompt: 'string', completion: 'string', ...META },
};

/** The passed-pair columns of a format; a reviewed output's rows end with `edited`. */
export function trainingFeatures(format: TrainingFormat, reviewed: boolean): Record<string, Feature> {
  return reviewed ? { ...TRAINING_FEATURES[format], edited: 'bool' } : TRAINING_FEATURES[format];
}

export const REJECTED_FEATURES: Record<string, Feature> = featuresOf(RejectedRow.shape);

export const CHUNK_FEATURES: Record<string, Feature> = featuresOf(ChunkRow.shape);

export const ERROR_FEATURES: Record<string, Feature> = featuresOf(ErrorRow.shape);

/** One split's data: a file, or the shards of a Parquet split (data/train-00000-of-00002.parquet ...). */
export type SplitFiles = string | string[];

export interface CardConfig {
  name: string;
  files: Array<{ split: string; path: SplitFiles }>;
  features: Record<string, Feature>;
}

function featureYaml(features: Record<string, Feature>): string[] {
  const lines: string[] = [];
  for (const [name, type] of Object.entries(features)) {
    lines.push(`  - name: ${name}`);
    if (typeof type === 'string') {
      lines.push(`    dtype: ${type}`);
    } else if (typeof type.list === 'string') {
      lines.push(`    list: ${type.list}`);
    } else {
      lines.push('    list:');
      for (const [field, t] of Object.entries(type.list)) lines.push(`    - name: ${field}`, `      dtype: ${t}`);
    }
  }
  return lines;
}

export function cardYaml(configs: CardConfig[], license: string): string {
  const lines = ['---'];
  if (license) lines.push(`license: ${JSON.stringify(license)}`);
  lines.push('configs:');
  for (const c of configs) {
    lines.push(`- config_name: ${c.name}`, '  data_files:');
    for (const f of c.files) {
      lines.push(`  - split: ${f.split}`);
      // The shards are listed one by one: a glob such as data/train-* would also take the
      // shards of a split named train-extra.
      if (typeof f.path === 'string' || f.path.length === 1) lines.push(`    path: ${typeof f.path === 'string' ? f.path : f.path[0]}`);
      else lines.push('    path:', ...f.path.map((p) => `    - ${p}`));
    }
  }
  lines.push('dataset_info:');
  for (const c of configs) lines.push(`- config_name: ${c.name}`, '  features:', ...featureYaml(c.features));
  lines.push('---');
  return lines.join('\n');
}

export interface CardFacts {
  generateQa: boolean;
  format: TrainingFormat;
  splits: Array<{ name: string; path: SplitFiles; rows: number }>;
  chunksRows: number;
  /** Where the chunks are (no --generate-qa); default data/chunks.jsonl. */
  chunksPath?: SplitFiles;
  /** Set for --file-format parquet: every file is Parquet, the paths below say where. */
  fileFormat?: 'parquet';
  /** Default rejected/rejected.jsonl and errors.jsonl. */
  rejectedPath?: SplitFiles;
  errorsPath?: SplitFiles;
  rejectedRows: number;
  errorRows: number;
  documents: number;
  loaded: number;
  failedByReason: Record<string, number>;
  rejectedByReason: Record<string, number>;
  /** With --generate-qa: question forms, coverage, evidence, duplicates, leakage. */
  quality?: DatasetQuality;
  generator: string;
  /** LLM runs: the replies the pairs were made from and their cost. */
  llmLine?: string;
  license: string;
  /** Only for a reviewed output (<out>/review/decisions.jsonl exists). */
  review?: ReviewTally;
  settingsTable: Array<[string, string]>;
}

/** The card's review line, e.g. "12 pairs reviewed (9 kept, 2 dropped, 1 edited)". */
export function reviewLine(t: ReviewTally): string {
  return `${t.reviewed} pairs reviewed (${t.kept} kept, ${t.dropped} dropped, ${t.edited} edited)`;
}

/**
 * The configs the card declares. A file with no rows is not written (datasets cannot load an
 * empty split), so it is not listed either. When no pair passed, only the default config is
 * declared, naming the data file that was not written: `load_dataset(<out>)` then fails with
 * "Unable to find data/train.jsonl" instead of silently returning another config's rows (with a
 * single config, datasets would load that one), and since datasets resolves the files of every
 * config at once, the other configs are left out (their files still load one by one).
 */
export function cardConfigs(f: CardFacts): CardConfig[] {
  const configs: CardConfig[] = [];
  const features = trainingFeatures(f.format, f.review !== undefined);
  if (f.generateQa) {
    const present = f.splits.filter((s) => s.rows > 0);
    if (present.length === 0) {
      return [{ name: 'default', files: [{ split: f.splits[0]!.name, path: f.splits[0]!.path }], features }];
    }
    configs.push({ name: 'default', files: present.map((s) => ({ split: s.name, path: s.path })), features });
    if (f.rejectedRows > 0) {
      configs.push({ name: 'rejected', files: [{ split: 'train', path: f.rejectedPath ?? OUTPUT_FILES.rejected }], features: REJECTED_FEATURES });
    }
  } else {
    configs.push({ name: 'default', files: [{ split: 'train', path: f.chunksPath ?? OUTPUT_FILES.chunks }], features: CHUNK_FEATURES });
  }
  if (f.errorRows > 0) configs.push({ name: 'errors', files: [{ split: 'train', path: f.errorsPath ?? OUTPUT_FILES.errors }], features: ERROR_FEATURES });
  return configs;
}

const firstOf = (path: SplitFiles): string => (typeof path === 'string' ? path : path[0] ?? '');
const oneOrAll = (path: SplitFiles): SplitFiles => (typeof path !== 'string' && path.length === 1 ? path[0]! : path);

/** A split's file, or its first and last shard and how many there are. */
function filesCell(path: SplitFiles): string {
  if (typeof path === 'string' || path.length === 1) return `\`${typeof path === 'string' ? path : path[0]}\``;
  return `\`${path[0]}\` … \`${path.at(-1)}\` (${path.length} files)`;
}

function countsTable(title: string, counts: Record<string, number>): string[] {
  const entries = Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1));
  if (entries.length === 0) return [];
  return ['', `| ${title} | count |`, '| --- | --- |', ...entries.map(([k, v]) => `| \`${k}\` | ${v} |`)];
}

const FORMAT_TEXT: Record<TrainingFormat, string> = {
  qa: 'one question/answer pair per row: `question`, `answer`, plus `source` and location metadata',
  messages: 'chat format for supervised fine-tuning: `messages` is a user turn (the question) and an assistant turn (the answer), the shape TRL\'s `SFTTrainer` takes',
  alpaca: 'Alpaca format: `instruction` (the question), `input` (empty), `output` (the answer)',
  'prompt-completion': 'prompt/completion format: `prompt` (the question), `completion` (the answer)',
};

/** What the location columns mean: the card is where a dataset user looks it up. */
function columnsSection(): string[] {
  return [
    '', '## Columns', '',
    'Besides the question and answer, every row (passed and rejected, in every format) has:', '',
    '- `source`: the document\'s path in the input directory; `chunk_id`: the chunk the pair was made from;',
    '- `char_start`, `char_end`: the chunk\'s span in the document\'s extracted text;',
    '- `answer_start`, `answer_end`: the span of the answer\'s evidence in the same text, `-1` when it was not located. ' +
      'Both pairs of offsets count Unicode code points, end exclusive, so in Python `text[answer_start:answer_end]` is the evidence ' +
      '(for the built-in generator the answer is that span with its line wraps joined);',
    '- `question_type`: what the question asks for, read from its wording: ' +
      '`what`, `which`, `who`, `when`, `where`, `how_many`, `how`, `why`, `yes_no`, `comparison` or `other`;',
    '- `generator`: the generator (and its version) that made the pair.',
  ];
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function qualitySection(q: DatasetQuality): string[] {
  const passed = Object.values(q.questionForms).reduce((a, b) => a + b, 0);
  const c = q.coverage;
  const lines = [
    '', '## Quality', '',
    `- Coverage: ${c.chunksWithPairs} of ${c.chunks} chunks (${pct(c.chunkShare)}) and ${c.documentsWithPairs} of ${c.documents} ` +
      `documents (${pct(c.documentShare)}) gave at least one passed pair; ${c.pairsPer1000Words} pairs per 1,000 words (${c.words} words).`,
    `- Evidence: ${q.evidence.pinned} of ${passed} passed answers (${pct(q.evidence.pinnedShare)}) are pinned to their evidence (\`answer_start\` ≥ 0).`,
    `- Duplicates: ${q.duplicates.withinDocuments} within documents and ${q.duplicates.acrossDocuments} across documents ` +
      `(${pct(q.duplicates.shareOfGenerated)} of the generated pairs), rejected as \`duplicate\` with \`duplicate_of\` naming the kept pair. ` +
      `Rule: ${q.duplicates.rule}`,
    `- Cross-split leakage: ${q.leakage.pairs} passed pairs share their normalized question (${q.leakage.byQuestion}) or the content words of their ` +
      `answer (${q.leakage.byAnswer}, answers of at least ${LEAK_MIN_WORDS} content words) with a passed pair of another split` +
      (q.leakage.examples.length ? `, e.g. ${q.leakage.examples.map((e) => `\`${e.id}\` (${e.split}) / \`${e.collidesWith}\` (${e.otherSplit})`).join(', ')}.` : '.'),
  ];
  if (passed > 0) {
    lines.push('', '| question type | passed pairs | share |', '| --- | --- | --- |');
    for (const [form, n] of Object.entries(q.questionForms)) if (n > 0) lines.push(`| \`${form}\` | ${n} | ${pct(n / passed)} |`);
  }
  return lines;
}

export function renderCard(f: CardFacts): string {
  const configs = cardConfigs(f);
  const passed = f.splits.reduce((n, s) => n + s.rows, 0);
  const b: string[] = ['', '# corpus-qa dataset', ''];
  if (f.generateQa) {
    b.push(
      `Question/answer pairs generated from ${f.loaded} of ${f.documents} documents with the \`${f.generator}\` generator by corpus-qa: ` +
        `${passed} pairs passed validation, ${f.rejectedRows} were rejected.`,
      '',
      `Format: ${FORMAT_TEXT[f.format]}. Splits are assigned per document (a hash of its path), so no document's pairs appear in two splits.`,
    );
    if (f.review) {
      b.push(
        '',
        `Review: ${reviewLine(f.review)} by a person with \`corpus-qa review\`. Dropped pairs are in \`${OUTPUT_FILES.rejected}\` with reason ` +
          '`reviewer_rejected`; every passed row has `edited` (`true` when the reviewer rewrote its question or answer).',
      );
    }
    if (passed === 0) {
      b.push(
        '',
        'No pair passed validation, so no data file was written (the `datasets` library cannot load an empty split) and `load_dataset` on this ' +
          'directory fails on purpose. The rejected pairs, with the reasons, load with ' +
          (f.fileFormat === 'parquet'
            ? `\`load_dataset("parquet", data_files=${JSON.stringify(oneOrAll(f.rejectedPath ?? ''))})\`.`
            : `\`load_dataset("json", data_files="${OUTPUT_FILES.rejected}")\`.`),
      );
    }
  } else {
    b.push(`Text chunks of ${f.loaded} of ${f.documents} documents, made by corpus-qa for retrieval use (\`text\` with its \`source\` and character offsets).`);
  }
  b.push('', '## Files', '', '| config | split | file | rows |', '| --- | --- | --- | --- |');
  for (const c of configs) {
    for (const file of c.files) {
      const rows =
        c.name === 'default' ? (f.generateQa ? f.splits.find((s) => s.name === file.split)?.rows ?? 0 : f.chunksRows)
          : c.name === 'rejected' ? f.rejectedRows : f.errorRows;
      b.push(`| \`${c.name}\` | ${file.split} | ${filesCell(file.path)} | ${rows} |`);
    }
  }
  if (f.fileFormat === 'parquet') {
    b.push('', 'The files are Parquet, in shards named as the Hugging Face Hub names them (`<split>-00000-of-00001.parquet`).');
  }
  if (f.llmLine) b.push('', f.llmLine);
  b.push('', 'Counts, timings, settings and tool versions are in `stats.json`.');
  b.push(...countsTable(`document errors (\`${firstOf(f.errorsPath ?? OUTPUT_FILES.errors)}\`)`, f.failedByReason));
  b.push(...countsTable(`rejection reason (\`${firstOf(f.rejectedPath ?? OUTPUT_FILES.rejected)}\`)`, f.rejectedByReason));
  if (f.generateQa) b.push(...columnsSection());
  if (f.quality) b.push(...qualitySection(f.quality));
  b.push('', '## Loading', '', '```python', 'from datasets import load_dataset', '', 'ds = load_dataset("path/to/this/directory")');
  if (f.rejectedRows > 0) b.push('rejected = load_dataset("path/to/this/directory", "rejected")');
  if (f.errorRows > 0) b.push('errors = load_dataset("path/to/this/directory", "errors")');
  b.push('```', '', '## Settings', '', '| setting | value |', '| --- | --- |');
  for (const [k, v] of f.settingsTable) b.push(`| ${k} | ${v} |`);
  if (f.license) b.push('', `## License`, '', `\`${f.license}\` (as given with \`--license\`; it should match the license of the source documents).`);
  b.push('');
  return `${cardYaml(configs, f.license)}\n${b.join('\n')}`;
}

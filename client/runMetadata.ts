/** How a run presents itself in the Temporal UI: its settings as the run's "details". */
import type { ResolvedRunInput } from '../schemas/index.js';

/** The run's settings as a Markdown table: the "details" panel of the run in the UI. */
export function settingsMarkdown(run: ResolvedRunInput): string {
  const rows: Array<[string, string]> = [
    ['input', run.inputDir],
    ['output', run.outDir],
    ['globs', run.globs.length ? run.globs.join(', ') : '(all files)'],
    ...Object.entries(run.settings)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    ['failFast', String(run.failFast)],
    ['batchSize / window', `${run.adaptiveBatches ? 'sized by work' : run.batchSize} / ${run.window}`],
    ['continueAsNewAfter', String(run.continueAsNewAfter)],
  ];
  const cell = (v: string) => (v === '' ? '(none)' : `\`${v.replace(/\|/g, '\\|')}\``);
  return ['| setting | value |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`)].join('\n');
}

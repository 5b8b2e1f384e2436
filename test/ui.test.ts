/**
 * The Temporal UI as a user sees it, in a real browser: Debian's Chromium (installed by
 * scripts/setup.sh; never a downloaded browser) driven headless by playwright-core. Two runs are
 * exported into one output directory on the embedded server, `corpus-qa ui <out>` serves the UI
 * on its database, and the test finds the run by its summary (`corpus-qa: <in> → <out>`, shown
 * on the run's "User Metadata" tab in UI 2.42; the list has no summary column), opens it, and
 * checks that the activity rows of the timeline name the documents they worked on. Screenshots
 * go to test-output/ui/ for a reviewer.
 */
import { existsSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../client/server/devServer.js';
import { stopProcesses, waitForOutput } from './helpers/cluster.js';
import { writeFixtureCorpus } from './helpers/corpus.js';
import { tempDir } from './helpers/files.js';
import { describeCli, killEverythingUnder, processesMentioning, startCorpusQa, waitForExit, type CliProcess } from './helpers/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SHOTS = join(import.meta.dirname, '..', 'test-output', 'ui');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const EMBEDDED = { TEMPORAL_ADDRESS: undefined };

let work: string;
let corpus: string;
let decoyInput: string;
let out: string;
let uiBase: string;
let printedUrl: string;
let ui: CliProcess | undefined;
let browser: Browser | undefined;
let page: Page;
let runWorkflowId: string;
let decoyWorkflowId: string;

async function runToCompletion(input: string, extra: string[] = []): Promise<string> {
  const proc = startCorpusQa(['run', input, '--out', out, '--generate-qa', '--no-progress', ...extra], EMBEDDED);
  const exit = await waitForExit(proc, 120_000);
  expect(exit.code, describeCli(proc)).toBe(0);
  return proc.stderr().match(/(?:Started|Found completed) workflow (corpus-qa-[0-9a-f]+)/)![1]!;
}

/**
 * Opens the run's "User Metadata" tab and returns its sections: Summary and Details are Markdown,
 * which UI 2.42 renders in an iframe each (its /render page); the events with metadata are plain.
 */
async function userMetadata(): Promise<{ summary: string; details: string; page: string }> {
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  await page.waitForURL(/\/user-metadata/);
  await page.getByText('Events with Metadata').first().waitFor();
  const section = async (name: string) => {
    const heading = page.getByRole('heading', { name, exact: true });
    // The innermost block that holds both the heading and the rendered Markdown.
    const frame = page.locator('div').filter({ has: heading }).filter({ has: page.locator('iframe') }).last().locator('iframe').first().contentFrame();
    let text = '';
    await expect.poll(async () => (text = (await frame.locator('body').innerText()).trim()), { timeout: 15_000 }).not.toBe('');
    return text;
  };
  return { summary: await section('Summary'), details: await section('Details'), page: await page.locator('main').first().innerText() };
}

describe.skipIf(!HAVE_CHROMIUM)('the run in the Temporal UI, in headless Chromium', () => {
  beforeAll(async () => {
    work = tempDir('ui');
    corpus = join(work, 'corpus');
    writeFixtureCorpus(corpus);
    decoyInput = join(corpus, 'guides');
    out = join(work, 'out');
    // Two runs in one database, so that finding "the" run by its summary means something.
    decoyWorkflowId = await runToCompletion(decoyInput);
    runWorkflowId = await runToCompletion(corpus, ['--batch-size', '3']);
    expect(runWorkflowId).not.toBe(decoyWorkflowId);

    const port = await freePort();
    uiBase = `http://127.0.0.1:${port}`;
    ui = startCorpusQa(['ui', out, '--ui-port', String(port)], EMBEDDED);
    printedUrl = (await waitForOutput(ui, /Temporal UI: (\S+)/, 60_000))[1]!;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // Tall enough that the run page shows the whole activity timeline (the page scrolls inside).
    page = await browser.newPage({ viewport: { width: 1600, height: 1400 } });
    page.setDefaultTimeout(30_000);
    mkdirSync(SHOTS, { recursive: true });
  }, 170_000);

  afterAll(async () => {
    try {
      await browser?.close();
      if (ui) await stopProcesses([ui], 'SIGINT', 15_000);
    } finally {
      // Whatever is left (the dev server holds <work>/out/.corpus-qa/temporal.db in its arguments).
      if (work) await killEverythingUnder(work);
    }
  }, 60_000);

  it('`corpus-qa ui <out>` prints the address of the last run in that directory', () => {
    expect(printedUrl).toBe(`${uiBase}/namespaces/default/workflows/${runWorkflowId}`);
  });

  it('finds the run by its summary, shows its details, and its activity rows name documents', async () => {
    const expectedSummary = `corpus-qa: ${corpus} → ${out}`;

    // The list: both runs; the summary is not a list column in UI 2.42, so open each run.
    await page.goto(`${uiBase}/namespaces/default/workflows`, { waitUntil: 'domcontentloaded' });
    const links = page.locator('a[href*="/workflows/corpus-qa-"]').filter({ hasText: /^\s*corpus-qa-/ });
    await links.first().waitFor();
    await expect.poll(() => links.count(), { timeout: 20_000 }).toBe(2);
    await page.screenshot({ path: join(SHOTS, 'list.png'), fullPage: true });
    const hrefs = [...new Set(await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')!)))];
    expect(hrefs).toHaveLength(2);

    const summaries = new Map<string, string>();
    let found: string | undefined;
    for (const href of hrefs) {
      await page.goto(`${uiBase}/namespaces/default/workflows`, { waitUntil: 'domcontentloaded' });
      await page.locator(`a[href="${href}"]`).first().click();
      await page.waitForURL(/\/history/);
      const { summary } = await userMetadata();
      summaries.set(href, summary);
      if (summary === expectedSummary) found = href;
    }
    expect([...summaries.values()].sort()).toEqual([`corpus-qa: ${decoyInput} → ${out}`, expectedSummary].sort());
    expect(found, JSON.stringify([...summaries])).toBeDefined();
    expect(found).toContain(`/workflows/${runWorkflowId}/`);

    // The run found by its summary: details (the settings table) and the events with metadata.
    await page.goto(`${uiBase}${found!}`, { waitUntil: 'domcontentloaded' });
    const meta = await userMetadata();
    expect(meta.summary).toBe(expectedSummary);
    expect(meta.details).toMatch(/input\s+\S*\/corpus\n/);
    expect(meta.details).toMatch(/batchSize \/ window\s+3 \/ 4/);
    expect(meta.details).toMatch(/generator\s+builtin/);
    // Events with metadata: the activities, named by what they work on.
    expect(meta.page).toContain(`discover ${corpus}`);
    expect(meta.page).toMatch(/\S+ … \S+ \(3 docs\) \[1–3 of 12\]/);
    expect(meta.page).toContain(`export to ${out}`);
    await page.screenshot({ path: join(SHOTS, 'metadata.png'), fullPage: true });

    // The History tab's timeline: one row per activity, named `<type> • <summary>`.
    await page.getByRole('tab', { name: /^History/ }).click();
    await page.waitForURL(/\/history/);
    await page.getByText(/processBatch • /).first().waitFor();
    const history = await page.locator('main').first().innerText();
    const lines = history.split('\n').map((l) => l.trim());
    expect(lines).toContain(`discover • discover ${corpus}`);
    expect(lines).toContain(`exportDataset • export to ${out}`);
    const batches = lines
      .map((l) => l.match(/^processBatch • (\S+) … (\S+) \((\d+) docs\) \[(\d+)–(\d+) of (\d+)\]$/))
      .filter((m): m is RegExpMatchArray => m !== null)
      .map(([, first, last, n, from, to, total]) => ({ first: first!, last: last!, n: Number(n), from: Number(from), to: Number(to), total: Number(total) }))
      .sort((a, b) => a.from - b.from);
    expect(batches.map((b) => [b.from, b.to, b.n, b.total])).toEqual([
      [1, 3, 3, 12],
      [4, 6, 3, 12],
      [7, 9, 3, 12],
      [10, 12, 3, 12],
    ]);
    // The names in the rows are the corpus's documents (paths relative to the input).
    for (const b of batches) {
      for (const doc of [b.first, b.last]) expect(lstatSync(join(corpus, doc)).isFile(), doc).toBe(true);
    }
    expect(batches[0]!.first).toBe('bad/blank.md'); // the manifest's first document
    await page.screenshot({ path: join(SHOTS, 'run.png'), fullPage: true });

    // The search attributes work in the UI's filter: only this run has this input.
    await page.goto(`${uiBase}/namespaces/default/workflows?query=${encodeURIComponent(`CorpusInput="${corpus}"`)}`, { waitUntil: 'domcontentloaded' });
    await page.locator(`a[href*="/workflows/${runWorkflowId}/"]`).first().waitFor();
    expect(await page.locator(`a[href*="/workflows/${decoyWorkflowId}/"]`).count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'filtered-list.png'), fullPage: true });

    for (const name of ['list.png', 'metadata.png', 'run.png', 'filtered-list.png']) expect(existsSync(join(SHOTS, name))).toBe(true);
  }, 120_000);

  it('`corpus-qa ui` serves until Ctrl-C, then stops the server it started and exits 0', async () => {
    expect(ui!.exit, `corpus-qa ui ended by itself, before Ctrl-C:\n${describeCli(ui!)}`).toBeUndefined();
    await stopProcesses([ui!], 'SIGINT', 15_000);
    expect(ui!.exit?.code, describeCli(ui!)).toBe(0);
    expect(processesMentioning(out)).toEqual([]);
  }, 30_000);
});

if (!HAVE_CHROMIUM) {
  console.warn(`[ui.test] skipped: ${CHROMIUM} is missing; scripts/setup.sh installs Debian's chromium when run as root with apt-get`);
  describe('the run in the Temporal UI', () => {
    it.skip(`needs ${CHROMIUM} (scripts/setup.sh installs Debian's chromium when run as root with apt-get)`, () => undefined);
  });
}

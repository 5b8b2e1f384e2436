/**
 * Quality report for the built-in generator on a directory of real documents (issue 12):
 * extracts and chunks each file in-process like the pipeline does, generates, validates, and
 * prints JSON with the question-form distribution, coverage, heading-template share, broken
 * words and a deterministic sample of passed pairs for a human to read.
 *
 *   npx tsx bench/builtinQuality.ts [dir=/tmp/q12corpus] [--sample N] [--dump file.jsonl] [--uncovered file.jsonl]
 *
 * --uncovered writes the chunks that gave no passed pair (with why their candidates failed), the
 * place to look for what the generator still leaves out.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { extractAndChunkHere } from '../activities/extract/extractAndChunk.js';
import { kindFromPath } from '../activities/extract/index.js';
import { builtinGenerator } from '../activities/generate/index.js';
import { questionForm } from '../activities/questionForm.js';
import { validatePair } from '../activities/validate.js';
import { sliceCodePoints, spanText } from '../activities/evidence.js';

// The templates issue 12 removes; a question matching one is a heading template.
const HEADING_TEMPLATE = /^(?:What does the section\b|What is said about\b|What is listed under\b|What are the .* listed under\b)/;
const BROKEN_WORD = /\p{Ll}- \p{Ll}/u;

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
}

const wordCount = (s: string): number => s.split(/\s+/).filter(Boolean).length;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const sampleSize = Number(flag('--sample') ?? 20);
  const dump = flag('--dump');
  const uncoveredFile = flag('--uncovered');
  const uncovered: Array<{ source: string; heading?: string; section?: string[]; rejected: string[]; text: string }> = [];
  const dir = args[0] ?? '/tmp/q12corpus';

  const forms: Record<string, number> = {};
  const rejects: Record<string, number> = {};
  let generated = 0, passed = 0, chunks = 0, chunksWithPair = 0, docs = 0, docsWithPair = 0, words = 0;
  let templates = 0, broken = 0, unpinned = 0, genMs = 0;
  const passedRows: Array<{ question: string; answer: string; source: string }> = [];
  const perDoc: Record<string, string> = {}; // "chunks with a pair / chunks" per file

  for (const file of files(dir)) {
    const kind = kindFromPath(file);
    const res = await extractAndChunkHere(readFileSync(file), kind, { chunkSize: 1500, chunkOverlap: 150, idPrefix: 'd' });
    if (!res.ok) continue;
    docs++;
    words += wordCount(res.text);
    let docPassed = 0;
    let docChunksWithPair = 0;
    for (const chunk of res.chunks) {
      chunks++;
      const t0 = performance.now();
      const { pairs } = await builtinGenerator.generateChunk(chunk, { maxPairs: 8, usage: {} });
      genMs += performance.now() - t0;
      let chunkPassed = 0;
      const chunkRejects: string[] = [];
      for (const pair of pairs) {
        generated++;
        const ev = pair.evidence;
        if (!ev || spanText(sliceCodePoints(chunk.text, ev.start, ev.end)) !== pair.answer) unpinned++;
        const verdict = validatePair(pair, chunk);
        if (verdict.reasons.length > 0) {
          for (const r of verdict.reasons) rejects[r] = (rejects[r] ?? 0) + 1;
          chunkRejects.push(`${verdict.reasons.join(',')}: ${pair.question}`);
          continue;
        }
        passed++;
        chunkPassed++;
        const form = questionForm(pair.question);
        forms[form] = (forms[form] ?? 0) + 1;
        if (HEADING_TEMPLATE.test(pair.question)) templates++;
        if (BROKEN_WORD.test(pair.answer)) broken++;
        passedRows.push({ question: pair.question, answer: pair.answer, source: `${relative(dir, file)}#${chunk.index}` });
      }
      if (chunkPassed > 0) chunksWithPair++;
      else uncovered.push({ source: `${relative(dir, file)}#${chunk.index}`, heading: chunk.heading, section: chunk.section, rejected: chunkRejects, text: chunk.text });
      if (chunkPassed > 0) docChunksWithPair++;
      docPassed += chunkPassed;
    }
    if (docPassed > 0) docsWithPair++;
    perDoc[relative(dir, file)] = `${docChunksWithPair}/${res.chunks.length}`;
  }

  const share = (n: number, d: number): number => (d === 0 ? 0 : Math.round((n / d) * 1000) / 1000);
  // Evenly spaced over the passed pairs: the same corpus gives the same sample.
  const step = passedRows.length / Math.max(1, sampleSize);
  const sample = Array.from({ length: Math.min(sampleSize, passedRows.length) }, (_, i) => passedRows[Math.floor(i * step)]!).map(
    (r) => `${r.question} | ${r.answer} | ${r.source}`,
  );
  if (uncoveredFile) writeFileSync(uncoveredFile, uncovered.map((r) => JSON.stringify(r)).join('\n') + '\n');
  if (dump) writeFileSync(dump, passedRows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const formShares = Object.fromEntries(Object.entries(forms).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, share(v, passed)]));
  console.log(
    JSON.stringify(
      {
        generator: builtinGenerator.id,
        dir,
        docs,
        chunks,
        generated,
        passed,
        rejects,
        forms,
        formShares,
        chunksWithPair: share(chunksWithPair, chunks),
        docsWithPair: share(docsWithPair, docs),
        pairsPer1000Words: Math.round((passed / Math.max(1, words)) * 1000 * 100) / 100,
        headingTemplateShare: share(templates, passed),
        brokenWordAnswers: broken,
        unpinnedAnswers: unpinned,
        generateMs: Math.round(genMs),
        perDoc,
        sample,
      },
      null,
      2,
    ),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

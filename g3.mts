import { readFileSync } from 'node:fs';
import { extractText, kindFromPath } from './activities/extract/index.ts';
import { chunkText } from './activities/chunk.ts';
import { generatePairs } from './activities/generate/builtin.ts';
for (const f of process.argv.slice(2)) {
  const r = await extractText(readFileSync(f), kindFromPath(f));
  if (!r.ok) { console.log(f, r); continue; }
  console.log('=====', f, r.text.length, 'headings', r.headings.length);
  console.log(r.text.slice(0, 1200));
  const chunks = chunkText(r.text, r.headings, { chunkSize: 1500, chunkOverlap: 150, idPrefix: 'x' });
  let n = 0; for (const c of chunks) n += generatePairs(c.text, c.heading, 8).length;
  console.log('pairs', n);
}

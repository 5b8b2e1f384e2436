/** A synthetic but prose-like corpus for tests and benchmarks: deterministic for a given size and seed. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** mulberry32: a tiny, fast, deterministic PRNG, so generated corpora and fuzz cases are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SUBJECTS = ['A lighthouse', 'The river delta', 'A glacier', 'The city archive', 'A suspension bridge', 'The old mill', 'A coral reef', 'The observatory'];
const NOUNS = ['structure', 'system', 'landform', 'institution', 'mechanism', 'habitat', 'collection', 'instrument'];
const VERBS = ['built', 'opened', 'surveyed', 'restored', 'mapped', 'founded', 'expanded', 'documented'];
const PLACES = ['the northern coast', 'the valley', 'the capital', 'the harbour', 'the plateau', 'the old town'];

function paragraph(r: () => number, n: number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const sentences: string[] = [];
  for (let i = 0; i < 4; i++) {
    const subject = `${pick(SUBJECTS)} ${n}-${i}`;
    switch (Math.floor(r() * 4)) {
      case 0:
        sentences.push(`${subject} is a ${pick(NOUNS)} near ${pick(PLACES)} that visitors study every year.`);
        break;
      case 1:
        sentences.push(`${subject} was ${pick(VERBS)} in ${1700 + Math.floor(r() * 320)}.`);
        break;
      case 2:
        sentences.push(`${subject} has ${2 + Math.floor(r() * 40)} rooms and a small garden.`);
        break;
      default:
        sentences.push(`Records from ${pick(PLACES)} describe how ${subject.toLowerCase()} changed over the decades.`);
    }
  }
  return sentences.join(' ');
}

export function writeBenchCorpus(root: string, documents: number, seed = 42): void {
  const r = rng(seed);
  for (let i = 0; i < documents; i++) {
    const dir = join(root, `part-${String(Math.floor(i / 100)).padStart(3, '0')}`);
    mkdirSync(dir, { recursive: true });
    const paras = Array.from({ length: 3 + Math.floor(r() * 5) }, (_, p) => paragraph(r, i * 10 + p));
    const kind = i % 3;
    if (kind === 0) {
      writeFileSync(join(dir, `doc-${i}.md`), `# Document ${i}\n\n${paras.map((p, j) => (j === 2 ? `## Details\n\n${p}` : p)).join('\n\n')}\n`);
    } else if (kind === 1) {
      writeFileSync(join(dir, `doc-${i}.txt`), `${paras.join('\n\n')}\n`);
    } else {
      writeFileSync(join(dir, `doc-${i}.html`), `<html><body><h1>Document ${i}</h1>${paras.map((p) => `<p>${p}</p>`).join('')}</body></html>`);
    }
  }
}

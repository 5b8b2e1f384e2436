/**
 * Duplicate questions across the whole corpus. Exact: the same normalized question. Near: the
 * same set of content words ("What is a spring tide?" / "What is the spring tide?"). The first
 * pair in manifest order is kept, so which one survives never depends on timing.
 */
import { normalizeQuestion } from './validate.js';
import { sha256Hex } from './storage.js';

const STOPWORDS = new Set(
  ('a an the what which who whom whose when where why how is are was were be been do does did ' +
    'of in on at to for from by with about as and or its it this that these those there said say says ' +
    'section mean means meant').split(' '),
);

function nearKey(question: string): string {
  const words = normalizeQuestion(question).split(' ').filter((w) => w && !STOPWORDS.has(w));
  return [...new Set(words)].sort().join(' ');
}

export interface Duplicate {
  kind: 'exact' | 'near';
  of: string; // id of the pair kept
}

export class DuplicateIndex {
  // Keys are hashes, not questions: memory stays small for millions of pairs.
  private readonly exact = new Map<string, string>();
  private readonly near = new Map<string, string>();

  /** The earlier pair this question duplicates, or undefined after registering it as kept. */
  check(question: string, id: string): Duplicate | undefined {
    const e = sha256Hex(normalizeQuestion(question)).slice(0, 24);
    const n = nearKey(question);
    const nk = n ? sha256Hex(n).slice(0, 24) : undefined;
    const exactOf = this.exact.get(e);
    if (exactOf !== undefined) return { kind: 'exact', of: exactOf };
    const nearOf = nk ? this.near.get(nk) : undefined;
    if (nearOf !== undefined) return { kind: 'near', of: nearOf };
    this.exact.set(e, id);
    if (nk) this.near.set(nk, id);
    return undefined;
  }

  /** The kept pair an exact duplicate refers to, without registering anything. */
  lookup(question: string): string | undefined {
    return this.exact.get(sha256Hex(normalizeQuestion(question)).slice(0, 24));
  }
}

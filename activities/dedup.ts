/**
 * Duplicates on meaning: two pairs are duplicates when their answers (their evidence) are the
 * same or near-identical, not when their questions are worded alike — "What does the section
 * “Note” say?" over 63 different notes is 63 facts, a footer repeated on every page is one.
 *
 * - exact: an answer of ≥ 5 content words is a fact on its own, so the key is the normalized
 *   answer; a short answer ("2004", "Yes") is a different fact behind a different question,
 *   so the key is the normalized question and answer together;
 * - near: the content words of an answer of ≥ 5 content words, in order: copies of one sentence
 *   that differ in case, punctuation, articles or auxiliaries. Not their set: "uppercase
 *   characters converted to lowercase" and "lowercase characters converted to uppercase" (Bash's
 *   manual, two entries apart) have one set of words and opposite meanings;
 * - span (within a document): evidence spans that cover each other for ≥ 80% of their union.
 *   A short answer inside a longer one is another question about the sentence, not a copy.
 *
 * The pair kept is the first: in chunk order within a document, in manifest order across the
 * corpus. Both are fixed before a run starts, so which pair survives never depends on timing,
 * batching or a resume.
 */
import { idFromWords, idWords, KeyTable, keyOf } from './keyTable.js';

export const DEDUP_RULE =
  'two passed pairs are duplicates when their answers are the same fact: the same normalized answer (answers of at least ' +
  '5 content words; shorter answers only together with the same normalized question), the same content words in the same ' +
  'order (answers of at least 5 content words; case, punctuation and function words aside), or, in one document, evidence spans overlapping by at least 80% of their union. ' +
  'The first pair is kept: in chunk order within a document, in manifest order (sorted paths) across documents.';

export const MIN_FACT_WORDS = 5;
const MIN_SPAN_OVERLAP = 0.8;

const STOPWORDS = new Set(
  ('a an the is are was were be been being am do does did of in on at to for from by with about as and or nor but ' +
    'if then than so it its this that these those there here which who whom whose what when where why how ' +
    'not no yes can could may might must shall should will would has have had').split(' '),
);

/** Lowercased words without punctuation, compatibility forms folded ("ﬁle" → "file"). */
export function normalizeText(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}\s]+/gu, ' ').replace(/\s+/g, ' ').trim();
}

/** The content words of a text, in order: what is left of a fact without case, punctuation and function words. */
export function contentWords(s: string): string[] {
  return contentOfNormalized(normalizeText(s));
}

const contentOfNormalized = (normalized: string): string[] => normalized.split(' ').filter((w) => w && !STOPWORDS.has(w));

export interface DedupPair {
  question: string;
  answer: string;
  /** Evidence in the document's text (code points); -1 when not located. */
  answerStart: number;
  answerEnd: number;
}

interface Keys {
  exact: string;
  near?: string;
}

/** What a pair is keyed by (the strings hashed; callers keep only the hashes). */
export function dedupKeys(p: Pick<DedupPair, 'question' | 'answer'>): Keys {
  const a = normalizeText(p.answer);
  const cw = contentOfNormalized(a);
  if (cw.length >= MIN_FACT_WORDS) return { exact: `a\u0000${a}`, near: `n\u0000${cw.join(' ')}` };
  return { exact: `qa\u0000${normalizeText(p.question)}\u0000${a}` };
}

function spansOverlap(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  const inter = Math.min(a.end, b.end) - Math.max(a.start, b.start);
  if (inter <= 0) return false;
  return inter >= MIN_SPAN_OVERLAP * (Math.max(a.end, b.end) - Math.min(a.start, b.start));
}

export type DuplicateKind = 'exact' | 'near' | 'span';

/**
 * One document's kept pairs. Everything here is per document (bounded by its size), so plain
 * maps of hashes are fine; the corpus-wide index is CorpusDuplicates.
 */
export class DocumentDuplicates {
  private readonly byKey = new Map<string, number>();
  // Kept spans sorted by start, with the longest one: a span can only overlap those starting
  // within that length before it.
  private readonly spans: Array<{ start: number; end: number; index: number }> = [];
  private longest = 0;

  /** The index (as given to keep) of the earlier pair `p` duplicates, and how; undefined if none. */
  check(p: DedupPair): { index: number; kind: DuplicateKind } | undefined {
    const keys = dedupKeys(p);
    const exact = this.byKey.get(hashString(keys.exact));
    if (exact !== undefined) return { index: exact, kind: 'exact' };
    const near = keys.near ? this.byKey.get(hashString(keys.near)) : undefined;
    if (near !== undefined) return { index: near, kind: 'near' };
    if (p.answerStart < 0 || p.answerEnd <= p.answerStart) return undefined;
    const span = { start: p.answerStart, end: p.answerEnd };
    for (let i = this.firstStartingFrom(span.start - this.longest); i < this.spans.length && this.spans[i]!.start < span.end; i++) {
      if (spansOverlap(span, this.spans[i]!)) return { index: this.spans[i]!.index, kind: 'span' };
    }
    return undefined;
  }

  keep(p: DedupPair, index: number): void {
    const keys = dedupKeys(p);
    for (const k of [keys.exact, keys.near]) if (k && !this.byKey.has(hashString(k))) this.byKey.set(hashString(k), index);
    if (p.answerStart >= 0 && p.answerEnd > p.answerStart) {
      this.spans.splice(this.firstStartingFrom(p.answerStart), 0, { start: p.answerStart, end: p.answerEnd, index });
      this.longest = Math.max(this.longest, p.answerEnd - p.answerStart);
    }
  }

  private firstStartingFrom(start: number): number {
    let lo = 0;
    let hi = this.spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.spans[mid]!.start < start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function hashString(s: string): string {
  return Buffer.from(keyOf(s)).toString('base64');
}

/** The keys a pair is checked by across documents: its exact key, and its near key if it has one. */
export function corpusDedupKeys(p: Pick<DedupPair, 'question' | 'answer'>): [Uint8Array, Uint8Array | undefined] {
  const keys = dedupKeys(p);
  return [keyOf(keys.exact), keys.near ? keyOf(keys.near) : undefined];
}

/**
 * The corpus-wide index of kept pairs: 12-byte keys to the kept pair's id, in typed arrays
 * (about 40 bytes a key), so memory stays flat however many pairs pass. No question or answer
 * text is kept.
 */
export class CorpusDuplicates {

  /**
   * `shared`: the keys more than one pair of the corpus has (export/sharedKeys.ts), for a corpus
   * too big to index every pair. Only those are held; any other key is one pair's, which no
   * other pair can match, so the verdicts are the same.
   */
  constructor(
    private readonly shared?: KeyTable,
    /** The kept pairs' keys: new, or an export checkpoint's (export/checkpoint.ts). */
    readonly table = new KeyTable(2),
  ) {}

  /** The id of the earlier kept pair `p` duplicates and how, or undefined after registering `p` as kept under `id`. */
  check(p: Pick<DedupPair, 'question' | 'answer'>, id: string): { of: string; kind: 'exact' | 'near' } | undefined {
    const [exact, near] = corpusDedupKeys(p);
    const hitExact = this.table.get(exact);
    if (hitExact) return { of: idFromWords(hitExact[0]!, hitExact[1]!), kind: 'exact' };
    const hitNear = near ? this.table.get(near) : undefined;
    if (hitNear) return { of: idFromWords(hitNear[0]!, hitNear[1]!), kind: 'near' };
    const value = idWords(id);
    if (this.holds(exact)) this.table.set(exact, value);
    if (near && this.holds(near)) this.table.set(near, value);
    return undefined;
  }

  private holds(key: Uint8Array): boolean {
    return !this.shared || this.shared.get(key) !== undefined;
  }

  get size(): number {
    return this.table.size;
  }
}

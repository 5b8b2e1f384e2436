/**
 * The quality figures of an export (stats.json `quality`, the card's "Quality" section),
 * gathered while the export streams the shards: counters, one document's chunk ids at a time,
 * and typed-array indexes of 12-byte keys for the leakage check, so memory stays flat.
 */
import { QuestionForm, type DatasetQuality, type QaRow } from '../schemas/index.js';
import type { QualityCounts } from '../schemas/localState.js';
import { contentWords, DEDUP_RULE, normalizeText } from './dedup.js';
import { idFromWords, idWords, KeyTable, keyOf } from './keyTable.js';

// Answers this long (in content words) leak when a pair of another split has the same words.
// Lower than dedup's 5: those are removed as duplicates corpus-wide, a 3-4 word answer is not.
export const LEAK_MIN_WORDS = 3;
const MAX_EXAMPLES = 5;

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;
const share = (n: number, of: number): number => (of > 0 ? round4(n / of) : 0);

export interface PassedPair {
  id: string;
  chunkId: string;
  question: string;
  answer: string;
  questionForm: QuestionForm;
  answerStart: number;
}

/** What the quality figures take of a passed row (as written: after a reviewer's edit). */
export function passedPair(r: QaRow): PassedPair {
  return { id: r.id, chunkId: r.chunk_id, question: r.question, answer: r.answer, questionForm: r.question_type, answerStart: r.answer_start };
}

/**
 * Which splits have had each key, in five words a key: the splits seen (a bit mask, 16 splits at
 * most, more share the last bit) with the splits of the two ids kept, the first pair's id, and
 * the last id seen in a split other than the first's, so a collision can always name a pair of
 * another split.
 */
class SplitIndex {
  /** `shared`: as CorpusDuplicates takes it; a key no other pair has cannot collide. `table`: an export checkpoint's. */
  constructor(
    private readonly shared?: KeyTable,
    readonly table = new KeyTable(5),
  ) {}

  /** A pair of another split with the same key (after recording this one), or undefined. */
  see(key: Uint8Array, split: number, id: string): { id: string; split: number } | undefined {
    if (this.shared && this.shared.get(key) === undefined) return undefined;
    const bit = 1 << Math.min(split, 15);
    const [hi, lo] = idWords(id);
    const v = this.table.get(key);
    if (!v) {
      this.table.set(key, [bit | (split << 16), hi, lo, 0, 0]);
      return undefined;
    }
    const mask = v[0]! & 0xffff;
    const firstSplit = (v[0]! >>> 16) & 0xff;
    const otherSplit = v[0]! >>> 24;
    const other =
      firstSplit !== split ? { id: idFromWords(v[1]!, v[2]!), split: firstSplit }
        : (mask & ~bit) !== 0 ? { id: idFromWords(v[3]!, v[4]!), split: otherSplit }
          : undefined;
    const newOther = split !== firstSplit ? split : otherSplit;
    v[0] = ((mask | bit) | (firstSplit << 16) | (newOther << 24)) >>> 0;
    if (split !== firstSplit) v.set([hi, lo], 3);
    return other;
  }
}

/** The keys a passed pair is checked by for leakage: its question's, and its answer's if it is long enough. */
export function leakageKeys(p: Pick<PassedPair, 'question' | 'answer'>): [Uint8Array, Uint8Array | undefined] {
  const words = contentWords(p.answer);
  return [keyOf(`q\u0000${normalizeText(p.question)}`), words.length >= LEAK_MIN_WORDS ? keyOf(`l\u0000${words.join(' ')}`) : undefined];
}

export interface SavedQuality {
  counts: QualityCounts;
  byQuestion: KeyTable;
  byAnswer: KeyTable;
}

export class QualityStats {
  private forms = Object.fromEntries(QuestionForm.options.map((f) => [f, 0])) as Record<QuestionForm, number>;
  private passed = 0;
  private pinned = 0;
  private chunks = 0;
  private chunksWithPairs = 0;
  private documents = 0;
  private documentsWithPairs = 0;
  private words = 0;
  private docChunks = new Set<string>();
  private readonly byQuestion: SplitIndex;
  private readonly byAnswer: SplitIndex;
  private leak = { pairs: 0, byQuestion: 0, byAnswer: 0 };
  private examples: DatasetQuality['leakage']['examples'] = [];

  /**
   * `shared`: the keys more than one pair has (export/sharedKeys.ts), when the pairs seen are
   * among the ones it was made of. `saved`: an export checkpoint's figures, to go on from.
   */
  constructor(private readonly splits: string[], shared?: KeyTable, saved?: SavedQuality) {
    this.byQuestion = new SplitIndex(shared, saved?.byQuestion);
    this.byAnswer = new SplitIndex(shared, saved?.byAnswer);
    if (saved) {
      const c = saved.counts;
      this.forms = { ...this.forms, ...c.forms };
      Object.assign(this, { passed: c.passed, pinned: c.pinned, chunks: c.chunks, chunksWithPairs: c.chunksWithPairs, documents: c.documents });
      Object.assign(this, { documentsWithPairs: c.documentsWithPairs, words: c.words, leak: { ...c.leak }, examples: [...c.examples] });
    }
  }

  /** The figures so far, at a document's end (its coverage closed), for an export checkpoint. */
  saved(): SavedQuality {
    this.endDocument();
    const counts: QualityCounts = {
      forms: { ...this.forms }, passed: this.passed, pinned: this.pinned, chunks: this.chunks, chunksWithPairs: this.chunksWithPairs,
      documents: this.documents, documentsWithPairs: this.documentsWithPairs, words: this.words, leak: { ...this.leak }, examples: [...this.examples],
    };
    return { counts, byQuestion: this.byQuestion.table, byAnswer: this.byAnswer.table };
  }

  startDocument(chunks: number, words: number): void {
    this.endDocument();
    this.documents++;
    this.chunks += chunks;
    this.words += words;
  }

  /**
   * For a re-export from the written rows (`review apply`), where the shards may be gone: the
   * corpus totals an earlier export counted, then `nextDocument` before each document's rows.
   */
  static fromTotals(splits: string[], totals: { documents: number; chunks: number; words: number }): QualityStats {
    const q = new QualityStats(splits);
    q.documents = totals.documents;
    q.chunks = totals.chunks;
    q.words = totals.words;
    return q;
  }

  nextDocument(): void {
    this.endDocument();
  }

  pass(p: PassedPair, split: string): void {
    this.passed++;
    this.forms[p.questionForm]++;
    if (p.answerStart >= 0) this.pinned++;
    this.docChunks.add(p.chunkId);
    this.checkLeak(p, split);
  }

  private checkLeak(p: PassedPair, split: string): void {
    // One split has nothing to leak into: no index (half an export's memory), the same figures.
    if (this.splits.length < 2) return;
    // Split numbers are stored in a byte; runs have a handful of splits.
    const s = Math.min(255, Math.max(0, this.splits.indexOf(split)));
    const [questionKey, answerKey] = leakageKeys(p);
    const q = this.byQuestion.see(questionKey, s, p.id);
    const a = answerKey ? this.byAnswer.see(answerKey, s, p.id) : undefined;
    if (q) this.leak.byQuestion++;
    if (a) this.leak.byAnswer++;
    const other = q ?? a;
    if (other === undefined) return;
    this.leak.pairs++;
    if (this.examples.length < MAX_EXAMPLES) {
      this.examples.push({ id: p.id, split, collidesWith: other.id, otherSplit: this.splits[other.split] ?? '', by: q ? 'question' : 'answer' });
    }
  }

  /** Closes the current document's coverage (called by startDocument and result). */
  private endDocument(): void {
    if (this.docChunks.size > 0) {
      this.documentsWithPairs++;
      this.chunksWithPairs += this.docChunks.size;
    }
    this.docChunks = new Set();
  }

  result(d: { generated: number; withinDocuments: number; acrossDocuments: number }): DatasetQuality {
    this.endDocument();
    let largest: DatasetQuality['largestForm'] = null;
    for (const f of QuestionForm.options) {
      if (this.forms[f] > 0 && (!largest || this.forms[f] > this.forms[largest.form])) largest = { form: f, share: 0 };
    }
    if (largest) largest.share = share(this.forms[largest.form], this.passed);
    return {
      questionForms: { ...this.forms },
      largestForm: largest,
      coverage: {
        chunks: this.chunks,
        chunksWithPairs: this.chunksWithPairs,
        chunkShare: share(this.chunksWithPairs, this.chunks),
        documents: this.documents,
        documentsWithPairs: this.documentsWithPairs,
        documentShare: share(this.documentsWithPairs, this.documents),
        words: this.words,
        pairsPer1000Words: this.words > 0 ? Math.round((this.passed / this.words) * 1000 * 100) / 100 : 0,
      },
      evidence: { pinned: this.pinned, pinnedShare: share(this.pinned, this.passed) },
      duplicates: {
        withinDocuments: d.withinDocuments,
        acrossDocuments: d.acrossDocuments,
        shareOfGenerated: share(d.withinDocuments + d.acrossDocuments, d.generated),
        rule: DEDUP_RULE,
      },
      leakage: { ...this.leak, examples: this.examples },
    };
  }
}

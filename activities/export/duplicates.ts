/**
 * The dedup step of an export: each pair of a document gets its verdict, in manifest order.
 * The shard marked its document's own duplicates (activities/pipeline.ts); the same rule run
 * again here finds which pair each one repeats, and a pair that passed its document's checks
 * meets the corpus-wide check.
 */
import type { QaRow, RejectReason, ShardPair } from '../../schemas/index.js';
import { CorpusDuplicates, DocumentDuplicates } from '../dedup.js';
import { pairId, qaRow } from '../exportRows.js';
import type { KeyTable } from '../keyTable.js';

export interface JudgedPair {
  row: QaRow;
  /** Empty: the pair passed. */
  reasons: RejectReason[];
  detail: string;
  /** For a duplicate: the id of a kept row carrying the same fact; '' otherwise. */
  duplicateOf: string;
}

/** What PairDuplicates counted, kept in an export checkpoint with its table. */
export interface DuplicateCounts {
  withinDocuments: number;
  acrossDocuments: number;
  /** Pairs that met the corpus-wide check (they passed their document's). */
  checked: number;
}

export class PairDuplicates implements DuplicateCounts {
  private readonly corpus: CorpusDuplicates;
  withinDocuments = 0;
  acrossDocuments = 0;
  checked = 0;

  /** `shared`: see CorpusDuplicates. `saved`: an export checkpoint's table and counts, to go on from. */
  constructor(shared?: KeyTable, saved?: { table: KeyTable; counts: DuplicateCounts }) {
    this.corpus = new CorpusDuplicates(shared, saved?.table);
    if (saved) Object.assign(this, saved.counts);
  }

  /** The table and counts an export checkpoint keeps. */
  saved(): { table: KeyTable; counts: DuplicateCounts } {
    return { table: this.corpus.table, counts: { withinDocuments: this.withinDocuments, acrossDocuments: this.acrossDocuments, checked: this.checked } };
  }

  /** The judge of one document's pairs, fed its shard's pairs in order (a big one's part by part). */
  document(source: string): DocumentVerdicts {
    return new DocumentVerdicts(source, this.corpus, this);
  }
}

/** Verdicts on one document's pairs; `judge` may be called for each part, in order. */
export class DocumentVerdicts {
  private readonly inDocument = new DocumentDuplicates();
  // standsFor.get(i): the id of the row that carries kept pair i's fact (its own, or what it
  // duplicates), so duplicate_of always names a kept row. Only kept pairs are looked up.
  private readonly standsFor = new Map<number, string>();
  private ordinal = 0;

  constructor(
    private readonly source: string,
    private readonly corpus: CorpusDuplicates,
    private readonly counts: { withinDocuments: number; acrossDocuments: number; checked: number },
  ) {}

  /** The next pairs of the document with their verdicts, in shard order. */
  *judge(pairs: ShardPair[]): Generator<JudgedPair> {
    for (const p of pairs) {
      const ordinal = this.ordinal++;
      const id = pairId(this.source, ordinal, p);
      let reasons = p.reasons;
      let detail = p.detail;
      let duplicateOf = '';
      if (reasons.length === 0) {
        this.counts.checked++;
        this.inDocument.keep(p, ordinal);
        const dup = this.corpus.check(p, id);
        if (dup) {
          this.counts.acrossDocuments++;
          reasons = ['duplicate'];
          duplicateOf = dup.of;
          detail = `${dup.kind === 'exact' ? 'same answer as' : 'nearly the same answer as'} pair ${dup.of} of an earlier document`;
        }
        this.standsFor.set(ordinal, duplicateOf || id);
      } else if (reasons[0] === 'duplicate') {
        this.counts.withinDocuments++;
        const kept = this.inDocument.check(p);
        duplicateOf = kept ? this.standsFor.get(kept.index) ?? '' : '';
      }
      yield { row: qaRow(id, this.source, p), reasons, detail, duplicateOf };
    }
  }
}

/**
 * The dedup step of an export: each pair of a document gets its verdict, in manifest order.
 * The shard marked its document's own duplicates (activities/pipeline.ts); the same rule run
 * again here finds which pair each one repeats, and a pair that passed its document's checks
 * meets the corpus-wide check.
 */
import type { QaRow, RejectReason, ShardPair } from '../../schemas/index.js';
import { CorpusDuplicates, DocumentDuplicates } from '../dedup.js';
import { pairId, qaRow } from '../exportRows.js';

export interface JudgedPair {
  row: QaRow;
  /** Empty: the pair passed. */
  reasons: RejectReason[];
  detail: string;
  /** For a duplicate: the id of a kept row carrying the same fact; '' otherwise. */
  duplicateOf: string;
}

export class PairDuplicates {
  private readonly corpus = new CorpusDuplicates();
  withinDocuments = 0;
  acrossDocuments = 0;

  /** One document's pairs with their verdicts, in shard order. */
  *judge(source: string, pairs: ShardPair[]): Generator<JudgedPair> {
    const inDocument = new DocumentDuplicates();
    // standsFor[i]: the id of the row that carries pair i's fact (its own, or what it
    // duplicates), so duplicate_of always names a kept row.
    const standsFor: string[] = [];
    for (const [ordinal, p] of pairs.entries()) {
      const id = pairId(source, ordinal, p);
      let reasons = p.reasons;
      let detail = p.detail;
      let duplicateOf = '';
      if (reasons.length === 0) {
        inDocument.keep(p, ordinal);
        const dup = this.corpus.check(p, id);
        if (dup) {
          this.acrossDocuments++;
          reasons = ['duplicate'];
          duplicateOf = dup.of;
          detail = `${dup.kind === 'exact' ? 'same answer as' : 'nearly the same answer as'} pair ${dup.of} of an earlier document`;
        }
      } else if (reasons[0] === 'duplicate') {
        this.withinDocuments++;
        const kept = inDocument.check(p);
        duplicateOf = kept ? standsFor[kept.index] ?? '' : '';
      }
      standsFor[ordinal] = duplicateOf || id;
      yield { row: qaRow(id, source, p), reasons, detail, duplicateOf };
    }
  }
}

/**
 * Blocks repeated across many documents of a corpus (boilerplate the per-page main-content
 * step missed: a site-wide banner, a licence line under every page). Pure and deterministic:
 * the same documents, in any order, give the same answer. Not wired into the pipeline yet.
 */

export interface RepeatedOptions {
  /** A block is boilerplate when it is in at least this share of the documents. Default 0.5. */
  minShare: number;
  /** ... and in at least this many documents. Default 3. */
  minDocuments: number;
  /** Blocks shorter than this (after normalising) are ignored: "Note", "Example". Default 12. */
  minChars: number;
}

const DEFAULTS: RepeatedOptions = { minShare: 0.5, minDocuments: 3, minChars: 12 };

/** The normalised form blocks are compared on: case, whitespace and digits (dates, versions, page numbers) ignored. */
export function blockKey(block: string): string {
  return block.normalize('NFC').toLowerCase().replace(/\d+/g, '0').replace(/\s+/g, ' ').trim();
}

/**
 * `docs` are extracted texts; blocks are their paragraphs (split on blank lines). Returns the
 * keys (blockKey) of blocks found in enough documents, sorted, each counted once per document.
 */
export function repeatedBlocks(docs: readonly string[], options: Partial<RepeatedOptions> = {}): string[] {
  const { minShare, minDocuments, minChars } = { ...DEFAULTS, ...options };
  const counts = new Map<string, number>();
  for (const doc of docs) {
    const seen = new Set<string>();
    for (const block of doc.split(/\n[^\S\n]*\n/)) {
      const key = blockKey(block);
      if (key.length >= minChars) seen.add(key);
    }
    for (const key of seen) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const need = Math.max(minDocuments, Math.ceil(minShare * docs.length));
  return [...counts].filter(([, n]) => n >= need).map(([key]) => key).sort();
}

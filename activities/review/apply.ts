/**
 * `corpus-qa review apply`: stores the decisions, then re-exports the output from the rows it
 * already has (no shards, no Temporal): the pairs as generated go through the same
 * ReviewApplier as in the export stage, and the data files, rejected/, the card and stats.json
 * are staged and committed together as an export does. The result depends only on the
 * unreviewed rows and the decisions, so applying the same file twice gives the same bytes, and
 * a later run over the same corpus (which applies the stored decisions) gives the same rows.
 */
import { join } from 'node:path';
import { QaRow, type ReviewDecision, type ReviewTally } from '../../schemas/index.js';
import { renderCard } from '../datasetCard.js';
import { settingsTable } from '../export/card.js';
import { commitStaged } from '../export/commit.js';
import { writeReviewerRejections } from '../export/rows.js';
import { discardStaged, stageFile, StagedLineWriter, type StagedFile } from '../export/staging.js';
import { rejectedRow, trainingRow } from '../exportRows.js';
import { passedPair, QualityStats } from '../exportStats.js';
import { OUTPUT_FILES, removeOrphanTempFiles } from '../storage.js';
import { ReviewApplier, ReviewFileError, writeDecisions, type ReviewedPair } from './decisions.js';
import { splitFile, type PassedEntry, type ReviewableOutput } from './output.js';

const REJECTED_FILE = OUTPUT_FILES.rejected;
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface ApplyResult {
  tally: ReviewTally;
  passed: number;
  rejected: number;
}

export async function applyReview(output: ReviewableOutput, decisions: Map<string, ReviewDecision>): Promise<ApplyResult> {
  const { outDir, stats } = output;
  const { settings } = stats;
  const out = (rel: string) => join(outDir, rel);
  for (const dir of ['.', 'data', 'rejected']) await removeOrphanTempFiles(out(dir));

  const review = new ReviewApplier(decisions);
  const splitNames = settings.splits.map((s) => s.name);
  const coverage = stats.quality?.coverage;
  const quality = QualityStats.fromTotals(splitNames, coverage ?? { documents: stats.documents.loaded, chunks: stats.chunks, words: 0 });
  const splitWriters = new Map<string, StagedLineWriter>();
  for (const name of splitNames) splitWriters.set(name, await new StagedLineWriter(out(splitFile(name))).open());
  const rejected = await new StagedLineWriter(out(REJECTED_FILE)).open();
  const writers = [...splitWriters.values(), rejected];
  const staged: StagedFile[] = [];
  try {
    // The quality figures see the pairs in manifest order (sorted by source), across splits, as
    // the export stage does; a document's pairs are all in one split and in order there.
    const inManifestOrder = [...output.passed].sort((a, b) => byCodeUnits(a.base.source, b.base.source));
    const results = new Map<PassedEntry, ReviewedPair | undefined>();
    let source: string | undefined;
    for (const p of inManifestOrder) {
      if (p.base.source !== source) {
        quality.nextDocument();
        source = p.base.source;
      }
      const reviewed = review.passed(p.base);
      results.set(p, reviewed);
      if (reviewed) quality.pass(passedPair(reviewed.row), p.split);
    }
    // The rows in data file order (manifest order within a split).
    for (const p of output.passed) {
      const reviewed = results.get(p);
      if (reviewed) await splitWriters.get(p.split)!.writeLine(JSON.stringify(trainingRow(settings.format, reviewed.row, reviewed.edited)));
    }
    const rejectedByReason: Record<string, number> = { ...stats.pairs.rejectedByReason };
    delete rejectedByReason.reviewer_rejected;
    for (const r of output.rejected) {
      if (r.reason !== 'reviewer_rejected') {
        await rejected.writeLine(JSON.stringify(rejectedRow(r)));
        continue;
      }
      // Dropped by an earlier review: a pair as generated, which must still be dropped (its place
      // among the passed rows is not recorded anywhere, so only a run can bring it back).
      if (review.passed(QaRow.parse(r)) !== undefined) {
        throw new ReviewFileError(
          `${REJECTED_FILE}: pair ${r.id} was dropped by a reviewer, but review/decisions.jsonl no longer says drop; ` +
            'run the same `corpus-qa run` command again with --fresh to bring it back',
        );
      }
    }
    await writeReviewerRejections(review, { write: (row) => rejected.writeLine(JSON.stringify(row)) }, rejectedByReason);

    const files: Record<string, { rows: number; sha256: string }> = {};
    const remove: string[] = [];
    const splitRows: Record<string, number> = {};
    let passed = 0;
    for (const [name, w] of splitWriters) {
      splitRows[name] = w.rows;
      passed += w.rows;
    }
    for (const w of writers) {
      const rel = w === rejected ? REJECTED_FILE : splitFile([...splitWriters].find(([, x]) => x === w)![0]);
      if (w.rows === 0) {
        await w.abort();
        remove.push(w.path);
      } else {
        const f = await w.finish();
        staged.push(f);
        files[rel] = { rows: w.rows, sha256: f.sha256 };
      }
    }
    // errors.jsonl is not rewritten: a review does not touch the document errors.
    const errorsFile = stats.files[OUTPUT_FILES.errors];
    if (errorsFile) files[OUTPUT_FILES.errors] = { rows: errorsFile.rows ?? stats.documents.failed, sha256: errorsFile.sha256 };

    const qualityFigures = stats.quality
      ? quality.result({
          generated: stats.pairs.generated,
          withinDocuments: stats.quality.duplicates.withinDocuments,
          acrossDocuments: stats.quality.duplicates.acrossDocuments,
        })
      : undefined;
    const card = renderCard({
      generateQa: true,
      format: settings.format,
      splits: settings.splits.map((s) => ({ name: s.name, path: splitFile(s.name), rows: splitRows[s.name] ?? 0 })),
      chunksRows: 0,
      rejectedRows: rejected.rows,
      errorRows: stats.documents.failed,
      documents: stats.documents.discovered,
      loaded: stats.documents.loaded,
      failedByReason: stats.documents.failedByReason,
      rejectedByReason,
      ...(qualityFigures ? { quality: qualityFigures } : {}),
      generator: settings.generatorId,
      ...(output.llmLine ? { llmLine: output.llmLine } : {}),
      license: settings.license,
      review: review.tally,
      settingsTable: settingsTable(settings, settings.generatorId, stats.input.globs),
    });
    const cardFile = await stageFile(out(OUTPUT_FILES.card), card);
    staged.push(cardFile);

    // stats.json as the run wrote it (timings, versions, workflow ids), with the counts the
    // review changed and a `review` section after `quality`, where the export stage puts it.
    const newStats: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(output.rawStats)) {
      if (key === 'review') continue;
      if (key === 'pairs') {
        newStats.pairs = { ...stats.pairs, passed, rejected: rejected.rows, rejectedByReason, splits: splitRows };
      } else if (key === 'quality') {
        newStats.quality = qualityFigures;
      } else if (key === 'files') {
        newStats.files = { ...files, [OUTPUT_FILES.card]: { sha256: cardFile.sha256 } };
      } else {
        newStats[key] = value;
      }
      if (key === (stats.quality ? 'quality' : 'pairs')) newStats.review = review.tally;
    }
    const statsFile = await stageFile(out(OUTPUT_FILES.stats), `${JSON.stringify(newStats, null, 2)}\n`);
    // The decisions first: a crash before the commit leaves the old output with the new
    // decisions, which the next apply or run repairs.
    await writeDecisions(outDir, decisions);
    await commitStaged(outDir, staged, remove, statsFile);
    return { tally: review.tally, passed, rejected: rejected.rows };
  } catch (err) {
    await Promise.all(writers.map((w) => w.abort()));
    await discardStaged(staged);
    throw err;
  }
}

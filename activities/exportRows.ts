/**
 * Row shapes of the files we write, one function per training format. Every row of a file has
 * the same keys in the same order with the same types: `datasets` infers nothing from a row
 * that could differ in the next.
 */
import { RowMeta, type Chunk, type ChunkRow, type ErrorRow, type QaRow, type RejectedRow, type ShardPair, type TrainingFormat } from '../schemas/index.js';
import { sha256Hex } from './storage.js';

/** Lone surrogates cannot be encoded as UTF-8; repair them rather than write invalid text. */
export function wellFormed(s: string): string {
  return s.isWellFormed() ? s : s.toWellFormed();
}

/** A pair's id: derived from where it comes from and what it says, never random. */
export function pairId(source: string, ordinal: number, p: ShardPair): string {
  return sha256Hex(`${source}\u0000${p.chunkId}\u0000${ordinal}\u0000${p.question}\u0000${p.answer}`).slice(0, 16);
}

/** A shard's pair as a row (the text made well-formed), before the training format shapes it. */
export function qaRow(id: string, source: string, p: ShardPair): QaRow {
  return {
    id,
    question: wellFormed(p.question),
    answer: wellFormed(p.answer),
    source: wellFormed(source),
    chunk_id: p.chunkId,
    char_start: p.charStart,
    char_end: p.charEnd,
    page_start: p.pageStart,
    page_end: p.pageEnd,
    answer_start: p.answerStart,
    answer_end: p.answerEnd,
    question_type: p.questionForm,
    generator: p.generator,
  };
}

/** A chunk's row of a run without --generate-qa. */
export function chunkRow(source: string, c: Chunk): ChunkRow {
  return {
    id: sha256Hex(`${source}\u0000${c.chunkId}`).slice(0, 16),
    text: wellFormed(c.text),
    source: wellFormed(source),
    chunk_id: c.chunkId,
    char_start: c.charStart,
    char_end: c.charEnd,
    page_start: c.pageStart ?? 0,
    page_end: c.pageEnd ?? 0,
  };
}

export function errorRow(source: string, row: Omit<ErrorRow, 'source'>): ErrorRow {
  return { source: wellFormed(source), stage: row.stage, reason: row.reason, detail: wellFormed(row.detail) };
}

/**
 * `edited` is given for every row of a reviewed output (<out>/review/decisions.jsonl exists) and
 * for none otherwise: the column is there for all rows or for no row.
 */
export function trainingRow(format: TrainingFormat, r: QaRow, edited?: boolean): Record<string, unknown> {
  const row = formatRow(format, r);
  return edited === undefined ? row : { ...row, edited };
}

const META_KEYS = Object.keys(RowMeta) as Array<keyof RowMeta>;

/** Where a pair comes from, in the column order schemas/index.ts RowMeta gives. */
function rowMeta(r: QaRow): RowMeta {
  return Object.fromEntries(META_KEYS.map((k) => [k, r[k]])) as RowMeta;
}

function formatRow(format: TrainingFormat, r: QaRow): Record<string, unknown> {
  const meta = rowMeta(r);
  switch (format) {
    case 'qa':
      return { id: r.id, question: r.question, answer: r.answer, ...meta };
    case 'messages':
      // The conversational shape TRL's SFTTrainer and LLaMA-Factory's sharegpt loader take.
      return {
        id: r.id,
        messages: [
          { role: 'user', content: r.question },
          { role: 'assistant', content: r.answer },
        ],
        ...meta,
      };
    case 'alpaca':
      return { id: r.id, instruction: r.question, input: '', output: r.answer, ...meta };
    case 'prompt-completion':
      return { id: r.id, prompt: r.question, completion: r.answer, ...meta };
  }
}

export function rejectedRow(r: RejectedRow): RejectedRow {
  return {
    id: r.id,
    question: r.question,
    answer: r.answer,
    ...rowMeta(r),
    reason: r.reason,
    reasons: r.reasons,
    detail: r.detail,
    duplicate_of: r.duplicate_of,
  };
}

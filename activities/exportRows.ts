/**
 * Row shapes of the files we write, one function per training format. Every row of a file has
 * the same keys in the same order with the same types: `datasets` infers nothing from a row
 * that could differ in the next.
 */
import { RowMeta, type QaRow, type RejectedRow, type TrainingFormat } from '../schemas/index.js';

/** Lone surrogates cannot be encoded as UTF-8; repair them rather than write invalid text. */
export function wellFormed(s: string): string {
  return s.isWellFormed() ? s : s.toWellFormed();
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

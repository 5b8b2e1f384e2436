/**
 * Reading what a model wrote, kept apart from asking (llm.ts), as distilabel keeps a step's
 * prompt building apart from its reply parsing. Replies must be JSON of a known shape (zod);
 * these functions say precisely what is wrong when they are not, and keep what can be kept:
 * the complete pairs of a reply cut off at the token limit, the scores a judge did give.
 */
import { z } from 'zod';
import type { CandidatePair } from '../types.js';

/**
 * Names of the reply shapes, in every request's journal key. The pairs shape only gained an
 * optional `quote`, which qa-v1 never asks for: the name stays, so qa-v1's journal entries stay
 * valid (a template that asks for quotes is in the key already, by name and by its words).
 */
export const PAIRS_SCHEMA = 'pairs-v1';
export const SCORES_SCHEMA = 'scores-v1';

/**
 * A supporting quote as models write it: a string, or its sentences as a list, joined with a
 * space (locating it in the chunk, exactly or nearly, is validation's job). Anything else is no
 * quote rather than a bad reply: a pair without one is still kept.
 */
function toQuote(v: unknown): string | undefined {
  const parts = typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : [];
  const quote = parts.map((p) => p.trim()).filter(Boolean).join(' ');
  return quote === '' ? undefined : quote;
}

/** "How many…?" and yes/no questions draw numbers and booleans: they are answers, not errors. */
const Answer = z.union([z.string(), z.number().transform(String), z.boolean().transform((b) => (b ? 'Yes' : 'No'))]);

const Pair = z
  .object({ question: z.string(), answer: Answer, quote: z.unknown().optional() })
  .transform(({ question, answer, quote }): CandidatePair => {
    const q = toQuote(quote);
    return { question, answer, ...(q ? { quote: q } : {}) };
  });
export const PairsReply = z.object({ pairs: z.array(Pair) });

const Score = z.object({
  index: z.number().int(),
  groundedness: z.number().min(1).max(5),
  usefulness: z.number().min(1).max(5),
});
const ScoresShape = z.object({ scores: z.array(z.unknown()) });
export type Score = z.infer<typeof Score>;

/** The JSON value in a reply: tolerates code fences and text around one object. */
export function extractJson(text: string): unknown {
  const t = text.trim().replace(/^```(?:json)?\s*\n?/i, '').replace(/\n?```\s*$/, '').trim();
  if (t === '') throw new Error('the reply is empty');
  try {
    return JSON.parse(t);
  } catch (first) {
    const start = t.indexOf('{');
    const end = t.lastIndexOf('}');
    if (start >= 0 && end > start) {
      try {
        return JSON.parse(t.slice(start, end + 1));
      } catch {
        // fall through to the first error, which describes the whole reply
      }
    }
    throw new Error(`the reply is not valid JSON (${(first as Error).message})`);
  }
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function parseReply<T>(text: string, schema: z.ZodType<T>): Parsed<T> {
  let json: unknown;
  try {
    json = extractJson(text);
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  const r = schema.safeParse(json);
  if (!r.success) return { ok: false, error: `the JSON does not have the expected shape: ${z.prettifyError(r.error).replace(/\s*\n\s*/g, '; ')}` };
  return { ok: true, value: r.data };
}

export function cleanPairs(pairs: CandidatePair[], max: number): CandidatePair[] {
  return pairs.map((p) => ({ question: p.question.trim(), answer: p.answer.trim(), ...(p.quote ? { quote: p.quote } : {}) })).slice(0, max);
}

/**
 * The complete {"question", "answer", "quote"?} objects at the start of a reply that was cut off: scans
 * the text for balanced objects (minding strings and escapes) and keeps those that parse as a
 * pair. A half-written last object is dropped, never guessed at.
 */
export function salvagePairs(text: string): CandidatePair[] {
  const open = /"pairs"\s*:\s*\[/.exec(text);
  if (!open) return [];
  const out: CandidatePair[] = [];
  let i = open.index + open[0].length;
  while (i < text.length) {
    const start = text.indexOf('{', i);
    if (start < 0) break;
    const end = objectEnd(text, start);
    if (end < 0) break; // cut off inside this object
    try {
      const p = Pair.safeParse(JSON.parse(text.slice(start, end + 1)));
      if (p.success) out.push(p.data);
    } catch {
      // not JSON after all: skip it
    }
    i = end + 1;
  }
  return out;
}

/** Index of the `}` closing the object that opens at `start`, or -1 if the text ends first. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/**
 * A judge's scores, keeping every well-formed entry for an index it was asked about: one bad or
 * missing entry must not cost the other pairs their scores. `ok: false` only when the reply
 * holds no scores list at all.
 */
export function parseScores(text: string, count: number): Parsed<Map<number, Score>> {
  const shape = parseReply(text, ScoresShape);
  if (!shape.ok) return shape;
  const scores = new Map<number, Score>();
  for (const entry of shape.value.scores) {
    const s = Score.safeParse(entry);
    if (s.success && s.data.index >= 1 && s.data.index <= count && !scores.has(s.data.index)) scores.set(s.data.index, s.data);
  }
  return { ok: true, value: scores };
}

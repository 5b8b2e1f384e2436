/**
 * What a question asks for, read from its wording alone, so the built-in generator's and an
 * LLM's pairs are counted the same way in stats.json.
 */
import type { QuestionForm } from '../schemas/index.js';

const YES_NO = /^(?:is|are|was|were|am|do|does|did|can|could|should|would|will|shall|may|might|must|has|have|had|isn't|aren't|doesn't|don't|can't)\b/;
const COMPARISON = /\b(?:difference between|differ(?:s|ent)? from|compared? (?:to|with)|versus|vs\.?|rather than|instead of|better than|faster than|more \w+ than|less \w+ than)\b/;

export function questionForm(question: string): QuestionForm {
  const q = question.trim().toLowerCase().replace(/^[“"'‘(]+/, '');
  // "In Python's logging module, what is …?": the form is that of the clause after the frame.
  const clause = /^(?:in|for|according to|within|under|on|with|when using|at)\b[^,?]{0,80},\s*(.+)$/.exec(q)?.[1] ?? q;
  if (COMPARISON.test(clause)) return 'comparison';
  if (/^how (?:many|much)\b/.test(clause)) return 'how_many';
  for (const w of ['what', 'which', 'who', 'when', 'where', 'why', 'how'] as const) {
    if (new RegExp(`^${w}\\b`).test(clause)) return w;
  }
  if (/^(?:whom|whose)\b/.test(clause)) return 'who';
  if (YES_NO.test(clause)) return 'yes_no';
  // "In what year …", "To which …": a wh-word soon after a preposition.
  const wh = /^\S+(?:\s+\S+)?\s+(what|which|who|whom|whose|when|where|why|how)\b/.exec(clause)?.[1];
  if (wh) return wh === 'whom' || wh === 'whose' ? 'who' : (wh as QuestionForm);
  return 'other';
}

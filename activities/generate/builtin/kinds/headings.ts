/**
 * Headings that name a subject: a question heading ("What is Bash?", "Why fflate?") or a
 * task heading ("Installing from source" → "How do you install Bash from source?"), answered by
 * the numbered steps or the first sentences under it. Other headings ("Note", "Constructor",
 * an author's name) give nothing: they are labels, not subjects.
 */
import { sentenceAnswer, spanAnswer, type Answer } from '../answers.js';
import { words, type Block } from '../blocks.js';
import { framed, type Frame } from '../frame.js';
import { sentencesIn } from '../sentences.js';
import { pointsOutside } from '../subjects.js';
import type { Candidate } from './types.js';

const MAX_ANSWER = 420;
const QUESTION_WORD = /^(?:what|which|who|when|where|why|how|is|are|does|do|can|should|will)\b/i;
const TASKS: Record<string, string> = {
  Installing: 'install', Using: 'use', Configuring: 'configure', Creating: 'create', Running: 'run', Building: 'build',
  Writing: 'write', Reading: 'read', Handling: 'handle', Defining: 'define', Sorting: 'sort', Adding: 'add',
  Removing: 'remove', Converting: 'convert', Parsing: 'parse', Customizing: 'customize', Customising: 'customise',
  Controlling: 'control', Changing: 'change', Raising: 'raise', Catching: 'catch', Compiling: 'compile',
  Upgrading: 'upgrade', Migrating: 'migrate', Testing: 'test', Debugging: 'debug', Deploying: 'deploy', Importing: 'import',
};
// Sentences that talk about the document instead of the subject.
const META = /^(?:This (?:section|chapter|page|document)|The following|Here|See|Below|Above|In this|Let's|Let us|Now|It is (?:also )?possible)\b/;
// A sentence that points at an example or list the answer does not hold.
const POINTS_AWAY = /\b(?:the following|following example|look at|below|above)\b/i;

function cleanHeading(h: string): string {
  return h.replace(/^(?:\d+(?:\.\d+)*\.?|[A-Z]\.\d+(?:\.\d+)*)\s+/, '').replace(/\s*¶$/, '').trim();
}

/** "How do you install Bash from source?" from "Installing from source", or undefined. */
function taskQuestion(heading: string, frame: Frame | undefined): { core: string; subject: string } | undefined {
  const w = words(heading);
  if (/^(?:Installation|Install)$/i.test(heading)) {
    return frame && !/`|license/i.test(frame.phrase) ? { core: `How do you install ${frame.phrase}`, subject: frame.phrase } : undefined;
  }
  const verb = TASKS[w[0]!];
  const rest = w.slice(1).join(' ');
  // "Raising and Handling Multiple Exceptions": two tasks, and only the first would be conjugated.
  if (!verb || w.length > 7 || pointsOutside(rest) || /[():`]/.test(rest) || /\b(?:and|or)\s+\p{L}+ing\b/iu.test(rest)) return undefined;
  const lower = rest.replace(/\b\p{Lu}\p{Ll}+\b/gu, (x) => x.toLowerCase());
  if (!rest || /^(?:from|on|with|via|in|under|for|behind)\b/.test(rest)) {
    return frame && !/license/i.test(frame.phrase) ? { core: `How do you ${verb} ${frame.phrase}${rest ? ` ${rest}` : ''}`, subject: frame.phrase } : undefined;
  }
  return { core: `How do you ${verb} ${lower}`, subject: lower };
}

/** The steps under a heading (numbered items), or its first one or two sentences. */
function answerUnder(text: string, blocks: Block[], i: number): Answer | undefined {
  const next = blocks[i + 1];
  if (next?.kind === 'item' && next.numbered) {
    let j = i + 1;
    while (blocks[j]?.kind === 'item') j++;
    return j - i - 1 >= 2 && j < blocks.length ? spanAnswer(text, next.start, blocks[j - 1]!.end) : undefined;
  }
  if (next?.kind !== 'prose') return undefined;
  const sents = sentencesIn(text, next.start, next.end);
  const [first, second] = sents;
  if (!first || META.test(first.text) || POINTS_AWAY.test(first.text) || words(first.text).length < 4) return undefined;
  if (second && second.end - first.start <= MAX_ANSWER && !second.text.endsWith(':') && !first.text.endsWith(':') && !POINTS_AWAY.test(second.text)) {
    return spanAnswer(text, first.start, second.end);
  }
  return first.end - first.start <= MAX_ANSWER * 1.5 ? sentenceAnswer(text, first, blocks, i + 1, sents.length === 1) : undefined;
}

// A tagline under a product's name: "Next generation testing framework powered by Vite."
const TAGLINE = /^(?:An?\s|The\s)?[\p{Lu}\p{Ll}][^.!?:;]{10,160}\.$/u;
const FINITE_VERB = /\b(?:is|are|was|were|has|have|can|will|does|do|you|we|it|this)\b/i;

/** "What is vitest?" from the title heading and the noun-phrase line under it. */
function tagline(text: string, blocks: Block[], i: number, frame: Frame | undefined): Candidate | undefined {
  const next = blocks[i + 1];
  if (!frame || next?.kind !== 'prose' || /[`—]/.test(frame.phrase) || /^the\s/i.test(frame.phrase)) return undefined;
  const first = sentencesIn(text, next.start, next.end)[0];
  if (!first || !TAGLINE.test(first.text) || FINITE_VERB.test(first.text)) return undefined;
  const answer = spanAnswer(text, first.start, first.end);
  return answer ? { kind: 'tagline', question: `What is ${frame.phrase}?`, answer, priority: 96 } : undefined;
}

export function headingQuestions(text: string, blocks: Block[], frame: Frame | undefined, title: string | undefined): Candidate[] {
  const out: Candidate[] = [];
  blocks.forEach((b, i) => {
    if (b.kind !== 'heading') return;
    if (title && b.text.trim() === title.trim() && frame?.phrase === title.trim()) {
      const t = tagline(text, blocks, i, frame);
      if (t) out.push(t);
      return;
    }
    const h = cleanHeading(b.text);
    let q: string | undefined;
    if (h.endsWith('?') && QUESTION_WORD.test(h) && !/^What about\b/i.test(h) && !pointsOutside(h) && !/\b(?:I|me|my)\b/.test(h.replace(/^How do I\b/, ''))) {
      q = framed(h.slice(0, -1).replace(/^How do I\b/, 'How do you'), h, frame);
    } else {
      const t = taskQuestion(h, frame);
      q = t && framed(t.core, t.subject, frame);
    }
    const answer = q ? answerUnder(text, blocks, i) : undefined;
    if (q && answer) out.push({ kind: /^How do you/.test(q) ? 'how' : 'heading', question: q, answer, priority: 90 });
  });
  return out;
}

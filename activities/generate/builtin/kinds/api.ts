/**
 * API reference entries (Python's library docs and the like): a signature line, then its
 * description. "debug(msg, *args)" / "Logs a message with level DEBUG …" under "Logger Objects"
 * → "In Python's `logging` module, what does `Logger.debug()` do?"; a following
 * "New in version 3.2." → "… when was `Logger.debug()` added?".
 */
import { sentenceAnswer, spanAnswer } from '../answers.js';
import { words, type Block } from '../blocks.js';
import { framed, type Frame } from '../frame.js';
import { sentencesIn } from '../sentences.js';
import { pointsOutside } from '../subjects.js';
import type { Candidate } from './types.js';

const MAX_DESCRIPTION = 320;
const KEYWORDS = /^(?:(?:class|exception|classmethod|staticmethod|abstractmethod|async|await|coroutine|property|method|function)\s+)+/;
// "New in version 3.2." alone: the entry was added then. "New in version 3.6: Added the fold
// argument." is about the argument, and says so.
const VERSION_NOTE = /^(?:(?<what>New|Added) in version \d+(?:\.\d+)*\.$|(?<gone>Deprecated|Removed) since version \d+(?:\.\d+)*[.:])/;
const ADDED_PART = /^(?:New|Changed) in version \d+(?:\.\d+)*: Added (?<part>(?:the |support for |an? )?[^.,;:()]{3,50}?)\.$/;
// A description that opens on its own subject ("Markdown support is deprecated.") is not what the call does.
const NOT_AN_ACTION = /^(?:\S+\s){0,3}(?:is|are|was|were|has|have|will|can|may|should)\b/;

/** `Logger.debug()` from "debug(msg, *args)" under "Logger Objects"; `csvwriter.dialect` as is. */
function apiName(signature: string, section: string[] | undefined): { name: string; isClass: boolean } | undefined {
  const isClass = /^(?:class|exception)\s/.test(signature);
  const bare = signature.replace(KEYWORDS, '');
  const m = /^([A-Za-z_][\w.]*)(\()?/.exec(bare);
  if (!m || m[1]!.length < 2) return undefined;
  let name = m[1]!;
  const owner = /^(\w+) Objects$/.exec(section?.at(-1) ?? '')?.[1];
  if (!isClass && owner && !name.includes('.')) name = `${owner}.${name}`;
  return { name: `\`${name}${m[2] && !isClass ? '()' : ''}\``, isClass };
}

const MAX_REVERSE_WORDS = 18;
// Openers that are not the entry's verb ("By default, …", "Like …").
// Determiners, prepositions and nouns that open a description in manuals' option lists ("The
// maximum size …", "Without a numeric argument, …", "Names of …") are no verb either.
const NOT_VERBS = new Set(
  ('By In If When For On At As With To Given Unlike Like Note Since After Before Once While Although Unless Only Also Both Each Every Some Any All Most Many This That These Those It Its There Here Special Subclass Deprecated Changed New Added Exactly Similar Equivalent Same ' +
    'The A An Without From Into Within Except Otherwise No None Either Neither Whether Maximum Minimum Default Current Names Name Number').split(' '),
);
// "Conditionally …", "Simply …": an adverb, not the verb (these few verbs end in -ly too).
const LY_VERBS = new Set(['Apply', 'Reply', 'Supply', 'Multiply', 'Comply', 'Rely']);

/** "Return the base name …" → "returns the base name …"; "Logs a message …" → "logs a message …". */
export function thirdPerson(sentence: string): string | undefined {
  const m = /^([A-Z][a-z]+)( (?:a|an|the|[a-z][\w-]*)\b.*)\.$/.exec(sentence);
  if (!m || NOT_VERBS.has(m[1]!) || (/ly$/.test(m[1]!) && !LY_VERBS.has(m[1]!))) return undefined;
  const v = m[1]!.toLowerCase();
  const verb = /[^s]s$/.test(v) ? v : /(?:s|sh|ch|x|z)$/.test(v) ? `${v}es` : /[^aeiou]y$/.test(v) ? `${v.slice(0, -1)}ies` : `${v}s`;
  // "Analyze the sample and return a subclass" → "analyzes … and returns …".
  const rest = m[2]!.replace(/\b(and|or) (return|set|raise|make|create|add|remove|call|yield|close|open|write|read|apply|reset|update|append|insert|wait|send|store|execute|print|display|redraw|save|restore|move)\b/g, (_, c: string, w: string) => `${c} ${w === 'apply' ? 'applies' : /(?:s|sh|ch|x|z)$/.test(w) ? `${w}es` : `${w}s`}`);
  return `${verb}${rest}`;
}

/**
 * The entry asked the other way round: "Which function in the `os.path` module returns the base
 * name of pathname path?" → the signature line. Only for a short first sentence that starts with
 * the verb and points nowhere else ("on this logger").
 */
function reverse(text: string, sig: Block, description: string, api: { name: string; isClass: boolean }, frame: Frame | undefined): Candidate | undefined {
  const does = thirdPerson(description);
  // "Which function always returns None?" fits many entries: the description must be specific.
  if (!frame || api.isClass || !api.name.endsWith('()`') || !does || words(description).length > MAX_REVERSE_WORDS || words(description).length < 6) return undefined;
  if (pointsOutside(does) || /\b(?:self|above|below|see)\b/.test(does) || /[;:]|\.\s/.test(does)) return undefined;
  const answer = spanAnswer(text, sig.start, sig.end, { statement: false });
  if (!answer) return undefined;
  const what = /^`\p{Lu}\w*\./u.test(api.name) ? 'method' : 'function';
  return { kind: 'which', question: `Which ${what} in ${frame.phrase} ${does}?`, answer, priority: 96 };
}

export function apiEntries(text: string, blocks: Block[], frame: Frame | undefined, section: string[] | undefined): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < blocks.length; i++) {
    if (blocks[i]!.kind !== 'signature') continue;
    const api = apiName(blocks[i]!.text, section);
    if (!api) continue;
    // The description runs until the next signature or heading.
    for (let j = i + 1; j < blocks.length && blocks[j]!.kind !== 'signature' && blocks[j]!.kind !== 'heading'; j++) {
      const b = blocks[j]!;
      if (b.kind !== 'prose') continue;
      const note = VERSION_NOTE.exec(b.text)?.groups;
      const part = ADDED_PART.exec(b.text)?.groups?.part;
      if (note || part) {
        const first = sentencesIn(text, b.start, b.end)[0];
        const answer = first && spanAnswer(text, first.start, first.end);
        const core = part
          ? `When was ${part.replace(/^The\b/, 'the')} added to ${api.name}`
          : `When was ${api.name} ${note!.gone ? note!.gone.toLowerCase() : 'added'}`;
        const question = answer && framed(core, api.name, frame);
        if (question) out.push({ kind: 'when', question, answer, priority: 92 });
        continue;
      }
      if (j !== i + 1) continue; // only the first paragraph describes the entry
      const sents = sentencesIn(text, b.start, b.end);
      const [first, second] = sents;
      // A paragraph that opens on "With this pattern, …" or "If …" is a note, not the description.
      if (!first || !/^[\p{Lu}]/u.test(first.text) || /^(?:If|When|See|Note|For|In|This is|It|With|As|Unlike)\b/.test(first.text)) continue;
      if (pointsOutside(words(first.text).slice(0, 5).join(' ').replace(/^This (?:method|function|class)\b/, ''))) continue;
      const secondOk = second && second.end - first.start <= MAX_DESCRIPTION && !second.text.endsWith(':') && !/\bfollowing\b/.test(second.text);
      const end = secondOk ? second.end : first.end;
      const answer = end === first.end ? sentenceAnswer(text, first, blocks, j, sents.length === 1) : spanAnswer(text, first.start, end);
      if (!answer) continue;
      // "A read-only description …" defines a thing; "Logs a message …" says what a call does.
      const defines = /^(?:A|An|The|This class)\s/.test(first.text);
      // An attribute or a heading-like name ("prefix_chars") is only asked about when defined.
      if (!api.isClass && !api.name.endsWith('()`') && !defines) continue;
      if (!defines && NOT_AN_ACTION.test(first.text)) continue;
      const isThing = api.isClass || defines;
      const core = isThing ? `What is ${api.name}` : `What does ${api.name} do`;
      const question = framed(core, api.name, frame);
      if (question) out.push({ kind: 'api', question, answer, priority: 95, group: blocks[i]!.start });
      const back = !isThing ? reverse(text, blocks[i]!, first.text, api, frame) : undefined;
      if (back) out.push({ ...back, group: blocks[i]!.start });
    }
  }
  return out;
}

/**
 * API reference entries (Python's library docs and the like): a signature line, then its
 * description. "debug(msg, *args)" / "Logs a message with level DEBUG …" under "Logger Objects"
 * → "In Python's `logging` module, what does `Logger.debug()` do?"; a following
 * "New in version 3.2." → "… when was `Logger.debug()` added?".
 */
import { sentenceAnswer, spanAnswer } from '../answers.js';
import type { Block } from '../blocks.js';
import { framed, type Frame } from '../frame.js';
import { sentencesIn } from '../sentences.js';
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
      if (!first || !/^[\p{Lu}]/u.test(first.text) || /^(?:If|When|See|Note|For|In|This is|It)\b/.test(first.text)) continue;
      const end = second && second.end - first.start <= MAX_DESCRIPTION && !second.text.endsWith(':') ? second.end : first.end;
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
      if (question) out.push({ kind: 'api', question, answer, priority: 95 });
    }
  }
  return out;
}

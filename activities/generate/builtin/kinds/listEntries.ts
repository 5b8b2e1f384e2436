/**
 * Definition lists of reference manuals, printed as one paragraph per entry, term first:
 * a builtin's options ("-c Clears the directory stack …" under `dirs`) and Readline's bindable
 * commands ("kill-line (C-k) Kill the text from point to the end of the line."). An entry is
 * asked by what it does, "Which option of `dirs` in Bash clears …?" (the term answers), or when
 * that does not read as a question, "In Bash, what does the `-c` option of `dirs` do?" (the
 * description's first sentence answers). Settings ("autocd If set, …" under `shopt`, Readline's
 * variables) are asked the same two ways. These lists hold much of a manual and gave no pair
 * before: their paragraphs open on a term, not on a subject a sentence kind could read.
 */
import { spanAnswer } from '../answers.js';
import { words, type Block } from '../blocks.js';
import { framed, type Frame } from '../frame.js';
import { sentencesIn } from '../sentences.js';
import { baseVerb, pointsOutside } from '../subjects.js';
import { thirdPerson } from './api.js';
import type { Candidate } from './types.js';

// "-c Clears …", "-f filename Read key bindings from filename.", "+N Displays …", "--posix Change …".
const OPTION = /^(?<opt>[-+][A-Za-z]|--[a-z][\w-]{1,30})(?<arg>\s[a-z][\w-]{0,20})?\s+(?=[A-Z][a-z]+\s)/;
// "kill-line (C-k) Kill …", "dump-macros () Print …": a hyphenated name and its default keys.
const READLINE_COMMAND = /^(?<name>[a-z][a-z0-9]*(?:-[a-z0-9]+)+)\s\((?<keys>[^()\n]{0,30})\)\s+(?=[A-Z][a-z]+\s)/;
// "autocd If set, a command name …", "disable-completion If set to ‘On’, Readline will …",
// "editing-mode The editing-mode variable controls …": a setting, then what it does.
const SETTING = /^(?<name>[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*)\s+(?=(?:If|When) (?:set|enabled|this (?:is|variable is) set)\b|The (?<again>[a-z][\w-]*) (?:variable|option)\b)/;
// "If set to ‘on’, Readline displays …": the setting's effect said of the program itself.
const SETTING_EFFECT = /^(?:If|When) (?:this is )?(?:set|enabled)(?: to ‘[Oo]n’)?(?: \(the default\))?, (?<subj>Bash|Readline|the shell) (?:(?<will>will) )?(?<v>[a-z]{3,})(?<rest> [^,;:()]{3,120})\.$/;
// The entry that owns an option list: the builtin's name alone ("dirs") or with its synopsis
// ("ulimit ulimit [-HS] -a …"), or a section titled for it ("4.3.2 The Shopt Builtin").
const OWNER_LINE = /^(?<name>[a-z][\w-]{1,20})(?:$| \k<name>\b)/;
const OWNER_HEADING = /^(?:\d+(?:\.\d+)*\.?\s+)?The (?<name>\w+) Builtin$/i;
const MIN_DOES_WORDS = 3;
const MAX_DOES_WORDS = 20;

/** The name the option list under `at` belongs to, looking back to the nearest heading. */
function ownerOf(blocks: Block[], at: number, section: string[] | undefined): string | undefined {
  for (let i = at - 1; i >= 0; i--) {
    const b = blocks[i]!;
    if (b.kind === 'heading') return OWNER_HEADING.exec(b.text)?.groups?.name?.toLowerCase();
    if (b.kind !== 'prose' || OPTION.test(b.text)) continue;
    const name = OWNER_LINE.exec(b.text)?.groups?.name;
    if (name) return name;
  }
  return OWNER_HEADING.exec(section?.at(-1) ?? '')?.groups?.name?.toLowerCase();
}

/** The description's first sentence, said of a subject ("clears the directory stack …"), if it can be. */
function doesClause(description: string): string | undefined {
  const does = thirdPerson(description);
  if (!does || words(does).length < MIN_DOES_WORDS || words(does).length > MAX_DOES_WORDS) return undefined;
  // A clause that points back ("this option"), holds a second sentence or a list cannot stand in a question.
  if (pointsOutside(does) || /[;:]|\.\s/.test(does)) return undefined;
  return does;
}

interface Entry {
  block: Block;
  termEnd: number; // end of the term (UTF-16 index into the chunk)
  bodyStart: number;
}

function ask(text: string, e: Entry, what: string, which: string | undefined): Candidate[] {
  const first = sentencesIn(text, e.bodyStart, e.block.end)[0];
  const answer = first && spanAnswer(text, first.start, first.end);
  // A description that opens on its verb ("Clears …", "Kill …") says what the entry does; "The
  // maximum socket buffer size." under `ulimit -b` names what it sets, which "what does … do" misreads.
  if (!first || !answer || !thirdPerson(first.text)) return [];
  // Asked by what it does when that reads as a question: the name is the answer worth learning,
  // and reference pages already give many "What does … do?" pairs.
  const does = doesClause(first.text);
  const term = spanAnswer(text, e.block.start, e.termEnd, { statement: false });
  if (which && does && term) return [{ kind: 'which', question: `${which} ${does}?`, answer: term, priority: 79 }];
  return [{ kind: 'glossary', question: what, answer, priority: 77 }];
}

export function listEntries(text: string, blocks: Block[], frame: Frame | undefined, section: string[] | undefined): Candidate[] {
  const out: Candidate[] = [];
  const readline = /\bReadline Commands\b|^Commands For\b|\bKilling And Yanking\b|\bKeyboard Macros\b/i.test(section?.join(' / ') ?? '');
  const readlineVariables = /\bReadline Init File\b/i.test(section?.join(' / ') ?? '');
  blocks.forEach((b, i) => {
    if (b.kind !== 'prose') return;
    // Matched on the chunk's own text, so the offsets are those of the span.
    const raw = text.slice(b.start, b.end);
    const r = readline ? READLINE_COMMAND.exec(raw) : null;
    if (r) {
      const name = `\`${r.groups!.name}\``;
      const what = framed(`What does the Readline command ${name} do`, name, frame);
      const which = frame && `Which Readline command in ${frame.phrase}`;
      if (what) out.push(...ask(text, { block: b, termEnd: b.start + r.groups!.name!.length, bodyStart: b.start + r[0].length }, what, which));
      return;
    }
    const st = SETTING.exec(raw);
    if (st && (st.groups!.again === undefined || st.groups!.again === st.groups!.name)) {
      const owner = readlineVariables ? undefined : ownerOf(blocks, i, section);
      const name = `\`${st.groups!.name}\``;
      const core = readlineVariables ? `What does the Readline variable ${name} do` : owner ? `What does the ${name} option of \`${owner}\` do` : undefined;
      const what = core && framed(core, name, frame);
      const first = what && sentencesIn(text, b.start + st[0].length, b.end)[0];
      const answer = first && spanAnswer(text, first.start, first.end);
      if (!what || !first || !answer) return;
      // Like an option, asked by what it does when the sentence says it plainly ("If set, Bash
      // checks …" → "… makes Bash check …"); else by its name, answered by its first sentence.
      const label = readlineVariables ? 'Readline variable' : `option of \`${owner}\``;
      const effect = SETTING_EFFECT.exec(first.text)?.groups;
      const base = effect && (effect.will ? effect.v! : /[^s]s$/.test(effect.v!) ? baseVerb(effect.v!) : undefined);
      const nameAnswer = spanAnswer(text, b.start, b.start + st.groups!.name!.length, { statement: false });
      const clause = base && `${effect!.subj} ${base}${effect!.rest}`;
      if (frame && clause && nameAnswer && words(clause).length <= MAX_DOES_WORDS + 2 && !pointsOutside(clause)) {
        out.push({ kind: 'which', question: `Which ${label} in ${frame.phrase} makes ${clause}?`, answer: nameAnswer, priority: 79 });
      } else out.push({ kind: 'glossary', question: what, answer, priority: 77 });
      return;
    }
    const o = OPTION.exec(raw);
    if (!o) return;
    const owner = ownerOf(blocks, i, section);
    if (!owner) return;
    const opt = o.groups!.opt!;
    const arg = o.groups!.arg?.trim();
    const body = raw.slice(o[0].length);
    // "-f filename Read key bindings from filename.": the argument is part of the answer when the description uses it.
    const withArg = arg !== undefined && new RegExp(`\\b${arg}\\b`).test(body);
    const termEnd = b.start + (withArg ? o[0].trimEnd().length : opt.length);
    const bodyStart = b.start + o[0].length;
    const what = framed(`What does the \`${opt}\` option of \`${owner}\` do`, `\`${opt}\``, frame);
    const which = frame && `Which option of \`${owner}\` in ${frame.phrase}`;
    if (what) out.push(...ask(text, { block: b, termEnd, bodyStart }, what, which));
  });
  return out;
}

/**
 * The built-in QA generator: deterministic, offline, pattern based.
 *
 * It reads a chunk as blocks (headings, prose, list items; code, tables and bare URLs are
 * dropped), splits prose into sentences, and matches a handful of patterns that reliably
 * yield a question whose answer is a verbatim (whitespace-collapsed) span of the chunk:
 * definitions, "X is a Y", lists with an intro line, dates and counts, and headings with the
 * sentences under them. It prefers emitting nothing to emitting an awkward question.
 */
import type { Chunk } from '../../schemas/index.js';
import type { CandidatePair } from '../types.js';
import { normalizeQuestion } from '../validate.js';
import type { ChunkGeneration, Generator } from './contract.js';

export const builtinGenerator: Generator = {
  id: 'builtin-v1',
  concurrent: false,
  async generateChunk(chunk: Chunk, ctx: { maxPairs: number }): Promise<ChunkGeneration> {
    return { pairs: generatePairs(chunk.text, chunk.heading, ctx.maxPairs) };
  },
};

// ---------------------------------------------------------------------------------------------
// Blocks

type Block =
  | { kind: 'heading'; text: string }
  | { kind: 'prose'; text: string }
  | { kind: 'item'; text: string; numbered: boolean }
  | { kind: 'skip' }; // code, table, URL: breaks adjacency (a list does not continue across it)

const LIST_MARKER = /^(?:[-*•+]|(\d{1,3})[.)]|[a-z][.)]|\((?:\d{1,3}|[a-z]{1,4})\))\s+/;
const URL_ONLY = /^<?(?:https?:\/\/|www\.)\S+>?$/;
const TABLE_ROW = /(?:^\||\|$|\S\s\|\s\S|^[-:| ]{3,}$)/;
const CODE_START =
  /^(?:\$ |#!|\/\/|\/\*|\*\/|(?:import|export|const|let|var|function|return|class|def|npm|npx|yarn|pnpm|pip|git|cd|sudo|curl|apt|apt-get|node)\s)/;
// A bare trailing ";" is common in legal lists ("(a) …;"), so only ");" counts as code.
const CODE_SIGNS = /[{}]\s*$|\);\s*$|^[})\]]|\s=\s|=>|\(\)|&&|\|\||::|<\/?[a-z][\w-]*[ >]/;

/** A long line of words that ends like a sentence is prose, even if it names `deflate()`. */
function looksLikeProse(line: string): boolean {
  const w = words(line);
  return w.length >= 10 && /[.!?:]["'”’)]*$/.test(line) && w.filter((t) => /^[\p{L}"“(]/u.test(t)).length >= w.length * 0.8;
}

function isCodeLine(line: string): boolean {
  if (CODE_START.test(line)) return true;
  if (CODE_SIGNS.test(line)) return !looksLikeProse(line);
  const chars = line.replace(/\s/g, '');
  const symbols = chars.replace(/[\p{L}\p{N}.,;:!?'"“”‘’()%-]/gu, '').length;
  return chars.length > 0 && symbols / chars.length > 0.15;
}

const collapse = (s: string): string => s.replace(/\s+/g, ' ').trim();

/**
 * A one-line paragraph that reads like a title. Returns the title without section number or
 * markdown hashes, or undefined. Numbered titles ("1. Definitions.") may end with a period.
 */
function headingTitle(line: string, chunkHeading: string | undefined): string | undefined {
  const l = line.trim();
  if (chunkHeading && l === chunkHeading.trim()) return cleanTitle(l);
  if (/^#{1,6}\s+\S/.test(l)) return cleanTitle(l);
  // Copyright notices, e-mail and web addresses are short lines but not titles.
  if (l.length > 80 || /copyright\s+(?:\d|\(c\))|©|@|https?:/i.test(l) || isCodeLine(l) || TABLE_ROW.test(l)) return undefined;
  const numbered = /^(?:(?:section|article|chapter|part)\s+)?\d+(?:\.\d+)*\.?\s+(.+)$/i.exec(l);
  const body = numbered ? numbered[1]!.replace(/\.$/, '') : l;
  if (!numbered && (LIST_MARKER.test(l) || /[.,;:!]$/.test(l))) return undefined;
  if (!/^[\p{Lu}\p{N}]/u.test(body) || body.split(' ').length > 8 || /[.!;:]/.test(body.replace(/\.\w/g, ''))) return undefined;
  if (numbered && !looksTitleCase(body)) return undefined;
  return cleanTitle(body);
}

function cleanTitle(t: string): string {
  return t
    .replace(/^#{1,6}\s+/, '')
    .replace(/^(?:(?:section|article|chapter|part)\s+)?\d+(?:\.\d+)*\.?\s+/i, '')
    .replace(/[.:]$/, '')
    .trim();
}

/** Most longer words capitalized: "Grant of Copyright License", "TERMS AND CONDITIONS". */
function looksTitleCase(s: string): boolean {
  const long = s.split(/\s+/).filter((w) => w.length >= 4);
  if (long.length === 0) return /^\p{Lu}/u.test(s);
  return long.filter((w) => /^\p{Lu}/u.test(w)).length * 2 > long.length;
}

function toBlocks(text: string, chunkHeading: string | undefined): Block[] {
  const blocks: Block[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const lines = para.split('\n').map((l) => l.trim()).filter(Boolean);
    if (lines.length === 0) continue;
    const title = lines.length === 1 ? headingTitle(lines[0]!, chunkHeading) : undefined;
    if (title) {
      blocks.push({ kind: 'heading', text: title });
      continue;
    }
    let cur: Block | undefined;
    const flush = (): void => {
      if (cur) blocks.push(cur);
      cur = undefined;
    };
    for (const line of lines) {
      const marker = LIST_MARKER.exec(line);
      if (URL_ONLY.test(line) || TABLE_ROW.test(line) || isCodeLine(marker ? line.slice(marker[0].length) : line)) {
        flush();
        if (blocks.at(-1)?.kind !== 'skip') blocks.push({ kind: 'skip' });
      } else if (marker) {
        flush();
        cur = { kind: 'item', text: line.slice(marker[0].length), numbered: marker[1] !== undefined };
      } else if (cur && cur.kind !== 'skip' && cur.kind !== 'heading') {
        cur.text += ' ' + line; // wrapped line of the same item or paragraph
      } else {
        cur = { kind: 'prose', text: line };
      }
    }
    flush();
  }
  for (const b of blocks) if (b.kind === 'prose' || b.kind === 'item') b.text = collapse(b.text);
  return blocks;
}

// ---------------------------------------------------------------------------------------------
// Sentences

const ABBREVIATIONS = new Set(
  'e.g i.e etc vs cf al approx mr mrs ms dr prof inc ltd co corp jr sr st no nos fig figs sec ch vol pp ed eds u.s'.split(' '),
);

/** Splits collapsed prose at ., ! or ? followed by a capital, digit, quote or bracket. */
function sentences(text: string): string[] {
  const out: string[] = [];
  const re = /[.!?]+["'”’)\]]*\s+(?=[\p{Lu}\p{N}"“'‘(\[])/gu;
  let start = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const before = /(\S+)$/.exec(text.slice(Math.max(start, m.index - 20), m.index))?.[1] ?? '';
    const word = before.toLowerCase().replace(/^[("'“‘]+/, '');
    // "e.g. Foo", "J. Smith", "No. 5" are not sentence ends.
    if (m[0].startsWith('.') && (ABBREVIATIONS.has(word) || /^\p{L}$/u.test(word) || /^(?:\p{L}\.)+\p{L}$/u.test(word))) continue;
    out.push(text.slice(start, m.index + m[0].trimEnd().length));
    start = m.index + m[0].length;
  }
  if (start < text.length) out.push(text.slice(start));
  return out.map((s) => s.trim()).filter(Boolean);
}

// ---------------------------------------------------------------------------------------------
// Small text helpers

/** Drops trailing punctuation from a phrase answer (the question already carries the frame). */
const phrase = (s: string): string => s.trim().replace(/[\s.,;:]+$/, '').replace(/\s+(?:and|or)$/, '');
const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const curly = (s: string): string => s.replace(/"([^"]*)"/g, '“$1”');
const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);

/** Letters make at least half the non-space characters (the validator's non_text rule). */
function mostlyLetters(s: string): boolean {
  const chars = [...s.replace(/\s/g, '')];
  return chars.filter((c) => /\p{L}/u.test(c)).length * 2 >= chars.length;
}

// Subjects that make a question meaningless out of context ("What is it?").
const BAD_SUBJECT_START = new Set(
  ('it its this that these those there here he she they we i you one which what who whether ' +
    'our your their my his her any all some no many most few both either neither other such ' +
    'and or but so because if when while although though since then also however thus unless until ' +
    'in on at for to from by with under after before during as of about upon within without once ' +
    'below above next following another everything nothing something anything none each every').split(' '),
);
// Allowed before a noun ("the parser", "each worker"), and lowercased in the question.
const DETERMINERS = new Set('the a an each every'.split(' '));
// Label words that may start a list label though they cannot start a subject ("Other projects").
const LABEL_QUANTIFIERS = new Set('some other all many most few several more'.split(' '));
// Third-person verbs that start labels which are really clauses ("Implements X methods:").
const LABEL_VERB = /^(?:implements|supports|provides|includes|contains|resolves|returns|accepts|allows|requires|uses|exports|works|runs|adds|removes|creates|handles|offers|gives|takes|makes)$/i;
// Navigation lists, not content.
const TOC_LABEL = /^(?:table of contents|contents|toc|index|links|navigation|(?:additional |more )?(?:details|notes|resources)|see also)$/i;
// Subjects that mean nothing without the surrounding text: "What is the only parameter?"
const GENERIC_SUBJECT =
  /^(?:(?:the|a|an|each|every)\s+)?(?:(?:only|first|second|third|last|main|other|same|next|new|default|returned)\s+)*(?:result|output|input|parameter|argument|value|return value|callback|function|method|object|option|options|answer|example|idea|goal|purpose|reason|solution|problem|issue|difference|file|name|key|field|type|module|package|library|project|code|export|thing|way|step|one)$/i;
// Markup or code in a would-be subject.
const MARKUP = /[*_`#<>[\]{}|=\\]/;
// Words that show the "subject" is really a clause ("If you use X, Y is a ...").
const CLAUSE_WORDS = new Set(
  ('is are was were be been not that which who whom if when where while because can could will would ' +
    'should may might must do does did has have had you we they it whether than whose both').split(' '),
);

/** A short noun phrase usable as a question's subject, with its leading determiner lowercased. */
function subject(x: string, maxWords: number): string | undefined {
  const w = words(x);
  const first = (w[0] ?? '').toLowerCase();
  if (w.length === 0 || w.length > maxWords || /[,;:()?!]/.test(x) || MARKUP.test(x)) return undefined;
  if (BAD_SUBJECT_START.has(first) && !(DETERMINERS.has(first) && w.length > 1)) return undefined;
  if (w.slice(1).some((t) => CLAUSE_WORDS.has(t.toLowerCase()))) return undefined;
  if (!/^[\p{Lu}"“]/u.test(x)) return undefined;
  // "Mangling property names is …": a capital only because the sentence starts there, so ask
  // "What is mangling property names?". Names ("Chai", "Annotations in Terser") keep their case.
  const commonStart = w.length > 1 && /^\p{Lu}\p{Ll}+$/u.test(w[0]!) && w.slice(1).every((t) => /^\p{Ll}/u.test(t));
  return curly(DETERMINERS.has(first) || commonStart ? first + x.slice(w[0]!.length) : x);
}

/** Third-person verb to its base form: "provides" → "provide", "has" → "have". */
function baseVerb(v: string): string {
  const [head = '', ...rest] = v.split(' ');
  let b = head;
  if (head === 'has') b = 'have';
  else if (head === 'does') b = 'do';
  else if (/(?:ss|sh|ch|x|z)es$/.test(head)) b = head.slice(0, -2);
  else if (/[^aeiou]ies$/.test(head)) b = head.slice(0, -3) + 'y';
  else if (/[^s]s$/.test(head)) b = head.slice(0, -1);
  return [b, ...rest].join(' ');
}

/** Title-cases ALL-CAPS names but keeps short acronyms: "GNU GENERAL PUBLIC LICENSE". */
function unshout(s: string): string {
  if (/\p{Ll}/u.test(s)) return s;
  return s.replace(/\p{L}+/gu, (w) => (w.length <= 3 ? w : w[0] + w.slice(1).toLowerCase()));
}

/** Lowercases Title-case words ("Supported Platforms") but not acronyms or names like "Node.js". */
function lowerLabel(s: string): string {
  return s
    .split(' ')
    .map((w) => (/^\p{Lu}\p{Ll}+$/u.test(w) ? w.toLowerCase() : w))
    .join(' ');
}

// ---------------------------------------------------------------------------------------------
// Patterns. Each returns candidates; `key` ties a candidate to the sentence it used so the
// heading pattern does not repeat a sentence another pattern already turned into a question.

interface Candidate extends CandidatePair {
  priority: number;
  key?: string;
}

const P = { definition: 100, list: 90, copular: 80, number: 70, heading: 60 } as const;

const DEF_VERBS: Record<string, 'mean' | 'refer' | 'define'> = {
  'shall mean': 'mean',
  means: 'mean',
  'shall refer to': 'refer',
  'refers to': 'refer',
  'is defined as': 'define',
  'shall be defined as': 'define',
};
const DEF_VERB_RE = 'shall mean|means|shall refer to|refers to|shall be defined as|is defined as';

// `"X" shall mean Y`, `The "X" refers to Y`, `To "X" a work means Y`, `For this definition, "X" means Y`.
// A parenthesis after the term (`"You" (or "Your")`) is matched but left out of the question.
const QUOTED_DEF = new RegExp(
  '^(?<pre>(?:[A-Z][^"“”]{0,60},\\s+)?(?:(?:[Tt]he|[Aa]n?|[Tt]o)\\s+)?)["“](?<term>[^"“”]{1,60})["”]' +
    '(?<paren>\\s*\\([^()]{0,60}\\))?(?<post>(?:\\s+[a-z][\\w-]*){0,6}?)\\s+(?:also\\s+)?' +
    `(?<verb>${DEF_VERB_RE})\\s+(?<def>.+)$`,
);
// `Copyleft refers to Y`, `The term X is defined as Y`.
const PLAIN_DEF = new RegExp(`^(?<x>[\\p{Lu}][^,;:"“”]{0,60}?)\\s+(?<verb>${DEF_VERB_RE})\\s+(?<def>.+)$`, 'u');

function definition(s: string): Candidate[] {
  const q = QUOTED_DEF.exec(s)?.groups;
  if (q) {
    // `"this License" refers to X, and the "GNU GPL" refers to Y`: stop before the second term.
    const def = phrase(q.def!.replace(new RegExp(`[,;]?\\s+(?:and|or)\\s+(?:the\\s+)?["“][^"”]+["”]\\s+(?:${DEF_VERB_RE})\\s.*$`), ''));
    // "… means any of the following:" — the definition is the list after it, not this sentence.
    if (words(def).length < 2 || /^that\b/.test(def) || /:$/.test(s) || /\bfollowing$/.test(def)) return [];
    const term = `“${q.term!.trim()}”${q.post ?? ''}`;
    const kind = DEF_VERBS[q.verb!]!;
    const toForm = /^(?:.*,\s+)?[Tt]o\s+$/.test(q.pre ?? '');
    const question =
      kind === 'refer' ? `What does ${term} refer to?`
      : kind === 'define' ? `How is ${term} defined?`
      : toForm ? `What does it mean to ${term}?`
      : `What does ${term} mean?`;
    return [{ question, answer: def, priority: P.definition, key: s }];
  }
  const p = PLAIN_DEF.exec(s)?.groups;
  if (!p) return [];
  const x = subject(p.x!.replace(/^The term\s+/, ''), 6);
  const def = phrase(p.def!);
  if (!x || words(def).length < 2 || /^(?:that|you|we|it|to)\b/.test(def)) return [];
  const kind = DEF_VERBS[p.verb!]!;
  const question = kind === 'refer' ? `What does ${x} refer to?` : kind === 'define' ? `How is ${x} defined?` : `What is ${x}?`;
  return [{ question, answer: def, priority: P.definition, key: s }];
}

// `X is a/an/the Y.`
const COPULAR = /^(?<x>[\p{Lu}"“][^,;:()?]{0,60}?)\s+(?<be>is|are)\s+(?<y>(?:a|an|the|one of the)\s+.+)$/u;
// Predicates that say nothing on their own ("is the same", "is a must").
const EMPTY_PREDICATE =
  /^(?:a|an|the)\s+(?:(?:same|case|default|one|only|best|first|last|other|following|result|reason|problem|answer|exception|key|rule|norm|goal)\b|(?:great|good|nice|simple|easy|better|common|bad|handy|quick)\s+(?:way|idea|choice|option|thing|practice|place|start)\b)/;

function copular(s: string): Candidate[] {
  const g = COPULAR.exec(s)?.groups;
  if (!g || s.endsWith('?') || s.endsWith(':')) return [];
  const x = subject(g.x!, 6);
  const y = phrase(g.y!);
  if (!x || words(y).length < 3 || EMPTY_PREDICATE.test(y) || GENERIC_SUBJECT.test(x)) return [];
  // "An SVG is the exception": an indefinite subject with a short "the …" predicate names a
  // role, not a definition; "A tide is the regular rise and fall of …" is a definition.
  if (/^an?\s/.test(x) && /^the\s/.test(y) && words(y).length < 5) return [];
  // "A product is a consumer product …" classifies rather than defines: asking "What is a
  // product?" would be misleading. A modified subject defined by its head noun ("A spring tide
  // is a tide with …") is the classic genus-and-difference definition and stays, and so do
  // quoted terms ("An “entity transaction” is a transaction …").
  const head = words(x).at(-1)!.toLowerCase();
  const bareNoun = words(x).length <= 2;
  if (/^an?\s/.test(x) && bareNoun && !x.includes('“') && words(y).slice(0, 4).some((t) => t.toLowerCase() === head)) return [];
  return [{ question: `What ${g.be} ${x}?`, answer: y, priority: P.copular, key: s }];
}

const MONTH = '(?:January|February|March|April|May|June|July|August|September|October|November|December|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\\.?)';
const DATE = `(?:${MONTH}\\s+\\d{1,2}(?:st|nd|rd|th)?,?\\s+\\d{4}|\\d{1,2}\\s+${MONTH},?\\s+\\d{4}|${MONTH},?\\s+\\d{4}|\\d{4}-\\d{2}-\\d{2}|(?:1[6-9]|20)\\d{2})`;
const PARTICIPLE = '[a-z]+ed|written|made|begun|built|founded|born|held|released|published|introduced|signed|drawn up|given|chosen';
const WHEN_RE = new RegExp(
  `^(?<x>[\\p{Lu}"“][^,;:]{1,60}?)\\s+(?<be>was|were)\\s+(?<v>(?:(?:first|originally|initially|officially|publicly)\\s+)?(?:${PARTICIPLE}))\\s+(?<tail>(?<prep>in|on)\\s+(?<date>${DATE}))(?=[\\s.,;]|$)`,
  'u',
);
const NUMBER_WORD = 'two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|fifty|hundreds of|dozens of';
const COUNT_VERBS = 'requires|require|supports|support|has|have|contains|contain|includes|include|provides|provide|offers|offer|defines|define|exports|export|consists of|consist of|comprises|comprise|uses|use';
const COUNT_RE = new RegExp(
  `^(?<x>[\\p{Lu}"“][^,;:]{1,60}?)\\s+(?<v>${COUNT_VERBS})\\s+(?<n>(?:over |more than |about |exactly |at least )?(?:\\d{1,3}(?:,\\d{3})*|${NUMBER_WORD}))\\s+(?<np>[a-z][a-z-]*(?:\\s+[a-z][a-z-]*){0,2})`,
  'u',
);
const NP_STOP = new Set('of in for and or that which with to from on at by as per the a an is are was were than into'.split(' '));
const VERSION_RE = new RegExp(
  `^(?<x>[\\p{Lu}"“][^,;:]{1,60}?)\\s+(?<v>requires|supports|needs|works with|runs on)\\s+(?<req>(?<name>[\\p{Lu}][\\w.+-]*(?:\\s[\\p{Lu}][\\w.+-]*)?)\\s+(?:version\\s+|v|>=\\s*)?\\d+(?:\\.(?:\\d+|x))*\\+?(?:\\s+(?:or|and)\\s+(?:later|higher|newer|above|greater|up))?)`,
  'u',
);
// Title lines: "Apache License Version 2.0, January 2004".
const TITLE_VERSION_RE = new RegExp(`^(?<name>[\\p{Lu}][\\p{L} -]{2,60}?),?\\s+Version\\s+(?<ver>\\d+(?:\\.\\d+)*),?\\s+(?<date>${DATE})$`, 'u');

function numbers(s: string): Candidate[] {
  const out: Candidate[] = [];
  const w = WHEN_RE.exec(s)?.groups;
  const wx = w && subject(w.x!, 8);
  if (w && wx) {
    // A bare year fails the validator's letters rule: answer "in 2004" or "released in 2004".
    const answer = [w.date!, w.tail!, `${w.v} ${w.tail}`].find(mostlyLetters);
    if (answer) out.push({ question: `When ${w.be} ${wx} ${w.v}?`, answer, priority: P.number, key: s });
  }
  const c = COUNT_RE.exec(s)?.groups;
  const cx = c && subject(c.x!, 8);
  if (c && cx) {
    // The counted noun is the shortest run of words ending in a plural: "12 languages out of
    // the box" → "languages", "2 major versions" → "major versions".
    const npWords = words(c.np!);
    const stop = npWords.findIndex((t) => NP_STOP.has(t));
    const head = (stop === -1 ? npWords : npWords.slice(0, stop));
    const plural = head.findIndex((t) => /[^s']s$/.test(t));
    const np = plural === -1 ? '' : head.slice(0, plural + 1).join(' ');
    const base = baseVerb(c.v!);
    const aux = base === c.v ? 'do' : 'does';
    if (np) {
      out.push({ question: `How many ${np} ${aux} ${cx} ${base}?`, answer: `${c.n} ${np}`, priority: P.number, key: s });
    }
  }
  const v = VERSION_RE.exec(s)?.groups;
  const vx = v && subject(v.x!, 8);
  if (v && vx) {
    out.push({ question: `Which version of ${v.name} does ${vx} ${baseVerb(v.v!)}?`, answer: v.req!, priority: P.number, key: s });
  }
  const t = TITLE_VERSION_RE.exec(s)?.groups;
  if (t && mostlyLetters(t.date!)) {
    const name = unshout(t.name!.trim());
    const the = /^the\s/i.test(name) ? '' : 'the ';
    out.push({ question: `What is the date of ${the}${name}, Version ${t.ver}?`, answer: t.date!, priority: P.number, key: s });
  }
  return out;
}

// Questions from a list's intro line (without its colon).
// Also mid-sentence after "that/if": "… are permitted provided that the following conditions are met:".
const FOLLOWING_PASSIVE = /(?:^|\b(?:that|if|when|unless)\s+)(?:[Tt]he\s+)?following\s+(?<np>[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2}?)\s+(?<aux>are|is|were|was|can be|may be|must be|will be|should be|have been)\s+(?<rest>[^,;]+)$/;
const SUBJECT_VERB_FOLLOWING =
  /^(?<subj>[\p{Lu}][^,;:]{0,40}?)\s+(?:(?<modal>can|may|must|should|will|could)\s+)?(?<verb>[a-z]+)\s+(?:(?:all|any|one|each|some)\s+of\s+)?(?:the\s+following|these)\s+(?<np>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)$/u;
const TRAILING_FOLLOWING = /(?:the\s+following|these)\s+(?<np>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)$/;

function listQuestion(intro: string, heading: string | undefined): string | undefined {
  const fp = FOLLOWING_PASSIVE.exec(intro)?.groups;
  if (fp) {
    // "provided that the following conditions are met" states a requirement: ask what must be.
    const aux = /\b(?:provided|if|unless)\b/.test(intro) && /^(?:are|is)$/.test(fp.aux!) ? 'must be' : fp.aux;
    return `Which ${fp.np} ${aux} ${fp.rest}?`;
  }
  const sv = SUBJECT_VERB_FOLLOWING.exec(intro)?.groups;
  const subj = sv && (/^(?:You|We)$/.test(sv.subj!) ? sv.subj!.toLowerCase() : subject(sv.subj!, 5));
  if (sv && subj && !/ed$/.test(sv.verb!)) {
    if (sv.modal) return `Which ${sv.np} ${sv.modal} ${subj} ${sv.verb}?`;
    const base = baseVerb(sv.verb!);
    if (base !== sv.verb) return `Which ${sv.np} does ${subj} ${base}?`;
    if (/^(?:you|we)$/.test(subj)) return `Which ${sv.np} do ${subj} ${sv.verb}?`;
  }
  // "… with the following options" says what the items are; the heading says where.
  const tf = TRAILING_FOLLOWING.exec(intro)?.groups;
  if (tf) return heading && plainTitle(heading) ? `Which ${tf.np} are listed under “${heading}”?` : undefined;
  return labelQuestion(intro, false);
}

/** A short label such as "Features" or "Supported platforms" introducing a list. */
function labelQuestion(label: string, allowListedUnder: boolean): string | undefined {
  const w = words(label);
  const first = (w[0] ?? '').toLowerCase();
  if (w.length === 0 || w.length > 5 || !plainTitle(label) || !/^\p{Lu}/u.test(label) || TOC_LABEL.test(label)) return undefined;
  if (w.some((t) => CLAUSE_WORDS.has(t.toLowerCase())) || LABEL_VERB.test(first)) return undefined;
  if (BAD_SUBJECT_START.has(first) && !LABEL_QUANTIFIERS.has(first)) return undefined;
  if (NP_STOP.has(w.at(-1)!.toLowerCase()) || /^(?:via|like|such)$/i.test(w.at(-1)!)) return undefined; // "Resolves with"
  const lc = lowerLabel(label);
  if (/[^s]s$/.test(label)) return /^(?:some|other|all|many|most|few|several|more|the)\s/.test(lc) ? `What are ${lc}?` : `What are the ${lc}?`;
  return allowListedUnder ? `What is listed under “${label}”?` : undefined;
}

/** A heading usable inside a question: words, not code ("cliui({width: integer})", "::increment()"). */
function plainTitle(t: string): boolean {
  return /^[\p{L}\p{N}'’ ,/&.+-]+$/u.test(t) && mostlyLetters(t);
}

const MAX_ITEMS = 15;
const MAX_ITEM_CHARS = 300;
const MAX_LIST_CHARS = 1200;

function lists(blocks: Block[], chunkText: string, heading: string | undefined): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < blocks.length; i++) {
    if (blocks[i]!.kind !== 'item' || blocks[i - 1]?.kind === 'item') continue;
    let j = i;
    while (blocks[j]?.kind === 'item') j++;
    const raw = blocks.slice(i, j).map((b) => (b as { text: string }).text);
    const items = raw.map(phrase);
    const intro = blocks[i - 1];
    // A list that runs to the end of a long chunk probably continues in the next one.
    const maybeCut = j === blocks.length && chunkText.length > 1000;
    if (items.length < 2 || items.length > MAX_ITEMS || maybeCut || !intro) continue;
    // Nested lists ("Support for:" then sub-items) and API signatures ("{String}") read badly
    // when flattened into one answer.
    if (raw.some((t) => t.endsWith(':') || /[{}<>|`$=]/.test(t))) continue;
    if (items.some((t) => t.length > MAX_ITEM_CHARS || t.length === 0)) continue;
    const answer = items.join('; ');
    if (answer.length > MAX_LIST_CHARS) continue;
    let question: string | undefined;
    let key: string | undefined;
    if (intro.kind === 'heading') question = labelQuestion(intro.text, true);
    else if (intro.kind === 'prose' && intro.text.endsWith(':')) {
      const last = sentences(intro.text).at(-1) ?? '';
      key = last;
      question = listQuestion(phrase(last), heading);
    }
    if (question) out.push({ question: capitalize(question), answer, priority: P.list, ...(key ? { key } : {}) });
  }
  return out;
}

// Headings with the first sentences under them.
const MAX_SECTION_ANSWER = 320; // add the second sentence only while the answer stays this short
const MAX_SECTION_SENTENCE = 600;

/**
 * "What is said about custom formatters?" reads best, but only works without an article for
 * plurals and gerunds ("Plugins", "Getting Started"); other titles ("Grant of Copyright
 * License", "Constructor") get the always-grammatical "What does the section “…” say?".
 */
function sectionQuestion(title: string): string | undefined {
  const t = title.trim();
  if (!plainTitle(t.replace(/\?$/, ''))) return undefined; // "::increment()"
  if (t.endsWith('?')) {
    return /^(?:what|which|who|when|where|why|how|is|are|does|do|can|should)\b/i.test(t) ? capitalize(t) : undefined;
  }
  const w = words(t);
  const lc = lowerLabel(t);
  // Lowercasing must be safe (no names like "Node.js") and the title a noun phrase, not a clause
  // ("Tokens are atoms") or an infinitive ("To disallow unknown events").
  const safe =
    w.length <= 5 &&
    !/[,/&.+]/.test(t) &&
    w.every((x) => lowerLabel(x) !== x || /^\p{Ll}/u.test(x)) &&
    !w.some((x) => CLAUSE_WORDS.has(x.toLowerCase())) &&
    !BAD_SUBJECT_START.has(w[0]!.toLowerCase());
  if (safe && (/[^s]s$/.test(w.at(-1)!) || /^\p{L}+ing$/u.test(w[0]!))) return `What is said about ${lc}?`;
  return `What does the section “${t}” say?`;
}

/** Longest answer made of an intro ending in ":" and the sentence that completes it. */
const MAX_INTRO_ANSWER = 900;

function sectionAnswer(sents: string[], continuation?: string[]): { answer: string; key: string } | undefined {
  const [first, second] = sents;
  // "Permission is hereby granted … subject to the following conditions:" is completed by the
  // next paragraph's first sentence; together they are the section's answer.
  const cont = continuation?.[0];
  if (first && sents.length === 1 && first.endsWith(':') && cont && /[.!?]["'”’)]*$/.test(cont)) {
    const joined = `${first} ${cont}`;
    if (joined.length <= MAX_INTRO_ANSWER && /^[\p{L}"“(]/u.test(first)) return { answer: joined, key: first };
  }
  // A first "sentence" without an end mark is a title or label, not content.
  if (!first || !/[.!?]["'”’)]*$/.test(first) || words(first).length < 3) return undefined;
  if (!/^[\p{L}\p{N}"“(]/u.test(first)) return undefined; // "-h, --help Print usage…
  if (first.length > MAX_SECTION_SENTENCE) return undefined; // a wall of legalese is no answer
  const both = second && !second.endsWith(':') ? `${first} ${second}` : first;
  return { answer: both.length <= MAX_SECTION_ANSWER ? both : first, key: first };
}

function sections(blocks: Block[]): Candidate[] {
  const out: Candidate[] = [];
  blocks.forEach((b, i) => {
    const next = blocks[i + 1];
    // "END OF TERMS AND CONDITIONS" closes a section; what follows belongs to the next one.
    // A title line is often followed by a byline or copyright line before the prose starts
    // ("MIT License" / "Copyright (c) …" / "Permission is hereby granted …"): look one further.
    const after = blocks[i + 2];
    const byline = next?.kind === 'prose' && !/[.!?]["'”’)]*$/.test(next.text) && words(next.text).length <= 12;
    const body = byline && after?.kind === 'prose' ? after : next;
    if (b.kind === 'heading' && body?.kind === 'prose' && !/^end\b/i.test(b.text)) {
      const following = blocks[blocks.indexOf(body) + 1];
      const cont = following?.kind === 'prose' ? sentences(following.text) : undefined;
      const a = sectionAnswer(sentences(body.text), cont);
      const q = sectionQuestion(b.text);
      if (a && q) out.push({ question: q, answer: a.answer, key: a.key, priority: P.heading });
    }
    // "2. Grant of Copyright License. Subject to …": a numbered paragraph with a run-in title.
    if (b.kind === 'item' && b.numbered) {
      const [title, ...rest] = sentences(b.text);
      const t = title?.replace(/\.$/, '');
      if (t && words(t).length <= 8 && !/[,;:]/.test(t) && looksTitleCase(t)) {
        const a = sectionAnswer(rest);
        const q = sectionQuestion(t);
        if (a && q) out.push({ question: q, answer: a.answer, key: a.key, priority: P.heading });
      }
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------

// Glossaries and definition lists (HTML <dt>/<dd>, manuals): a short term on its own line, then
// a paragraph that starts "A/An/The …" describing it. "ffi_type_uint8" / "An unsigned, 8-bit
// integer type." → "What is ffi_type_uint8?".
const GLOSSARY_TERM = /^[\p{L}_][\p{L}\p{N}_.\-]*(?: [\p{L}\p{N}_.\-]+){0,3}$/u;

function glossary(text: string): Candidate[] {
  const paras = text.split(/\n\s*\n/).map((p) => p.trim());
  const out: Candidate[] = [];
  for (let i = 0; i + 1 < paras.length; i++) {
    const term = paras[i]!.replace(/\s*¶$/, '');
    const def = sentences(collapse(paras[i + 1]!))[0];
    if (paras[i]!.includes('\n') || !GLOSSARY_TERM.test(term) || !def) continue;
    if (!/^(?:A|An|The)\s/.test(def) || !/\.$/.test(def) || words(def).length < 3 || BAD_SUBJECT_START.has(term.toLowerCase())) continue;
    out.push({ question: `What is ${term}?`, answer: phrase(def), priority: P.copular, key: def });
  }
  return out;
}

/** All pairs for one chunk's text, best patterns first, at most `maxPairs`. */
export function generatePairs(text: string, heading: string | undefined, maxPairs: number): CandidatePair[] {
  const blocks = toBlocks(text, heading);
  const candidates: Candidate[] = [];
  for (const b of blocks) {
    if (b.kind !== 'prose' && b.kind !== 'item') continue;
    for (const s of sentences(b.text)) {
      if (words(s).length < 3 || s.length > 600) continue;
      candidates.push(...definition(s), ...copular(s), ...numbers(s));
    }
  }
  candidates.push(...lists(blocks, text, heading), ...glossary(text));
  const usedSentences = new Set(candidates.map((c) => c.key).filter((k) => k !== undefined));
  candidates.push(...sections(blocks).filter((c) => c.key === undefined || !usedSentences.has(c.key)));

  // Stable sort keeps text order within a priority level.
  const ranked = candidates
    .map((c, i) => ({ c, i }))
    .sort((a, b) => b.c.priority - a.c.priority || a.i - b.i)
    .map(({ c }) => c);
  const seenQ = new Set<string>();
  const seenA = new Set<string>();
  const out: CandidatePair[] = [];
  for (const c of ranked) {
    if (out.length >= maxPairs) break;
    const question = capitalize(collapse(c.question));
    const answer = collapse(c.answer);
    const nq = normalizeQuestion(question);
    const na = normalizeQuestion(answer);
    if (!answer || !question.endsWith('?') || seenQ.has(nq) || seenA.has(na)) continue;
    seenQ.add(nq);
    seenA.add(na);
    out.push({ question, answer });
  }
  return out;
}

/**
 * Subjects of questions: short noun phrases that mean something without the document
 * ("the `logging` module", "a tuple"), never a pronoun, "the following", "the latter", "each arg".
 */
import { words } from './blocks.js';

const BAD_START = new Set(
  ('it its this that these those there here he she they them we i you one which what who whether ' +
    'our your their my his her any all some no many most few both either neither other such ' +
    'and or but so because if when while although though since then also however thus unless until ' +
    'in on at for to from by with under after before during as of about upon within without once ' +
    'below above next following another everything nothing something anything none each every same ' +
    'former latter above-mentioned aforementioned note see example several usually often normally always sometimes ' +
    'else otherwise instead likewise similarly hence still again only just even').split(' '),
);
const DETERMINERS = new Set(['the', 'a', 'an']);
// Words that show the "subject" is really a clause ("If you use X, Y is …").
const CLAUSE_WORDS = new Set(
  ('is are was were be been not that which who whom if when where while because can could will would ' +
    'should may might must do does did has have had you we they it its this these those whether than whose both ' +
    'he she them their there here').split(' '),
);
// Second words that point back into the text: "the following", "the latter", "the above".
const POINTING = /^(?:the|a|an)\s+(?:following|latter|former|above|below|same|previous|next|preceding|other|last|first|second|third|remaining|rest|corresponding|resulting|given|specified|current|new|optional|only)\b/i;
// Subjects that mean nothing without the surrounding text: "What is the default?"
// Only definite or bare: "a function" is a general concept, "the function" is the one just shown.
const GENERIC =
  /^(?:the\s+)?(?:(?:only|main|default|returned|original)\s+)*(?:result|results|output|input|parameter|argument|arg|args|value|values|default|return value|callback|function|method|object|option|options|answer|example|examples|idea|goal|purpose|reason|solution|problem|issue|difference|file|name|key|field|type|module|package|library|project|code|thing|way|step|one|case|version|call|string|list|number|section|chapter|document|text|work|program|user|software|data|effect|rule|term|expansion|command|line|word|character|item|entry|operation|process|change|error|exception)$/i;
const GENERIC_HEAD =
  /^(?:result|results|output|input|parameter|parameters|argument|arguments|value|values|status|body|default|callback|function|object|option|options|example|file|name|key|field|type|code|thing|way|step|case|version|call|string|list|number|section|chapter|text|word|character|item|entry|operation|process|change|error|exception|expansion|command|line|variable|return|format|factory|dialect|msg|message|context|setting|settings|behaviour|behavior|mode|level|effect|reason|idea|default|form|part|rest|end|start|beginning|first|last|former|latter|one|ones)$/i;
const MARKUP = /[*_#<>[\]{}|=\\]/;

/** Code-like words get backticks: `getLogger()`, `os.path`, `exc_info`. */
export function codeQuote(w: string): string {
  if (/^`.*`$/.test(w)) return w;
  const core = /^([\w.]*[\w)])([,.]?)$/.exec(w);
  if (core && (/\(\)$/.test(core[1]!) || /[a-z]_[a-z]|\w\.\w|^_/.test(core[1]!))) return `\`${core[1]}\`${core[2]}`;
  return w;
}

export function lowerFirstWordIfCommon(x: string): string {
  const w = words(x);
  const first = w[0]!;
  // "The parser" → "the parser"; "Mangling property names" → "mangling property names".
  // Names ("Chai", "Python Software Foundation") keep their case.
  // "Generators", "Tuples": a plural common noun capitalized only because it starts the sentence.
  const gerund = /^\p{Lu}\p{Ll}+ing$/u.test(first);
  const plural = gerund || w.length === 1 && /^\p{Lu}\p{Ll}+[^siu]s$/u.test(first);
  const common = plural || DETERMINERS.has(first.toLowerCase()) || (w.length > 1 && /^\p{Lu}\p{Ll}+$/u.test(first) && w.slice(1).every((t) => /^[\p{Ll}`(]/u.test(t)));
  return common ? first.toLowerCase() + x.slice(first.length) : x;
}

/** A noun phrase usable as a question's subject, cleaned for the question, or undefined. */
export function nounSubject(raw: string, maxWords = 7, name?: string): string | undefined {
  const x = raw.trim().replace(/^["“](.*)["”]$/, '“$1”');
  const w = words(x);
  if (w.length === 0 || w.length > maxWords || /[,;:?!]/.test(x) || MARKUP.test(x.replace(/\b_|_\b|\w_\w/g, ''))) return undefined;
  const first = w[0]!.toLowerCase();
  // "You’ll", "It's": a pronoun with a contraction is still a pronoun.
  if (BAD_START.has(first.replace(/['’]\p{L}+$/u, '')) || POINTING.test(x) || GENERIC.test(x)) return undefined;
  if (w.slice(1).some((t) => CLAUSE_WORDS.has(t.toLowerCase()))) return undefined;
  if (!/^[\p{Lu}"“`‘\p{Ll}_]/u.test(x)) return undefined;
  // A lowercase start that is not code ("most of them") is usually a sentence fragment.
  // The document's own lowercase name ("fflate", "zod") is a name, though.
  if (/^\p{Ll}/u.test(x) && !/[_.(]/.test(w[0]!) && !DETERMINERS.has(first) && first !== name) return undefined;
  if (DETERMINERS.has(first) && w.length === 1) return undefined;
  if (/\(/.test(x) && !/\(\)/.test(x)) return undefined;
  // "E The expansion": a list letter or page debris in front of the phrase.
  // The article "A" before a lowercase noun ("A tide is …") is no debris.
  const article = w[0] === 'A' && /^\p{Ll}/u.test(w[1] ?? '');
  if (w.slice(1).some((t) => /^(?:The|A|An)$/.test(t)) || (/^\p{Lu}$/u.test(w[0]!) && !article)) return undefined;
  // "the return status", "the body of the function": a generic head without a name or code.
  if (DETERMINERS.has(first) && !/[`“_.]|\s\p{Lu}/u.test(x) && GENERIC_HEAD.test(w.at(-1)!)) return undefined;
  return lowerFirstWordIfCommon(w.map(codeQuote).join(' '));
}

/** A subject that names something specific by itself: a name, code, or a quoted term. */
export function isSpecific(subject: string): boolean {
  return /`|“|^\p{Lu}|\s\p{Lu}/u.test(subject);
}

/** Third-person verb to its base form: "provides" → "provide", "has" → "have". */
export function baseVerb(v: string): string {
  if (v === 'has') return 'have';
  if (v === 'does') return 'do';
  if (v === 'is') return 'be';
  if (/[^z]zes$/.test(v)) return v.slice(0, -1); // "recognizes" → "recognize"
  if (/(?:ss|sh|ch|x|z|o)es$/.test(v)) return v.slice(0, -2);
  if (/[^aeiou]ies$/.test(v)) return v.slice(0, -3) + 'y';
  if (/[^s]s$/.test(v)) return v.slice(0, -1);
  return v;
}

/** Whether a phrase points outside itself (pronouns, "the following", "above"). */
export function pointsOutside(phrase: string): boolean {
  return /\b(?:it|its|this|these|those|they|them|their|he|she|his|her|the following|the latter|the former|above|below|here|such|former|latter|previous|aforementioned|do so|doing so|done so)\b/i.test(phrase);
}

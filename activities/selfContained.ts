/**
 * Questions that only make sense next to the text they came from: "What does the passage say?",
 * "What is the latter?", "What does it return?", "What does the section “Note” say?". A dataset
 * row has no passage beside it, so such a question teaches nothing.
 *
 * Quoted and code spans are masked first: in "What does the `following` parameter do?" the word
 * is a name, not a pointer. The rules then run on lowercased word tokens joined by spaces (commas
 * kept as tokens, so "According to the text, …" ends a phrase). Every pattern is a bounded
 * alternation of words, so none can backtrack badly.
 */

const MASK = 'qterm';
const QUOTED = /`[^`\n]{1,200}`|“[^”\n]{1,200}”|"[^"\n]{1,200}"|‘[^’\n]{1,200}’|«[^»\n]{1,200}»|(?<![\p{L}\p{N}])'[^'\n]{1,200}'(?![\p{L}\p{N}])/gu;

// Nouns for the source text itself, whatever follows them ("the passage", "the author").
const SOURCE_NOUN = 'passages?|excerpts?|paragraphs?|snippets?|authors?|articles?|chapters?|sentences?';
// Nouns that are also ordinary technical words ("the text attribute", "the code point"): deictic
// only as the subject of a reporting verb or at the end of a locating phrase.
const PLACE_NOUN = 'sections?|texts?|documents?|pages?|examples?|code|tables?|figures?|lists?|charts?|diagrams?|images?|output|listing';
const REPORTING_VERB =
  'say|says|said|describe|describes|show|shows|mention|mentions|explain|explains|discuss|discusses|cover|covers|' +
  'state|states|illustrate|illustrates|demonstrate|demonstrates|present|presents|suggest|suggests|recommend|recommends|' +
  'tell|tells|note|notes|focus|focuses|claim|claims|highlight|highlights|introduce|introduces|outline|outlines|' +
  'talk|talks|refer|refers|do|does|mean|means|about';
const GENERIC_NOUN =
  'args?|arguments?|params?|parameters?|results?|outputs?|inputs?|values?|return value|functions?|methods?|objects?|' +
  'options?|examples?|idea|goal|purpose|reason|solution|problem|issue|difference|files?|names?|keys?|fields?|types?|' +
  'modules?|packages?|library|project|code|steps?|ones?|things?|way|defaults?|answer|commands?|programs?|tools?|' +
  'class|classes|variables?|errors?|items?|elements?|rest|others?|versions?|settings?|properties|property|' +
  'attributes?|flags?|cases?|rules?|points?|terms?|words?|process|procedure|approach|syntax|format|list|section|text';
const GENERIC_MODIFIER =
  'only|first|second|third|fourth|last|final|main|other|same|next|previous|new|default|returned|given|current|' +
  'actual|original|specific|particular|remaining|two|three|several|various';

interface Rule {
  pattern: RegExp;
  why: (m: RegExpExecArray) => string;
}

// Group 1, when the pattern has it, is the pointing phrase itself ("the text" in "the text describe").
const points = (m: RegExpExecArray): string => `“${m[1] ?? m[0]}” points at text the reader cannot see`;

const RULES: Rule[] = [
  { pattern: /\bthe (?:following|latter|former|above|aforementioned|preceding)\b/, why: points },
  {
    pattern: new RegExp(
      `\\b(?:${SOURCE_NOUN}|${PLACE_NOUN}|shown|listed|given|described|mentioned|defined|stated|explained|discussed|presented|noted|outlined) (?:above|below|earlier|previously|here)\\b|\\b(?:above|below)$`,
    ),
    why: points,
  },
  { pattern: /(?<!\bthe )\b(?:this|these|those)\b/, why: points },
  { pattern: new RegExp(`\\bthat (?:${SOURCE_NOUN}|${PLACE_NOUN})\\b`), why: points },
  // "How do you avoid that?", "Why would you do so?": the thing done is in the passage, not here.
  { pattern: /\b((?:\p{L}+) (?:that|so))$/u, why: (m) => `“${m[1]}” refers to something the question does not say` },
  // Heading templates: "What does the section “Note” say?", "What is listed under “Usage”?".
  {
    pattern: new RegExp(`\\bthe (?:sub)?(?:section|chapter|heading|part|page|paragraph|entry) (?:${MASK}|titled|named|called|headed|entitled|on|about)\\b`),
    why: () => 'the question asks what a heading says instead of asking about its subject',
  },
  {
    pattern: /^(?:what|which)(?: \p{L}+){0,2} (?:is|are|was|were) (?:(?:said|written|stated|mentioned|noted|discussed|explained|covered) (?:about|regarding|concerning|on|under)|(?:listed|shown|given|included|described|found|covered|mentioned) under)\b/u,
    why: () => 'the question asks what a heading says instead of asking about its subject',
  },
  {
    pattern: new RegExp(`\\bthe (?:${SOURCE_NOUN})\\b(?! (?:of|named|called|titled|entitled|${MASK}|who|whose|element|tag|field|attribute|property)\\b)`),
    why: points,
  },
  { pattern: new RegExp(`\\b(the (?:(?:${PLACE_NOUN}) )?(?:${PLACE_NOUN})) (?:${REPORTING_VERB})\\b`), why: points },
  { pattern: new RegExp(`\\b((?:in|from|according to|within|throughout|by|of) the (?:${PLACE_NOUN}))(?: ,|$)`), why: points },
  // "What is each arg?", "What does the function return?": no subject the reader could know. The
  // determiner is required: "What is a function?" and "What are modules?" are general questions.
  {
    pattern: new RegExp(
      `^(?:what|which|how|why|where|when|who) (?:is|are|was|were|does|do|did|can|should|will) (?:the|each|every|both|either|neither)` +
        `(?: (?:${GENERIC_MODIFIER}))*(?: (?:${GENERIC_NOUN})){1,2}(?: (?:do|does|return|returns|mean|means|contain|contains|say|says|show|shows|used for|for|about))?$`,
    ),
    why: () => 'the question names no subject the reader could know',
  },
];

const WH = new Set('what which who whom whose when where why how'.split(' '));
// "s": "what's" is tokenized as "what s".
const AUX = new Set('s is are was were does do did can could should would will has have had may might must'.split(' '));
const PRONOUN = new Set('it they them he she him its their his her'.split(' '));
// "What does it mean to …", "How long does it take to …", "Is it possible to …": a dummy "it".
const DUMMY_IT =
  /^it (?:mean|means|take|takes|cost|costs|make|makes|matter|possible|safe|necessary|true|better|best|recommended|required|ok|okay|important|advisable|worth|good|bad|wise|useful|easy|hard|difficult|allowed|common|a|an|the)(?: \p{L}+){0,2} (?:to|that|whether|if)\b/u;

/** A pronoun with nothing before it in the question to stand for. */
function barePronoun(words: string[], hasName: boolean): string | undefined {
  // The subject right after the opening: "What is it?", "Which value does it return?", "Is it …?"
  const first = words[0] ?? '';
  const limit = WH.has(first) ? 4 : AUX.has(first) ? 0 : -1;
  for (let i = 0; i <= limit && i + 1 < words.length; i++) {
    if (!AUX.has(words[i]!)) continue;
    const p = words[i + 1]!;
    if (PRONOUN.has(p) && !(p === 'it' && DUMMY_IT.test(words.slice(i + 1).join(' ')))) return p;
    break;
  }
  // The object of a short question with no name in it: "How do you install it?"
  const last = words.at(-1) ?? '';
  if ((last === 'it' || last === 'them') && !hasName && words.length <= 8) return last;
  return undefined;
}

/** Why the question cannot be understood without its passage, or undefined when it can. */
export function selfContainedProblem(question: string): string | undefined {
  const masked = question.normalize('NFKC').replace(QUOTED, ` ${MASK} `);
  const raw = masked.match(/[\p{L}\p{N}\p{M}]+|,/gu) ?? [];
  const words = raw.map((w) => w.toLowerCase());
  const joined = words.join(' ');
  for (const rule of RULES) {
    const m = rule.pattern.exec(joined);
    if (m) return rule.why(m);
  }
  // A name, a quoted term or a number gives a pronoun something to stand for.
  const hasName = raw.some((w, i) => (i > 0 && /^\p{Lu}/u.test(w)) || /\p{N}/u.test(w) || w === MASK);
  const pronoun = barePronoun(words.filter((w) => w !== ','), hasName);
  return pronoun ? `“${pronoun}” has nothing in the question to refer to` : undefined;
}

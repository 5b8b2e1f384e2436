/**
 * Which language a document is written in, for `--language auto`: a stopword profile per
 * language, counted over the document's words. Deterministic and dependency-free, so the same
 * text gets the same language (and the same prompts, and the same journal keys) on every run.
 *
 * A word that several languages share ("de", "in", "la") counts for each of them only by its
 * share (1/k), so the words that set a language apart decide. Unsure — too few words, too few
 * stopwords (code, tables, lists of names), or two languages too close — is `undefined`: the
 * caller then falls back rather than guess.
 */

/** ISO 639-1 codes this detector knows, with the name a prompt uses for each. */
export const LANGUAGE_NAMES = {
  en: 'English',
  de: 'German',
  fr: 'French',
  es: 'Spanish',
  it: 'Italian',
  pt: 'Portuguese',
  nl: 'Dutch',
} as const;
export type LanguageCode = keyof typeof LANGUAGE_NAMES;

/** Changes when a profile or a threshold changes: then `auto` may pick another language for a text. */
export const LANGUAGE_DETECTOR_VERSION = 'v1';

const STOPWORDS: Record<LanguageCode, string> = {
  en: 'a the and of to is in that it for with as are was this be by on not or from at which an have has can you they their will if but were been would these there its when only also more into than other such each may should must',
  de: 'der die das und ist nicht den dem des ein eine einer eines einem mit sich auf für von zu im auch es sie wird werden sind wie oder aber bei nach aus kann wenn nur noch durch über dass zum zur diese dieser wir ich sein hat haben als um',
  fr: 'a à le la les de des du et est un une en que qui dans pour pas sur au aux avec ce cette ces il elle ils sont par plus ne se ou mais être leur nous vous peut été aussi comme tout très',
  es: 'a el la los las de del y en que un una es por con para no se su sus al lo como más pero este esta está son hay ser también muy sobre entre cuando todo puede sin ya fue ha han o',
  it: 'a il lo la gli le di del della dei delle e è che un una per con non in si sono da dal nel nella al alla anche come più ma questo questa essere ha hanno o se sul tra ci può loro quando',
  pt: 'o os a as de do da dos das e é que um uma em no na nos nas para com não por se seu sua mais ao pelo pela como mas são está ser também foi há ou isso este esta entre quando muito pode sobre',
  nl: 'de het een en van is dat in op te voor niet met zijn die er aan ook als bij om door naar worden wordt dan maar kan nog deze dit wel uit tot hun over heeft hebben of zo was werd geen ze wij ik je',
};

const CODES = Object.keys(STOPWORDS) as LanguageCode[];

/** For each stopword, the languages it belongs to and the weight (1/k) it adds to each. */
const WEIGHTS: Map<string, { codes: number[]; weight: number }> = (() => {
  const byWord = new Map<string, number[]>();
  CODES.forEach((code, i) => {
    for (const w of STOPWORDS[code].split(' ')) byWord.set(w, [...(byWord.get(w) ?? []), i]);
  });
  return new Map([...byWord].map(([w, codes]) => [w, { codes, weight: 1 / codes.length }]));
})();

/** Fewer words than this is too little text to tell (a heading, a caption, a code line). */
const MIN_WORDS = 12;
/** Prose in these languages is a third or more stopwords; under a tenth it is not prose. */
const MIN_STOPWORD_SHARE = 0.1;
/** The winner must lead the runner-up by this factor (Spanish and Portuguese are close). */
const MIN_LEAD = 1.3;

const WORD = /\p{L}+/gu;

/** The language of `text`, or undefined when the evidence is too thin to say. */
export function detectLanguage(text: string): LanguageCode | undefined {
  const scores = new Array<number>(CODES.length).fill(0);
  let words = 0;
  let hits = 0;
  for (const m of text.normalize('NFC').toLowerCase().matchAll(WORD)) {
    words++;
    const w = WEIGHTS.get(m[0]);
    if (!w) continue;
    hits++;
    for (const i of w.codes) scores[i]! += w.weight;
  }
  if (words < MIN_WORDS || hits < words * MIN_STOPWORD_SHARE) return undefined;
  const ranked = scores.map((score, i) => ({ score, i })).sort((a, b) => b.score - a.score || a.i - b.i);
  const [best, second] = [ranked[0]!, ranked[1]!];
  if (best.score < second.score * MIN_LEAD) return undefined;
  return CODES[best.i];
}

/** The prompt name for a code this detector knows ("de" → "German", any case); undefined otherwise. */
export function languageName(code: string): string | undefined {
  const c = code.trim().toLowerCase();
  // Own keys only: "constructor" is not a language.
  return Object.hasOwn(LANGUAGE_NAMES, c) ? LANGUAGE_NAMES[c as LanguageCode] : undefined;
}

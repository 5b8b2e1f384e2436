/**
 * The frame that makes a question self-contained: what the document is about, named from the
 * chunk's title ("the Apache License", "Bash", "the `logging` module"), put in front of the
 * question ("In Bash, what is …?") or, when long, after it ("… in the GNU General Public License?").
 */
import { normalizeQuestion } from '../../validate.js';
import { words } from './blocks.js';

export interface Frame {
  /** As used in a question: "the Apache License", "Bash", "the `argparse` module". */
  phrase: string;
  /** Lowercased words whose presence in a subject already names the document ("bash"). */
  key: string;
}

// Titles that are page furniture or a generic section, not a document's subject.
const NOT_A_SUBJECT = /^(?:sponsors?|contents|table of contents|navigation|index|readme|introduction|overview|usage|installation|install|about|home|documentation|docs|changelog|license|getting started|features|api|examples?)$/i;

/** Title-cases ALL-CAPS names but keeps short acronyms: "GNU GENERAL PUBLIC LICENSE". */
function unshout(s: string): string {
  if (/\p{Ll}/u.test(s)) return s;
  return s.replace(/\p{L}+/gu, (w) => (w.length <= 3 ? w : w[0] + w.slice(1).toLowerCase()));
}

export function documentFrame(title: string | undefined): Frame | undefined {
  if (!title) return undefined;
  const t = unshout(title.trim().replace(/\s+/g, ' '));
  // "logging — Logging facility for Python": a module page.
  const mod = /^([a-z_][\w.]*)\s+[—–-]\s+(.+)$/.exec(t);
  if (mod) {
    const python = /\bpython\b/i.test(mod[2]!);
    return { phrase: python ? `Python's \`${mod[1]}\` module` : `the \`${mod[1]}\` module`, key: mod[1]!.toLowerCase() };
  }
  // A numbered chapter ("9. Classes") names a topic, not a thing questions can be "in".
  if (/^\d+(?:\.\d+)*\.?\s/.test(t) || NOT_A_SUBJECT.test(t)) return undefined;
  // Release notes name a release: "GCC 12 Release Series Changes, New Features, and Fixes" → "GCC 12",
  // "What's New In Python 3.11" → "Python 3.11".
  const release = /^(?:What[’']?s New in\s+)?(.+?\d[\w.]*)(?:\s+(?:Release Series|Release Notes|Changes|News|Changelog)\b.*)?$/i.exec(t);
  if (release && !/^version\b/i.test(release[1]!) && (release[0] !== release[1] || /^What[’']?s New/i.test(t)) && words(release[1]!).length <= 4) {
    return { phrase: release[1]!, key: release[1]!.toLowerCase() };
  }
  // "Bash Reference Manual" → "Bash"; "General Python FAQ" → "Python"; "Sorting HOW TO" stays a document.
  const product = t.replace(/^General\s+/i, '').replace(/\s+(?:Reference Manual|Manual|User(?:'s)? Guide|Reference|Documentation|FAQ)$/i, '');
  if (product !== t && product) return { phrase: product, key: product.toLowerCase() };
  if (/\b(?:HOWTO|HOW TO|Tutorial|Guide)$/i.test(t)) return { phrase: `the ${t}`, key: t.toLowerCase() };
  const version = /^(.*?\bLicen[sc]e)\s*,?\s+(Version\s+[\d.]+)$/i.exec(t);
  if (version) return { phrase: `the ${version[1]}, ${version[2]}`, key: version[1]!.toLowerCase() };
  if (/\bLicen[sc]e$/i.test(t)) return { phrase: `the ${t}`, key: t.toLowerCase() };
  if (words(t).length > 5 || /[.:;!?]/.test(t.replace(/\.\w/g, ''))) return undefined;
  return { phrase: t, key: t.toLowerCase() };
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/**
 * The question `core` (no "?") about `subject`, framed by the document when the subject does
 * not already name it. Undefined when the subject needs a frame and there is none.
 */
export function framed(core: string, subject: string, frame: Frame | undefined, opts: { needsFrame?: boolean } = {}): string | undefined {
  // The subject (or the rest of the question) may already name the document: "Does the mkclone
  // script require Bash?" needs no "in Bash".
  const named = frame && ` ${normalizeQuestion(`${subject} ${core}`)} `.includes(` ${normalizeQuestion(frame.key)} `);
  if (!frame || named) {
    if (!named && opts.needsFrame) return undefined;
    return `${core}?`;
  }
  // The validator wants a question word first or within the first six words: a long frame, or
  // one before a yes/no question ("In Bash, can …" opens with neither), goes last.
  const frameWords = normalizeQuestion(frame.phrase).split(' ').length;
  const whFirst = /^(?:what|which|who|whom|whose|when|where|why|how)\b/i.test(core);
  return frameWords <= 4 && whFirst ? `In ${frame.phrase}, ${lowerFirst(core)}?` : `${core} in ${frame.phrase}?`;
}

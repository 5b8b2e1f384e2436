/**
 * Evidence: the span of extracted text an answer stands on. Offsets are Unicode code points
 * (like `char_start`), so Python's `text[answer_start:answer_end]` gives the span.
 */

// A line that starts a list item keeps its own line in an answer; other line breaks are wraps.
const LIST_LINE = /^(?:[-*•+]|\d{1,3}[.)]|[a-z][.)]|\((?:\d{1,3}|[a-z]{1,4})\))\s+/;

/**
 * The answer text a span stands for: whitespace runs inside a line become one space, wrapped
 * lines are joined, and a line that starts a list item stays on its own line. The built-in
 * generator's answers are exactly spanText(span); the card says so.
 */
export function spanText(span: string): string {
  const lines = span.split('\n').map((l) => l.replace(/\s+/g, ' ').trim()).filter(Boolean);
  let out = '';
  for (const line of lines) out += out === '' ? line : LIST_LINE.test(line) ? `\n${line}` : ` ${line}`;
  return out;
}

/** Code-point length of a string (what offsets are counted in). */
export function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** UTF-16 index → code-point index in `s`. */
export function toCodePointIndex(s: string, utf16Index: number): number {
  return codePoints(s.slice(0, utf16Index));
}

/** Code-point index → UTF-16 index in `s`. */
export function toUtf16Index(s: string, cpIndex: number): number {
  let i = 0;
  for (let n = 0; n < cpIndex && i < s.length; n++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
  }
  return i;
}

/** The text of a code-point span of `s`. */
export function sliceCodePoints(s: string, start: number, end: number): string {
  return s.slice(toUtf16Index(s, start), toUtf16Index(s, end));
}

/**
 * Content that breaks naive exporters: every Unicode plane, emoji sequences, right-to-left
 * scripts, control characters, NUL, a lone surrogate in UTF-16 input, a very long line, and
 * text that looks like numbers, booleans, dates and null.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function write(root: string, rel: string, data: string | Uint8Array): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), data);
}

/** UTF-16LE with a BOM; `loneSurrogate` puts an unpaired high surrogate in the middle. */
function utf16le(text: string, loneSurrogate: boolean): Uint8Array {
  const units: number[] = [0xfeff];
  for (let i = 0; i < text.length; i++) units.push(text.charCodeAt(i));
  if (loneSurrogate) units.splice(40, 0, 0xd83d); // half of an emoji, nothing after it
  const buf = Buffer.alloc(units.length * 2);
  units.forEach((u, i) => buf.writeUInt16LE(u, i * 2));
  return buf;
}

export function writeAdversarialDocs(root: string): void {
  write(root, 'unicode/planes.md', `# Planes and scripts

"Ωmega 😀" means the last Greek letter written beside a grinning face 😀 and a flag 🇺🇳.

"Han" means the script of 中文 and of the rare character 𠀀 from the supplementary ideographic plane.

"Tag" means a language tag such as 🏴󠁧󠁢󠁳󠁣󠁴󠁿 built from plane 14 tag characters.

"Private" means a private use code point like \u{F0000} or \u{10FFFD} that fonts may not draw.

"Family" means the emoji sequence 👨‍👩‍👧‍👦 joined with zero width joiners.
`);
  write(root, 'unicode/rtl.html', `<html><body><h1>Greetings</h1>
<p>"שלום" means peace and is a common greeting in Hebrew.</p>
<p>"مرحبا" means hello and is a greeting in Arabic, written right to left.</p>
<p>A mixed line is a line such as "abc אבג 123 مرحبا" with both directions.</p>
</body></html>`);
  write(root, 'unicode/control.txt', 'Control\n\nA bell is a character \u0007 that rings, and an escape \u001b[31m starts colour codes.\n\nA form feed is a character that starts a new page.\f\n');
  write(root, 'lookalike/values.txt', `Values

"Answer" means 42 apples counted on 2024-01-01 at noon.

"Flag" means true or false and nothing else.

"Nothing" means null and void, not the string NaN.

"Scientific" means 1e5 written in exponent notation.

A date string is a value such as 1999-12-31T23:59:59Z that looks like a timestamp.
`);
  const sentence = 'A long line is a line that goes on without a break for many thousands of characters. ';
  write(root, 'long/one-line.txt', sentence.repeat(4000)); // ~350 KB, no newline at all
  write(root, 'encodings/utf16.txt', utf16le('Tides\n\nA tide is the regular rise and fall of the sea caused by the Moon.\n', false));
  write(root, 'encodings/utf16-broken.txt', utf16le('Waves\n\nA wave is a disturbance that moves energy through water from one place to another.\n', true));
  write(root, 'encodings/nul-inside.txt', 'A text file with a NUL \u0000 byte in the middle is treated as binary.\n');
}

/** A document whose every generated pair is rejected: the answers are only digits. */
export function writeAllRejectedDoc(root: string, rel = 'numbers.txt'): void {
  write(root, rel, `Codes

"Alpha" means 1234 5678.

"Beta" means 2345 6789.

"Gamma" means 3456 7890.
`);
}

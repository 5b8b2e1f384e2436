/**
 * HTML → blocks with html-to-text. Headings are wrapped in private marker characters by a
 * custom formatter and split out afterwards; that is how their positions survive the
 * library's layout without re-implementing it.
 */
import { compile, type FormatCallback } from 'html-to-text';
import type { Block } from './blocks.js';
import { checkHtmlDepth, DEFAULT_EXTRACT_LIMITS } from './limits.js';
import { mainContentHtml } from './mainContent.js';

// Heading markers are lone surrogates. Our input is well-formed (strict decoding, and any
// lone surrogate is replaced below) and HTML entity decoding turns &#xD800; into U+FFFD, so
// a document cannot forge them. Each is kept lone: START is always followed by a digit, END
// always follows a digit or the heading's last, non-high-surrogate code unit.
const H_START = '\uDBFF';
const H_END = '\uDC00';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `<h2>Intro</h2>` → its own block, wrapped as «START 2 Intro END». Case is kept. */
const markedHeading: FormatCallback = (elem, walk, builder) => {
  const level = Number(elem.name?.slice(1)) || 1;
  builder.openBlock({ leadingLineBreaks: 2 });
  builder.addLiteral(H_START + String(level));
  walk(elem.children, builder);
  builder.addLiteral(H_END);
  builder.closeBlock({ trailingLineBreaks: 2 });
};

/** Tables as one line per row, cells joined by " | ": readable and keeps cells together. */
const pipeTable: FormatCallback = (elem, walk, builder) => {
  builder.openTable();
  const visit = (node: (typeof elem.children)[number]): void => {
    if (node.type !== 'tag') return;
    if (['thead', 'tbody', 'tfoot', 'center'].includes(node.name ?? '')) {
      node.children.forEach(visit);
    } else if (node.name === 'tr') {
      builder.openTableRow();
      for (const cell of node.children) {
        if (cell.type !== 'tag' || (cell.name !== 'td' && cell.name !== 'th')) continue;
        builder.openTableCell();
        walk(cell.children, builder);
        builder.closeTableCell();
      }
      builder.closeTableRow();
    }
  };
  elem.children.forEach(visit);
  builder.closeTable({
    leadingLineBreaks: 2,
    trailingLineBreaks: 2,
    tableToString: (rows) =>
      rows
        .map((cells) => cells.map((c) => c.text.replace(/\s*\n\s*/g, ' ').trim()).join(' | '))
        .filter((line) => line.replace(/[\s|]/g, '') !== '')
        .join('\n'),
  });
};

const skip = (selector: string) => ({ selector, format: 'skip' });

const convert = compile({
  wordwrap: false,
  // The default 16M-character cap truncates silently (plus a console.warn); the caller
  // already enforces a file-size limit, so take the whole document.
  limits: { maxInputLength: Number.MAX_SAFE_INTEGER },
  formatters: { markedHeading, pipeTable },
  selectors: [
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, format: 'markedHeading' })),
    // Links: their text only. Images: nothing (alt text is rarely prose).
    { selector: 'a', options: { ignoreHref: true } },
    skip('img'),
    // Not content: code, styling, navigation chrome, document metadata.
    ...['script', 'style', 'noscript', 'template', 'nav', 'head', 'svg', 'iframe', 'object', 'button'].map(skip),
    { selector: 'table', format: 'pipeTable' },
    { selector: 'ul', options: { itemPrefix: '- ' } },
    // Markup that would read as literal characters in plain text.
    { selector: 'blockquote', format: 'block', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
    { selector: 'hr', format: 'block', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
    // Block elements html-to-text renders inline by default, gluing e.g. a TOC into one word.
    ...['dl', 'dt', 'dd', 'figure', 'figcaption', 'details', 'summary', 'address', 'fieldset', 'legend', 'caption'].map(
      (selector) => ({ selector, format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } }),
    ),
  ],
});

/**
 * Throws TooComplexError when elements nest deeper than `maxDepth` (checked before parsing).
 * `mainContent`: keep only the page's main content (mainContent.ts); for web pages, not for
 * HTML that is all content (rendered Markdown, .docx, EPUB chapters).
 */
export function htmlToBlocks(html: string, maxDepth = DEFAULT_EXTRACT_LIMITS.maxHtmlDepth, mainContent = false): Block[] {
  let input = html.replace(LONE_SURROGATE, '\uFFFD');
  checkHtmlDepth(input, maxDepth);
  if (mainContent) input = mainContentHtml(input);
  const rendered = convert(input);
  const blocks: Block[] = [];
  let textFrom = 0; // start of the text not yet emitted
  let open: { at: number; level: number } | null = null;
  for (const m of rendered.matchAll(LONE_SURROGATE)) {
    if (m[0] === H_START) {
      // A heading nested in another (invalid HTML) aborts the outer one: its text stays text.
      blocks.push({ kind: 'text', text: rendered.slice(textFrom, m.index) });
      open = { at: m.index + 2, level: Number(rendered[m.index + 1]) || 1 };
      textFrom = m.index + 2;
    } else if (open) {
      blocks.push({ kind: 'heading', level: open.level, text: rendered.slice(open.at, m.index) });
      open = null;
      textFrom = m.index + 1;
    }
  }
  blocks.push({ kind: 'text', text: rendered.slice(textFrom) });
  // Strays (a heading formatter cut short) must not reach the output.
  return blocks.map((b) => ({ ...b, text: b.text.replace(LONE_SURROGATE, '') }));
}

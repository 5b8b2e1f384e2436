/**
 * Markdown → blocks: `marked` renders HTML, which then takes the HTML path. One layout engine
 * for both formats keeps tables, lists and headings consistent, and raw HTML embedded in the
 * markdown (scripts, navs) is handled by the same rules.
 */
import { Marked } from 'marked';
import type { Block } from './blocks.js';
import { htmlToBlocks } from './html.js';
import { checkMarkdownNesting, DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from './limits.js';
import { mystToMarkdown } from './myst.js';

// A private instance: extensions another module registers on the global `marked` must not
// change our output (determinism).
const marked = new Marked({ gfm: true, breaks: false, async: false });

/** YAML (or TOML `+++`) front matter at the very top: metadata, not prose. */
const FRONT_MATTER = /^(?:---[ \t]*\r?\n[\s\S]*?\r?\n(?:---|\.\.\.)|\+\+\+[ \t]*\r?\n[\s\S]*?\r?\n\+\+\+)[ \t]*(?:\r?\n|$)/;

/** Only strip it if it looks like metadata (`key: value`): a leading `---` can also be a rule. */
const METADATA_LINE = /^[ \t]*[\w.-]+[ \t]*[:=]/m;

export function stripFrontMatter(md: string): string {
  const m = FRONT_MATTER.exec(md);
  return m && METADATA_LINE.test(m[0]) ? md.slice(m[0].length) : md;
}

/** Throws TooComplexError for nesting past the limits (checked before marked and html-to-text run). */
export function markdownToBlocks(md: string, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Block[] {
  const body = mystToMarkdown(stripFrontMatter(md));
  checkMarkdownNesting(body, limits.maxMarkdownNesting);
  const html = marked.parse(body, { async: false });
  return htmlToBlocks(html, limits.maxHtmlDepth);
}

/**
 * The main content of an HTML page, without its chrome (navigation bars, sidebars, "Previous
 * topic / Next topic", "Show Source", footers, "Skip to content" links, `¶` permalinks).
 *
 * A page with no chrome at all (no nav/header/footer/aside, no navigation roles, no sidebar or
 * footer classes) is returned unchanged, so simple HTML reads exactly as before. Otherwise
 * Mozilla Readability (on a linkedom DOM) picks the content; when it finds nothing, or much
 * less than the page's declared main region (<main>, [role=main], a single <article>, Sphinx's
 * div.body), or picks mostly words from outside that region (a footer, on an index page that
 * is a list of links), the declared region is used instead. Hidden elements, mdBook's
 * keyboard-help popup and Texinfo's node navigation go first. Readability drops an <h1> that repeats the
 * page title; it is put back, since that is the document's heading.
 */
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';

type Doc = ReturnType<typeof parseHTML>['document'];
type El = NonNullable<ReturnType<Doc['querySelector']>>;

/** Chrome that may be anywhere on a page: removed before anything else. */
const PERMALINK_TEXT = /^\s*[¶§#🔗]\s*$/u;
const SKIP_LINK_TEXT = /^\s*skip to (?:the )?(?:main )?(?:content|navigation|main)\s*$/i;

/** Signs that the page has chrome around its content. */
const CHROME =
  'nav, header, footer, aside, [role=navigation], [role=banner], [role=contentinfo], [role=complementary], [role=search], ' +
  '.sphinxsidebar, .related, .footer, #footer, .sidebar, #sidebar, .navbar, .breadcrumbs, .toc-drawer, .sidebar-drawer';

/** Declared main regions, most specific first (Sphinx classic/alabaster: div.body; furo, RTD: main, [role=main]). */
const MAIN_REGIONS = ['[role=main]', 'main', '[itemprop=articleBody]', 'div.body', '.rst-content', 'article', 'div.document', '#content', '#main'];

/** Below this share of the declared region's text, Readability's pick is taken to have lost content. */
const MIN_SHARE_OF_REGION = 0.6;

export function mainContentHtml(html: string): string {
  // Cheap string test first: most pages of a plain corpus have none of this.
  if (!/[¶§🔗]|skip|<(?:nav|header|footer|aside)\b|role=|sidebar|related|footer|navbar|breadcrumb|nav-panel|class="header"/i.test(html)) return html;
  // linkedom needs a whole document: given a fragment, it grows <head><body> inside an element.
  const whole = /<(?:html|body)[\s>]/i.test(html) ? html : `<!DOCTYPE html><html><head></head><body>${html}</body></html>`;
  const { document } = parseHTML(whole);
  // Each removal must run: no short-circuit.
  const removed = [removeHidden(document), removeTexinfoNav(document), removeLinkChrome(document)].includes(true);
  const body = document.body ?? document.documentElement;
  if (!body) return html;
  if (!document.querySelector(CHROME)) return removed ? serialize(document) : html;

  const region = declaredRegion(document);
  const regionText = region ? textOf(region) : '';
  const title = (region ?? body).querySelector('h1');

  let picked: string | undefined;
  try {
    // Readability changes the DOM it is given: work on a copy. It also renames every <h1> to
    // <h2> (it shows the title apart): a class it keeps tells them apart afterwards.
    const copy = parseHTML(serialize(document)).document;
    for (const h of [...copy.querySelectorAll('h1')]) h.classList.add(H1_MARK);
    const article = new Readability(copy as unknown as ConstructorParameters<typeof Readability>[0], { keepClasses: true }).parse();
    const text = article?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
    if (article && text !== '' && text.length >= MIN_SHARE_OF_REGION * regionText.length && !outsideRegion(text, region, regionText)) {
      picked = restoreH1(article.content ?? '', title ? title.innerHTML : undefined);
    }
  } catch {
    // A Readability failure on odd markup: fall back to the declared region or the whole page.
  }
  if (picked === undefined) {
    if (!region) return serialize(document, true);
    for (const el of [...region.querySelectorAll(CHROME)]) el.remove();
    picked = region.outerHTML;
  }
  return `<html><body>${picked}</body></html>`;
}

/**
 * What a reader never sees unless they ask: elements marked `hidden` and mdBook's keyboard help
 * popup (shown by "?"). Readability would keep them with the article they sit next to.
 */
const HIDDEN = '[hidden], #mdbook-help-container';

function removeHidden(document: Doc): boolean {
  const found = [...document.querySelectorAll(HIDDEN)];
  for (const el of found) el.remove();
  return found.length > 0;
}

/**
 * Texinfo's node navigation ("Next: Definitions, Up: Bash Features [Contents][Index]"), above
 * every node of a one-page manual: div.header (Texinfo 6) or div.nav-panel (Texinfo 7) holding
 * next/prev/up/contents/index links.
 */
function removeTexinfoNav(document: Doc): boolean {
  const found = [...document.querySelectorAll('div.header, div.nav-panel')].filter((el) => {
    const text = (el.textContent ?? '').replace(/\s+/g, '');
    // A node without neighbours has only "[Contents][Index]".
    return el.querySelector('a[rel=next], a[rel=prev], a[rel=up], a[rel=contents], a[rel=index]') && /^(?:(?:next|previous|prev|up):|\[contents\])/i.test(text);
  });
  for (const el of found) el.remove();
  return found.length > 0;
}

/** Removes permalink marks and skip links; true if anything went. */
function removeLinkChrome(document: Doc): boolean {
  let removed = false;
  for (const a of [...document.querySelectorAll('a')]) {
    const href = a.getAttribute('href') ?? '';
    const cls = a.getAttribute('class') ?? '';
    const text = a.textContent ?? '';
    const permalink = /\bheaderlink\b|\bheader-anchor\b|\banchor-link\b|\bpermalink\b/.test(cls) || (href.startsWith('#') && PERMALINK_TEXT.test(text));
    const skip = /\bskip-(?:link|to-content)\b/.test(cls) || (href.startsWith('#') && SKIP_LINK_TEXT.test(text));
    if (permalink || skip) {
      a.remove();
      removed = true;
    }
  }
  return removed;
}

/**
 * Readability scores blocks by their prose: on a page whose main region is short (a Sphinx
 * index that is a list of links) it can pick the footer instead. Its pick must be mostly words
 * of the declared region, when the page declares one.
 */
function outsideRegion(picked: string, region: El | null, regionText: string): boolean {
  if (!region) return false;
  const inRegion = new Set(regionText.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  const words = picked.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const inside = words.filter((w) => inRegion.has(w)).length;
  return words.length > 0 && inside < MIN_WORDS_IN_REGION * words.length;
}

/** Share of Readability's words that must be words of the declared region (see outsideRegion). */
const MIN_WORDS_IN_REGION = 0.5;

function declaredRegion(document: Doc): El | null {
  for (const selector of MAIN_REGIONS) {
    const found = [...document.querySelectorAll(selector)];
    if (found.length === 1 || (found.length > 1 && selector !== 'article')) return found[0]!;
  }
  return null;
}

/** Whole page minus the chrome elements (no declared region and Readability found nothing). */
function serialize(document: Doc, withoutChrome = false): string {
  if (withoutChrome) for (const el of [...document.querySelectorAll(CHROME)]) el.remove();
  return document.toString();
}

function textOf(el: El): string {
  return (el.textContent ?? '').replace(/\s+/g, ' ').trim();
}

const H1_MARK = 'corpus-qa-h1';

/** Headings that were <h1> become <h1> again; the page's first <h1>, if Readability dropped it, goes first. */
function restoreH1(content: string, titleHtml: string | undefined): string {
  const { document } = parseHTML(`<html><body>${content}</body></html>`);
  let hasTitle = false;
  for (const h of [...document.querySelectorAll(`.${H1_MARK}`)]) {
    h.classList.remove(H1_MARK);
    if (!h.getAttribute('class')) h.removeAttribute('class');
    const h1 = document.createElement('h1');
    for (const child of [...h.childNodes]) h1.appendChild(child);
    h.replaceWith(h1);
    hasTitle = true;
  }
  const body = document.body.innerHTML;
  return titleHtml !== undefined && !hasTitle ? `<h1>${titleHtml}</h1>\n${body}` : body;
}

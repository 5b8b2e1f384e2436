/**
 * Office and e-book formats, through the same blocks as everything else:
 * - .docx: mammoth turns the document into semantic HTML (headings from the paragraph styles,
 *   lists, tables), which takes the HTML path.
 * - .epub: the chapters in spine order (not manifest order), each through the HTML path, with
 *   its title from the navigation document (EPUB 3) or the NCX (EPUB 2) as a heading when the
 *   chapter does not start with it already.
 * Both are zip archives: the declared sizes of the entries are summed before anything is
 * inflated, and past `maxArchiveDecodedMb` the document is `too_complex` (a zip bomb).
 * (.pptx: activities/extract/pptx.ts, with the same container checks.)
 * An OLE compound file (what Office writes for a password-protected document, or the old
 * binary .doc) is recognised by its signature: `encrypted` or `unsupported_type`.
 */
import { unzipSync, type UnzipFileInfo } from 'fflate';
import { DomUtils, parseDocument } from 'htmlparser2';
import mammoth from 'mammoth';
import type { DocumentErrorReason } from '../../schemas/index.js';
import type { Block } from './blocks.js';
import { decodeBytes } from './decode.js';
import { htmlToBlocks } from './html.js';
import { type ExtractLimits, TooComplexError } from './limits.js';

export type OfficeResult = { ok: true; blocks: Block[]; warnings: string[] } | { ok: false; reason: DocumentErrorReason; detail: string };

const OLE_SIGNATURE = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const ZIP_SIGNATURE = [0x50, 0x4b, 0x03, 0x04];
const MB = 1024 * 1024;

type Element = ReturnType<typeof parseDocument>['children'][number];

export async function docxToBlocks(bytes: Uint8Array, limits: ExtractLimits): Promise<OfficeResult> {
  const notZip = checkContainer(bytes, 'Word (.docx)');
  if (notZip) return notZip;
  const entries = listZip(bytes, 'Word (.docx)', limits);
  if (!entries.ok) return entries;
  if (!entries.names.includes('word/document.xml')) return unreadable('not a Word document: the archive has no word/document.xml');
  let html: string;
  let messages: { type: string; message: string }[];
  try {
    const result = await mammoth.convertToHtml({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
    html = result.value;
    messages = result.messages;
  } catch (err) {
    return unreadable(`Word document could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  const warnings = messages.filter((m) => m.type === 'error').map((m) => `docx: ${m.message}`);
  return { ok: true, blocks: htmlToBlocks(html, limits.maxHtmlDepth), warnings };
}

export function epubToBlocks(bytes: Uint8Array, limits: ExtractLimits): OfficeResult {
  const notZip = checkContainer(bytes, 'EPUB');
  if (notZip) return notZip;
  const listed = listZip(bytes, 'EPUB', limits);
  if (!listed.ok) return listed;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (f) => /\.(?:xml|opf|ncx|x?html?)$/i.test(f.name) });
  } catch (err) {
    return unreadable(`EPUB could not be unpacked: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = (name: string): string | undefined => {
    const data = files[name];
    if (!data) return undefined;
    const decoded = decodeBytes(data);
    return decoded.ok ? decoded.text : undefined;
  };
  const container = text('META-INF/container.xml');
  if (container === undefined) return unreadable('not an EPUB: META-INF/container.xml is missing');
  const opfPath = elements(container, 'rootfile')[0]?.attribs['full-path'];
  const opf = opfPath === undefined ? undefined : text(opfPath);
  if (opfPath === undefined || opf === undefined) return unreadable('EPUB has no readable package document (.opf)');

  const base = opfPath.includes('/') ? opfPath.slice(0, opfPath.lastIndexOf('/') + 1) : '';
  const manifest = new Map<string, { href: string; type: string; properties: string }>();
  for (const item of elements(opf, 'item')) {
    const { id, href, 'media-type': type = '', properties = '' } = item.attribs;
    if (id !== undefined && href !== undefined) manifest.set(id, { href: resolve(base, href), type, properties });
  }
  const spine = elements(opf, 'spine')[0];
  const titles = new Map<string, string>();
  const navItem = [...manifest.values()].find((m) => /\bnav\b/.test(m.properties));
  if (navItem) readNavTitles(text(navItem.href), navItem.href, titles);
  const ncxItem = manifest.get(spine?.attribs.toc ?? '') ?? [...manifest.values()].find((m) => m.type === 'application/x-dtbncx+xml');
  if (ncxItem && titles.size === 0) readNcxTitles(text(ncxItem.href), ncxItem.href, titles);

  const blocks: Block[] = [];
  const warnings: string[] = [];
  for (const ref of spine ? DomUtils.findAll((e) => localName(e.name) === 'itemref', spine.children) : []) {
    const item = manifest.get(ref.attribs.idref ?? '');
    if (!item || item === navItem || !/html/.test(item.type)) continue;
    const html = text(item.href);
    if (html === undefined) {
      warnings.push(`epub: chapter ${item.href} is missing or unreadable`);
      continue;
    }
    const chapter = htmlToBlocks(html, limits.maxHtmlDepth);
    const title = titles.get(item.href);
    const first = chapter.find((b) => b.text.trim() !== '');
    if (title && !(first?.kind === 'heading' && sameTitle(first.text, title))) blocks.push({ kind: 'heading', level: 1, text: title });
    blocks.push(...chapter);
  }
  return { ok: true, blocks, warnings };
}

/** `unsupported_type` or `encrypted` for OLE files, `unreadable` for anything else that is not a zip. */
export function checkContainer(bytes: Uint8Array, what: string): OfficeResult | null {
  if (OLE_SIGNATURE.every((b, i) => bytes[i] === b)) {
    // Office encrypts a .docx/.pptx/.xlsx by wrapping it in an OLE file with these streams.
    const names = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (names.includes(Buffer.from('EncryptedPackage', 'utf16le'))) {
      return { ok: false, reason: 'encrypted', detail: `${what} file is encrypted (password-protected)` };
    }
    return { ok: false, reason: 'unsupported_type', detail: `an old binary Office file (OLE), not ${what}` };
  }
  if (!ZIP_SIGNATURE.every((b, i) => bytes[i] === b)) return unreadable(`not a ${what} file: it is not a zip archive`);
  return null;
}

/** Entry names, after checking the sum of their declared sizes against the limit (nothing is inflated). */
export function listZip(bytes: Uint8Array, what: string, limits: ExtractLimits): { ok: true; names: string[] } | Extract<OfficeResult, { ok: false }> {
  const infos: UnzipFileInfo[] = [];
  try {
    unzipSync(bytes, { filter: (f) => (infos.push(f), false) });
  } catch (err) {
    return unreadable(`${what} file is not a readable zip archive: ${err instanceof Error ? err.message : String(err)}`);
  }
  const total = infos.reduce((n, f) => n + f.originalSize, 0);
  if (total > limits.maxArchiveDecodedMb * MB) {
    throw new TooComplexError(
      `${what} archive entries decompress to ${Math.ceil(total / MB)} MB (limit: ${limits.maxArchiveDecodedMb} MB decoded; a zip bomb?)`,
    );
  }
  return { ok: true, names: infos.map((f) => f.name) };
}

function readNavTitles(nav: string | undefined, navPath: string, titles: Map<string, string>): void {
  if (nav === undefined) return;
  const doc = parseDocument(nav, { xmlMode: true });
  const navs = DomUtils.findAll((e) => localName(e.name) === 'nav', doc.children);
  const toc = navs.find((n) => /\btoc\b/.test(n.attribs['epub:type'] ?? n.attribs.role ?? '')) ?? navs[0];
  if (!toc) return;
  const dir = navPath.slice(0, navPath.lastIndexOf('/') + 1);
  for (const a of DomUtils.findAll((e) => localName(e.name) === 'a', toc.children)) {
    const href = a.attribs.href;
    if (!href) continue;
    const target = resolve(dir, href.split('#')[0]!);
    const label = DomUtils.textContent(a).replace(/\s+/g, ' ').trim();
    if (label && !titles.has(target)) titles.set(target, label);
  }
}

function readNcxTitles(ncx: string | undefined, ncxPath: string, titles: Map<string, string>): void {
  if (ncx === undefined) return;
  const doc = parseDocument(ncx, { xmlMode: true });
  const dir = ncxPath.slice(0, ncxPath.lastIndexOf('/') + 1);
  for (const point of DomUtils.findAll((e) => localName(e.name) === 'navPoint', doc.children)) {
    const label = DomUtils.findOne((e) => localName(e.name) === 'text', point.children);
    const content = DomUtils.findOne((e) => localName(e.name) === 'content', point.children);
    const src = content?.attribs.src;
    if (!label || !src) continue;
    const target = resolve(dir, src.split('#')[0]!);
    const text = DomUtils.textContent(label).replace(/\s+/g, ' ').trim();
    if (text && !titles.has(target)) titles.set(target, text);
  }
}

function elements(xml: string, name: string): (Element & { attribs: Record<string, string>; children: Element[] })[] {
  const doc = parseDocument(xml, { xmlMode: true });
  return DomUtils.findAll((e) => localName(e.name) === name, doc.children);
}

export function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

/** A zip path for `href` relative to the directory `base` ("OEBPS/"), with `..` and %-escapes resolved. */
export function resolve(base: string, href: string): string {
  let decoded = href;
  try {
    decoded = decodeURIComponent(href);
  } catch {
    // keep it as written
  }
  const out: string[] = [];
  for (const part of (base + decoded).split('/')) {
    if (part === '..') out.pop();
    else if (part !== '.' && part !== '') out.push(part);
  }
  return out.join('/');
}

function sameTitle(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();
  const x = norm(a);
  const y = norm(b);
  return x === y || x.includes(y) || y.includes(x);
}

export function unreadable(detail: string): Extract<OfficeResult, { ok: false }> {
  return { ok: false, reason: 'unreadable', detail };
}

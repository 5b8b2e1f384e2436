/**
 * PowerPoint (.pptx) through the same blocks as everything else: the slides in the order of the
 * presentation (ppt/presentation.xml's slide list, resolved through its relationships; not the
 * file names, which keep the order a slide was created in), each slide's title placeholder as a
 * heading (the title slide's `ctrTitle` level 1, other slide titles level 2), then the text of
 * its shapes, groups and tables in the slide's drawing order. Speaker notes are left out: they
 * are the presenter's prompts, not the deck's content.
 * The container checks are docx's (activities/extract/office.ts): an encrypted deck (an OLE file
 * wrapping an EncryptedPackage) is `encrypted`, an old binary .ppt `unsupported_type`, a broken
 * zip `unreadable`, entries past `maxArchiveDecodedMb` `too_complex`.
 */
import { unzipSync } from 'fflate';
import { DomUtils, parseDocument } from 'htmlparser2';
import type { Block } from './blocks.js';
import { decodeBytes } from './decode.js';
import type { ExtractLimits } from './limits.js';
import { checkContainer, listZip, localName, type OfficeResult, resolve, unreadable } from './office.js';

type Node = ReturnType<typeof parseDocument>['children'][number];
type Element = Extract<Node, { attribs: Record<string, string> }>;

const WHAT = 'PowerPoint (.pptx)';
const SLIDE_REL = /\/relationships\/slide$/;

export function pptxToBlocks(bytes: Uint8Array, limits: ExtractLimits): OfficeResult {
  const notZip = checkContainer(bytes, WHAT);
  if (notZip) return notZip;
  const listed = listZip(bytes, WHAT, limits);
  if (!listed.ok) return listed;
  if (!listed.names.includes('ppt/presentation.xml')) return unreadable('not a PowerPoint deck: the archive has no ppt/presentation.xml');
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (f) => f.name === 'ppt/presentation.xml' || f.name === 'ppt/_rels/presentation.xml.rels' || /^ppt\/slides\/[^/]+\.xml$/.test(f.name) });
  } catch (err) {
    return unreadable(`${WHAT} could not be unpacked: ${err instanceof Error ? err.message : String(err)}`);
  }
  const xml = (name: string): Element[] | undefined => {
    const data = files[name];
    if (!data) return undefined;
    const decoded = decodeBytes(data);
    return decoded.ok ? (parseDocument(decoded.text, { xmlMode: true }).children.filter(isElement)) : undefined;
  };
  const presentation = xml('ppt/presentation.xml');
  if (!presentation) return unreadable('PowerPoint deck has an unreadable ppt/presentation.xml');

  const warnings: string[] = [];
  const blocks: Block[] = [];
  for (const slidePath of slideOrder(presentation, xml('ppt/_rels/presentation.xml.rels'), Object.keys(files))) {
    const slide = xml(slidePath);
    if (!slide) {
      warnings.push(`pptx: slide ${slidePath} is missing or unreadable`);
      continue;
    }
    blocks.push(...slideBlocks(slide));
  }
  return { ok: true, blocks, warnings };
}

/** Slide parts in presentation order; without a usable slide list, by the number in the file name. */
function slideOrder(presentation: Element[], rels: Element[] | undefined, names: string[]): string[] {
  const targets = new Map<string, string>();
  for (const rel of rels ? findAll(rels, 'Relationship') : []) {
    const { Id: id, Type: type = '', Target: target } = rel.attribs;
    if (id === undefined || target === undefined || !SLIDE_REL.test(type)) continue;
    targets.set(id, target.startsWith('/') ? resolve('', target) : resolve('ppt/', target));
  }
  const present = new Set(names);
  const ordered = findAll(presentation, 'sldId')
    .map((s) => targets.get(relationshipId(s) ?? ''))
    .filter((p): p is string => p !== undefined && present.has(p));
  if (ordered.length > 0) return [...new Set(ordered)];
  const slideNumber = (n: string) => Number(/(\d+)\.xml$/.exec(n)?.[1] ?? Number.MAX_SAFE_INTEGER);
  return names.filter((n) => /^ppt\/slides\/slide\d+\.xml$/.test(n)).sort((a, b) => slideNumber(a) - slideNumber(b) || (a < b ? -1 : 1));
}

/** The slide's title first (a heading), then every other text in drawing order. */
function slideBlocks(slide: Element[]): Block[] {
  const tree = findAll(slide, 'spTree')[0];
  if (!tree) return [];
  let title: Block | undefined;
  const body: Block[] = [];
  const visit = (nodes: Node[]): void => {
    for (const node of nodes) {
      if (!isElement(node)) continue;
      const name = localName(node.name);
      if (name === 'sp') {
        const text = shapeText(node);
        if (text.trim() === '') continue;
        const ph = findAll(node.children, 'ph')[0]?.attribs.type;
        if (title === undefined && (ph === 'title' || ph === 'ctrTitle')) title = { kind: 'heading', level: ph === 'ctrTitle' ? 1 : 2, text };
        else body.push({ kind: 'text', text });
      } else if (name === 'graphicFrame') {
        for (const table of findAll(node.children, 'tbl')) body.push({ kind: 'text', text: tableText(table) });
      } else if (name === 'grpSp') {
        visit(node.children);
      } else if (name === 'AlternateContent') {
        // Choice and Fallback hold the same content twice: read one of them.
        const choice = node.children.find((c) => isElement(c) && (localName(c.name) === 'Choice' || localName(c.name) === 'Fallback'));
        if (choice && isElement(choice)) visit(choice.children);
      }
    }
  };
  visit(tree.children);
  return title ? [title, ...body] : body;
}

/** A shape's paragraphs, one line each (bullets are paragraphs); `<a:br/>` is a line break. */
function shapeText(shape: Element): string {
  const txBody = findAll(shape.children, 'txBody')[0];
  if (!txBody) return '';
  return findAll(txBody.children, 'p').map(paragraphText).join('\n');
}

function paragraphText(p: Element): string {
  let out = '';
  const walk = (nodes: Node[]): void => {
    for (const node of nodes) {
      if (!isElement(node)) continue;
      const name = localName(node.name);
      if (name === 't') out += DomUtils.textContent(node);
      else if (name === 'br') out += '\n';
      else if (name !== 'rPr' && name !== 'pPr' && name !== 'endParaRPr') walk(node.children);
    }
  };
  walk(p.children);
  return out;
}

/** A table as rows of cells joined by " | ", the way HTML tables come out. */
function tableText(table: Element): string {
  return findAll(table.children, 'tr')
    .map((tr) => findAll(tr.children, 'tc').map((tc) => findAll(tc.children, 'p').map(paragraphText).join(' ').replace(/\s+/g, ' ').trim()).join(' | '))
    .filter((row) => row.replace(/[|\s]/g, '') !== '')
    .join('\n');
}

function findAll(nodes: Node[], name: string): Element[] {
  return DomUtils.findAll((e) => localName(e.name) === name, nodes) as Element[];
}

/** `r:id` whatever the relationships namespace's prefix is (the unprefixed `id` is the slide's number). */
function relationshipId(e: Element): string | undefined {
  const key = Object.keys(e.attribs).find((k) => k.includes(':') && localName(k) === 'id');
  return key === undefined ? undefined : e.attribs[key];
}

function isElement(node: Node): node is Element {
  return 'attribs' in node && typeof (node as { name?: unknown }).name === 'string';
}

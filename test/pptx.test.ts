import { strToU8, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { extractText, kindFromPath, type Extraction, type ExtractOk } from '../activities/extract/index.js';
import { closeExtractionPool, extractAndChunk } from '../activities/extract/pool.js';

afterAll(() => closeExtractionPool());

const NS = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"';
const SLIDE_REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide';

type Shape = { ph?: 'title' | 'ctrTitle' | 'body' | 'subTitle'; paragraphs: string[] } | { table: string[][] } | { group: Shape[] };

function shapeXml(s: Shape): string {
  if ('group' in s) return `<p:grpSp><p:nvGrpSpPr><p:cNvPr id="9" name="Group"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>${s.group.map(shapeXml).join('')}</p:grpSp>`;
  if ('table' in s) {
    const rows = s.table.map((r) => `<a:tr h="1">${r.map((c) => `<a:tc><a:txBody><a:bodyPr/><a:p><a:r><a:t>${c}</a:t></a:r></a:p></a:txBody></a:tc>`).join('')}</a:tr>`).join('');
    return `<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="7" name="Table"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/table"><a:tbl>${rows}</a:tbl></a:graphicData></a:graphic></p:graphicFrame>`;
  }
  const ph = s.ph ? `<p:ph type="${s.ph}"/>` : '';
  // Runs split mid-word, as PowerPoint writes them after an edit; <a:br/> is a soft line break.
  const runs = (t: string) => {
    const half = Math.ceil(t.length / 2);
    return `<a:r><a:rPr lang="en-US"/><a:t>${t.slice(0, half)}</a:t></a:r><a:r><a:rPr b="1"/><a:t>${t.slice(half)}</a:t></a:r>`;
  };
  const paras = s.paragraphs
    .map((p) => `<a:p><a:pPr lvl="0"/>${p.split('<br>').map(runs).join('<a:br/>')}<a:endParaRPr/></a:p>`)
    .join('');
  return `<p:sp><p:nvSpPr><p:cNvPr id="2" name="Shape"/><p:cNvSpPr/><p:nvPr>${ph}</p:nvPr></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:lstStyle/>${paras}</p:txBody></p:sp>`;
}

/**
 * A minimal but real .pptx: content types, the presentation with its slide list, its
 * relationships, and the slides. `order` lists the slide files in presentation order, which
 * need not be their numbering (a slide moved in PowerPoint keeps its file name).
 */
function makePptx(slides: Record<string, Shape[]>, order: string[] = Object.keys(slides)): Uint8Array {
  const files: Record<string, Uint8Array> = {
    '[Content_Types].xml': strToU8(
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>' +
        '<Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/>' +
        Object.keys(slides).map((s) => `<Override PartName="/ppt/slides/${s}" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/>`).join('') +
        '</Types>',
    ),
    '_rels/.rels': strToU8(
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="ppt/presentation.xml"/></Relationships>',
    ),
    'ppt/presentation.xml': strToU8(
      `<?xml version="1.0" encoding="UTF-8"?><p:presentation ${NS}><p:sldMasterIdLst/><p:sldIdLst>` +
        order.map((_, i) => `<p:sldId id="${256 + i}" r:id="rId${i + 10}"/>`).join('') +
        '</p:sldIdLst><p:sldSz cx="9144000" cy="6858000"/></p:presentation>',
    ),
    'ppt/_rels/presentation.xml.rels': strToU8(
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slideMaster" Target="slideMasters/slideMaster1.xml"/>' +
        order.map((s, i) => `<Relationship Id="rId${i + 10}" Type="${SLIDE_REL}" Target="slides/${s}"/>`).join('') +
        '</Relationships>',
    ),
  };
  for (const [name, shapes] of Object.entries(slides)) {
    files[`ppt/slides/${name}`] = strToU8(
      `<?xml version="1.0" encoding="UTF-8"?><p:sld ${NS}><p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>` +
        shapes.map(shapeXml).join('') +
        '</p:spTree></p:cSld></p:sld>',
    );
  }
  return zipSync(files);
}

function ok(r: Extraction): ExtractOk {
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.detail}`);
  return r;
}

describe('.pptx', () => {
  it('is a document kind of its own', () => {
    expect(kindFromPath('talks/Q3 Review.PPTX')).toBe('pptx');
  });

  it('reads slides in presentation order, titles as headings, body text, groups and tables', async () => {
    const deck = makePptx(
      {
        'slide1.xml': [
          { ph: 'ctrTitle', paragraphs: ['Quarterly Review'] },
          { ph: 'subTitle', paragraphs: ['Finance team, October'] },
        ],
        // Moved to the end of the deck in PowerPoint: the file keeps its number.
        'slide2.xml': [
          { paragraphs: ['Questions are welcome at any time.'] },
          { ph: 'title', paragraphs: ['Questions'] },
        ],
        'slide3.xml': [
          { ph: 'title', paragraphs: ['Revenue'] },
          { ph: 'body', paragraphs: ['Revenue grew by 12% in the third quarter.', 'Costs stayed flat.'] },
          { table: [['Region', 'Growth'], ['North', '15%'], ['South', '9%']] },
          { group: [{ paragraphs: ['Source: internal ledger<br>audited in November'] }] },
        ],
      },
      ['slide1.xml', 'slide3.xml', 'slide2.xml'],
    );
    const r = ok(await extractText(deck, 'pptx'));
    expect(r.text).toBe(
      [
        'Quarterly Review',
        'Finance team, October',
        'Revenue',
        'Revenue grew by 12% in the third quarter.\nCosts stayed flat.',
        'Region | Growth\nNorth | 15%\nSouth | 9%',
        'Source: internal ledger\naudited in November',
        'Questions',
        'Questions are welcome at any time.',
      ].join('\n\n'),
    );
    expect(r.headings.map((h) => [h.level, h.text])).toEqual([
      [1, 'Quarterly Review'],
      [2, 'Revenue'],
      [2, 'Questions'],
    ]);
    for (const h of r.headings) expect(r.text.slice(h.start, h.end)).toBe(h.text);

    // Through the pool, as a run does: chunks carry the deck's title and the slide's section.
    const chunked = await extractAndChunk(deck, 'pptx', { chunkSize: 200, chunkOverlap: 0, idPrefix: 'deck' });
    if (!chunked.ok) throw new Error(chunked.detail);
    expect(chunked.text).toBe(r.text);
    const questions = chunked.chunks.find((c) => c.text.includes('welcome at any time'));
    expect(questions?.title).toBe('Quarterly Review');
    expect(questions?.section).toEqual(['Quarterly Review', 'Questions']);
  });

  it('falls back to slide numbers when the presentation has no slide list', async () => {
    const deck = makePptx({ 'slide10.xml': [{ paragraphs: ['tenth'] }], 'slide2.xml': [{ paragraphs: ['second'] }] }, []);
    expect(ok(await extractText(deck, 'pptx')).text).toBe('second\n\ntenth');
  });

  it('a deck without text, an encrypted deck, an old .ppt and a broken or foreign zip are clear errors', async () => {
    expect(await extractText(makePptx({ 'slide1.xml': [] }), 'pptx')).toEqual({ ok: false, reason: 'empty', detail: 'no text after extraction' });

    // What PowerPoint writes for a password-protected deck: an OLE compound file with an EncryptedPackage stream.
    const encrypted = new Uint8Array(1024);
    encrypted.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    encrypted.set(Buffer.from('EncryptedPackage', 'utf16le'), 512);
    expect(await extractText(encrypted, 'pptx')).toEqual({ ok: false, reason: 'encrypted', detail: 'PowerPoint (.pptx) file is encrypted (password-protected)' });
    const oldPpt = new Uint8Array(1024);
    oldPpt.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    oldPpt.set(Buffer.from('PowerPoint Document', 'utf16le'), 512);
    expect(await extractText(oldPpt, 'pptx')).toEqual({ ok: false, reason: 'unsupported_type', detail: 'an old binary Office file (OLE), not PowerPoint (.pptx)' });

    expect(await extractText(Buffer.from('not a zip at all'), 'pptx')).toEqual({ ok: false, reason: 'unreadable', detail: 'not a PowerPoint (.pptx) file: it is not a zip archive' });
    const truncated = makePptx({ 'slide1.xml': [{ paragraphs: ['hello'] }] }).subarray(0, 200);
    const broken = await extractText(truncated, 'pptx');
    expect(broken.ok).toBe(false);
    if (!broken.ok) {
      expect(broken.reason).toBe('unreadable');
      expect(broken.detail).toMatch(/^PowerPoint \(\.pptx\) file is not a readable zip archive: /);
    }
    expect(await extractText(zipSync({ 'word/document.xml': strToU8('<w:document/>') }), 'pptx')).toEqual({
      ok: false,
      reason: 'unreadable',
      detail: 'not a PowerPoint deck: the archive has no ppt/presentation.xml',
    });
  });
});

/** PowerPoint decks built in the tests (fflate's zipSync): the parts a real .pptx has. */
import { strToU8, zipSync } from 'fflate';

const NS = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"';
const SLIDE_REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide';

export type Shape = { ph?: 'title' | 'ctrTitle' | 'body' | 'subTitle'; paragraphs: string[] } | { table: string[][] } | { group: Shape[] };

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
export function makePptx(slides: Record<string, Shape[]>, order: string[] = Object.keys(slides)): Uint8Array {
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

import { strToU8, zipSync } from 'fflate';
import { makePptx } from './helpers/pptx.js';
import { afterAll, describe, expect, it } from 'vitest';
import { extractText, kindFromPath, type Extraction, type ExtractOk } from '../activities/extract/index.js';
import { closeExtractionPool, extractAndChunk } from '../activities/extract/pool.js';

afterAll(() => closeExtractionPool());

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

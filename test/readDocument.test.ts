/**
 * readDocument reads with a buffer of the document's recorded size (plus one byte): the whole
 * file when it is as discovered, and a clear DocumentChanged when it grew or changed since.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DocumentChanged, readDocument } from '../activities/readDocument.js';
import { tempDir } from './helpers/files.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe('readDocument', () => {
  it('reads a document whole, from an empty one to one larger than a read buffer', async () => {
    const dir = tempDir('read-doc');
    for (const [name, text] of [['empty.txt', ''], ['small.txt', 'Station 1 records wind.\n'], ['big.txt', 'x'.repeat((1 << 20) * 2 + 17)]] as const) {
      writeFileSync(join(dir, name), text);
      const bytes = await readDocument(dir, { source: name, size: Buffer.byteLength(text), sha256: sha(text) });
      expect(Buffer.from(bytes).toString('utf8')).toBe(text);
    }
  });

  it('says a document grew or changed after discovery', async () => {
    const dir = tempDir('read-doc');
    writeFileSync(join(dir, 'grown.txt'), 'Station 1 records wind and rain.\n');
    const grown = await readDocument(dir, { source: 'grown.txt', size: 10, sha256: sha('Station 1 ') }).catch((e: unknown) => e);
    expect(grown).toBeInstanceOf(DocumentChanged);
    expect((grown as Error).message).toMatch(/grew past 10 bytes/);
    const changed = await readDocument(dir, { source: 'grown.txt', size: 33, sha256: sha('something else entirely, 33 bytes') }).catch((e: unknown) => e);
    expect(changed).toBeInstanceOf(DocumentChanged);
    expect((changed as Error).message).toMatch(/changed after discovery/);
  });
});

/**
 * Input files that change under the run (issue #13, the file-level part): a symlink or a FIFO
 * swapped in between the walk and hashing or between discovery and processing is never followed
 * or waited on, it becomes a `changed_after_discovery` error row; names that are not valid UTF-8
 * are read with an escaped `source`; FIFOs, sockets and devices in the input get a warning each.
 * Discovery, processing and export are called directly so the input can change between them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeBytes, sourceFromBytes, unescapeToBytes } from '../activities/readDocument.js';
import { verifyOutput } from '../client/commands/verify.js';
import { ChunkRow, ErrorRow } from '../schemas/index.js';
import { directRun, discover, processAndExport } from './helpers/directRun.js';
import { readJsonl, tempDir } from './helpers/files.js';
import { runExport } from './helpers/temporal.js';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-INPUT';
const prose = (topic: string) =>
  `${topic} is a subject worth a paragraph of its own. `.repeat(8) + `\n\nMore about ${topic} follows here, in plain sentences.\n`;

function corpus(): { root: string; outside: string } {
  const root = tempDir('safety');
  for (const name of ['a.txt', 'b.txt', 'c.txt']) writeFileSync(join(root, name), prose(`Topic ${name}`));
  const outside = tempDir('safety-outside');
  writeFileSync(join(outside, 'secret.txt'), `${SECRET}\n\n${prose('Secrets')}`);
  return { root, outside };
}

function outputs(out: string) {
  const chunks = readJsonl(join(out, 'data/chunks.jsonl')).map((r) => ChunkRow.parse(r));
  // No error rows: no errors.jsonl (an empty JSON Lines file does not load).
  const errors = existsSync(join(out, 'errors.jsonl')) ? readJsonl(join(out, 'errors.jsonl')).map((r) => ErrorRow.parse(r)) : [];
  const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
  return { chunks, errors, stats, text: chunks.map((c) => c.text).join('\n') };
}

/** Discovery heartbeats once every file is planned, before it opens the first to hash it: the moment to change files under it. */
function whenHashingStarts(swap: () => void): (details: unknown) => void {
  let done = false;
  return (details) => {
    const d = details as { phase?: string; index?: number };
    if (!done && d.phase === 'hash' && d.index === 0) {
      done = true;
      swap();
    }
  };
}

const mkfifo = (path: string) => execFileSync('mkfifo', [path]);

describe('files swapped between discovery steps', () => {
  it('a symlink swapped in between the walk and hashing is not followed (to /etc/passwd or out of the tree)', async () => {
    const { root, outside } = corpus();
    const out = tempDir('safety-out');
    const { run, discovery } = await discover(root, out, {
      onHeartbeat: whenHashingStarts(() => {
        unlinkSync(join(root, 'b.txt'));
        symlinkSync(join(outside, 'secret.txt'), join(root, 'b.txt'));
        unlinkSync(join(root, 'c.txt'));
        symlinkSync('/etc/passwd', join(root, 'c.txt'));
      }),
    });
    await processAndExport(run, discovery);
    const { text, errors, chunks } = outputs(out);
    expect(text).not.toContain(SECRET);
    expect(text).not.toMatch(/root:/);
    expect([...new Set(chunks.map((c) => c.source))]).toEqual(['a.txt']);
    expect(errors.map((e) => [e.source, e.stage, e.reason])).toEqual([
      ['b.txt', 'discover', 'changed_after_discovery'],
      ['c.txt', 'discover', 'changed_after_discovery'],
    ]);
    expect(errors[0]!.detail).toMatch(/symbolic link/);
    await verifyOutput(out);
  });

  it('a symlink swapped in after discovery is not read, even to a file with the same bytes', async () => {
    const { root, outside } = corpus();
    const out = tempDir('safety-out');
    const { run, discovery } = await discover(root, out);
    // Same content outside the tree: the sha256 check alone would accept it.
    writeFileSync(join(outside, 'b.txt'), readFileSync(join(root, 'b.txt')));
    unlinkSync(join(root, 'b.txt'));
    symlinkSync(join(outside, 'b.txt'), join(root, 'b.txt'));
    await processAndExport(run, discovery);
    const { errors, chunks } = outputs(out);
    expect([...new Set(chunks.map((c) => c.source))]).toEqual(['a.txt', 'c.txt']);
    expect(errors).toEqual([{ source: 'b.txt', stage: 'load', reason: 'changed_after_discovery', detail: expect.stringMatching(/symbolic link/) }]);
  });

  it('a directory swapped for a symlink out of the tree after discovery is not read through', async () => {
    const { root, outside } = corpus();
    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'sub', 'd.txt'), prose('Subdirectories'));
    const out = tempDir('safety-out');
    const { run, discovery } = await discover(root, out);
    // The same name and bytes, but another file outside: O_NOFOLLOW only guards the last
    // component, the recorded device:inode and the descriptor's real path guard the rest.
    mkdirSync(join(outside, 'sub'));
    writeFileSync(join(outside, 'sub', 'd.txt'), readFileSync(join(root, 'sub', 'd.txt')));
    renameSync(join(root, 'sub'), join(outside, 'sub-was'));
    symlinkSync(join(outside, 'sub'), join(root, 'sub'));
    await processAndExport(run, discovery);
    const { errors } = outputs(out);
    expect(errors.map((e) => [e.source, e.stage, e.reason])).toEqual([['sub/d.txt', 'load', 'changed_after_discovery']]);
    expect(errors[0]!.detail).toMatch(/replaced after discovery|outside the input directory/);
  });

  it('a FIFO swapped in after discovery does not hang processing', async () => {
    const { root } = corpus();
    const out = tempDir('safety-out');
    const { run, discovery } = await discover(root, out);
    unlinkSync(join(root, 'b.txt'));
    mkfifo(join(root, 'b.txt'));
    await processAndExport(run, discovery); // before: readFile blocked on the FIFO forever
    const { errors } = outputs(out);
    expect(errors).toEqual([{ source: 'b.txt', stage: 'load', reason: 'changed_after_discovery', detail: expect.stringMatching(/FIFO/) }]);
  });

  it('a FIFO swapped in between the walk and hashing does not hang discovery', async () => {
    const { root } = corpus();
    const out = tempDir('safety-out');
    const { run, discovery } = await discover(root, out, {
      onHeartbeat: whenHashingStarts(() => {
        unlinkSync(join(root, 'b.txt'));
        mkfifo(join(root, 'b.txt'));
      }),
    });
    await processAndExport(run, discovery);
    const { errors } = outputs(out);
    expect(errors).toEqual([{ source: 'b.txt', stage: 'discover', reason: 'changed_after_discovery', detail: expect.stringMatching(/FIFO/) }]);
  });

  it('a file edited after discovery is changed_after_discovery, not read', async () => {
    const { root } = corpus();
    const out = tempDir('safety-out');
    const { run, discovery } = await discover(root, out);
    writeFileSync(join(root, 'b.txt'), prose('Something else entirely'));
    await processAndExport(run, discovery);
    const { errors } = outputs(out);
    expect(errors.map((e) => [e.source, e.stage, e.reason])).toEqual([['b.txt', 'load', 'changed_after_discovery']]);
  });
});

describe('names and special files', () => {
  const bytePath = (root: string, ...parts: Array<string | number[]>) =>
    Buffer.concat([Buffer.from(root), ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))]);

  it('escapes bad bytes and % losslessly, and leaves valid names alone', () => {
    expect(sourceFromBytes(Buffer.from('naïve 100%.txt'))).toEqual({ source: 'naïve 100%.txt', escaped: false });
    expect(sourceFromBytes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74]))).toEqual({ source: 'caf%E9.t', escaped: true });
    expect(escapeBytes(Buffer.from([0x35, 0x30, 0x25, 0xff, 0xc3, 0xa9]))).toBe('50%25%FFé');
    // Overlong, surrogate, truncated and out-of-range sequences are bad bytes too.
    const cases = [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf5, 0x80, 0x80, 0x80], [0x25, 0x34, 0x31, 0xf0, 0x9f, 0x99, 0x82, 0x80]];
    for (const c of cases) {
      const b = Buffer.from(c);
      const { source } = sourceFromBytes(b);
      expect(source.isWellFormed()).toBe(true);
      expect(unescapeToBytes(source).equals(b), source).toBe(true);
    }
    // Every byte value, in every position.
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((i) => i !== 0x2f && i !== 0));
    expect(unescapeToBytes(escapeBytes(all)).equals(all)).toBe(true);
  });

  it('reads files whose names are not valid UTF-8 (Buffer paths), with an escaped source and a warning', async () => {
    const root = tempDir('names');
    writeFileSync(join(root, 'plain.txt'), prose('Plain names'));
    writeFileSync(join(root, '100%.txt'), prose('Percent signs'));
    writeFileSync(bytePath(root, '/caf', [0xe9], '.txt'), prose('Latin-1 names'));
    writeFileSync(bytePath(root, '/50%', [0xff], '.md'), `# Heading\n\n${prose('Bad bytes and percent')}`);
    mkdirSync(bytePath(root, '/r', [0xe9], 'sum', [0xe9]));
    writeFileSync(bytePath(root, '/r', [0xe9], 'sum', [0xe9], '/notes.txt'), prose('Directory names'));
    const out = tempDir('names-out');
    const { run, discovery } = await discover(root, out);
    await processAndExport(run, discovery);
    const { chunks, errors, stats } = outputs(out);
    expect(errors).toEqual([]); // before: each was "unreadable: file vanished during discovery"
    const bySource = new Map<string, string>();
    for (const c of chunks) bySource.set(c.source, (bySource.get(c.source) ?? '') + c.text);
    expect([...bySource.keys()].sort()).toEqual(['100%.txt', '50%25%FF.md', 'caf%E9.txt', 'plain.txt', 'r%E9sum%E9/notes.txt']);
    expect(bySource.get('caf%E9.txt')).toContain('Latin-1 names');
    expect(bySource.get('r%E9sum%E9/notes.txt')).toContain('Directory names');
    expect(bySource.get('50%25%FF.md')).toContain('Bad bytes and percent');
    const warnings: string[] = stats.documents.discoveryWarnings;
    for (const s of ['caf%E9.txt', '50%25%FF.md', 'r%E9sum%E9/notes.txt']) {
      expect(warnings).toContain(`${s}: file name is not valid UTF-8; reported with its bad bytes and % percent-encoded`);
    }
    expect(warnings.some((w) => w.startsWith('100%.txt') || w.startsWith('plain.txt'))).toBe(false);
    expect(stats.documents.skippedDuringDiscovery).toBe(0); // read, not skipped
    await verifyOutput(out);
  });

  it('a FIFO, a socket and a device in the input get a warning each, and the run goes on', async () => {
    const root = tempDir('special');
    writeFileSync(join(root, 'doc.txt'), prose('Special files'));
    mkfifo(join(root, 'pipe.txt'));
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
    let device = false;
    try {
      execFileSync('mknod', [join(root, 'null-like'), 'c', '1', '3'], { stdio: 'ignore' }); // as /dev/null
      device = true;
    } catch {
      // not permitted here (not root): the FIFO and the socket still cover special files
    }
    const out = tempDir('special-out');
    try {
      await directRun(root, out);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const { chunks, errors, stats } = outputs(out);
    expect(errors).toEqual([]);
    expect([...new Set(chunks.map((c) => c.source))]).toEqual(['doc.txt']);
    const warnings: string[] = stats.documents.discoveryWarnings;
    expect(warnings).toContain('pipe.txt: skipped, a FIFO is not a document');
    expect(warnings).toContain('sock: skipped, a socket is not a document');
    if (device) expect(warnings).toContain('null-like: skipped, a character device is not a document');
    expect(stats.documents.skippedDuringDiscovery).toBe(device ? 3 : 2);
    rmSync(join(root, 'pipe.txt'));
  });

  it('through the workflow: bad names and special files end up in a dataset that verifies', async () => {
    const root = tempDir('names-wf');
    writeFileSync(join(root, 'plain.txt'), prose('Plain names'));
    writeFileSync(bytePath(root, '/caf', [0xe9], '.txt'), prose('Latin-1 names'));
    mkfifo(join(root, 'pipe'));
    const out = tempDir('names-wf-out');
    const { result } = await runExport({ inputDir: root, outDir: out });
    expect(result.warnings).toEqual(expect.arrayContaining([
      'caf%E9.txt: file name is not valid UTF-8; reported with its bad bytes and % percent-encoded',
      'pipe: skipped, a FIFO is not a document',
    ]));
    const { chunks, errors } = outputs(out);
    expect(errors).toEqual([]);
    expect([...new Set(chunks.map((c) => c.source))]).toEqual(['caf%E9.txt', 'plain.txt']);
    await verifyOutput(out, { withDatasets: true });
  });
});

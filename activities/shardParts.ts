/**
 * A big document's shard in parts. One page of chunks (DEFAULT_CHUNKS_PER_PAGE) is one part file
 * of chunk rows and pairs beside the shard; the shard itself, written last, says how many parts
 * there are. So no step holds a 300 MB document's pairs, rows or shard text at once, and a shard
 * that exists is complete (a kill between parts leaves no shard: the document is done again,
 * its parts overwritten with the same bytes). Documents of one page keep everything inline.
 */
import type { ShardContent } from '../schemas/index.js';
import { ShardPart } from '../schemas/index.js';
import { readParsedFrom, STATE_NAMES, storeFor } from './storage.js';

/** A part that a shard names and that cannot be read: the shard must be made again. */
export class ShardPartMissing extends Error {}

export async function writeShardPart(outDir: string, shardKey: string, part: number, content: ShardPart): Promise<void> {
  await storeFor(outDir).write(STATE_NAMES.shardPart(shardKey, part), JSON.stringify(content));
}

/** The shard's chunk rows and pairs page by page: inline ones as one page, else part after part. */
export async function* shardPages(
  outDir: string,
  shardKey: string,
  shard: Extract<ShardContent, { status: 'ok' }>,
): AsyncGenerator<ShardPart> {
  if (shard.parts === undefined) {
    yield { chunkRows: shard.chunkRows, pairs: shard.pairs };
    return;
  }
  for (let n = 1; n <= shard.parts; n++) {
    const name = STATE_NAMES.shardPart(shardKey, n);
    let why = 'missing';
    const part = await readParsedFrom(storeFor(outDir), name, ShardPart, (w) => (why = w));
    if (!part) throw new ShardPartMissing(`part ${n} of ${shard.parts} of a stored document result cannot be read (${storeFor(outDir).describe(name)}: ${why})`);
    yield part;
  }
}

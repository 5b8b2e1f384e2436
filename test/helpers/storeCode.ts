/**
 * A process that stores one file in a CodeCache again and again, for test/codeCache.test.ts:
 * `storeCode.ts <dir> <key> <fill> <times>`. It waits for a line on stdin, so that the test can
 * start two of them storing at once, and after each store reads the file back: it exits 3 if
 * what it read was not a whole file of one of the two writers (`a` or `b` repeated).
 */
import { CodeCache } from '../../activities/codeCache.js';

const STORED_CHARS = 4 * 1024 * 1024;

const [dir, key, fill, times] = process.argv.slice(2);
if (!dir || !key || !fill || !times) throw new Error('usage: storeCode.ts <dir> <key> <fill> <times>');
const cache = new CodeCache(dir, { extension: '.js', label: 'test file', keep: 8 });
const code = fill.repeat(STORED_CHARS);
const whole = new Set(['a', 'b'].map((c) => c.repeat(STORED_CHARS)));

process.stdin.once('data', () => {
  for (let i = 0; i < Number(times); i++) {
    cache.store(key, code);
    const read = cache.read(key);
    if (read === undefined || !whole.has(read)) {
      process.stderr.write(`read back ${read === undefined ? 'nothing' : `${read.length} characters that are no writer's whole file`}\n`);
      process.exit(3);
    }
  }
  process.exit(0);
});

/**
 * JSON Lines read back from <out> (a reviewer's decisions, the rows of a written output): every
 * line parsed, and the first bad one named by file and line number. Blank lines are skipped.
 */
import { z } from 'zod';

export class JsonLinesError extends Error {}

export function parseJsonLines<T>(file: string, text: string, parse: (row: unknown) => T): T[] {
  const rows: T[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw new JsonLinesError(`${file}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    try {
      rows.push(parse(json));
    } catch (err) {
      if (!(err instanceof z.ZodError)) throw err;
      const issue = err.issues[0]!;
      throw new JsonLinesError(`${file}:${i + 1}: ${issue.path.join('.') || 'row'}: ${issue.message}`);
    }
  });
  return rows;
}

/**
 * CSV as spreadsheets write and read it (RFC 4180): every field quoted, quotes doubled, CRLF
 * line ends, and a UTF-8 BOM first so Excel does not read the file as a legacy code page. The
 * parser takes back what a spreadsheet saves after editing: with or without the BOM, CRLF or LF,
 * fields quoted or not, newlines inside quoted fields.
 */

export const BOM = '\uFEFF';

function field(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

/** The whole file: header then rows, each line ending in CRLF. */
export function writeCsv(header: string[], rows: string[][]): string {
  const lines = [header, ...rows].map((r) => `${r.map(field).join(',')}\r\n`);
  return BOM + lines.join('');
}

export class CsvError extends Error {}

/** One record with the line of the file it starts on (1-based; quoted newlines count). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** Parses a whole CSV text into records; blank lines are skipped. Throws CsvError naming the line. */
export function parseCsv(text: string): CsvRecord[] {
  const s = text.startsWith(BOM) ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let cur = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false; // inside a quoted field
  let wasQuoted = false; // the current field was quoted (so an empty record is not blank)
  const endRecord = () => {
    fields.push(cur);
    if (!(fields.length === 1 && fields[0] === '' && !wasQuoted)) records.push({ line: recordLine, fields });
    fields = [];
    cur = '';
    wasQuoted = false;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          cur += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        if (c === '\n') line++;
        cur += c;
      }
      continue;
    }
    if (c === '"') {
      if (cur !== '') throw new CsvError(`line ${line}: a quote inside an unquoted field (quote the whole field and double the quote)`);
      quoted = true;
      wasQuoted = true;
    } else if (c === ',') {
      fields.push(cur);
      cur = '';
      wasQuoted = false;
    } else if (c === '\r' && s[i + 1] === '\n') {
      // CRLF: the LF ends the record.
    } else if (c === '\n') {
      endRecord();
      line++;
      recordLine = line;
    } else {
      if (wasQuoted) throw new CsvError(`line ${line}: text after the closing quote of a field`);
      cur += c;
    }
  }
  if (quoted) throw new CsvError(`line ${recordLine}: a quoted field is not closed before the end of the file`);
  if (cur !== '' || fields.length > 0 || wasQuoted) endRecord();
  return records;
}

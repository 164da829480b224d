/**
 * Splitting CSV text into records (RFC 4180 quoting): fields may be wrapped in double
 * quotes, inside which the delimiter and line breaks are literal and "" is one quote.
 * LF, CRLF and lone CR all end a line. Each record carries the line it starts on, so
 * errors can point at the line a user sees in an editor even when a quoted field spans
 * several lines. Blank lines are skipped. Browser-safe.
 */
import { FormatError } from './errors.js';

export interface CsvRecord {
  /** 1-based line number where the record starts. */
  line: number;
  cells: string[];
}

/** Calls `onRecord` for every non-blank record in `text`, in order. */
export function forEachCsvRecord(
  text: string, delimiter: string, source: string, onRecord: (record: CsvRecord) => void,
): void {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new TypeError(`parseCsv: delimiter must be one character other than a quote or line break, got ${JSON.stringify(delimiter)}`);
  }
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark is not part of the first cell
  let line = 1;
  const isEnd = (c: string | undefined): boolean => c === delimiter || c === '\n' || c === '\r';

  while (i < n) {
    const startLine = line;
    const cells: string[] = [];
    let sawQuote = false;
    for (;;) {
      let cell: string;
      if (text[i] === '"') {
        sawQuote = true;
        const quoteLine = line;
        let j = i + 1;
        const parts: string[] = [];
        for (;;) {
          const close = text.indexOf('"', j);
          if (close < 0) {
            throw new FormatError(source, `row ${quoteLine}, column ${cells.length + 1}: quoted field is never closed`);
          }
          parts.push(text.slice(j, close));
          if (text[close + 1] === '"') { parts.push('"'); j = close + 2; continue; }
          j = close + 1;
          break;
        }
        cell = parts.join('');
        line += countLineBreaks(cell);
        // Anything between the closing quote and the delimiter is kept as is, like most
        // spreadsheet programs do, rather than rejected.
        const start = j;
        while (j < n && !isEnd(text[j])) j++;
        cell += text.slice(start, j);
        i = j;
      } else {
        const start = i;
        while (i < n && !isEnd(text[i])) i++;
        cell = text.slice(start, i);
      }
      cells.push(cell);
      if (i < n && text[i] === delimiter) { i++; continue; }
      if (text[i] === '\r') i += text[i + 1] === '\n' ? 2 : 1;
      else if (text[i] === '\n') i++;
      line++;
      break;
    }
    const blank = !sawQuote && cells.length === 1 && cells[0]!.trim() === '';
    if (!blank) onRecord({ line: startLine, cells });
  }
}

function countLineBreaks(s: string): number {
  let count = 0;
  for (let k = 0; k < s.length; k++) {
    if (s[k] === '\n') count++;
    else if (s[k] === '\r' && s[k + 1] !== '\n') count++;
  }
  return count;
}

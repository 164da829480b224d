/** CSV files on disk (Node only); parsing is in csv.ts. */
import { parseCsv, type CsvData, type CsvOptions } from './csv.js';
import { readInputFile } from './read-input.js';

/** A .tsv file defaults to tab as the delimiter. */
export async function readCsvFile(path: string, options: Omit<CsvOptions, 'source'> = {}): Promise<CsvData> {
  const text = new TextDecoder('utf-8').decode(await readInputFile(path));
  const delimiter = options.delimiter ?? (path.toLowerCase().endsWith('.tsv') ? '\t' : ',');
  return parseCsv(text, { ...options, delimiter, source: path });
}

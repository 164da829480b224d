/**
 * Numeric CSV to tensors: every column becomes a float32 feature except an optional label
 * column. Errors name the row as the line number a user sees in the file (the header is
 * line 1) and the column both by 1-based position and, when there is a header, by name.
 * Browser-safe; readCsvFile in csv-file.ts adds the file system.
 */
import { forEachCsvRecord } from './csv-records.js';
import { FormatError } from './errors.js';
import type { RawTensor } from './raw.js';

export interface CsvOptions {
  /**
   * Whether the first row holds column names. By default it does when none of its cells
   * is a number, which tells "x,y,label" from "0.5,1.2,3".
   */
  header?: boolean;
  /**
   * The column to return as `labels`: a header name, or a 0-based index (negative counts
   * from the end, -1 is the last column).
   */
  labelColumn?: string | number;
  /** One character; default ",". */
  delimiter?: string;
  /** Where the text came from, for error messages (readCsvFile passes the path). */
  source?: string;
  /**
   * Keep NaN, ±Infinity and values beyond float32's range (which would become ±Infinity) in the
   * features. By default such a cell is refused, naming its row and column: one of them turns
   * every loss of a training run into NaN.
   */
  allowNan?: boolean;
}

/** The largest finite float32; a cell beyond it would be stored as ±Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export interface CsvData {
  /** float32 [rows, featureColumns]. */
  features: RawTensor;
  /**
   * int32 [rows] when every label is an integer (or the labels are class names, see
   * labelClasses), else float32 [rows].
   */
  labels?: RawTensor;
  /** Names of the feature columns, in order (col1, col2, ... when there is no header). */
  columns: string[];
  /** Name of the label column. */
  labelName?: string;
  /** Whether the first row held the column names. */
  hasHeader: boolean;
  /**
   * Set when some label is not a number: the labels are then class names, numbered in
   * sorted order, and labels[i] is the index of row i's class in this list.
   */
  labelClasses?: string[];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL: Readonly<Record<string, number>> = {
  nan: NaN, '+nan': NaN, '-nan': NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity,
  infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity,
};

/**
 * A cell's number, or undefined if it is not one. Stricter than Number(): an empty cell,
 * "0x1F" or "1_000" are not numbers in a data file. NaN and inf (as NumPy and pandas
 * write them) are.
 */
export function parseNumber(cell: string): number | undefined {
  const s = cell.trim();
  if (NUMBER.test(s)) return Number(s);
  const key = s.toLowerCase();
  return Object.hasOwn(SPECIAL, key) ? SPECIAL[key] : undefined;
}

export function parseCsv(text: string, options: CsvOptions = {}): CsvData {
  const source = options.source ?? '<csv>';
  const fail = (message: string): never => { throw new FormatError(source, message); };

  let names: string[] | undefined;
  let hasHeader = false;
  let firstLine = 0;
  let width = 0;
  let labelIndex = -1;
  let featureWidth = 0;
  let features = new Float32Array(1024);
  let rows = 0;
  const labelCells: string[] = [];
  const labelLines: number[] = [];
  const allowNan = options.allowNan === true;

  const columnText = (j: number): string => (hasHeader ? `column ${j + 1} ${JSON.stringify(names![j])}` : `column ${j + 1}`);

  forEachCsvRecord(text, options.delimiter ?? ',', source, ({ line, cells }) => {
    if (names === undefined) {
      width = cells.length;
      firstLine = line;
      hasHeader = options.header ?? cells.every((c) => parseNumber(c) === undefined);
      names = hasHeader ? cells.map((c, j) => c.trim() || `col${j + 1}`) : cells.map((_, j) => `col${j + 1}`);
      labelIndex = resolveLabelColumn(options.labelColumn, names, hasHeader, fail);
      featureWidth = width - (labelIndex >= 0 ? 1 : 0);
      if (featureWidth === 0) fail('no feature columns: the only column is the label column');
      if (hasHeader) return;
    }
    if (cells.length !== width) {
      fail(`row ${line}: expected ${width} cells (as in row ${firstLine}), got ${cells.length}`);
    }
    if ((rows + 1) * featureWidth > features.length) {
      const grown = new Float32Array(Math.max(features.length * 2, (rows + 1) * featureWidth));
      grown.set(features);
      features = grown;
    }
    let k = rows * featureWidth;
    for (let j = 0; j < width; j++) {
      const cell = cells[j]!;
      if (j === labelIndex) {
        if (cell.trim() === '') fail(`row ${line}, ${columnText(j)}: empty label`);
        labelCells.push(cell.trim());
        labelLines.push(line);
        continue;
      }
      const v = parseNumber(cell);
      if (v === undefined) {
        fail(`row ${line}, ${columnText(j)}: ${cell.trim() === '' ? 'empty cell' : `${JSON.stringify(cell)} is not a number`}`);
      }
      if (!allowNan && !(Math.abs(v!) <= FLOAT32_MAX)) {
        const what = Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? `${cell.trim()} is beyond float32's range (±3.4e38)` : `${cell.trim()} is infinite`;
        fail(`row ${line}, ${columnText(j)}: ${what}; fix the file, or pass allowNan (--allow-nan) to keep such values`);
      }
      features[k++] = v!;
    }
    rows++;
  });

  if (names === undefined) fail('empty file: no rows');
  if (rows === 0) fail(`no data rows: the file has only the header row`);

  const result: CsvData = {
    features: { dtype: 'float32', shape: [rows, featureWidth], data: features.slice(0, rows * featureWidth) },
    columns: names!.filter((_, j) => j !== labelIndex),
    hasHeader,
  };
  if (labelIndex >= 0) {
    result.labelName = names![labelIndex]!;
    if (!allowNan) {
      const bad = labelCells.findIndex((c) => { const v = parseNumber(c); return v !== undefined && !Number.isFinite(v); });
      if (bad >= 0) fail(`row ${labelLines[bad]}, ${columnText(labelIndex)}: label ${JSON.stringify(labelCells[bad])} is not a finite number`);
    }
    Object.assign(result, labelsFrom(labelCells));
  }
  return result;
}

function resolveLabelColumn(
  spec: string | number | undefined, names: string[], hasHeader: boolean, fail: (m: string) => never,
): number {
  if (spec === undefined) return -1;
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec >= names.length || spec < -names.length) {
      fail(`labelColumn ${spec} is out of range for ${names.length} columns (use 0..${names.length - 1}, or -1 for the last)`);
    }
    return spec < 0 ? names.length + spec : spec;
  }
  if (!hasHeader) fail(`labelColumn ${JSON.stringify(spec)} is a name, but the file has no header row; give a column index instead`);
  const index = names.indexOf(spec.trim());
  if (index < 0) fail(`unknown label column ${JSON.stringify(spec)}; the columns are ${names.map((n) => JSON.stringify(n)).join(', ')}`);
  return index;
}

function labelsFrom(cells: string[]): Pick<CsvData, 'labels' | 'labelClasses'> {
  const values = cells.map(parseNumber);
  const n = cells.length;
  if (values.some((v) => v === undefined)) {
    const classes = [...new Set(cells)].sort();
    const index = new Map(classes.map((c, i) => [c, i]));
    return { labels: { dtype: 'int32', shape: [n], data: Int32Array.from(cells, (c) => index.get(c)!) }, labelClasses: classes };
  }
  const integral = values.every((v) => Number.isInteger(v) && v! >= -2147483648 && v! <= 2147483647);
  const data = integral ? Int32Array.from(values as number[]) : Float32Array.from(values as number[]);
  return { labels: { dtype: integral ? 'int32' : 'float32', shape: [n], data } };
}

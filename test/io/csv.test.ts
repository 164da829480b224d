import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCsvFile } from '../../src/io/csv-file.js';
import { parseCsv, parseNumber } from '../../src/io/csv.js';
import { FormatError } from '../../src/io/errors.js';

const values = (t: { data: ArrayLike<number> }): number[] => Array.from(t.data);

describe('parseCsv', () => {
  it('reads a header and splits off the label column by name', () => {
    const out = parseCsv('x1,x2,y\n0.5,1,0\n-2,3e2,1\n', { labelColumn: 'y' });
    expect(out.columns).toEqual(['x1', 'x2']);
    expect(out.labelName).toBe('y');
    expect(out.features.dtype).toBe('float32');
    expect(out.features.shape).toEqual([2, 2]);
    expect(values(out.features)).toEqual([0.5, 1, -2, 300]);
    expect(out.labels).toEqual({ dtype: 'int32', shape: [2], data: Int32Array.of(0, 1) });
  });

  it('detects a header-less file and takes the label column by index, negative from the end', () => {
    const out = parseCsv('1,2,3\n4,5,6\n', { labelColumn: -1 });
    expect(out.columns).toEqual(['col1', 'col2']);
    expect(values(out.features)).toEqual([1, 2, 4, 5]);
    expect(values(out.labels!)).toEqual([3, 6]);
    expect(parseCsv('1,2,3\n4,5,6\n', { labelColumn: 0 }).columns).toEqual(['col2', 'col3']);
  });

  it('returns no labels when no label column is asked for', () => {
    const out = parseCsv('a,b\n1,2\n');
    expect(out.labels).toBeUndefined();
    expect(out.features.shape).toEqual([1, 2]);
  });

  it('makes labels float32 when any is fractional', () => {
    const out = parseCsv('x,price\n1,2.5\n2,3\n', { labelColumn: 'price' });
    expect(out.labels).toEqual({ dtype: 'float32', shape: [2], data: Float32Array.of(2.5, 3) });
  });

  it('numbers class-name labels in sorted order', () => {
    const out = parseCsv('5.1,3.5,setosa\n6.3,2.9,virginica\n5.9,3.0,versicolor\n4.9,3.1,setosa\n', { labelColumn: 2 });
    expect(out.labelClasses).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(out.labels).toEqual({ dtype: 'int32', shape: [4], data: Int32Array.of(0, 2, 1, 0) });
  });

  it('handles quotes, CRLF, a BOM, blank lines, other delimiters and spaces around numbers', () => {
    const text = '\uFEFF"first, name";"y"\r\n\r\n" 1.5 ";0\r\n"2";"1"\r\n';
    const out = parseCsv(text, { delimiter: ';', labelColumn: 'y' });
    expect(out.columns).toEqual(['first, name']);
    expect(values(out.features)).toEqual([1.5, 2]);
    expect(values(out.labels!)).toEqual([0, 1]);
  });

  it('accepts nan and inf as NumPy and pandas write them, but not hex or empty cells', () => {
    expect(parseNumber('nan')).toBeNaN();
    expect(parseNumber('-Inf')).toBe(-Infinity);
    expect(parseNumber(' 1e-3 ')).toBe(0.001);
    expect(parseNumber('.5')).toBe(0.5);
    expect(parseNumber('5.')).toBe(5);
    for (const s of ['', '0x10', '1_000', 'constructor', '1e', '--1', '1,5']) expect(parseNumber(s), s).toBeUndefined();
  });

  it('honours header: false and header: true over the guess', () => {
    expect(parseCsv('1,2\n3,4\n', { header: true }).columns).toEqual(['1', '2']);
    expect(() => parseCsv('a,b\n3,4\n', { header: false })).toThrow(/row 1, column 1: "a" is not a number/);
  });
});

describe('parseCsv errors name the row as seen in the file and the column', () => {
  const fails = (text: string, options: Parameters<typeof parseCsv>[1], message: RegExp): void => {
    let caught: unknown;
    try { parseCsv(text, { source: 'data.csv', ...options }); } catch (err) { caught = err; }
    expect(caught).toBeInstanceOf(FormatError);
    expect((caught as Error).message).toMatch(/^data\.csv: /);
    expect((caught as Error).message).toMatch(message);
  };

  it('a non-numeric cell: 1-based row counting the header, column by position and name', () => {
    fails('a,b,c\n1,2,3\n4,oops,6\n', {}, /row 3, column 2 "b": "oops" is not a number/);
    fails('1,2,3\n4,oops,6\n', {}, /row 2, column 2: "oops" is not a number/);
    fails('a,b\n1,\n', {}, /row 2, column 2 "b": empty cell/);
  });

  it('counts blank lines and multi-line quoted fields when numbering rows', () => {
    fails('a,b\n\n1,2\n\n3,x\n', {}, /row 5, column 2 "b"/);
    fails('"multi\nline",b\n1,2\nx,4\n', {}, /row 4, column 1 "multi\\nline": "x" is not a number/);
  });

  it('ragged rows', () => {
    fails('a,b,c\n1,2,3\n4,5\n', {}, /row 3: expected 3 cells \(as in row 1\), got 2/);
    fails('1,2\n3,4,5\n', {}, /row 2: expected 2 cells \(as in row 1\), got 3/);
  });

  it('an unknown label column name, a name without a header, an index out of range', () => {
    fails('a,b\n1,2\n', { labelColumn: 'label' }, /unknown label column "label"; the columns are "a", "b"/);
    fails('1,2\n3,4\n', { labelColumn: 'label' }, /labelColumn "label" is a name, but the file has no header row/);
    fails('a,b\n1,2\n', { labelColumn: 2 }, /labelColumn 2 is out of range for 2 columns/);
  });

  it('an empty label cell', () => {
    fails('x,y\n1,\n', { labelColumn: 'y' }, /row 2, column 2 "y": empty label/);
  });

  it('an empty file, a header without data, a label-only file', () => {
    fails('', {}, /empty file: no rows/);
    fails('\n\n  \n', {}, /empty file: no rows/);
    fails('a,b,c\n', {}, /no data rows: the file has only the header row/);
    fails('y\n1\n', { labelColumn: 'y' }, /no feature columns/);
  });

  it('an unclosed quote', () => {
    fails('a,b\n1,"2\n3,4\n', {}, /row 2, column 2: quoted field is never closed/);
  });
});

describe('readCsvFile', () => {
  it('reads from disk, names the path in errors, and defaults .tsv to tabs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainrule-csv-'));
    writeFileSync(join(dir, 'd.tsv'), 'a\tb\n1\t2\n');
    expect(values((await readCsvFile(join(dir, 'd.tsv'))).features)).toEqual([1, 2]);
    writeFileSync(join(dir, 'bad.csv'), 'a\n?\n');
    await expect(readCsvFile(join(dir, 'bad.csv'))).rejects.toThrow(`${join(dir, 'bad.csv')}: row 2, column 1 "a"`);
    await expect(readCsvFile(join(dir, 'missing.csv'))).rejects.toThrow(/missing\.csv: file not found/);
  });
});

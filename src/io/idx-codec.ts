/**
 * The IDX format of MNIST and its relatives, in memory (the file helpers, which also
 * handle gzip, are in idx.ts):
 *
 *   byte 0-1   0x00 0x00
 *   byte 2     element type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
 *   byte 3     number of dims
 *   then       each dim as an unsigned 32-bit big-endian integer
 *   then       the elements, big-endian, row-major
 *
 * u8 becomes a uint8 tensor; i8 and i16 widen to int32, the nearest dtype chainrule holds.
 * Browser-safe.
 */
import { FormatError } from './errors.js';
import { checkRawTensor, numel, type RawData, type RawDType, type RawTensor, type RawTensorLike } from './raw.js';

interface IdxType {
  name: string;
  size: number;
  to: RawDType;
}

const IDX_TYPES: Readonly<Record<number, IdxType>> = {
  0x08: { name: 'u8', size: 1, to: 'uint8' },
  0x09: { name: 'i8', size: 1, to: 'int32' },
  0x0b: { name: 'i16', size: 2, to: 'int32' },
  0x0c: { name: 'i32', size: 4, to: 'int32' },
  0x0d: { name: 'f32', size: 4, to: 'float32' },
  0x0e: { name: 'f64', size: 8, to: 'float64' },
};

const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0').toUpperCase()}`;

export interface IdxReadOptions {
  /** Keep NaN and ±Infinity in f32/f64 files (refused by default, naming the element's position). */
  allowNan?: boolean;
}

interface IdxHeader {
  type: IdxType;
  shape: number[];
  headerLength: number;
  count: number;
}

/** The most elements an IDX file may declare (a chainrule tensor's limit). */
const MAX_IDX_ELEMENTS = 2 ** 31 - 1;

/** Reads and checks the magic number and dims; `bytes` may be only the start of the file. */
function readHeader(bytes: Uint8Array, fail: (message: string) => never): IdxHeader {
  if (bytes.length < 4) fail(`truncated: expected at least 4 bytes for the IDX magic number, got ${bytes.length}`);
  const magic = Array.from(bytes.subarray(0, 4), hex).join(' ');
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(`wrong magic number ${magic}: an IDX file starts with two zero bytes, then a dtype code and the number of dims`);
  }
  const type = IDX_TYPES[bytes[2]!];
  if (type === undefined) {
    const known = Object.entries(IDX_TYPES).map(([code, t]) => `${hex(Number(code))} ${t.name}`).join(', ');
    fail(`unsupported dtype code ${hex(bytes[2]!)} in magic number ${magic} (supported: ${known})`);
  }
  const ndim = bytes[3]!;
  const headerLength = 4 + 4 * ndim;
  if (bytes.length < headerLength) {
    fail(`truncated: expected ${headerLength} header bytes for ${ndim} dims, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = numel(shape);
  if (count > MAX_IDX_ELEMENTS) {
    fail(`the header declares ${type!.name} [${shape.join(',')}], ${count.toLocaleString('en-US')} elements; at most ${MAX_IDX_ELEMENTS.toLocaleString('en-US')} are accepted`);
  }
  return { type: type!, shape, headerLength, count };
}

/** The size in bytes the header at the start of `bytes` declares for the whole (uncompressed) file. */
export function idxByteLength(bytes: Uint8Array, source = '<bytes>'): number {
  const { type, headerLength, count } = readHeader(bytes, (message: string): never => { throw new FormatError(source, message); });
  return headerLength + count * type.size;
}

/** Parses IDX bytes (already gunzipped). `source` starts every error message. */
export function decodeIdx(bytes: Uint8Array, source = '<bytes>', options: IdxReadOptions = {}): RawTensor {
  const fail = (message: string): never => { throw new FormatError(source, message); };
  const { type, shape, headerLength, count } = readHeader(bytes, fail);
  const { name, size, to } = type;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const expected = headerLength + count * size;
  if (bytes.length !== expected) {
    const problem = bytes.length < expected ? 'truncated' : `${bytes.length - expected} trailing bytes`;
    fail(`${problem}: expected ${expected} bytes for ${name} [${shape.join(',')}], got ${bytes.length}`);
  }

  let data: RawData;
  if (size === 1 && to === 'uint8') {
    // Copied, not sliced: Buffer.slice is a view, and a view would pin the whole file.
    data = new Uint8Array(count);
    data.set(bytes.subarray(headerLength));
  } else {
    const out = to === 'float64' ? new Float64Array(count) : to === 'float32' ? new Float32Array(count) : new Int32Array(count);
    const read = name === 'i8' ? (o: number) => view.getInt8(o)
      : name === 'i16' ? (o: number) => view.getInt16(o, false)
      : name === 'i32' ? (o: number) => view.getInt32(o, false)
      : name === 'f32' ? (o: number) => view.getFloat32(o, false)
      : (o: number) => view.getFloat64(o, false);
    for (let i = 0; i < count; i++) out[i] = read(headerLength + i * size);
    if ((name === 'f32' || name === 'f64') && options.allowNan !== true) {
      for (let i = 0; i < count; i++) {
        const v = out[i]!;
        if (v - v !== 0) fail(`${Number.isNaN(v) ? 'NaN' : 'infinite value'} ${v} at ${position(shape, i)} (counting from 0); fix the file, or pass allowNan (--allow-nan) to keep such values`);
      }
    }
    data = out;
  }
  return { dtype: to, shape, data };
}

/** Element i of a row-major tensor of `shape` as "row 3, column 5" (2-D) or "row 3, index [5,2]". */
function position(shape: readonly number[], i: number): string {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  if (idx.length <= 1) return `element ${idx[0] ?? 0}`;
  const [row, ...rest] = idx;
  return rest.length === 1 ? `row ${row}, column ${rest[0]}` : `row ${row}, index [${rest.join(',')}]`;
}

const WRITE_CODE: Readonly<Record<RawDType, number>> = {
  uint8: 0x08, bool: 0x08, int32: 0x0c, float32: 0x0d, float64: 0x0e,
};

/** Serialises a tensor as IDX; bool is stored as u8 (0/1), since IDX has no bool. */
export function encodeIdx(input: RawTensorLike): Uint8Array {
  const t = checkRawTensor(input, 'encodeIdx');
  if (t.shape.length > 255) throw new TypeError(`encodeIdx: IDX holds at most 255 dims, got ${t.shape.length}`);
  if (t.shape.some((d) => d > 0xffffffff)) throw new TypeError(`encodeIdx: dims must fit in 32 bits, got [${t.shape.join(',')}]`);
  const code = WRITE_CODE[t.dtype];
  const size = IDX_TYPES[code]!.size;
  const headerLength = 4 + 4 * t.shape.length;
  const out = new Uint8Array(headerLength + t.data.length * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = t.shape.length;
  t.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const { data } = t;
  for (let i = 0, o = headerLength; i < data.length; i++, o += size) {
    if (t.dtype === 'bool') out[o] = data[i] !== 0 ? 1 : 0;
    else if (t.dtype === 'uint8') out[o] = data[i]!;
    else if (t.dtype === 'int32') view.setInt32(o, data[i]!, false);
    else if (t.dtype === 'float32') view.setFloat32(o, data[i]!, false);
    else view.setFloat64(o, data[i]!, false);
  }
  return out;
}

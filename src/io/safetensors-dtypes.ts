/**
 * The safetensors dtype names and the conversion of tensor bytes to and from typed arrays.
 *
 * safetensors stores every element little-endian. On a little-endian host (every platform
 * Node and the browsers run on today) the bytes are copied in one block; the element-wise
 * DataView path keeps a big-endian host correct and is what the tests use to check it.
 *
 * Reading widens the dtypes chainrule has no array for (F16 and BF16 to float32; I8, I16
 * and U16 to int32) because that loses nothing. I64, U32 and U64 are narrowed to int32
 * only when every value fits: PyTorch saves labels and indices as int64, and refusing them
 * would make most real checkpoints unreadable; silently wrapping would corrupt them.
 */
import type { RawData, RawDType, RawFields } from './raw.js';

interface ReadableDType {
  size: number;
  to: RawDType;
}

const READABLE: Readonly<Record<string, ReadableDType>> = {
  F64: { size: 8, to: 'float64' },
  F32: { size: 4, to: 'float32' },
  F16: { size: 2, to: 'float32' },
  BF16: { size: 2, to: 'float32' },
  I64: { size: 8, to: 'int32' },
  I32: { size: 4, to: 'int32' },
  I16: { size: 2, to: 'int32' },
  I8: { size: 1, to: 'int32' },
  U64: { size: 8, to: 'int32' },
  U32: { size: 4, to: 'int32' },
  U16: { size: 2, to: 'int32' },
  U8: { size: 1, to: 'uint8' },
  BOOL: { size: 1, to: 'bool' },
};

/** Valid in the format, but chainrule has no faithful array for them. */
const UNREADABLE = new Set(['F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64']);

export const SAFETENSORS_NAME: Readonly<Record<RawDType, string>> = {
  float64: 'F64',
  float32: 'F32',
  int32: 'I32',
  uint8: 'U8',
  bool: 'BOOL',
};

export const ELEMENT_SIZE: Readonly<Record<RawDType, number>> = {
  float64: 8,
  float32: 4,
  int32: 4,
  uint8: 1,
  bool: 1,
};

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Looks a dtype name up. Returns the element size, or a sentence saying why it cannot be
 * read (the caller prefixes the file and tensor name).
 */
export function lookupDType(name: string): ReadableDType | string {
  if (Object.hasOwn(READABLE, name)) return READABLE[name]!;
  if (UNREADABLE.has(name)) return `dtype ${name} is valid safetensors but chainrule cannot read it`;
  return `unknown dtype ${JSON.stringify(name)} (expected one of ${Object.keys(READABLE).join(', ')})`;
}

/**
 * Decodes `count` elements stored as `name` in `src` into a fresh, aligned typed array.
 * Throws a plain Error (message without source) when an integer does not fit in int32.
 */
export function decodeElements(
  src: Uint8Array, name: string, count: number, hostLittleEndian = HOST_LITTLE_ENDIAN,
): { dtype: RawDType; data: RawData } {
  const { to } = READABLE[name]!;
  // A copy into a new ArrayBuffer starting at 0: the typed array is then aligned even when
  // the tensor's offset in the file is not a multiple of its element size, and does not
  // keep the whole file alive. (Not src.slice(): on a Node Buffer that is a view.)
  if (name === 'U8') return { dtype: to, data: copyBytes(src) };
  if (name === 'BOOL') return { dtype: to, data: Uint8Array.from(src, (b) => (b !== 0 ? 1 : 0)) };
  if (hostLittleEndian && (name === 'F32' || name === 'F64' || name === 'I32')) {
    const buf = copyBytes(src).buffer;
    const data = name === 'F32' ? new Float32Array(buf) : name === 'F64' ? new Float64Array(buf) : new Int32Array(buf);
    return { dtype: to, data };
  }
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = to === 'float64' ? new Float64Array(count) : to === 'float32' ? new Float32Array(count) : new Int32Array(count);
  const get = elementReader(view, name);
  for (let i = 0; i < count; i++) {
    const v = get(i);
    if (to === 'int32' && (v < -2147483648 || v > 2147483647)) {
      throw new Error(`element ${i} = ${v} does not fit in int32, which is the widest integer chainrule holds`);
    }
    out[i] = v;
  }
  return { dtype: to, data: out };
}

export function copyBytes(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  out.set(src);
  return out;
}

function elementReader(view: DataView, name: string): (i: number) => number {
  switch (name) {
    case 'F64': return (i) => view.getFloat64(i * 8, true);
    case 'F32': return (i) => view.getFloat32(i * 4, true);
    case 'F16': return (i) => halfToFloat(view.getUint16(i * 2, true));
    case 'BF16': return (i) => bf16ToFloat(view.getUint16(i * 2, true));
    case 'I64': return (i) => Number(view.getBigInt64(i * 8, true));
    case 'U64': return (i) => Number(view.getBigUint64(i * 8, true));
    case 'I32': return (i) => view.getInt32(i * 4, true);
    case 'U32': return (i) => view.getUint32(i * 4, true);
    case 'I16': return (i) => view.getInt16(i * 2, true);
    case 'U16': return (i) => view.getUint16(i * 2, true);
    case 'I8': return (i) => view.getInt8(i);
    default: throw new Error(`no reader for ${name}`);
  }
}

const scratch = new DataView(new ArrayBuffer(4));

/** bfloat16 is the top half of a float32, so widening is a shift. */
function bf16ToFloat(bits: number): number {
  scratch.setUint32(0, bits << 16);
  return scratch.getFloat32(0);
}

/** IEEE binary16 to a JS number, subnormals, infinities and NaN included. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Writes a tensor's elements little-endian into `out` at `offset`; bool as 0/1 bytes. */
export function encodeElements(
  t: RawFields, out: Uint8Array, offset: number, hostLittleEndian = HOST_LITTLE_ENDIAN,
): void {
  const { data } = t;
  if (t.dtype === 'bool') {
    for (let i = 0; i < data.length; i++) out[offset + i] = data[i] !== 0 ? 1 : 0;
    return;
  }
  if (hostLittleEndian || t.dtype === 'uint8') {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + offset, data.length * ELEMENT_SIZE[t.dtype]);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (t.dtype === 'float64') view.setFloat64(i * 8, v, true);
    else if (t.dtype === 'float32') view.setFloat32(i * 4, v, true);
    else view.setInt32(i * 4, v, true);
  }
}

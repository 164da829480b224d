/**
 * The safetensors format (https://github.com/huggingface/safetensors), in memory:
 *
 *   8 bytes   N, the header length, unsigned 64-bit little-endian
 *   N bytes   UTF-8 JSON: {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 *             "__metadata__": {string: string}}, padded with spaces
 *   the rest  the data section: each tensor's elements, little-endian, row-major, at
 *             [begin, end) relative to the start of the data section
 *
 * The reader trusts nothing in the header: every offset must match its dtype and shape,
 * and the tensors must tile the data section exactly, with no gap, overlap or trailing
 * byte. That is what the reference implementation enforces, and a file that passes here
 * therefore loads there too.
 *
 * Browser-safe: no Node built-ins (the file helpers are in safetensors-file.ts).
 */
import { FormatError } from './errors.js';
import { checkRawTensor, numel, type RawFields, type RawTensor, type RawTensorLike } from './raw.js';
import {
  decodeElements, ELEMENT_SIZE, encodeElements, HOST_LITTLE_ENDIAN, lookupDType, SAFETENSORS_NAME,
} from './safetensors-dtypes.js';

export interface SafetensorsContents {
  /** In the order the tensors are laid out in the file. */
  tensors: Record<string, RawTensor>;
  /** The `__metadata__` map, or {} when the file has none. */
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';

/**
 * Serialises tensors (and optional string metadata) to safetensors bytes.
 *
 * Tensors are laid out by decreasing element size, then by name, as the reference writer
 * does: with the header padded to a multiple of 8, every tensor then starts at an offset
 * that is a multiple of its element size, so readers that map the file can view it in place.
 */
export function encodeSafetensors(
  tensors: Record<string, RawTensorLike>, metadata?: Record<string, string>,
): Uint8Array {
  return encodeWith(tensors, metadata, HOST_LITTLE_ENDIAN);
}

/** @internal The host byte order is a parameter so the tests can run the big-endian path. */
export function encodeWith(
  input: Record<string, RawTensorLike>, metadata: Record<string, string> | undefined, hostLittleEndian: boolean,
): Uint8Array {
  const names = Object.keys(input);
  const tensors: Record<string, RawFields> = Object.create(null);
  for (const name of names) {
    if (name === '' || name === METADATA_KEY) throw new TypeError(`encodeSafetensors: ${JSON.stringify(name)} cannot be a tensor name`);
    tensors[name] = checkRawTensor(input[name]!, `encodeSafetensors: tensor ${JSON.stringify(name)}`);
  }
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`encodeSafetensors: metadata ${JSON.stringify(k)} must be a string, got ${typeof v}`);
    }
  }
  names.sort((a, b) => {
    const bySize = ELEMENT_SIZE[tensors[b]!.dtype] - ELEMENT_SIZE[tensors[a]!.dtype];
    return bySize !== 0 ? bySize : a < b ? -1 : a > b ? 1 : 0;
  });

  // Built by hand rather than with JSON.stringify(object) because JS objects list
  // integer-like keys first, which would scramble the header's order for names like "0".
  const entries: string[] = [];
  if (metadata !== undefined) entries.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  const offsets: number[] = [];
  let dataLength = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const begin = dataLength;
    dataLength += t.data.length * ELEMENT_SIZE[t.dtype];
    offsets.push(begin);
    const info = { dtype: SAFETENSORS_NAME[t.dtype], shape: t.shape, data_offsets: [begin, dataLength] };
    entries.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
  }
  const json = new TextEncoder().encode(`{${entries.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + headerLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  names.forEach((name, i) => encodeElements(tensors[name]!, out, 8 + headerLength + offsets[i]!, hostLittleEndian));
  return out;
}

interface HeaderEntry {
  name: string;
  stDType: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses safetensors bytes. `source` (a file path, usually) starts every error message.
 * Throws FormatError for anything that is not a well-formed file.
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<bytes>'): SafetensorsContents {
  return decodeWith(bytes, source, HOST_LITTLE_ENDIAN);
}

/** @internal See encodeWith. */
export function decodeWith(bytes: Uint8Array, source: string, hostLittleEndian: boolean): SafetensorsContents {
  const fail = (message: string): never => { throw new FormatError(source, message); };
  if (bytes.length < 8) {
    fail(`truncated: ${bytes.length} bytes, but a safetensors file starts with an 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    fail(`header length ${declared} runs past the end of the file (${bytes.length - 8} bytes after the length field); the file is truncated or not safetensors`);
  }
  const headerLength = Number(declared);
  const headerBytes = bytes.subarray(8, 8 + headerLength);
  if (headerBytes[0] !== 0x7b) fail(`header does not start with '{'; this is not a safetensors file`);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header must be a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) metadata = parseMetadata(info, fail);
    else entries.push(parseEntry(name, info, dataLength, fail));
  }
  checkTiling(entries, dataLength, fail);

  const tensors: Record<string, RawTensor> = {};
  for (const e of entries) {
    const decode = (): RawTensor => {
      try {
        const src = bytes.subarray(dataStart + e.begin, dataStart + e.end);
        return { ...decodeElements(src, e.stDType, numel(e.shape), hostLittleEndian), shape: e.shape };
      } catch (err) {
        return fail(`tensor ${JSON.stringify(e.name)} (${e.stDType}): ${(err as Error).message}`);
      }
    };
    // defineProperty, not assignment: a tensor named "__proto__" must stay a tensor.
    Object.defineProperty(tensors, e.name, { value: decode(), enumerable: true, writable: true, configurable: true });
  }
  return { tensors, metadata };
}

function parseMetadata(info: unknown, fail: (m: string) => never): Record<string, string> {
  if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`${METADATA_KEY} must be an object of strings`);
  for (const [k, v] of Object.entries(info as object)) {
    if (typeof v !== 'string') fail(`${METADATA_KEY} value ${JSON.stringify(k)} must be a string, got ${JSON.stringify(v)}`);
  }
  return { ...(info as Record<string, string>) };
}

function parseEntry(name: string, info: unknown, dataLength: number, fail: (m: string) => never): HeaderEntry {
  const what = `tensor ${JSON.stringify(name)}`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`${what}: header entry must be an object`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string') fail(`${what}: dtype must be a string, got ${JSON.stringify(dtype)}`);
  const isIndex = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    fail(`${what}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    fail(`${what}: data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const known = lookupDType(dtype as string);
  if (typeof known === 'string') fail(`${what}: ${known}`);
  const [begin, end] = offsets as number[];
  const shapeText = `[${(shape as number[]).join(',')}]`;
  if (end! < begin!) fail(`${what}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end! > dataLength) {
    fail(`${what}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes); the file is truncated`);
  }
  const need = numel(shape as number[]) * (known as { size: number }).size;
  if (end! - begin! !== need) {
    fail(`${what}: data_offsets [${begin}, ${end}] span ${end! - begin!} bytes, but ${dtype} ${shapeText} needs ${need}`);
  }
  return { name, stDType: dtype as string, shape: [...(shape as number[])], begin: begin!, end: end! };
}

/** The tensors must cover [0, dataLength) exactly once; sorts `entries` by offset. */
function checkTiling(entries: HeaderEntry[], dataLength: number, fail: (m: string) => never): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let last: HeaderEntry | undefined;
  for (const e of entries) {
    if (e.begin < covered) {
      fail(`tensors ${JSON.stringify(last!.name)} [${last!.begin}, ${last!.end}] and ${JSON.stringify(e.name)} [${e.begin}, ${e.end}] have overlapping data_offsets`);
    }
    if (e.begin > covered) fail(`bytes [${covered}, ${e.begin}) of the data section belong to no tensor`);
    covered = e.end;
    last = e;
  }
  if (covered < dataLength) fail(`${dataLength - covered} trailing bytes after the last tensor's data`);
}

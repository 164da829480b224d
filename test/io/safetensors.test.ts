import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/io/errors.js';
import type { RawTensor } from '../../src/io/raw.js';
import { decodeSafetensors, decodeWith, encodeSafetensors, encodeWith } from '../../src/io/safetensors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../../src/io/safetensors-file.js';
import {
  CHAINRULE_FIXTURE_PATH, CHAINRULE_PYTHON_JSON_PATH, chainruleFixture,
} from '../fixtures/gen_chainrule_safetensors.js';

const fixture = (name: string): string => new URL(`../fixtures/safetensors/${name}`, import.meta.url).pathname;

function allDTypes(): Record<string, RawTensor> {
  return {
    f32: { dtype: 'float32', shape: [2, 3], data: Float32Array.of(1.5, -2, 0, -0, Infinity, NaN) },
    f64: { dtype: 'float64', shape: [2], data: Float64Array.of(Math.PI, -1e-300) },
    i32: { dtype: 'int32', shape: [1, 2, 2], data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1, 0, 5) },
    u8: { dtype: 'uint8', shape: [3], data: Uint8Array.of(0, 128, 255) },
    mask: { dtype: 'bool', shape: [2], data: Uint8Array.of(1, 0) },
    scalar: { dtype: 'float64', shape: [], data: Float64Array.of(7.25) },
    empty: { dtype: 'int32', shape: [0, 4], data: new Int32Array(0) },
  };
}

/** Hand-assembled file: a header object (or raw header text) and a data section. */
function craft(header: object | string, data: Uint8Array = new Uint8Array(0), lengthField?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthField ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Expected values as the fixture JSON writes them: non-finite floats as strings. */
function fromJson(values: (number | boolean | string)[]): number[] {
  return values.map((v) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v)));
}

const JS_DTYPE: Record<string, RawTensor['dtype']> = {
  F32: 'float32', F64: 'float64', I32: 'int32', U8: 'uint8', BOOL: 'bool',
  F16: 'float32', BF16: 'float32', I64: 'int32', I16: 'int32', I8: 'int32', U16: 'int32', U32: 'int32',
};

describe('safetensors round trip', () => {
  it('keeps every dtype, shape (0-d and empty included) and the metadata', () => {
    const tensors = allDTypes();
    const bytes = encodeSafetensors(tensors, { epoch: '4', 'ünï': 'cøde' });
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ epoch: '4', 'ünï': 'cøde' });
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      expect(back.tensors[name]).toEqual(t);
    }
  });

  it('pads the header to a multiple of 8 and aligns every tensor to its element size', () => {
    const bytes = encodeSafetensors(allDTypes());
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    for (const info of Object.values(header) as { dtype: string; data_offsets: number[] }[]) {
      const size = { F64: 8, F32: 4, I32: 4, U8: 1, BOOL: 1 }[info.dtype]!;
      expect(info.data_offsets[0]! % size).toBe(0);
    }
  });

  it('accepts tensors with read-only fields, as a Tensor has', () => {
    const t = Object.freeze({ dtype: 'float32' as const, shape: Object.freeze([2]) as readonly number[], data: Float32Array.of(1, 2) });
    expect(decodeSafetensors(encodeSafetensors({ t })).tensors.t!.shape).toEqual([2]);
  });

  it('writes no __metadata__ when none is given and reads it back as {}', () => {
    const bytes = encodeSafetensors({ x: allDTypes().u8! });
    expect(new TextDecoder().decode(bytes)).not.toContain('__metadata__');
    expect(decodeSafetensors(bytes).metadata).toEqual({});
  });

  it('writes bool as 0/1 bytes and reads any non-zero byte as true', () => {
    const bytes = encodeSafetensors({ b: { dtype: 'bool', shape: [3], data: Uint8Array.of(0, 7, 255) } });
    expect(Array.from(bytes.subarray(bytes.length - 3))).toEqual([0, 1, 1]);
    bytes[bytes.length - 1] = 9;
    expect(Array.from(decodeSafetensors(bytes).tensors.b!.data)).toEqual([0, 1, 1]);
  });

  it('gives the same bytes and values through the big-endian host path', () => {
    const tensors = allDTypes();
    const little = encodeWith(tensors, { a: 'b' }, true);
    expect(encodeWith(tensors, { a: 'b' }, false)).toEqual(little);
    expect(decodeWith(little, 'x', false)).toEqual(decodeWith(little, 'x', true));
  });

  it('copies into fresh, aligned arrays even when the input is misaligned', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'float64', shape: [2], data: Float64Array.of(1, 2) } });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const data = decodeSafetensors(shifted.subarray(1)).tensors.w!.data;
    expect(data.byteOffset).toBe(0);
    expect(data.buffer).not.toBe(shifted.buffer);
    expect(Array.from(data)).toEqual([1, 2]);
  });

  it('never returns a view of a Node Buffer (Buffer.slice does not copy)', () => {
    const bytes = Buffer.from(encodeSafetensors({ b: allDTypes().u8!, f: allDTypes().f32! }));
    const { tensors } = decodeSafetensors(bytes);
    expect(Object.getPrototypeOf(tensors.b!.data)).toBe(Uint8Array.prototype);
    bytes.fill(0);
    expect(Array.from(tensors.b!.data)).toEqual([0, 128, 255]);
    expect(tensors.f!.data[0]).toBe(1.5);
  });

  it('round-trips through files, atomically written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainrule-st-'));
    const path = join(dir, 'model.safetensors');
    await writeSafetensorsFile(path, allDTypes(), { k: 'v' });
    const back = await readSafetensorsFile(path);
    expect(back.tensors.i32).toEqual(allDTypes().i32);
    expect(back.metadata).toEqual({ k: 'v' });
  });
});

describe('safetensors against the independent Python implementation', () => {
  const expected = JSON.parse(readFileSync(fixture('python_written.expected.json'), 'utf8')) as {
    metadata: Record<string, string>;
    tensors: Record<string, { dtype: string; shape: number[]; values: (number | boolean | string)[] }>;
  };

  it('decodes the Python-written file to the identical values', () => {
    const { tensors, metadata } = decodeSafetensors(readFileSync(fixture('python_written.safetensors')));
    expect(metadata).toEqual(expected.metadata);
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, want] of Object.entries(expected.tensors)) {
      const got = tensors[name]!;
      expect(got.dtype, name).toBe(JS_DTYPE[want.dtype]);
      expect(got.shape, name).toEqual(want.shape);
      // Object.is-based equality: -0 and NaN must come back exactly.
      expect(Array.from(got.data), name).toEqual(fromJson(want.values));
    }
  });

  it('writes the same bytes as the Python writer for the dtypes chainrule writes', () => {
    const native = readFileSync(fixture('python_native.safetensors'));
    const tensors: Record<string, RawTensor> = {};
    for (const [name, want] of Object.entries(expected.tensors)) {
      const dtype = JS_DTYPE[want.dtype]!;
      if (!['F32', 'F64', 'I32', 'U8', 'BOOL'].includes(want.dtype)) continue;
      const values = fromJson(want.values);
      const data = dtype === 'float32' ? Float32Array.from(values) : dtype === 'float64' ? Float64Array.from(values)
        : dtype === 'int32' ? Int32Array.from(values) : Uint8Array.from(values);
      tensors[name] = { dtype, shape: want.shape, data };
    }
    expect(Buffer.from(encodeSafetensors(tensors, expected.metadata)).equals(native)).toBe(true);
  });

  it('writes the committed chainrule fixture byte for byte, and Python reads the same values', () => {
    const { tensors, metadata } = chainruleFixture();
    const bytes = encodeSafetensors(tensors, metadata);
    expect(Buffer.from(bytes).equals(readFileSync(CHAINRULE_FIXTURE_PATH))).toBe(true);

    const python = JSON.parse(readFileSync(CHAINRULE_PYTHON_JSON_PATH, 'utf8')) as {
      metadata: Record<string, string>;
      tensors: Record<string, { shape: number[]; values: (number | boolean)[] }>;
    };
    // Decoding keeps awkward names as plain own keys, "__proto__" included.
    const back = decodeSafetensors(bytes);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    expect(Object.getPrototypeOf(back.tensors)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back.tensors, '__proto__')!.value.data).toEqual(Float32Array.of(0.25));

    expect(python.metadata).toEqual(metadata);
    expect(Object.keys(python.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      expect(python.tensors[name]!.shape, name).toEqual(t.shape);
      expect(fromJson(python.tensors[name]!.values), name).toEqual(Array.from(t.data));
    }
  });
});

describe('safetensors rejects malformed input with a clear FormatError', () => {
  const f32x2 = (begin = 0, end = 8) => ({ dtype: 'F32', shape: [2], data_offsets: [begin, end] });
  const expectFormatError = (bytes: Uint8Array, message: RegExp): void => {
    let caught: unknown;
    try { decodeSafetensors(bytes, 'weights.safetensors'); } catch (err) { caught = err; }
    expect(caught).toBeInstanceOf(FormatError);
    expect((caught as FormatError).source).toBe('weights.safetensors');
    expect((caught as Error).message).toMatch(/^weights\.safetensors: /);
    expect((caught as Error).message).toMatch(message);
  };

  it('a file shorter than the length field', () => {
    expectFormatError(Uint8Array.of(1, 2, 3), /truncated: 3 bytes.*8-byte header length/);
  });

  it('a header length beyond the end of the file', () => {
    expectFormatError(craft({ x: f32x2() }, new Uint8Array(8), 5000), /header length 5000 runs past the end of the file/);
    // A huge u64 (e.g. a file that is not safetensors at all) must not be misread as a small number.
    const bytes = craft({});
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 63n, true);
    expectFormatError(bytes, /header length 9223372036854775808 runs past the end/);
  });

  it('a file that is truncated inside the data section', () => {
    const good = encodeSafetensors({ w: { dtype: 'float32', shape: [4], data: new Float32Array(4) } });
    expectFormatError(good.subarray(0, good.length - 3), /tensor "w": data_offsets \[0, 16\] run past the end of the data section \(13 bytes\); the file is truncated/);
  });

  it('a header that is not JSON, not UTF-8, not an object, or does not start with {', () => {
    expectFormatError(craft('{"x": {"dtype": '), /header is not valid UTF-8 JSON/);
    const bad = craft('{"\u00ff"}');
    bad[10] = 0xff;
    expectFormatError(bad, /header is not valid UTF-8 JSON/);
    expectFormatError(craft('[1, 2]'), /header does not start with '\{'/);
    expectFormatError(craft('{}x'), /not valid UTF-8 JSON/);
    expectFormatError(craft('{"x": 1}'), /tensor "x": header entry must be an object/);
  });

  it('an unknown dtype, and a valid one chainrule cannot hold', () => {
    expectFormatError(craft({ w: { ...f32x2(), dtype: 'F17' } }, new Uint8Array(8)), /tensor "w": unknown dtype "F17" \(expected one of F64, F32/);
    expectFormatError(craft({ w: { ...f32x2(0, 2), dtype: 'F8_E4M3' } }, new Uint8Array(2)), /tensor "w": dtype F8_E4M3 is valid safetensors but chainrule cannot read it/);
  });

  it('a bad shape or malformed data_offsets', () => {
    expectFormatError(craft({ w: { ...f32x2(), shape: [2.5] } }, new Uint8Array(8)), /tensor "w": shape must be an array of non-negative integers, got \[2.5\]/);
    expectFormatError(craft({ w: { ...f32x2(), shape: [-2] } }, new Uint8Array(8)), /shape must be/);
    expectFormatError(craft({ w: { ...f32x2(), data_offsets: [0] } }, new Uint8Array(8)), /tensor "w": data_offsets must be \[begin, end\]/);
    expectFormatError(craft({ w: f32x2(8, 0) }, new Uint8Array(8)), /tensor "w": data_offsets \[8, 0\] end before they begin/);
  });

  it('offsets that do not match shape × dtype size', () => {
    expectFormatError(craft({ w: f32x2(0, 12) }, new Uint8Array(12)), /tensor "w": data_offsets \[0, 12\] span 12 bytes, but F32 \[2\] needs 8/);
  });

  it('overlapping offsets, gaps and trailing bytes', () => {
    expectFormatError(craft({ a: f32x2(0, 8), b: f32x2(4, 12) }, new Uint8Array(12)), /tensors "a" \[0, 8\] and "b" \[4, 12\] have overlapping data_offsets/);
    expectFormatError(craft({ a: f32x2(0, 8), b: f32x2(0, 8) }, new Uint8Array(8)), /overlapping/);
    expectFormatError(craft({ a: f32x2(0, 8), b: f32x2(12, 20) }, new Uint8Array(20)), /bytes \[8, 12\) of the data section belong to no tensor/);
    expectFormatError(craft({ a: f32x2(4, 12) }, new Uint8Array(12)), /bytes \[0, 4\) of the data section belong to no tensor/);
    expectFormatError(craft({ a: f32x2() }, new Uint8Array(10)), /2 trailing bytes after the last tensor's data/);
  });

  it('metadata that is not a map of strings', () => {
    expectFormatError(craft({ __metadata__: { epoch: 3 } }), /__metadata__ value "epoch" must be a string, got 3/);
    expectFormatError(craft({ __metadata__: ['x'] }), /__metadata__ must be an object of strings/);
  });

  it('a 64-bit integer that does not fit in int32', () => {
    const data = new Uint8Array(16);
    new DataView(data.buffer).setBigInt64(8, 2n ** 40n, true);
    expectFormatError(craft({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data),
      /tensor "ids" \(I64\): element 1 = 1099511627776 does not fit in int32/);
  });

  it('reports a missing file by path', async () => {
    await expect(readSafetensorsFile('/nonexistent/model.safetensors')).rejects.toThrow(/^\/nonexistent\/model\.safetensors: file not found$/);
  });
});

describe('encodeSafetensors rejects inconsistent tensors', () => {
  it('names the tensor and the problem', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'float32', shape: [3], data: new Float32Array(2) } }))
      .toThrow(/tensor "w": shape \[3\] has 3 elements but data has 2/);
    expect(() => encodeSafetensors({ w: { dtype: 'float32', shape: [2], data: new Float64Array(2) } }))
      .toThrow(/tensor "w": dtype float32 needs a Float32Array, got Float64Array/);
    expect(() => encodeSafetensors({ __metadata__: allDTypes().u8! })).toThrow(/cannot be a tensor name/);
    expect(() => encodeSafetensors({}, { n: 3 as unknown as string })).toThrow(/metadata "n" must be a string/);
  });

  it('accepts a Buffer for uint8 data', () => {
    const bytes = encodeSafetensors({ b: { dtype: 'uint8', shape: [2], data: Buffer.from([1, 2]) } });
    expect(Array.from(decodeSafetensors(bytes).tensors.b!.data)).toEqual([1, 2]);
  });
});

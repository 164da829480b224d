import { describe, expect, it } from 'vitest';
import { data, IndexError, ValueError } from '../../src/index.js';
import { createNativeBackend } from '../../src/backend/native/index.js';
import { getKernel } from '../../src/backend/registry.js';

const src = Uint8Array.from({ length: 7 * 30 }, (_, i) => (i * 37 + 11) & 255);
const rows = Int32Array.from([6, 0, 3, 3, 5]);

function naive(scale: number, shift: number): number[] {
  const out: number[] = [];
  for (const r of rows) for (let j = 0; j < 30; j++) out.push(Math.fround(src[r * 30 + j]! * scale + shift));
  return out;
}

describe('data.gatherBytes', () => {
  it('gathers rows of bytes into a scaled float32 batch', () => {
    const t = data.gatherBytes(src, 30, rows, { scale: 1 / 255, shift: -0.5 });
    expect(t.shape).toEqual([5, 30]);
    expect(t.dtype).toBe('float32');
    expect(Array.from(t.typedData)).toEqual(naive(1 / 255, -0.5));
    expect(Array.from(data.gatherBytes(src, 30, [1, 2]).typedData.slice(0, 3))).toEqual([src[30], src[31], src[32]]);
  });

  it('the native kernel and the loop give the same floats', () => {
    const native = createNativeBackend();
    if (!native) return; // no addon here: the reference kernel is what runs
    const out = new Float32Array(5 * 30).fill(NaN);
    expect(getKernel('gatherRowsU8', native.name)!.fn(src, 30, rows, 1 / 255, 0.25, out)).not.toBe(false);
    expect(Array.from(out)).toEqual(naive(1 / 255, 0.25));
  });

  it('names a row out of range, and a bad row length', () => {
    expect(() => data.gatherBytes(src, 30, [0, 7])).toThrow(IndexError);
    expect(() => data.gatherBytes(src, 30, [0, 7])).toThrow('gatherBytes: row 7 is out of range for 7 rows of 30 bytes (valid 0 to 6)');
    expect(() => data.gatherBytes(src, 30, [-1])).toThrow(IndexError);
    expect(() => data.gatherBytes(src, 0, [0])).toThrow(ValueError);
  });
});

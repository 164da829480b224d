import { describe, expect, it } from 'vitest';
import { ReleasedBufferError, pooledByteCount, takeScratch, withScratch } from '../../src/memory/index.js';

/**
 * A rule's temporary buffer is a Scratch: released (back to the pool) or kept (a result's data),
 * once. The handle refuses every use after that, by name, so a rule cannot read memory it gave
 * back through it.
 */
const N = 8192; // 32 KB of float32: big enough to be pooled

describe('Scratch', () => {
  it('a released scratch refuses to be read, released or kept again, naming its label', () => {
    const s = takeScratch('float32', N, 'conv2d backward: columns');
    s.array.fill(2);
    s.release();
    expect(() => s.array).toThrow(ReleasedBufferError);
    expect(() => s.array).toThrow('conv2d backward: columns: scratch buffer read after it was released');
    expect(() => s.release()).toThrow(/released again after it was released/);
    expect(() => s.keep()).toThrow(ReleasedBufferError);
  });

  it('a kept scratch hands over its array once and never goes to the pool', () => {
    const s = takeScratch('float64', N, 'test: result');
    const a = s.array;
    a.fill(3);
    const before = pooledByteCount();
    expect(s.keep()).toBe(a);
    expect(pooledByteCount()).toBe(before);
    expect(() => s.release()).toThrow(/released again after it was kept/);
    expect(() => s.array).toThrow(/read after it was kept/);
    expect(a[N - 1]).toBe(3);
  });

  it('release gives the buffer to the pool, and the next take of that size reuses it', () => {
    const s = takeScratch('float32', N, 'test');
    const buffer = s.array.buffer;
    const before = pooledByteCount();
    s.release();
    expect(pooledByteCount()).toBe(before + N * 4);
    const t = takeScratch('float32', N, 'test');
    expect(t.array.buffer).toBe(buffer);
    t.release();
  });

  it('withScratch releases when fn returns and when it throws', () => {
    let returned: ArrayBufferLike | null = null;
    const total = withScratch('float32', N, 'test: sum', (a) => {
      returned = a.buffer;
      a.fill(1);
      return Array.from(a).reduce((x, y) => x + y, 0);
    });
    expect(total).toBe(N);
    const again = takeScratch('float32', N, 'test');
    expect(again.array.buffer).toBe(returned); // it was back in the pool
    again.release();
    let thrown: ArrayBufferLike | null = null;
    expect(() =>
      withScratch('float64', N, 'test: failing', (a) => {
        thrown = a.buffer;
        throw new Error('kernel failed');
      }),
    ).toThrow('kernel failed');
    const after = takeScratch('float64', N, 'test');
    expect(after.array.buffer).toBe(thrown);
    after.release();
  });
});

import { describe, expect, it } from 'vitest';
import { Generator, manualSeed } from '../../src/index.js';
import { webgpuRand, webgpuRandn } from '../../src/backend/webgpu/index.js';
import { unavailable } from './setup.js';

/**
 * The device's seeded random fills: the same seed gives the same numbers, another seed others,
 * and the values have the distribution's range and moments (n = 65536: the bounds are about
 * six standard errors).
 */
describe.skipIf(unavailable !== null)('webgpu random fills', () => {
  it('rand: seeded, in [0, 1), mean 1/2 and variance 1/12', async () => {
    manualSeed(5);
    const a = await webgpuRand([256, 256]).dataAsync();
    manualSeed(5);
    const b = await webgpuRand([256, 256]).dataAsync();
    const c = await webgpuRand([256, 256]).dataAsync();
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).not.toEqual(Array.from(a));
    let mean = 0;
    for (const v of a) {
      expect(v >= 0 && v < 1).toBe(true);
      mean += v;
    }
    mean /= a.length;
    let variance = 0;
    for (const v of a) variance += (v - mean) ** 2;
    variance /= a.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.007);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
    // neighbouring elements uncorrelated
    let cov = 0;
    for (let i = 0; i + 1 < a.length; i++) cov += (a[i]! - 0.5) * (a[i + 1]! - 0.5);
    expect(Math.abs(cov / (a.length - 1) / (1 / 12))).toBeLessThan(0.025);
  });

  it('randn: seeded by a generator, finite, mean 0, variance 1, both Box–Muller halves normal', async () => {
    const x = await webgpuRandn([65536], new Generator(3)).dataAsync();
    const y = await webgpuRandn([65536], new Generator(3)).dataAsync();
    expect(Array.from(y)).toEqual(Array.from(x));
    for (const half of [0, 1]) {
      let m = 0;
      let s = 0;
      let k = 0;
      let tail = 0;
      for (let i = half; i < x.length; i += 2) {
        expect(Number.isFinite(x[i]!)).toBe(true);
        m += x[i]!;
        s += x[i]! ** 2;
        if (Math.abs(x[i]!) > 1.959964) tail++;
        k++;
      }
      expect(Math.abs(m / k)).toBeLessThan(0.03);
      expect(Math.abs(s / k - 1)).toBeLessThan(0.04);
      expect(Math.abs(tail / k - 0.05)).toBeLessThan(0.008);
    }
  });
});

import { ValueError } from '../errors.js';

/**
 * Seeded pseudo-random numbers: xoshiro128** seeded through splitmix32. Fast, small state,
 * good statistical quality, and the same stream on every platform, so a seed reproduces a
 * run exactly in Node and in browsers. (It does not reproduce PyTorch's Mersenne Twister
 * stream; tests that need PyTorch's numbers pass the values in explicitly.)
 */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;
  private seedValue = 0;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  manualSeed(seed: number): this {
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
      throw new ValueError(`manualSeed: the seed must be an integer from ${-Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}, got ${typeof seed === 'number' ? seed : typeof seed}`);
    }
    let x = (Math.trunc(seed) ^ Math.trunc(seed / 2 ** 32)) >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    this.spareNormal = null;
    this.seedValue = seed;
    return this;
  }

  initialSeed(): number {
    return this.seedValue;
  }

  /** The full state, to checkpoint and restore a run exactly. */
  getState(): number[] {
    return [this.s0, this.s1, this.s2, this.s3, this.spareNormal ?? NaN, this.seedValue];
  }

  setState(state: readonly number[]): this {
    const ok =
      Array.isArray(state) &&
      (state.length === 5 || state.length === 6) &&
      state.slice(0, 4).every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff) &&
      (typeof state[4] === 'number' || state[4] === null) &&
      (state[5] === undefined || Number.isSafeInteger(state[5]));
    if (!ok) {
      throw new ValueError(
        `Generator.setState: expected [s0, s1, s2, s3, spareNormal, seed] (four uint32 words, a number or NaN, an integer), got ${Array.isArray(state) ? `[${state.join(', ')}]` : String(state)}`,
      );
    }
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v >>> 0) as [number, number, number, number];
    this.spareNormal = state[4] === null || Number.isNaN(state[4]) ? null : state[4]!;
    this.seedValue = state[5] ?? 0;
    return this;
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** out filled with successive random() draws, in order. */
  fillRandom(out: Float64Array): Float64Array {
    for (let i = 0; i < out.length; i++) out[i] = this.random();
    return out;
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [low, high). */
  integer(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  /** In-place Fisher–Yates shuffle; returns a permutation of 0..n-1 when given n. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The generator every random function uses unless given its own. */
export const defaultGenerator = new Generator(0);

/** Seed the default generator, as `torch.manual_seed`. */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}

/**
 * Shared pieces of the fuzz suite (test/fuzz): the run count and seed, random float64 tensors,
 * index arithmetic written out here (not chainrule's helpers), and the check that an invalid
 * call throws chainrule's error class rather than a JavaScript TypeError/RangeError or a result.
 *
 * `npm test` runs each property FUZZ.numRuns times with a fixed seed; for a longer hunt by hand:
 *   CHAINRULE_FUZZ_RUNS=2000 CHAINRULE_FUZZ_SEED=7 npx vitest run test/fuzz --project auto
 */
import { expect } from 'vitest';
import { ChainruleError, Generator, tensor, type Tensor } from '../../src/index.js';

const runs = Number(process.env.CHAINRULE_FUZZ_RUNS ?? '');
const seed = Number(process.env.CHAINRULE_FUZZ_SEED ?? '');

/** fast-check parameters: `scale` × the base count (cheap properties run more). */
export function fuzz(scale = 1): { numRuns: number; seed: number; endOnFailure: true } {
  const base = Number.isInteger(runs) && runs > 0 ? runs : 40;
  return { numRuns: Math.max(1, Math.round(base * scale)), seed: Number.isInteger(seed) ? seed : 20261203, endOnFailure: true };
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Every multi-index of shape, row-major. */
export function* indices(shape: readonly number[]): IterableIterator<number[]> {
  const n = numel(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    yield [...idx];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

export function offsetOf(shape: readonly number[], idx: readonly number[]): number {
  const s = stridesOf(shape);
  let o = 0;
  for (let i = 0; i < idx.length; i++) o += idx[i]! * s[i]!;
  return o;
}

/** A float64 tensor of shape, normal values from seed (plus `shift`), optionally a gradient leaf. */
export function filled(shape: readonly number[], seed: number, requiresGrad = false, shift = 0): Tensor {
  const g = new Generator(seed);
  return tensor(Float64Array.from({ length: numel(shape) }, () => g.normal() + shift), { shape, dtype: 'float64', requiresGrad });
}

export function values(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number>);
}

/** Same shape, and every value within 1e-9 relative (float64 sums in another order). */
export function expectClose(t: Tensor, shape: readonly number[], expected: readonly number[]): void {
  expect(t.shape).toEqual(shape);
  const got = values(t);
  expect(got.length).toBe(expected.length);
  for (let i = 0; i < got.length; i++) {
    const e = expected[i]!;
    if (Math.abs(got[i]! - e) > 1e-9 * Math.max(1, Math.abs(e))) {
      throw new Error(`element ${i}: got ${got[i]}, expected ${e} (shape ${JSON.stringify(shape)})`);
    }
  }
}

/**
 * fn must throw an instance of `cls` (a chainrule error class): never return a result, and
 * never throw a JavaScript TypeError/RangeError or any other non-chainrule error.
 */
export function expectRefused(fn: () => unknown, cls: new (...a: never[]) => ChainruleError = ChainruleError): void {
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    if (!(err instanceof cls)) {
      throw new Error(`expected a ${cls.name}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    expect((err as Error).message.length).toBeGreaterThan(0);
    return;
  }
  const shape = (result as { shape?: unknown } | null)?.shape;
  throw new Error(`expected a ${cls.name}, but the call returned${shape ? ` a tensor of shape ${JSON.stringify(shape)}` : ''}`);
}

import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { Tensor, tensor } from '../../src/index.js';

/** A tensor as gen_nn.py writes it. */
export interface TJson {
  shape: number[];
  data: number[];
  dtype?: 'int32';
}

export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** float64 (or int32) tensor from a fixture entry. */
export function fromJson(j: TJson, requiresGrad = false): Tensor {
  const data = j.dtype === 'int32' ? Int32Array.from(j.data) : Float64Array.from(j.data);
  return tensor(data, { shape: j.shape, requiresGrad });
}

/**
 * Elementwise |actual − expected| ≤ rtol·|expected| + rtol·1e-3·max|expected|: relative to each
 * value, with a floor a thousand times smaller than the tensor's scale, so that entries which
 * are zero up to cancellation (1e-17 where others are 1) do not demand impossible digits.
 */
export function expectClose(actual: Tensor | null, expected: TJson | Tensor, what: string, rtol = 1e-10): void {
  const e = expected instanceof Tensor ? expected : fromJson(expected);
  expect(actual, `${what}: missing`).not.toBeNull();
  expect(actual!.shape, `${what}: shape`).toEqual(e.shape);
  let scale = 0;
  for (let i = 0; i < e.typedData.length; i++) scale = Math.max(scale, Math.abs(e.typedData[i]!));
  for (let i = 0; i < e.typedData.length; i++) {
    const a = actual!.dataSync()[i]!;
    const b = e.typedData[i]!;
    const tol = rtol * Math.abs(b) + rtol * 1e-3 * scale;
    if (!(Math.abs(a - b) <= tol)) {
      expect.fail(`${what}: element ${i} is ${a}, expected ${b} (difference ${Math.abs(a - b)}, tolerance ${tol})`);
    }
  }
}

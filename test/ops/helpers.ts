import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { autograd, tensor, type DType, type Tensor } from '../../src/index.js';

/**
 * Replays the PyTorch fixtures made by test/fixtures/gen_ops.py: build the inputs, run the
 * chainrule op, back-propagate the recorded upstream gradient, and compare the output and
 * every input gradient with PyTorch's, float64 to 1e-10 and float32 to 1e-5.
 */

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ops');

/** Allowed |actual − expected| ≤ tol · max(1, |expected|): relative, but absolute near zero. */
export const TOLERANCE: Record<'float32' | 'float64', number> = { float64: 1e-10, float32: 1e-5 };

export interface Encoded {
  shape: number[];
  dtype: DType;
  /** Numbers; 'nan', 'inf', '-inf' for what JSON cannot hold. */
  data: (number | string)[];
}

export interface OpCase {
  name: string;
  op: string;
  dtype: 'float32' | 'float64';
  /** The non-tensor arguments (dim, keepdim, exponent, ...), as gen_ops.py names them. */
  args: Args;
  inputs: Encoded[];
  /** One per output for multi-output ops (split, chunk); null where no gradient flows. */
  upstream: Encoded | (Encoded | null)[] | null;
  output: Encoded | Encoded[];
  /** One per input; null for index and mask inputs. */
  grads: (Encoded | null)[];
  /** Set where the float32 expectations are PyTorch's float64 result rounded (see gen_ops.py). */
  reference?: string;
}

// Fixture arguments are JSON: the mapping lines read them as whatever the chainrule call takes.
export type Args = Record<string, any>;

/** One line per op: the chainrule call for a fixture's op name. */
export type OpCall = (inputs: Tensor[], args: Args) => Tensor | Tensor[];

/** Every case of every fixture file, in file order. */
export function loadCases(): OpCase[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => (JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as { cases: OpCase[] }).cases);
}

function num(v: number | string): number {
  if (typeof v === 'number') return v;
  return v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v);
}

/** A chainrule tensor holding an encoded value (float inputs can be made to require grad). */
export function decode(e: Encoded, requiresGrad = false): Tensor {
  const values = Float64Array.from(e.data, num);
  const data = e.dtype === 'bool' ? Uint8Array.from(values) : e.dtype === 'int32' ? Int32Array.from(values) : values;
  return tensor(data, { shape: e.shape, dtype: e.dtype, requiresGrad });
}

/** Element-wise comparison with the fixture tolerance; NaN matches NaN, ±∞ must match exactly. */
export function expectClose(actual: Tensor, expected: Encoded, tol: number, what: string): void {
  expect([...actual.shape], `${what}: shape`).toEqual(expected.shape);
  expect(actual.dtype, `${what}: dtype`).toBe(expected.dtype);
  const a = actual.dataSync();
  for (let i = 0; i < expected.data.length; i++) {
    const want = num(expected.data[i]!);
    const got = a[i]!;
    const ok = Number.isNaN(want)
      ? Number.isNaN(got)
      : !Number.isFinite(want)
        ? got === want
        : Math.abs(got - want) <= tol * Math.max(1, Math.abs(want));
    if (!ok) {
      const err = Math.abs(got - want) / Math.max(1, Math.abs(want));
      expect.fail(`${what}: element ${i} is ${got}, PyTorch gives ${want} (scaled error ${err.toExponential(2)} > ${tol})`);
    }
  }
}

function listOf<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? v : [v];
}

/**
 * Run one fixture case through chainrule and compare forward and gradients with PyTorch's.
 * With createGraph the backward pass is itself recorded (the path a double backward takes), and
 * its gradients are held to the same tolerance.
 */
export function checkCase(c: OpCase, call: OpCall, createGraph = false): void {
  const tol = TOLERANCE[c.dtype];
  const inputs = c.inputs.map((e) => decode(e, e.dtype === 'float32' || e.dtype === 'float64'));
  const result = call(inputs, c.args);
  const outs = listOf(result);
  const expectedOuts = listOf(c.output);
  expect(outs.length, 'number of outputs').toBe(expectedOuts.length);
  outs.forEach((o, i) => expectClose(o, expectedOuts[i]!, tol, outs.length > 1 ? `output ${i}` : 'output'));

  if (c.upstream === null) return;
  const ups = listOf(c.upstream);
  const roots: Tensor[] = [];
  const grads: Tensor[] = [];
  outs.forEach((o, i) => {
    if (ups[i]) {
      roots.push(o);
      grads.push(decode(ups[i]!));
    }
  });
  if (roots.length === 1 && !Array.isArray(result)) roots[0]!.backward(grads[0]!, { createGraph });
  else autograd.backward(roots, grads, { createGraph });

  c.grads.forEach((expected, i) => {
    if (expected === null) return;
    const x = inputs[i]!;
    // No gradient at all is the same as a zero gradient (an input the output ignores).
    const g = x.grad ?? decode({ ...expected, data: expected.data.map(() => 0) });
    expectClose(g, expected, tol, `gradient of input ${i}`);
  });
}

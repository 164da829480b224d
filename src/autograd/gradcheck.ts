import { AutogradError, DTypeError } from '../errors.js';
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { autogradGrad } from './functional.js';
import { noGrad } from './grad-mode.js';

export interface GradcheckOptions {
  /** Finite-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  /**
   * 'full': a centered difference for every input element (exact check of the VJP along a
   * random upstream gradient). 'random': along a few random input directions only — cheap
   * for large inputs (JAX's check_grads idea).
   */
  mode?: 'full' | 'random';
  directions?: number;
  seed?: number;
  /** Throw a GradcheckError on failure (default), or just return the report. */
  raiseException?: boolean;
}

export interface GradcheckWorst {
  /** Which input (position in the inputs list). */
  input: number;
  /** Flat element index within that input ('random' mode: the direction number). */
  index: number;
  analytic: number;
  numeric: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** The largest |analytic − numeric| − (atol + rtol·|numeric|); ≤ 0 means within tolerance. */
  maxExcess: number;
  worst: GradcheckWorst | null;
  /** How many comparisons were made. */
  checked: number;
}

export class GradcheckError extends AutogradError {
  constructor(readonly result: GradcheckResult) {
    const w = result.worst!;
    super(
      `gradcheck: gradient mismatch for input ${w.input} at element ${w.index}: ` +
        `analytic ${w.analytic} vs numeric ${w.numeric} (difference ${Math.abs(w.analytic - w.numeric)})`,
    );
  }
}

type Fn = (...inputs: Tensor[]) => Tensor | Tensor[];

/**
 * Compare the gradients backward() computes with centered finite differences, in float64.
 * Every output is contracted with a fixed random upstream gradient v, so one backward pass
 * gives the full vector-Jacobian product to check.
 */
export function gradcheck(fn: Fn, inputs: readonly Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, mode = 'full', directions = 3, seed = 0, raiseException = true } = opts;
  inputs.forEach((x, i) => {
    if (x.requiresGrad && x.dtype !== 'float64') {
      throw new DTypeError(`gradcheck: input ${i} is ${x.dtype}; finite differences need float64 inputs (use .double())`);
    }
  });
  const gen = new Generator(seed);
  const diff = inputs.map((x, i) => (x.requiresGrad ? i : -1)).filter((i) => i >= 0);
  if (diff.length === 0) throw new AutogradError('gradcheck: no input requires grad');

  const outputsOf = (xs: readonly Tensor[]): Tensor[] => {
    const out = fn(...xs);
    return Array.isArray(out) ? out : [out];
  };
  // The fixed random upstream gradients, one per output.
  // Evaluations run under noGrad on fresh leaves that keep requiresGrad, so a function that
  // differentiates internally (a gradient-of-gradient check, under enableGrad) still works.
  const freshLeaf = (x: Tensor) => {
    const c = new Tensor(x.rowMajor(true), x.shape, x.dtype);
    return x.requiresGrad ? c.requiresGrad_(true) : c;
  };
  const firstOut = noGrad(() => outputsOf(inputs.map(freshLeaf)));
  const vs = firstOut.map((o) => {
    const v = new Tensor(new Float64Array(o.numel()), o.shape, 'float64');
    for (let i = 0; i < v.typedData.length; i++) v.typedData[i] = gen.normal();
    return v;
  });
  const scalarOf = (xs: readonly Tensor[]): number =>
    noGrad(() => outputsOf(xs).reduce((s, o, k) => s + dotData(o, vs[k]!), 0));

  // Analytic: one backward pass.
  const leaves = inputs.map((x) => (x.requiresGrad ? x.detach().requiresGrad_(true) : x));
  const outs = outputsOf(leaves);
  const used = outs.map((o, k) => ({ o, v: vs[k]! })).filter(({ o }) => o.requiresGrad);
  const analytic = used.length
    ? autogradGrad(used.map((u) => u.o), diff.map((i) => leaves[i]!), { gradOutputs: used.map((u) => u.v), allowUnused: true })
    : diff.map(() => null);

  const result: GradcheckResult = { ok: true, maxExcess: -Infinity, worst: null, checked: 0 };
  const record = (input: number, index: number, a: number, n: number) => {
    const raw = Math.abs(a - n) - (atol + rtol * Math.abs(n));
    const excess = Number.isNaN(raw) ? Infinity : raw;
    result.checked++;
    if (result.worst === null || excess > result.maxExcess) {
      result.maxExcess = excess;
      result.worst = { input, index, analytic: a, numeric: n };
    }
    if (excess > 0) result.ok = false;
  };

  const base = inputs.map(freshLeaf);
  if (mode === 'full') {
    diff.forEach((inputIdx, k) => {
      const x = base[inputIdx]!;
      const g = analytic[k]?.dataSync();
      for (let j = 0; j < x.typedData.length; j++) {
        const orig = x.typedData[j]!;
        x.typedData[j] = orig + eps;
        const fp = scalarOf(base);
        x.typedData[j] = orig - eps;
        const fm = scalarOf(base);
        x.typedData[j] = orig;
        record(inputIdx, j, g ? g[j]! : 0, (fp - fm) / (2 * eps));
      }
    });
  } else {
    for (let d = 0; d < directions; d++) {
      const us = diff.map((i) => Float64Array.from({ length: base[i]!.typedData.length }, () => gen.normal()));
      const start = inputs.map((x) => x.dataSync());
      const shift = (sign: number) =>
        diff.forEach((i, k) => {
          const x = base[i]!.typedData;
          const x0 = start[i]!;
          for (let j = 0; j < x.length; j++) x[j] = x0[j]! + sign * eps * us[k]![j]!;
        });
      shift(1);
      const fp = scalarOf(base);
      shift(-1);
      const fm = scalarOf(base);
      shift(0);
      let a = 0;
      diff.forEach((_, k) => {
        const g = analytic[k]?.dataSync();
        if (g) for (let j = 0; j < g.length; j++) a += g[j]! * us[k]![j]!;
      });
      record(diff[0]!, d, a, (fp - fm) / (2 * eps));
    }
  }
  if (!result.ok && raiseException) throw new GradcheckError(result);
  return result;
}

function dotData(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

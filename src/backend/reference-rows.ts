import type { FloatArray, TypedArray } from './types.js';

/**
 * The reference row kernels (contracts in ./types-rows.ts): scans, arg-reductions, the fused
 * cross-entropy's passes and the small maps of the losses, dropout and gradient clipping. Running
 * values are JavaScript numbers, so every sum is in double precision.
 */

export function cumsum(x: TypedArray, outer: number, size: number, inner: number, reverse: boolean, out: TypedArray): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * size * inner + j;
      let acc = 0;
      for (let r = 0; r < size; r++) {
        const i = base + (reverse ? size - 1 - r : r) * inner;
        acc += x[i]!;
        out[i] = acc;
      }
    }
  }
}

export function argReduce(op: 'max' | 'min', x: TypedArray, outer: number, size: number, inner: number, out: Int32Array): void {
  // A NaN beats any number and the first one found stays (later NaNs compare false).
  const better = op === 'max'
    ? (v: number, best: number) => v > best || (v !== v && best === best)
    : (v: number, best: number) => v < best || (v !== v && best === best);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * size * inner + j;
      let bi = 0;
      for (let r = 1; r < size; r++) if (better(x[base + r * inner]!, x[base + bi * inner]!)) bi = r;
      out[o * inner + j] = bi;
    }
  }
}

export function rowMaxShift(x: FloatArray, rows: number, cols: number, rowMax: Float64Array, out: FloatArray): void {
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j]! > m || x[o + j] !== x[o + j]) m = x[o + j]!;
    // A row of −∞ (or all +∞) would give ∞ − ∞: shift by 0 then, as PyTorch's logsumexp does.
    if (m === Infinity || m === -Infinity) m = 0;
    rowMax[i] = m;
    for (let j = 0; j < cols; j++) out[o + j] = x[o + j]! - m;
  }
}

export function crossEntropyLoss(
  x: FloatArray,
  target: Int32Array,
  weight: FloatArray,
  rows: number,
  cols: number,
  rowMax: Float64Array,
  e: FloatArray,
  reduction: 'mean' | 'sum' | 'none',
  out: FloatArray,
): void {
  const none = reduction === 'none';
  let total = 0;
  let wSum = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += e[o + j]!;
    const inv = 1 / s;
    for (let j = 0; j < cols; j++) e[o + j]! *= inv;
    const wi = weight[i]!;
    // A weight of 0 (an ignored target) contributes 0 even where the logits are not finite.
    const li = wi === 0 ? 0 : wi * (rowMax[i]! + Math.log(s) - x[o + target[i]!]!);
    if (none) out[i] = li;
    total += li;
    wSum += wi;
  }
  if (!none) out[0] = reduction === 'mean' ? total / wSum : total;
}

export function crossEntropyGrad(
  g: FloatArray,
  p: FloatArray,
  target: Int32Array,
  weight: FloatArray,
  rows: number,
  cols: number,
  reduction: 'mean' | 'sum' | 'none',
  out: FloatArray,
): void {
  let scale = 1;
  if (reduction === 'mean') {
    let wSum = 0;
    for (let i = 0; i < weight.length; i++) wSum += weight[i]!;
    scale = 1 / wSum;
  }
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    const coef = weight[i]! * (reduction === 'none' ? g[i]! : g[0]! * scale);
    if (coef === 0) {
      out.fill(0, o, o + cols);
      continue;
    }
    for (let j = 0; j < cols; j++) out[o + j] = coef * p[o + j]!;
    out[o + target[i]!]! -= coef;
  }
}

export function classWeights(classes: Int32Array, ignoreIndex: number, weights: TypedArray | null, safe: Int32Array, w: FloatArray): void {
  for (let i = 0; i < classes.length; i++) {
    const t = classes[i]!;
    if (t === ignoreIndex) {
      safe[i] = 0;
      w[i] = 0;
    } else {
      safe[i] = t;
      w[i] = weights ? weights[t]! : 1;
    }
  }
}

export function oneHot(classes: Int32Array, numClasses: number, out: TypedArray): void {
  out.fill(0);
  for (let i = 0; i < classes.length; i++) out[i * numClasses + classes[i]!] = 1;
}

export function dropoutMask(u: Float64Array, p: number, scale: number, out: FloatArray): void {
  for (let i = 0; i < out.length; i++) out[i] = u[i]! < p ? 0 : scale;
}

export function scale(x: FloatArray, alpha: number, out: FloatArray): void {
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * alpha;
}

export function powGrad(g: FloatArray, x: FloatArray, p: number, out: FloatArray): void {
  const n = out.length;
  if (p === 2) for (let i = 0; i < n; i++) out[i] = g[i]! * (2 * x[i]!);
  else if (p === 1) out.set(g);
  else for (let i = 0; i < n; i++) out[i] = g[i]! * (p * Math.pow(x[i]!, p - 1));
}

export function clamp(x: FloatArray, lo: number, hi: number, out: FloatArray): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = v > hi ? hi : v < lo ? lo : v;
  }
}

export function norm(x: FloatArray, p: number, out: Float64Array, at: number): void {
  out[at] = pNorm(x, p);
}

function pNorm(x: FloatArray, p: number): number {
  if (p === Infinity) {
    let m = 0;
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]!);
      if (a !== a) return NaN; // (the loop this replaced let a later number overwrite the NaN)
      if (a > m) m = a;
    }
    return m;
  }
  let s = 0;
  if (p === 2) {
    for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
    return Math.sqrt(s);
  }
  if (p === 1) {
    for (let i = 0; i < x.length; i++) s += Math.abs(x[i]!);
    return s;
  }
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i]!) ** p;
  return s ** (1 / p);
}

export function sumF64(x: TypedArray, out: Float64Array, at: number): void {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  out[at] = s;
}

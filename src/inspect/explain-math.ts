/**
 * Backpropagation written out, the way the seeds write it: plain double-precision loops over
 * the four equations, with no tensor op and no autograd, so that explain() can check the two
 * against each other. Shapes follow the seeds: W is [out, in], one row per unit; a batch
 * holds one row per example.
 *
 *   BP1  δᴸ = ∇ₐℓ ⊙ σ′(zᴸ)            BP3  ∂L/∂Wˡ = Σₙ cₙ δˡₙ (aˡ⁻¹ₙ)ᵀ
 *   BP2  δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ σ′(zˡ)    BP4  ∂L/∂bˡ = Σₙ cₙ δˡₙ
 *
 * δₙ is the error of example n's own loss ℓₙ; the batch loss is L = Σₙ c ℓₙ with c = 1/N for
 * a mean and 1 for a sum, so autograd's ∂L/∂z equals c·δ.
 */

export type ActivationKind = 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'identity';
export type ExplainLossKind = 'mse' | 'half-mse' | 'bce' | 'ce';

export interface LayerSpec {
  /** Module path of the Linear layer ('layers.0'), or '' when unknown. */
  path: string;
  weight: number[][];
  bias: number[];
  hasBias: boolean;
  activation: ActivationKind;
  /** LeakyReLU's slope for z < 0. */
  negativeSlope: number;
}

export type Matrix = number[][];

export interface LayerTrace {
  /** 1-based, as the seeds number layers. */
  index: number;
  z: Matrix;
  a: Matrix;
  /** σ′(zˡ); null for a softmax output layer (cross-entropy), whose Jacobian is not diagonal. */
  sigmaPrime: Matrix | null;
  /** (Wˡ⁺¹)ᵀδˡ⁺¹ per example: the error arriving from the layer above (hidden layers only). */
  fromAbove: Matrix | null;
  delta: Matrix;
  gradW: Matrix;
  gradB: number[];
  newW: Matrix;
  newB: number[];
}

export interface OutputError {
  /** ∇ₐℓ per example (for cross-entropy, a = softmax(zᴸ)). */
  gradA: Matrix;
  /** σ′(zᴸ) for element-wise outputs; null for softmax, whose Jacobian is not diagonal. */
  sigmaPrime: Matrix | null;
  delta: Matrix;
  /** For BCE and CE: the largest |δᴸ − (a − y)|, which the exercises show is 0. */
  aMinusYGap: number | null;
}

export interface Trace {
  layers: LayerTrace[];
  /** The network output: aᴸ (softmax(zᴸ) for cross-entropy). */
  output: Matrix;
  perExampleLoss: number[];
  loss: number;
  /** cₙ: 1/N for a mean over the batch, 1 for a sum. */
  weight: number;
  bp1: OutputError;
  lossAfter: number;
  outputAfter: Matrix;
}

export function activate(kind: ActivationKind, z: number, slope = 0.01): number {
  switch (kind) {
    case 'sigmoid':
      return 1 / (1 + Math.exp(-z));
    case 'tanh':
      return Math.tanh(z);
    case 'relu':
      return z > 0 ? z : 0;
    case 'leakyRelu':
      return z > 0 ? z : slope * z;
    case 'identity':
      return z;
  }
}

/** σ′(z), written from a = σ(z) where that is how the seeds write it (σ(1 − σ), 1 − tanh²). */
export function activationDerivative(kind: ActivationKind, z: number, a: number, slope = 0.01): number {
  switch (kind) {
    case 'sigmoid':
      return a * (1 - a);
    case 'tanh':
      return 1 - a * a;
    case 'relu':
      return z > 0 ? 1 : 0; // 0 at z = 0, as PyTorch
    case 'leakyRelu':
      return z > 0 ? 1 : slope;
    case 'identity':
      return 1;
  }
}

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((x, y) => x + y, 0);
  return e.map((v) => v / s);
}

function forward(layers: LayerSpec[], x: Matrix, loss: ExplainLossKind): { z: Matrix[]; a: Matrix[]; out: Matrix } {
  const zs: Matrix[] = [];
  const as: Matrix[] = [];
  let a = x;
  for (const l of layers) {
    const z = a.map((row) => l.weight.map((w, j) => w.reduce((s, wk, k) => s + wk * row[k]!, 0) + l.bias[j]!));
    a = z.map((row) => row.map((v) => activate(l.activation, v, l.negativeSlope)));
    zs.push(z);
    as.push(a);
  }
  const out = loss === 'ce' ? zs[zs.length - 1]!.map(softmax) : a;
  return { z: zs, a: as, out };
}

/** ℓₙ for one example. */
export function exampleLoss(loss: ExplainLossKind, a: number[], y: number[]): number {
  const K = a.length;
  switch (loss) {
    case 'mse':
      return a.reduce((s, v, k) => s + (v - y[k]!) ** 2, 0) / K;
    case 'half-mse':
      return 0.5 * a.reduce((s, v, k) => s + (v - y[k]!) ** 2, 0);
    case 'bce':
      // PyTorch clamps the logs at −100.
      return -a.reduce((s, v, k) => s + y[k]! * Math.max(Math.log(v), -100) + (1 - y[k]!) * Math.max(Math.log(1 - v), -100), 0) / K;
    case 'ce':
      return -a.reduce((s, v, k) => s + (y[k]! === 0 ? 0 : y[k]! * Math.log(v)), 0);
  }
}

/** ∇ₐℓ for one example. */
function lossGradient(loss: ExplainLossKind, a: number[], y: number[]): number[] {
  const K = a.length;
  switch (loss) {
    case 'mse':
      return a.map((v, k) => (2 * (v - y[k]!)) / K);
    case 'half-mse':
      return a.map((v, k) => v - y[k]!);
    case 'bce':
      return a.map((v, k) => (v - y[k]!) / (v * (1 - v) * K));
    case 'ce':
      return a.map((v, k) => -y[k]! / v);
  }
}

const transposeTimes = (W: Matrix, d: number[]): number[] =>
  W[0]!.map((_, k) => W.reduce((s, row, j) => s + row[k]! * d[j]!, 0));

/** One SGD step on one batch, every quantity kept. `y` is [N, K] (one-hot or probabilities for cross-entropy). */
export function traceBackprop(
  layers: LayerSpec[], x: Matrix, y: Matrix, loss: ExplainLossKind, lr: number, reduction: 'mean' | 'sum',
): Trace {
  const N = x.length;
  const c = reduction === 'mean' ? 1 / N : 1;
  const L = layers.length;
  const f = forward(layers, x, loss);
  const perExampleLoss = f.out.map((a, n) => exampleLoss(loss, a, y[n]!));
  const lossValue = c * perExampleLoss.reduce((s, v) => s + v, 0);

  // BP1
  const last = layers[L - 1]!;
  const gradA = f.out.map((a, n) => lossGradient(loss, a, y[n]!));
  let sigmaPrime: Matrix | null = null;
  let deltaL: Matrix;
  if (loss === 'ce') {
    // δ_k = Σᵢ (∂ℓ/∂aᵢ)·aᵢ(1[i=k] − a_k): the softmax Jacobian applied to ∇ₐℓ.
    deltaL = f.out.map((a, n) => a.map((ak, k) => a.reduce((s, ai, i) => s + gradA[n]![i]! * ai * ((i === k ? 1 : 0) - ak), 0)));
  } else {
    sigmaPrime = f.z[L - 1]!.map((row, n) => row.map((z, k) => activationDerivative(last.activation, z, f.a[L - 1]![n]![k]!, last.negativeSlope)));
    deltaL = gradA.map((row, n) => row.map((g, k) => g * sigmaPrime![n]![k]!));
  }
  let aMinusYGap: number | null = null;
  if (loss === 'bce' || loss === 'ce') {
    const scale = loss === 'bce' ? 1 / y[0]!.length : 1;
    aMinusYGap = Math.max(...deltaL.flatMap((row, n) => row.map((d, k) => Math.abs(d - (f.out[n]![k]! - y[n]![k]!) * scale))));
  }

  // BP2, from the top down.
  const deltas: Matrix[] = new Array(L);
  const fromAbove: (Matrix | null)[] = new Array(L).fill(null);
  deltas[L - 1] = deltaL;
  const sigmaPrimes: (Matrix | null)[] = new Array(L);
  sigmaPrimes[L - 1] = sigmaPrime;
  for (let l = L - 2; l >= 0; l--) {
    const spec = layers[l]!;
    const sp = f.z[l]!.map((row, n) => row.map((z, k) => activationDerivative(spec.activation, z, f.a[l]![n]![k]!, spec.negativeSlope)));
    const up = deltas[l + 1]!.map((d) => transposeTimes(layers[l + 1]!.weight, d));
    fromAbove[l] = up;
    sigmaPrimes[l] = sp;
    deltas[l] = up.map((row, n) => row.map((v, k) => v * sp[n]![k]!));
  }

  // BP3, BP4 and the update.
  const traces: LayerTrace[] = layers.map((spec, l) => {
    const below = l === 0 ? x : f.a[l - 1]!;
    const d = deltas[l]!;
    const gradW = spec.weight.map((row, j) => row.map((_, k) => c * d.reduce((s, dn, n) => s + dn[j]! * below[n]![k]!, 0)));
    const gradB = spec.bias.map((_, j) => (spec.hasBias ? c * d.reduce((s, dn) => s + dn[j]!, 0) : 0));
    return {
      index: l + 1,
      z: f.z[l]!,
      a: f.a[l]!,
      sigmaPrime: sigmaPrimes[l] ?? null,
      fromAbove: fromAbove[l]!,
      delta: d,
      gradW,
      gradB,
      newW: spec.weight.map((row, j) => row.map((w, k) => w - lr * gradW[j]![k]!)),
      newB: spec.bias.map((b, j) => b - lr * gradB[j]!),
    };
  });
  const updated = layers.map((s, l) => ({ ...s, weight: traces[l]!.newW, bias: traces[l]!.newB }));
  const after = forward(updated, x, loss);
  const lossAfter = c * after.out.reduce((s, a, n) => s + exampleLoss(loss, a, y[n]!), 0);
  return {
    layers: traces,
    output: f.out,
    perExampleLoss,
    loss: lossValue,
    weight: c,
    bp1: { gradA, sigmaPrime, delta: deltaL, aMinusYGap },
    lossAfter,
    outputAfter: after.out,
  };
}

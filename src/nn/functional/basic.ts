import { kernel } from '../../backend/dispatch.js';
import type { FloatArray } from '../../backend/types.js';
import { DTypeError, IndexError, ShapeError, ValueError, fmtShape } from '../../errors.js';
import { where } from '../../ops/functional.js';
import { gelu } from '../../ops/activations.js';
import { matmulT } from '../../ops/internal.js';
import type { Activation } from '../../ops/rules/epilogue.js';
import { apply } from '../../ops/registry.js';
import { isFloat } from '../../tensor/dtype.js';
import { defaultGenerator, type Generator } from '../../tensor/random.js';
import { Tensor } from '../../tensor/tensor.js';

/**
 * y = x·Wᵀ + b over the last dim of x (any leading dims), W of shape [out, in]. One matrix
 * product with W read transposed in place; the weight gradient sums over the leading dims.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, whoName: string | (() => string) = 'linear'): Tensor {
  return linearOp('none', x, weight, bias, whoName);
}

/**
 * activation(linear(x, W, b)) as one op, the same bits as the two one after the other: what
 * nn.Sequential runs for a Linear followed by an activation module that fuses (see Module.fuseWith).
 */
export function fusedLinear(x: Tensor, weight: Tensor, bias: Tensor | null, activation: Activation, whoName: string | (() => string) = 'linear'): Tensor {
  return linearOp(activation, x, weight, bias, whoName);
}

/** The activation as the tracked op (or composition) it fuses: for the paths that do not fuse. */
export function applyActivation(activation: Activation, y: Tensor): Tensor {
  return activation === 'none' ? y : activation === 'gelu' ? gelu(y) : activation === 'relu' ? y.relu() : activation === 'tanh' ? y.tanh() : y.sigmoid();
}

function linearOp(activation: Activation, x: Tensor, weight: Tensor, bias: Tensor | null, whoName: string | (() => string)): Tensor {
  const inF = weight.shape[1]!;
  if (weight.ndim !== 2 || x.ndim === 0 || x.shape[x.ndim - 1] !== inF || x.dtype !== weight.dtype) throw linearError(x, weight, whoName);
  const outF = weight.shape[0]!;
  if (!bias || (bias.ndim === 1 && bias.shape[0] === outF && bias.dtype === x.dtype)) {
    // One fused op (bias written into the product's output): see ops/rules/fused.ts.
    const x2 = x.ndim === 2 ? x : x.ndim === 1 ? x.unsqueeze(0) : x.reshape([-1, inF]);
    const y = apply('linear', bias ? [x2, weight, bias] : [x2, weight], { activation });
    return x.ndim === 2 ? y : x.ndim === 1 ? y.squeeze(0) : y.reshape([...x.shape.slice(0, -1), outF]);
  }
  // Any other bias broadcasts as in an add (and reports a mismatch as one).
  const y = x.ndim === 1 ? matmulT(x.unsqueeze(0), weight, false, true).squeeze(0) : matmulT(x, weight, false, true);
  return applyActivation(activation, y.add(bias));
}

/** What is wrong with linear's arguments (the name only goes into the message; a module passes a function so it is built only then). */
function linearError(x: Tensor, weight: Tensor, whoName: string | (() => string)): Error {
  const who = typeof whoName === 'string' ? whoName : whoName();
  if (weight.ndim !== 2) return new ShapeError(`${who}: weight must be 2-D [out, in], got shape ${fmtShape(weight.shape)}`);
  const inF = weight.shape[1]!;
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) {
    return new ShapeError(`${who}: input has ${x.ndim === 0 ? 0 : x.shape[x.ndim - 1]} features (shape ${fmtShape(x.shape)}) but inFeatures is ${inF}`);
  }
  return new DTypeError(`${who}: input is ${x.dtype} but the weight is ${weight.dtype}; convert one (x.to('${weight.dtype}') or module.to('${x.dtype}'))`);
}

/**
 * Inverted dropout: in training, zero each element with probability p and scale the rest by
 * 1/(1−p), so the expected value is unchanged and evaluation needs no rescaling. The mask is
 * drawn from `generator` (the seeded default one unless given).
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator: Generator = defaultGenerator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`dropout: probability has to be between 0 and 1, but got ${p}`);
  if (!training || p === 0) return x;
  if (!isFloat(x.dtype)) throw new DTypeError(`dropout: needs a floating-point input, got ${x.dtype}`);
  const mask = Tensor.empty(x.shape, x.dtype);
  const scale = p === 1 ? 0 : 1 / (1 - p);
  // The draws come from the host generator (seeded runs repeat); the mask is a kernel's.
  const u = generator.fillRandom(new Float64Array(mask.numel()));
  kernel('dropoutMask', u.length, x.dtype)(u, p, scale, mask.typedData as FloatArray);
  return x.mul(mask);
}

function checkIndices(who: string, index: Tensor, num: number, what: string): void {
  if (index.dtype !== 'int32') throw new DTypeError(`${who}: indices must be an int32 tensor, got ${index.dtype}`);
  const values = index.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < 0 || v >= num) throw new IndexError(`${who}: index ${v} is out of range for ${num} ${what} (valid 0 to ${num - 1})`);
  }
}

/**
 * Rows of `weight` [num, dim] picked by integer indices of any shape: the result has shape
 * [...index.shape, dim]. The row at `paddingIdx` gets no gradient, as PyTorch.
 */
export function embedding(index: Tensor, weight: Tensor, paddingIdx: number | null = null, who = 'embedding'): Tensor {
  if (weight.ndim !== 2) throw new ShapeError(`${who}: weight must be 2-D [num, dim], got shape ${fmtShape(weight.shape)}`);
  const [num, dim] = weight.shape as [number, number];
  checkIndices(who, index, num, 'embeddings');
  const flat = index.reshape([-1]);
  let rows = weight.indexSelect(0, flat);
  if (paddingIdx !== null && rows.requiresGrad) {
    const pad = flat.eq(paddingIdx < 0 ? paddingIdx + num : paddingIdx).unsqueeze(1);
    rows = where(pad, rows.detach(), rows);
  }
  return rows.reshape([...index.shape, dim]);
}

/** One-hot int32 encoding of integer classes: shape [...t.shape, numClasses]. */
export function oneHot(t: Tensor, numClasses = -1): Tensor {
  if (t.dtype !== 'int32') throw new DTypeError(`oneHot: expects an int32 tensor of class indices, got ${t.dtype}`);
  let c = numClasses;
  const classes = t.dataSync() as Int32Array;
  if (c === -1) c = classes.reduce((m, v) => Math.max(m, v), -1) + 1;
  checkIndices('oneHot', t, c, 'classes');
  const out = new Int32Array(classes.length * c);
  kernel('oneHot', out.length, 'int32')(classes, c, out);
  return new Tensor(out, [...t.shape, c], 'int32');
}

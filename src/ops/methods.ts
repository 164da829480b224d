import { AutogradError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { runBackward, type BackwardOptions } from '../autograd/engine.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { broadcastShapes, sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { defineMethods } from './define.js';
import { expand, indexPut, type TensorLike } from './functional.js';
import { asDType, fullK } from './kernels.js';
import { allocate } from '../tensor/dtype.js';
import type { TypedArray } from '../backend/types.js';

/**
 * The Tensor methods that have no function of their own: backward() and the in-place ops.
 * (Every op's method is defined with its function, in functional.ts and the modules it
 * re-exports.) Methods ending in `_` work in place, only on tensors outside the graph:
 * no-grad code such as optimizer updates.
 */

export const backwardMethod = defineMethods({
  backward(this: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
    let g = gradient;
    if (g !== undefined && !(g instanceof Tensor)) {
      throw new AutogradError(
        'backward: the first argument is the upstream gradient (a Tensor); pass options second: t.backward(undefined, { retainGraph: true })',
      );
    }
    if (g === undefined) {
      if (this.numel() !== 1) {
        throw new AutogradError(
          `backward: grad can be implicitly created only for scalar outputs; this tensor has shape ${fmtShape(this.shape)}. ` +
            'Pass a gradient of the same shape: t.backward(gradient)',
        );
      }
      g = fullK(this.shape, 1, this.dtype);
      if (this.device !== 'cpu') g = g.to(this.device);
    } else if (!sameShape(g.shape, this.shape)) {
      throw new ShapeError(`backward: gradient has shape ${fmtShape(g.shape)} but the tensor has shape ${fmtShape(this.shape)}`);
    }
    runBackward([this], [g.to(this.dtype)], options);
  },
});

// ---- in place ---------------------------------------------------------------------------

function checkInPlace(t: Tensor, op: string): void {
  if (isGradEnabled() && t.requiresGrad) {
    throw new AutogradError(
      t.isLeaf
        ? `${op}: a leaf tensor that requires grad is being used in an in-place operation; wrap the update in noGrad(() => ...)`
        : `${op}: in-place operations on tensors recorded in the graph are not supported; use the out-of-place form`,
    );
  }
}

function writeInPlace<T extends Tensor>(t: T, op: string, result: Tensor): T {
  checkInPlace(t, op);
  if (!sameShape(result.shape, t.shape)) {
    throw new ShapeError(`${op}: the result of shape ${fmtShape(result.shape)} does not fit in place into shape ${fmtShape(t.shape)}`);
  }
  t.writeFrom(op, asDType(result, t.dtype));
  return t;
}

/** The values an in-place fill computes, row-major: the tensor's own array when contiguous, else a scratch one. */
function fillTarget(t: Tensor): TypedArray {
  return t.isContiguous() && t.device === 'cpu' ? t.typedData : allocate(t.dtype, t.numel());
}
function finishFill(t: Tensor, op: string, values: TypedArray): void {
  if (t.device !== 'cpu') t.writeFrom(op, new Tensor(values, t.shape, t.dtype));
  else if (t.isContiguous()) t.version++;
  else t.writeRowMajor(op, values);
}

/** add_/sub_'s alpha: a number, or `{ alpha }` as PyTorch's keyword argument. */
function alphaOf(op: string, alpha: number | { alpha?: number }): number {
  if (typeof alpha === 'number') return alpha;
  if (alpha !== null && typeof alpha === 'object') {
    const keys = Object.keys(alpha).filter((k) => k !== 'alpha');
    if (keys.length === 0 && (alpha.alpha === undefined || typeof alpha.alpha === 'number')) return alpha.alpha ?? 1;
    if (keys.length > 0) throw new ValueError(`${op}: unknown option${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${k}'`).join(', ')} (only alpha)`);
  }
  const v = alpha !== null && typeof alpha === 'object' ? alpha.alpha : alpha;
  throw new ValueError(`${op}: alpha must be a number, got ${v === null ? 'null' : typeof v}`);
}

// `<T extends Tensor>(this: T): T` is PyTorch's "returns self": a Parameter stays a Parameter.
export const inPlaceMethods = defineMethods({
  /** this += alpha·other; alpha positional or as PyTorch's keyword, `add_(g, { alpha: -lr })`. */
  add_<T extends Tensor>(this: T, other: TensorLike, alpha: number | { alpha?: number } = 1): T {
    const a = alphaOf('add_', alpha);
    return writeInPlace(this, 'add_', noGrad(() => this.add(other, a)));
  },
  /** this −= alpha·other; alpha positional or `{ alpha }`. */
  sub_<T extends Tensor>(this: T, other: TensorLike, alpha: number | { alpha?: number } = 1): T {
    const a = alphaOf('sub_', alpha);
    return writeInPlace(this, 'sub_', noGrad(() => this.sub(other, a)));
  },
  mul_<T extends Tensor>(this: T, other: TensorLike): T {
    return writeInPlace(this, 'mul_', noGrad(() => this.mul(other)));
  },
  div_<T extends Tensor>(this: T, other: TensorLike): T {
    return writeInPlace(this, 'div_', noGrad(() => this.div(other)));
  },
  clamp_<T extends Tensor>(this: T, min: number | null = null, max: number | null = null): T {
    return writeInPlace(this, 'clamp_', noGrad(() => this.clamp(min, max)));
  },
  copy_<T extends Tensor>(this: T, src: Tensor): T {
    broadcastShapes('copy_', src.shape, this.shape);
    return writeInPlace(this, 'copy_', noGrad(() => expand(src, this.shape)));
  },
  /** maskedFill in place (mask broadcast to this tensor's shape). */
  maskedFill_<T extends Tensor>(this: T, mask: Tensor, value: number | Tensor): T {
    return writeInPlace(this, 'maskedFill_', noGrad(() => this.maskedFill(mask, value)));
  },
  /** x[indices] = values in place (see indexPut; accumulate adds instead). */
  indexPut_<T extends Tensor>(this: T, indices: readonly (Tensor | null)[], values: Tensor | number, accumulate = false): T {
    return writeInPlace(this, 'indexPut_', noGrad(() => indexPut(this, indices, values, accumulate)));
  },
  fill_<T extends Tensor>(this: T, value: number): T {
    checkInPlace(this, 'fill_');
    const d = fillTarget(this);
    d.fill(value);
    finishFill(this, 'fill_', d);
    return this;
  },
  zero_<T extends Tensor>(this: T): T {
    return this.fill_(0);
  },
  uniform_<T extends Tensor>(this: T, low = 0, high = 1, generator: Generator = defaultGenerator): T {
    checkInPlace(this, 'uniform_');
    const d = fillTarget(this);
    for (let i = 0; i < d.length; i++) d[i] = low + (high - low) * generator.random();
    finishFill(this, 'uniform_', d);
    return this;
  },
  normal_<T extends Tensor>(this: T, mean = 0, std = 1, generator: Generator = defaultGenerator): T {
    checkInPlace(this, 'normal_');
    const d = fillTarget(this);
    for (let i = 0; i < d.length; i++) d[i] = mean + std * generator.normal();
    finishFill(this, 'normal_', d);
    return this;
  },
});

import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { isFloat } from '../tensor/dtype.js';
import { broadcastShapes } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { SELF, defineOp } from './define.js';
import { abs, eq, ne, sub, where } from './functional.js';
import { fullK } from './kernels.js';

/**
 * Masks and special values: maskedFill, isnan / isinf / nanToNum, allclose, clone. Composites
 * of where and the comparisons, so maskedFill's and nanToNum's gradients come from where's rule
 * (zero where a value was replaced). Each is one defineOp entry (see define.ts).
 */

/** A mask as bool: bool as it is; int32 / float tensors only when every value is 0 or 1. */
export function asMask(op: string, mask: Tensor): Tensor {
  if (mask.dtype === 'bool') return mask;
  const values = mask.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== 0 && v !== 1) {
      throw new DTypeError(`${op}: the mask must be a bool tensor or hold only 0 and 1, but this ${mask.dtype} mask holds ${v} at position ${i}`);
    }
  }
  return mask.to('bool');
}

/** input with value wherever mask (broadcast to input's shape) is true; value keeps input's dtype. */
export const maskedFill = defineOp(
  (input: Tensor, mask: Tensor, value: number | Tensor): Tensor => {
    if (!(mask instanceof Tensor)) throw new DTypeError('maskedFill: mask must be a tensor (bool, or 0/1 values)');
    const m = asMask('maskedFill', mask);
    const lead = input.ndim - m.ndim;
    if (lead < 0 || m.shape.some((s, i) => s !== 1 && s !== input.shape[lead + i])) {
      throw new ShapeError(`maskedFill: the mask of shape ${fmtShape(mask.shape)} does not broadcast to the input's shape ${fmtShape(input.shape)}`);
    }
    let v: Tensor;
    if (typeof value === 'number') {
      if (!isFloat(input.dtype) && !Number.isInteger(value) && Number.isFinite(value)) {
        throw new DTypeError(`maskedFill: value ${value} is not an integer but the input is ${input.dtype}`);
      }
      v = fullK([], value, input.dtype);
    } else {
      if (value.ndim !== 0) throw new ShapeError(`maskedFill: a tensor value must be 0-d, got shape ${fmtShape(value.shape)}`);
      v = value.to(input.dtype);
    }
    if (input.dtype === 'bool') return where(m, v.to('int32'), input.to('int32')).to('bool');
    return where(m, v, input);
  },
  { maskedFill: SELF },
);

/** True where the value is NaN (always false for integer and bool tensors). */
export const isnan = defineOp((input: Tensor): Tensor => (isFloat(input.dtype) ? ne(input, input) : fullK(input.shape, 0, 'bool', input)), {
  isnan: SELF,
});

/** True where the value is +∞ or −∞. */
export const isinf = defineOp((input: Tensor): Tensor => (isFloat(input.dtype) ? eq(abs(input), Infinity) : fullK(input.shape, 0, 'bool', input)), {
  isinf: SELF,
});

/** True where the value is neither NaN nor ±∞. */
export const isfinite = defineOp((input: Tensor): Tensor => (isFloat(input.dtype) ? eq(sub(input, input), 0) : fullK(input.shape, 1, 'bool', input)), {
  isfinite: SELF,
});

const LARGEST = { float32: 3.4028234663852886e38, float64: Number.MAX_VALUE };

/**
 * NaN replaced by nan, +∞ by posinf and −∞ by neginf (by default 0 and the dtype's largest and
 * lowest finite values, as torch.nan_to_num). The gradient is zero at the replaced elements.
 */
export const nanToNum = defineOp(
  (input: Tensor, nan = 0, posinf?: number | null, neginf?: number | null): Tensor => {
    if (!isFloat(input.dtype)) return input.clone();
    const big = LARGEST[input.dtype as 'float32' | 'float64'];
    const c = (v: number) => fullK([], v, input.dtype);
    let out = where(ne(input, input), c(nan), input);
    out = where(eq(input, Infinity), c(posinf ?? big), out);
    return where(eq(input, -Infinity), c(neginf ?? -big), out);
  },
  { nanToNum: SELF },
);

export interface AllcloseOptions {
  rtol?: number;
  atol?: number;
  /** NaN equals NaN (default false, as PyTorch). */
  equalNan?: boolean;
}

/** |a − b| ≤ atol + rtol·|b| elementwise (broadcast); ±∞ only equal itself. */
export const isclose = defineOp(
  (input: Tensor, other: Tensor, options: AllcloseOptions = {}): Tensor => {
    const { rtol = 1e-5, atol = 1e-8, equalNan = false } = options;
    if (rtol < 0 || atol < 0) throw new ValueError(`isclose: rtol and atol must be non-negative, got rtol ${rtol}, atol ${atol}`);
    const shape = broadcastShapes('isclose', input.shape, other.shape);
    const ea = input.to('float64').expand(shape).dataSync();
    const eb = other.to('float64').expand(shape).dataSync();
    const out = new Uint8Array(ea.length);
    for (let i = 0; i < ea.length; i++) {
      const x = ea[i]!;
      const y = eb[i]!;
      if (x === y) out[i] = 1;
      else if (Number.isNaN(x) || Number.isNaN(y)) out[i] = equalNan && Number.isNaN(x) && Number.isNaN(y) ? 1 : 0;
      else if (!Number.isFinite(x) || !Number.isFinite(y)) out[i] = 0;
      else out[i] = Math.abs(x - y) <= atol + rtol * Math.abs(y) ? 1 : 0;
    }
    return new Tensor(out, shape, 'bool');
  },
  { isclose: SELF },
);

/** Whether every element of isclose(input, other) holds (a boolean, as torch.allclose). */
export const allclose = defineOp(
  (input: Tensor, other: Tensor, options: AllcloseOptions = {}): boolean => {
    const close = isclose(input, other, options).dataSync();
    for (let i = 0; i < close.length; i++) if (close[i] === 0) return false;
    return true;
  },
  { allclose: SELF },
);

/** A copy with storage of its own (torch.clone; also the method x.clone()); gradient flows through. */
export const clone = defineOp((input: Tensor): Tensor => input.clone());

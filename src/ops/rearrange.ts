import { DTypeError, IndexError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { normalizeDim, normalizeDims } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { SELF, defineOp } from './define.js';
import { where } from './functional.js';
import { fullK } from './kernels.js';
import { apply } from './registry.js';
import { cat, expand, flatten, indexSelect, narrow, reshape, unsqueeze } from './shape-functional.js';

/**
 * Ops that move elements around: triangles, flips, rolls, repeats and padding. All but flip
 * are composites of where / cat / narrow / expand / indexSelect, so their gradients come from
 * those primitives' rules. Each is one defineOp entry (see define.ts).
 */

type ShapeArgs = (number | readonly number[])[];
const flat = (args: ShapeArgs): number[] =>
  args.length === 1 && typeof args[0] !== 'number' ? [...args[0]!] : (args as number[]);

function checkInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v)) throw new ValueError(`${op}: ${name} must be an integer, got ${v}`);
}

/** The [rows, cols] mask of the elements j − i ≥ diagonal (upper) or ≤ diagonal (lower). */
function triangleMask(rows: number, cols: number, diagonal: number, upper: boolean): Tensor {
  const m = new Uint8Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) m[i * cols + j] = (upper ? j - i >= diagonal : j - i <= diagonal) ? 1 : 0;
  }
  return new Tensor(m, [rows, cols], 'bool');
}

function triangle(op: string, x: Tensor, diagonal: number, upper: boolean): Tensor {
  if (x.ndim < 2) throw new ShapeError(`${op}: needs a tensor of at least 2 dims (a matrix or a batch of them), got shape ${fmtShape(x.shape)}`);
  checkInt(op, 'diagonal', diagonal);
  const mask = triangleMask(x.shape[x.ndim - 2]!, x.shape[x.ndim - 1]!, diagonal, upper);
  if (x.dtype === 'bool') return where(mask, x.to('int32'), 0).to('bool');
  return where(mask, x, fullK([], 0, x.dtype));
}

/** The lower triangle of the last two dims (j − i ≤ diagonal); the rest set to 0. */
export const tril = defineOp((input: Tensor, diagonal = 0): Tensor => triangle('tril', input, diagonal, false), { tril: SELF });

/** The upper triangle of the last two dims (j − i ≥ diagonal); the rest set to 0. */
export const triu = defineOp((input: Tensor, diagonal = 0): Tensor => triangle('triu', input, diagonal, true), { triu: SELF });

/** The elements in reverse order along dims (a copy, as PyTorch's torch.flip). */
export const flip = defineOp(
  (input: Tensor, dims: number | readonly number[]): Tensor => {
    const list = typeof dims === 'number' ? [dims] : dims;
    const d = normalizeDims('flip', list, input.ndim);
    return apply('flip', [input], { dims: input.ndim === 0 ? [] : d });
  },
  {
    flip(this: Tensor, ...dims: ShapeArgs): Tensor {
      return flip(this, flat(dims));
    },
  },
);

/**
 * Shift the elements along dims by shifts, wrapping around (torch.roll). Without dims the
 * tensor is rolled as if flattened, by one shift.
 */
export const roll = defineOp(
  (input: Tensor, shifts: number | readonly number[], dims?: number | readonly number[]): Tensor => {
    const s = typeof shifts === 'number' ? [shifts] : [...shifts];
    s.forEach((v) => checkInt('roll', 'shift', v));
    if (dims === undefined) {
      if (s.length !== 1) throw new ValueError(`roll: without dims exactly one shift is allowed, got [${s.join(', ')}]`);
      return reshape(roll(flatten(input), s, 0), input.shape);
    }
    const d = typeof dims === 'number' ? [dims] : [...dims];
    if (d.length !== s.length) {
      throw new ValueError(`roll: shifts [${s.join(', ')}] and dims [${d.join(', ')}] must have the same length`);
    }
    let out = input;
    if (input.ndim === 0) return input.clone();
    d.forEach((dim, i) => {
      const k = normalizeDim('roll', dim, input.ndim);
      const n = input.shape[k]!;
      if (n === 0) return;
      const r = ((s[i]! % n) + n) % n;
      if (r !== 0) out = cat([narrow(out, k, n - r, r), narrow(out, k, 0, n - r)], k);
    });
    return out === input ? input.clone() : out;
  },
  { roll: SELF },
);

/**
 * The tensor repeated along each dim (torch.Tensor.repeat): sizes has at least as many entries
 * as the tensor has dims; extra leading entries add dims.
 */
export const repeat = defineOp(
  function repeat(input: Tensor, sizes: readonly number[]): Tensor {
    if (sizes.length < input.ndim) {
      throw new ShapeError(
        `repeat: got ${sizes.length} repeat counts [${sizes.join(', ')}] for a tensor of shape ${fmtShape(input.shape)}; ` +
          `at least ${input.ndim} are needed`,
      );
    }
    sizes.forEach((r) => {
      if (!Number.isInteger(r) || r < 0) throw new ValueError(`repeat: repeat counts must be non-negative integers, got [${sizes.join(', ')}]`);
    });
    const lead = sizes.length - input.ndim;
    const own = [...new Array<number>(lead).fill(1), ...input.shape];
    // [s0, s1, ...] → [1, s0, 1, s1, ...] → expand to [r0, s0, r1, s1, ...] → [r0·s0, r1·s1, ...].
    const spread = reshape(input, own.flatMap((s) => [1, s]));
    const big = expand(spread, own.flatMap((s, i) => [sizes[i]!, s]));
    const out = reshape(big, own.map((s, i) => s * sizes[i]!));
    // All counts 1 gives a view back; repeat always copies, as PyTorch's.
    return out.storage === input.storage ? out.clone() : out;
  },
  {
    repeat(this: Tensor, ...sizes: ShapeArgs): Tensor {
      return repeat(this, flat(sizes));
    },
  },
);

/** torch.tile: repeat, with fewer counts than dims taken as leading 1s. */
export const tile = defineOp(
  function tile(input: Tensor, dims: readonly number[]): Tensor {
    const full = dims.length < input.ndim ? [...new Array<number>(input.ndim - dims.length).fill(1), ...dims] : [...dims];
    return repeat(input, full);
  },
  {
    tile(this: Tensor, ...dims: ShapeArgs): Tensor {
      return tile(this, flat(dims));
    },
  },
);

/**
 * Each element repeated `repeats` times along dim (torch.repeat_interleave); repeats is a
 * number or an int32 tensor of one count per element of dim. Without dim the tensor is
 * flattened first.
 */
export const repeatInterleave = defineOp(
  (input: Tensor, repeats: number | Tensor, dim?: number): Tensor => {
    const x = dim === undefined ? flatten(input) : input;
    const d = dim === undefined ? 0 : normalizeDim('repeatInterleave', dim, x.ndim);
    if (x.ndim === 0) return repeatInterleave(reshape(x, [1]), repeats, 0);
    const n = x.shape[d]!;
    if (typeof repeats === 'number') {
      if (!Number.isInteger(repeats) || repeats < 0) throw new ValueError(`repeatInterleave: repeats must be a non-negative integer, got ${repeats}`);
      const shape = [...x.shape];
      shape.splice(d + 1, 0, repeats);
      const out = reshape(expand(unsqueeze(x, d + 1), shape), x.shape.map((s, i) => (i === d ? s * repeats : s)));
      return out.storage === input.storage ? out.clone() : out;
    }
    if (repeats.dtype !== 'int32') throw new DTypeError(`repeatInterleave: repeats must be an int32 tensor, got ${repeats.dtype}`);
    if (repeats.ndim > 1) throw new ShapeError(`repeatInterleave: repeats must be 0-D or 1-D, got shape ${fmtShape(repeats.shape)}`);
    const counts = repeats.dataSync();
    if (counts.length !== 1 && counts.length !== n) {
      throw new ShapeError(`repeatInterleave: repeats has ${counts.length} counts, but dim ${d} has size ${n} (shape ${fmtShape(x.shape)})`);
    }
    const index: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = counts.length === 1 ? counts[0]! : counts[i]!;
      if (c < 0) throw new ValueError(`repeatInterleave: repeats must be non-negative, got ${c} for element ${i}`);
      for (let k = 0; k < c; k++) index.push(i);
    }
    return indexSelect(x, d, new Tensor(Int32Array.from(index), [index.length], 'int32'));
  },
  { repeatInterleave: SELF },
);

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** Source index along one dim for output position p of a dim padded by `left`. */
function padIndex(mode: PadMode, p: number, left: number, n: number): number {
  const i = p - left;
  if (mode === 'replicate') return Math.min(n - 1, Math.max(0, i));
  if (mode === 'circular') return ((i % n) + n) % n;
  // reflect: mirror about the edge elements, which are not repeated.
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/**
 * Pad the last dims (F.pad): pad = [left, right] for the last dim, then [left, right] for the
 * one before, and so on. 'constant' fills with value (negative pads crop); 'reflect' mirrors
 * without repeating the edge, 'replicate' repeats the edge, 'circular' wraps around.
 */
export const pad = defineOp(
  (input: Tensor, pad: readonly number[], mode: PadMode = 'constant', value = 0): Tensor => {
    if (pad.length % 2 !== 0) throw new ValueError(`pad: the padding list must have an even length (pairs of left, right), got [${pad.join(', ')}]`);
    if (pad.length / 2 > input.ndim) {
      throw new ShapeError(`pad: padding [${pad.join(', ')}] covers ${pad.length / 2} dims, but the input has shape ${fmtShape(input.shape)}`);
    }
    pad.forEach((p) => checkInt('pad', 'each padding', p));
    if (!['constant', 'reflect', 'replicate', 'circular'].includes(mode)) {
      throw new ValueError(`pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got '${mode}'`);
    }
    let out = input;
    for (let k = 0; k < pad.length / 2; k++) {
      const d = input.ndim - 1 - k;
      const left = pad[2 * k]!;
      const right = pad[2 * k + 1]!;
      const n = out.shape[d]!;
      if (mode === 'constant') {
        if (left < 0) out = narrow(out, d, -left, Math.max(0, n + left));
        if (right < 0) out = narrow(out, d, 0, Math.max(0, out.shape[d]! + right));
        if (n + Math.min(0, left) + Math.min(0, right) < 0) {
          throw new ShapeError(`pad: padding (${left}, ${right}) crops more than dim ${d} of size ${n} (shape ${fmtShape(input.shape)})`);
        }
        const parts: Tensor[] = [];
        const side = (m: number) => fullK(out.shape.map((s, i) => (i === d ? m : s)), value, out.dtype, out);
        if (left > 0) parts.push(side(left));
        parts.push(out);
        if (right > 0) parts.push(side(right));
        if (parts.length > 1) out = cat(parts, d);
        continue;
      }
      if (left < 0 || right < 0) throw new ValueError(`pad: mode '${mode}' needs non-negative padding, got (${left}, ${right}) for dim ${d}`);
      if (n === 0) throw new ShapeError(`pad: mode '${mode}' cannot pad dim ${d} of size 0 (shape ${fmtShape(input.shape)})`);
      if (mode === 'reflect' && (left >= n || right >= n)) {
        throw new ShapeError(`pad: reflect padding (${left}, ${right}) must be less than the size ${n} of dim ${d} (shape ${fmtShape(input.shape)})`);
      }
      if (mode === 'circular' && (left > n || right > n)) {
        throw new ShapeError(`pad: circular padding (${left}, ${right}) must be at most the size ${n} of dim ${d} (shape ${fmtShape(input.shape)})`);
      }
      if (left === 0 && right === 0) continue;
      const total = n + left + right;
      const index = new Int32Array(total);
      for (let p = 0; p < total; p++) index[p] = padIndex(mode, p, left, n);
      out = indexSelect(out, d, new Tensor(index, [total], 'int32'));
    }
    return out === input ? input.clone() : out;
  },
);


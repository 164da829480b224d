import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { isFloat } from '../tensor/dtype.js';
import { broadcastShapes, normalizeDims } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { SELF, defineOp } from './define.js';
import { abs, add, amax, amin, eq, matmul, mul, ne, pow, sum, where, type Dims } from './functional.js';
import { asFloat } from './internal.js';
import { fullK } from './kernels.js';
import { diagonal, permute, reshape } from './shape-functional.js';

/**
 * Batched products (bmm, baddbmm), einsum, and vector norms: composites of matmul (whose
 * batched form runs the backends' batched gemm, transposed views read through gemm's flags
 * with no copy), permute, reshape, diagonal and the reductions, so their gradients come from
 * those rules. Each is one defineOp entry (see define.ts).
 */

function checkBatched(op: string, a: Tensor, b: Tensor): void {
  if (a.ndim !== 3 || b.ndim !== 3) {
    throw new ShapeError(`${op}: needs two 3-D tensors (batch, n, m), got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  if (a.shape[0] !== b.shape[0]) {
    throw new ShapeError(`${op}: batch sizes differ: ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  if (a.shape[2] !== b.shape[1]) {
    throw new ShapeError(`${op}: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}: inner dimensions ${a.shape[2]} and ${b.shape[1]} differ`);
  }
  if (!isFloat(a.dtype) || !isFloat(b.dtype)) throw new DTypeError(`${op}: needs floating-point tensors, got ${a.dtype} and ${b.dtype}`);
}

/** Batched matrix product of (b, n, m) and (b, m, p) tensors. */
export const bmm = defineOp(
  (input: Tensor, mat2: Tensor): Tensor => {
    checkBatched('bmm', input, mat2);
    return matmul(input, mat2);
  },
  { bmm: SELF },
);

export interface AddmmOptions {
  /** The factor of input (default 1; 0 ignores input's values, NaN included). */
  beta?: number;
  /** The factor of the product (default 1). */
  alpha?: number;
}

/** beta · input + alpha · (batch1 @ batch2), input broadcast to the (b, n, p) result. */
export const baddbmm = defineOp(
  (input: Tensor, batch1: Tensor, batch2: Tensor, options: AddmmOptions = {}): Tensor => {
    const { beta = 1, alpha = 1 } = options;
    checkBatched('baddbmm', batch1, batch2);
    const shape = [batch1.shape[0]!, batch1.shape[1]!, batch2.shape[2]!];
    const bs = broadcastShapes('baddbmm', input.shape, shape);
    if (bs.length !== 3 || bs.some((s, i) => s !== shape[i])) {
      throw new ShapeError(`baddbmm: input of shape ${fmtShape(input.shape)} does not broadcast to the product's shape ${fmtShape(shape)}`);
    }
    const prod = bmm(batch1, batch2);
    const scaled = alpha === 1 ? prod : mul(prod, alpha);
    if (beta === 0) return scaled;
    return add(beta === 1 ? input : mul(input, beta), scaled);
  },
  { baddbmm: SELF },
);

/**
 * The vector norm over dims (all of them by default; torch.linalg.vector_norm): ord 2 (default),
 * 1, Infinity (max |x|), -Infinity (min |x|), 0 (the count of non-zeros, no gradient) or any
 * other p: (Σ |x|^p)^(1/p). At an all-zero vector the gradient is 0, as PyTorch's.
 */
export const vectorNorm = defineOp(
  (input: Tensor, ord = 2, dim?: Dims, keepdim = false): Tensor => {
    if (typeof ord !== 'number' || Number.isNaN(ord)) throw new ValueError(`vectorNorm: ord must be a number (2, 1, Infinity, -Infinity, 0 or any p), got ${String(ord)}`);
    if (!isFloat(input.dtype)) throw new DTypeError(`vectorNorm: needs a floating-point tensor, got ${input.dtype}; convert with .float() first`);
    const dims = input.ndim === 0 ? [] : normalizeDims('vectorNorm', dim, input.ndim);
    const x = asFloat(input);
    if (dims.length === 0 && input.ndim === 0) return vectorNorm(reshape(x, [1]), ord, 0, false);
    for (const d of dims) {
      if (x.shape[d] === 0 && (ord === -Infinity || ord < 0)) {
        throw new ShapeError(`vectorNorm: ord ${ord} of an empty dim ${d} is undefined (shape ${fmtShape(x.shape)})`);
      }
    }
    if (ord === Infinity) return amax(abs(x), dims, keepdim);
    if (ord === -Infinity) return amin(abs(x), dims, keepdim);
    // ord 0 counts non-zeros; the count is constant in x, so its gradient is 0 (x·0 keeps the graph).
    if (ord === 0) return sum(where(ne(x, 0), fullK([], 1, x.dtype), mul(x, 0)), dims, keepdim);
    if (ord === 1) return sum(abs(x), dims, keepdim);
    const s = ord === 2 ? sum(mul(x, x), dims, keepdim) : sum(pow(abs(x), ord), dims, keepdim);
    // The double where keeps the infinite derivative of the root at 0 out of the graph.
    const zero = eq(s.detach(), 0);
    return where(zero, fullK([], 0, x.dtype), pow(where(zero, fullK([], 1, x.dtype), s), 1 / ord));
  },
  { vectorNorm: SELF },
);

/** torch.norm: p = 'fro' (default, the 2-norm of the entries) or a number, as vectorNorm. */
export const norm = defineOp(
  (input: Tensor, p: number | 'fro' = 'fro', dim?: Dims, keepdim = false): Tensor => {
    if (p !== 'fro' && typeof p !== 'number') throw new ValueError(`norm: p must be 'fro' or a number, got ${String(p)}`);
    return vectorNorm(input, p === 'fro' ? 2 : p, dim, keepdim);
  },
  { norm: SELF },
);

/** PyTorch's torch.linalg namespace (the parts chainrule has). */
export const linalg = { vectorNorm };

// ---- einsum ------------------------------------------------------------------------------

interface Term {
  t: Tensor;
  letters: string[];
}

function parseTerm(op: string, s: string): string[] {
  if (s.includes('.')) throw new ValueError(`${op}: '...' (ellipsis) is not supported; write every dim's letter`);
  for (const ch of s) if (!/[a-zA-Z]/.test(ch)) throw new ValueError(`${op}: '${ch}' is not a letter; subscripts are a-z and A-Z`);
  return [...s];
}

/** Sum out (in place of the term) the letters in `drop`. */
function sumLetters(term: Term, drop: Set<string>): Term {
  const dims = term.letters.map((l, i) => (drop.has(l) ? i : -1)).filter((i) => i >= 0);
  if (dims.length === 0) return term;
  return { t: sum(term.t, dims), letters: term.letters.filter((l) => !drop.has(l)) };
}

/** Take the diagonal of every letter a term repeats ('ii' → 'i'). */
function diagonals(term: Term): Term {
  let { t, letters } = term;
  for (;;) {
    const i = letters.findIndex((l, k) => letters.indexOf(l) !== k);
    if (i < 0) return { t, letters };
    const first = letters.indexOf(letters[i]!);
    t = diagonal(t, 0, first, i);
    const l = letters[i]!;
    letters = [...letters.filter((_, k) => k !== first && k !== i), l];
  }
}

function sizeOf(term: Term, l: string): number {
  return term.t.shape[term.letters.indexOf(l)]!;
}

/** Contract two terms over their shared letters as one batched matmul; keep the letters in `keep`. */
function contractPair(a: Term, b: Term, keep: Set<string>): Term {
  const inB = new Set(b.letters);
  const inA = new Set(a.letters);
  const batch = a.letters.filter((l) => inB.has(l) && keep.has(l));
  const contract = a.letters.filter((l) => inB.has(l) && !keep.has(l));
  const aOnly = a.letters.filter((l) => !inB.has(l));
  const bOnly = b.letters.filter((l) => !inA.has(l));
  const size = (ls: string[], t: Term) => ls.reduce((n, l) => n * sizeOf(t, l), 1);
  const order = (t: Term, ls: string[]) => permute(t.t, ls.map((l) => t.letters.indexOf(l)));
  const A = reshape(order(a, [...batch, ...aOnly, ...contract]), [size(batch, a), size(aOnly, a), size(contract, a)]);
  const B = reshape(order(b, [...batch, ...contract, ...bOnly]), [size(batch, b), size(contract, b), size(bOnly, b)]);
  const shape = [...batch.map((l) => sizeOf(a, l)), ...aOnly.map((l) => sizeOf(a, l)), ...bOnly.map((l) => sizeOf(b, l))];
  return { t: reshape(matmul(A, B), shape), letters: [...batch, ...aOnly, ...bOnly] };
}

/**
 * Einstein summation (torch.einsum): 'ij,jk->ik', 'bij,bjk->bik', 'i,j->ij', 'ii->', 'ij->ji',
 * 'ij->' ...; without '->' the output is the letters that occur once, in alphabetical order.
 * Built of diagonal, sum, permute, reshape and batched matmul, so the gradient comes free.
 * Operands are contracted left to right. No ellipsis.
 */
export function einsum(equation: string, ...operands: (Tensor | readonly Tensor[])[]): Tensor {
  const ops = (operands.length === 1 && Array.isArray(operands[0]) ? operands[0] : operands) as Tensor[];
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.indexOf('->');
  const lhs = arrow < 0 ? eq : eq.slice(0, arrow);
  const specs = lhs.split(',').map((s) => parseTerm('einsum', s));
  if (specs.length !== ops.length) {
    throw new ValueError(`einsum: '${equation}' has ${specs.length} operand terms but ${ops.length} tensors were given`);
  }
  const sizes = new Map<string, number>();
  specs.forEach((letters, k) => {
    const t = ops[k]!;
    if (letters.length !== t.ndim) {
      throw new ShapeError(`einsum: term '${letters.join('')}' has ${letters.length} subscripts but operand ${k} has shape ${fmtShape(t.shape)}`);
    }
    letters.forEach((l, i) => {
      const s = t.shape[i]!;
      const known = sizes.get(l);
      if (known !== undefined && known !== s) {
        throw new ShapeError(`einsum: subscript '${l}' is size ${known} in one place and ${s} in operand ${k} (shape ${fmtShape(t.shape)})`);
      }
      sizes.set(l, s);
    });
  });
  const counts = new Map<string, number>();
  specs.flat().forEach((l) => counts.set(l, (counts.get(l) ?? 0) + 1));
  const out = arrow < 0 ? [...counts.keys()].filter((l) => counts.get(l) === 1).sort() : parseTerm('einsum', eq.slice(arrow + 2));
  out.forEach((l, i) => {
    if (!sizes.has(l)) throw new ValueError(`einsum: output subscript '${l}' does not occur in the operands of '${equation}'`);
    if (out.indexOf(l) !== i) throw new ValueError(`einsum: output subscript '${l}' occurs twice in '${equation}'`);
  });
  const dtypes = new Set(ops.map((t) => t.dtype));
  if (dtypes.size > 1) throw new DTypeError(`einsum: operands must share one dtype, got ${[...dtypes].join(', ')}`);

  const outSet = new Set(out);
  let terms: Term[] = ops.map((t, k) => diagonals({ t, letters: specs[k]! }));
  // Letters that only one term has and the output lacks are summed out before any product.
  terms = terms.map((term, k) => {
    const others = new Set(terms.filter((_, j) => j !== k).flatMap((x) => x.letters));
    return sumLetters(term, new Set(term.letters.filter((l) => !outSet.has(l) && !others.has(l))));
  });
  let acc = terms[0]!;
  for (let k = 1; k < terms.length; k++) {
    const later = new Set([...out, ...terms.slice(k + 1).flatMap((x) => x.letters)]);
    acc = contractPair(acc, terms[k]!, later);
  }
  acc = sumLetters(acc, new Set(acc.letters.filter((l) => !outSet.has(l))));
  return permute(acc.t, out.map((l) => acc.letters.indexOf(l)));
}

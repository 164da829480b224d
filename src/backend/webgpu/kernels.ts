import type { DType } from '../../tensor/dtype.js';
import { GpuContext, GpuStorage, wgslType } from './context.js';

/**
 * The WGSL kernels. Elementwise ops are generated from one table (EXPR below: an expression per
 * op over `x` / `y`, per element type) into one strided, broadcasting shader per op and dtype;
 * matmul is one tiled shader with transpose flags, batch offsets, bias and ReLU; reductions run
 * one workgroup per output over (outer, size, inner); the fused cross-entropy forward and
 * gradient run one workgroup per row.
 */

/** Most dims an elementwise kernel takes (more: the op goes through the host). */
export const MAX_DIMS = 8;

/** An operand as a kernel reads it: its storage, where element [0, ...] is, and its strides in the output's index space. */
export interface Operand {
  storage: GpuStorage;
  offset: number;
  /** One per output dim (0 along broadcast dims); null: contiguous and of the output's shape. */
  strides: readonly number[] | null;
}

// ---- the elementwise table -----------------------------------------------------------------

type Ty = 'f32' | 'i32';

/** Unary ops: WGSL over `x` (f32; i32 where listed). */
const UNARY: Record<string, { f32: string; i32?: string }> = {
  neg: { f32: '-x', i32: '-x' },
  exp: { f32: 'exp(x)' },
  log: { f32: 'log(x)' },
  sqrt: { f32: 'sqrt(x)' },
  abs: { f32: 'abs(x)', i32: 'abs(x)' },
  sin: { f32: 'sin_(x)' },
  cos: { f32: 'cos_(x)' },
  tanh: { f32: 'tanh_(x)' },
  sigmoid: { f32: 'sigmoid_(x)' },
  relu: { f32: 'select(0.0, x, x > 0.0)' },
  log1p: { f32: 'log1p_(x)' },
  expm1: { f32: 'expm1_(x)' },
  sign: { f32: 'sign(x)', i32: 'sign(x)' },
  reciprocal: { f32: '1.0 / x' },
  square: { f32: 'x * x', i32: 'x * x' },
  floor: { f32: 'floor(x)' },
  ceil: { f32: 'ceil(x)' },
  round: { f32: 'round(x)' },
};

/** Binary ops: WGSL over `x`, `y` (and P, a float parameter). */
const BINARY: Record<string, { f32: string; i32?: string }> = {
  add: { f32: 'x + y', i32: 'x + y' },
  sub: { f32: 'x - y', i32: 'x - y' },
  mul: { f32: 'x * y', i32: 'x * y' },
  div: { f32: 'x / y' },
  pow: { f32: 'pow_(x, y)' },
  maximum: { f32: 'select(select(y, x, x > y), x + y, isnan_(x) || isnan_(y))', i32: 'max(x, y)' },
  minimum: { f32: 'select(select(y, x, x < y), x + y, isnan_(x) || isnan_(y))', i32: 'min(x, y)' },
  reluGrad: { f32: 'select(0.0, x, y > 0.0)' },
  sigmoidGrad: { f32: 'x * (y * (1.0 - y))' },
  tanhGrad: { f32: 'x * (1.0 - y * y)' },
  // g·p·x^(p−1), from the upstream gradient x = g and the saved input y = x
  powScalarGrad: { f32: 'powGrad_(x, y, P)' },
};

const COMPARE: Record<string, string> = { gt: 'x > y', ge: 'x >= y', lt: 'x < y', le: 'x <= y', eq: 'x == y', ne: 'x != y' };
/** On floats a comparison with NaN is false, ne true (tested on the bits: see isnan_). */
function compareF32(op: string): string {
  const nan = 'isnan_(x) || isnan_(y)';
  return op === 'ne' ? `(${nan} || x != y)` : `(!(${nan}) && ${COMPARE[op]!})`;
}

export function hasUnary(op: string, dtype: DType): boolean {
  const e = UNARY[op];
  return e !== undefined && (dtype === 'float32' || (dtype === 'int32' && e.i32 !== undefined));
}
export function hasBinary(op: string, dtype: DType): boolean {
  const e = BINARY[op];
  return e !== undefined && (dtype === 'float32' || (dtype === 'int32' && e.i32 !== undefined));
}
export function hasCompare(op: string, dtype: DType): boolean {
  return COMPARE[op] !== undefined && (dtype === 'float32' || dtype === 'int32' || dtype === 'bool');
}

/** NaN and infinity at run time (WGSL refuses them as constants). */
const SPECIALS = /* wgsl */ `
fn nan_() -> f32 { var b = 0x7fc00000u; return bitcast<f32>(b); }
fn inf_() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }
// NaN tested on the bits: SwiftShader folds v != v to false, as WGSL lets it.
fn isnan_(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
`;

const HELPERS = SPECIALS + /* wgsl */ `
// sin and cos to float32 accuracy (WGSL allows the builtins an absolute error of 2^-11): x is
// reduced by multiples of π/2 (π/2 split in three parts, Cody–Waite), then a polynomial on [−π/4, π/4].
fn sincos_(x: f32, cosine: bool) -> f32 {
  if (abs(x) > 1.0e5) { if (cosine) { return cos(x); } return sin(x); }
  let k = round(x * 0.636619772);
  var r = x - k * 1.5703125;
  r = r - k * 4.83751297e-4;
  r = r - k * 7.54978942e-8;
  var q = i32(k);
  if (cosine) { q = q + 1; }
  let r2 = r * r;
  let s = r + r * r2 * (-0.166666546 + r2 * (0.00833216087 + r2 * (-0.000195152959)));
  let c = 1.0 - 0.5 * r2 + r2 * r2 * (0.0416666418 + r2 * (-0.00138867637 + r2 * 0.0000243904487));
  let m = ((q % 4) + 4) % 4;
  if (m == 0) { return s; }
  if (m == 1) { return c; }
  if (m == 2) { return -s; }
  return -c;
}
fn sin_(x: f32) -> f32 { return sincos_(x, false); }
fn cos_(x: f32) -> f32 { return sincos_(x, true); }
fn tanh_(x: f32) -> f32 { if (abs(x) > 10.0) { return sign(x); } let e = exp(2.0 * x); return (e - 1.0) / (e + 1.0); }
fn sigmoid_(x: f32) -> f32 { if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); } let e = exp(x); return e / (1.0 + e); }
fn log1p_(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (u > 3.0e38) { return log(u); }
  return log(u) * x / (u - 1.0);
}
fn expm1_(x: f32) -> f32 {
  if (abs(x) < 0.5) {
    let u = exp(x);
    if (u == 1.0) { return x; }
    let um1 = u - 1.0;
    return um1 * x / log(u);
  }
  return exp(x) - 1.0;
}
fn pow_(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  let r = exp2(y * log2(abs(x)));
  if (x < 0.0) {
    if (floor(y) != y) { return nan_(); }
    if (abs(y % 2.0) == 1.0) { return -r; }
  }
  if (x == 0.0) { if (y > 0.0) { return 0.0; } return inf_(); }
  return r;
}
fn powGrad_(g: f32, x: f32, p: f32) -> f32 {
  if (p == 2.0) { return g * (2.0 * x); }
  if (p == 1.0) { return g; }
  return g * (p * pow_(x, p - 1.0));
}
`;

/**
 * meta (i32): [0] n, [1] ndim, [2..5] operand offsets, [6..9] contiguous flags, [10] P (f32 bits),
 * [16..23] output shape, [24 + 8k ..] strides of operand k.
 */
const META_LEN = 24 + 8 * 4;

function elementwiseShader(inputs: Ty[], outTy: Ty, body: string): string {
  const decl = inputs
    .map((t, k) => `@group(0) @binding(${k + 2}) var<storage, read> in${k}: array<${t}>;`)
    .join('\n');
  const loads = inputs.map((_, k) => `let v${k} = in${k}[idx(i, ${k})];`).join('\n  ');
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<${outTy}>;
${decl}
${HELPERS}
fn idx(i: u32, k: u32) -> u32 {
  let base = prm[2u + k];
  if (prm[6u + k] != 0) { return u32(base + i32(i)); }
  var rem = i;
  var o = base;
  let nd = u32(prm[1]);
  for (var d = i32(nd) - 1; d >= 0; d = d - 1) {
    let size = u32(prm[16 + d]);
    o = o + i32(rem % size) * prm[24u + 8u * k + u32(d)];
    rem = rem / size;
  }
  return u32(o);
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u32(prm[0])) { return; }
  let P = bitcast<f32>(prm[10]);
  ${loads}
  ${body}
}`;
}

/** Runs one elementwise kernel writing a new contiguous storage of `shape`. */
function runElementwise(ctx: GpuContext, key: string, code: () => string, shape: readonly number[], operands: readonly Operand[], outDtype: DType, p = 0): GpuStorage {
  let n = 1;
  for (const s of shape) n *= s;
  const out = ctx.storage(n, outDtype);
  if (n === 0) return out;
  const prm = new Int32Array(META_LEN);
  prm[0] = n;
  prm[1] = shape.length;
  new Float32Array(prm.buffer, 40, 1)[0] = p;
  for (let d = 0; d < shape.length; d++) prm[16 + d] = shape[d]!;
  operands.forEach((o, k) => {
    prm[2 + k] = o.offset;
    prm[6 + k] = o.strides === null ? 1 : 0;
    if (o.strides !== null) for (let d = 0; d < shape.length; d++) prm[24 + 8 * k + d] = o.strides[d]!;
  });
  const m = ctx.metaBuffer(prm);
  const pipeline = ctx.pipeline(key, code);
  ctx.dispatch(pipeline, [m.buffer, out.buffer, ...operands.map((o) => o.storage.buffer)], Math.ceil(n / 256));
  ctx.release(m.buffer, m.bytes);
  return out;
}

export function unary(ctx: GpuContext, op: string, x: Operand, shape: readonly number[], dtype: DType): GpuStorage {
  const ty = wgslType(dtype);
  const expr = ty === 'f32' ? UNARY[op]!.f32 : UNARY[op]!.i32!;
  return runElementwise(ctx, `unary:${op}:${ty}`, () => elementwiseShader([ty], ty, `let x = v0; out[i] = ${expr};`), shape, [x], dtype);
}

export function binary(ctx: GpuContext, op: string, a: Operand, b: Operand, shape: readonly number[], dtype: DType, p = 0): GpuStorage {
  const ty = wgslType(dtype);
  const expr = ty === 'f32' ? BINARY[op]!.f32 : BINARY[op]!.i32!;
  return runElementwise(ctx, `binary:${op}:${ty}`, () => elementwiseShader([ty, ty], ty, `let x = v0; let y = v1; out[i] = ${expr};`), shape, [a, b], dtype, p);
}

export function compare(ctx: GpuContext, op: string, a: Operand, b: Operand, shape: readonly number[], dtype: DType): GpuStorage {
  const ty = wgslType(dtype);
  return runElementwise(ctx, `compare:${op}:${ty}`, () => elementwiseShader([ty, ty], 'i32', `let x = v0; let y = v1; out[i] = select(0, 1, ${ty === 'f32' ? compareF32(op) : COMPARE[op]!});`), shape, [a, b], 'bool');
}

export function where(ctx: GpuContext, c: Operand, a: Operand, b: Operand, shape: readonly number[], dtype: DType): GpuStorage {
  const ty = wgslType(dtype);
  return runElementwise(ctx, `where:${ty}`, () => elementwiseShader(['i32', ty, ty], ty, 'out[i] = select(v2, v1, v0 != 0);'), shape, [c, a, b], dtype);
}

/** dtype conversion (float → int truncates toward zero; anything → bool is x != 0). */
export function cast(ctx: GpuContext, x: Operand, shape: readonly number[], from: DType, to: DType): GpuStorage {
  const a = wgslType(from);
  const b = wgslType(to);
  let body: string;
  if (to === 'bool') body = a === 'f32' ? 'out[i] = select(0, 1, v0 != 0.0);' : 'out[i] = select(0, 1, v0 != 0);';
  else if (a === b) body = 'out[i] = v0;';
  else body = `out[i] = ${b}(v0);`;
  return runElementwise(ctx, `cast:${from}:${to}`, () => elementwiseShader([a], b, body), shape, [x], to);
}

/** A strided view copied out row-major (the identity through the elementwise kernel). */
export function copy(ctx: GpuContext, x: Operand, shape: readonly number[], dtype: DType): GpuStorage {
  const ty = wgslType(dtype);
  return runElementwise(ctx, `copy:${ty}`, () => elementwiseShader([ty], ty, 'out[i] = v0;'), shape, [x], dtype);
}

/** Writes src (contiguous) into dst's elements through dst's (shape, strides, offset): in-place ops. */
export function scatterInto(ctx: GpuContext, dst: GpuStorage, shape: readonly number[], strides: readonly number[], offset: number, src: GpuStorage, dtype: DType): void {
  const ty = wgslType(dtype);
  let n = 1;
  for (const s of shape) n *= s;
  if (n === 0) return;
  const prm = new Int32Array(META_LEN);
  prm[0] = n;
  prm[1] = shape.length;
  prm[2] = offset;
  for (let d = 0; d < shape.length; d++) {
    prm[16 + d] = shape[d]!;
    prm[24 + d] = strides[d]!;
  }
  const code = () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<${ty}>;
@group(0) @binding(2) var<storage, read> src: array<${ty}>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u32(prm[0])) { return; }
  var rem = i;
  var o = prm[2];
  for (var d = prm[1] - 1; d >= 0; d = d - 1) {
    let size = u32(prm[16 + d]);
    o = o + i32(rem % size) * prm[24 + d];
    rem = rem / size;
  }
  out[u32(o)] = src[i];
}`;
  const m = ctx.metaBuffer(prm);
  ctx.dispatch(ctx.pipeline(`scatterInto:${ty}`, code), [m.buffer, dst.buffer, src.buffer], Math.ceil(n / 256));
  ctx.release(m.buffer, m.bytes);
}

// ---- matmul ------------------------------------------------------------------------------

const TILE = 16;

/**
 * C[b] = op(A[b])·op(B[b]) (+ bias) (ReLU), tiled: each workgroup of 16×16 threads computes a
 * 32×32 block of C, 2×2 per thread, with 32×16 tiles of A and B in workgroup memory. A row-major
 * operand read transposed (transA / transB) is indexed as such, so transposed views and the
 * backward pass's Aᵀ·G and G·Bᵀ need no copy. meta: [m, n, k, transA, transB, batch, hasBias,
 * relu], then the per-item offsets of A and B.
 */
const MATMUL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
var<workgroup> ta: array<array<f32, 32>, 16>;
var<workgroup> tb: array<array<f32, 32>, 16>;
fn loadA(base: i32, row: i32, col: i32, m: i32, k: i32, trans: bool) -> f32 {
  if (row >= m || col >= k) { return 0.0; }
  if (trans) { return a[u32(base + col * m + row)]; }
  return a[u32(base + row * k + col)];
}
fn loadB(base: i32, row: i32, col: i32, k: i32, n: i32, trans: bool) -> f32 {
  if (row >= k || col >= n) { return 0.0; }
  if (trans) { return b[u32(base + col * k + row)]; }
  return b[u32(base + row * n + col)];
}
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let m = prm[0]; let n = prm[1]; let k = prm[2];
  let transA = prm[3] != 0; let transB = prm[4] != 0;
  let item = i32(wid.z);
  let aBase = prm[8 + 2 * item];
  let bBase = prm[9 + 2 * item];
  let tx = i32(lid.x); let ty = i32(lid.y);
  let row0 = i32(wid.y) * 32 + ty;
  let col0 = i32(wid.x) * 32 + tx;
  var acc00 = 0.0; var acc01 = 0.0; var acc10 = 0.0; var acc11 = 0.0;
  for (var t = 0; t < k; t = t + 16) {
    // A tile: 32 rows × 16 columns (ta[col][row]); B tile: 16 rows × 32 columns (tb[row][col]).
    ta[tx][ty] = loadA(aBase, row0, t + tx, m, k, transA);
    ta[tx][ty + 16] = loadA(aBase, row0 + 16, t + tx, m, k, transA);
    tb[ty][tx] = loadB(bBase, t + ty, col0, k, n, transB);
    tb[ty][tx + 16] = loadB(bBase, t + ty, col0 + 16, k, n, transB);
    workgroupBarrier();
    for (var p = 0; p < 16; p = p + 1) {
      let a0 = ta[p][ty]; let a1 = ta[p][ty + 16];
      let b0 = tb[p][tx]; let b1 = tb[p][tx + 16];
      acc00 = acc00 + a0 * b0; acc01 = acc01 + a0 * b1;
      acc10 = acc10 + a1 * b0; acc11 = acc11 + a1 * b1;
    }
    workgroupBarrier();
  }
  let cBase = item * m * n;
  let hasBias = prm[6] != 0; let relu = prm[7] != 0;
  for (var r = 0; r < 2; r = r + 1) {
    for (var q = 0; q < 2; q = q + 1) {
      let row = row0 + 16 * r; let col = col0 + 16 * q;
      if (row < m && col < n) {
        var v = select(select(acc10, acc11, q == 1), select(acc00, acc01, q == 1), r == 0);
        if (hasBias) { v = v + bias[u32(col)]; }
        if (relu) { v = max(v, 0.0); }
        c[u32(cBase + row * n + col)] = v;
      }
    }
  }
}`;

export interface MatmulArgs {
  m: number;
  n: number;
  k: number;
  a: GpuStorage;
  b: GpuStorage;
  transA: boolean;
  transB: boolean;
  /** Per batch item: where its A and its B start. */
  aOffsets: ArrayLike<number>;
  bOffsets: ArrayLike<number>;
  bias: GpuStorage | null;
  relu: boolean;
}

export function matmul(ctx: GpuContext, g: MatmulArgs): GpuStorage {
  const batch = g.aOffsets.length;
  const out = ctx.storage(batch * g.m * g.n, 'float32');
  if (batch * g.m * g.n === 0) return out;
  const prm = new Int32Array(8 + 2 * batch);
  prm.set([g.m, g.n, g.k, g.transA ? 1 : 0, g.transB ? 1 : 0, batch, g.bias ? 1 : 0, g.relu ? 1 : 0]);
  for (let i = 0; i < batch; i++) {
    prm[8 + 2 * i] = g.aOffsets[i]!;
    prm[9 + 2 * i] = g.bOffsets[i]!;
  }
  const m = ctx.metaBuffer(prm);
  // k = 0: the tile loop never runs and C is the bias (or zeros), as the reference gives.
  const pipeline = ctx.pipeline('matmul', () => MATMUL);
  const groups = [Math.ceil(g.n / (2 * TILE)), Math.ceil(g.m / (2 * TILE)), batch] as const;
  const entries = [m.buffer, out.buffer, g.a.buffer, g.b.buffer, (g.bias ?? g.a).buffer];
  const bindGroup = ctx.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: entries.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const encoder = ctx.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
  pass.end();
  ctx.device.queue.submit([encoder.finish()]);
  ctx.release(m.buffer, m.bytes);
  return out;
}

// ---- reductions -----------------------------------------------------------------------------

const REDUCE: Record<string, { init: string; step: string }> = {
  sum: { init: '0', step: 'acc + v' },
  prod: { init: '1', step: 'acc * v' },
  max: { init: 'LOW', step: 'select(select(acc, v, v > acc), v, isnan_(v))' },
  min: { init: 'HIGH', step: 'select(select(acc, v, v < acc), v, isnan_(v))' },
};

export function hasReduce(op: string, dtype: DType): boolean {
  return REDUCE[op] !== undefined && (dtype === 'float32' || dtype === 'int32');
}

/**
 * out[o, i] = op over s of x[o, s, i] (× scale), for a contiguous x of (outer, size, inner): one
 * workgroup of 64 threads per output, each striding over s, then a tree in workgroup memory.
 * meta: [outer, size, inner, offset, scale (f32 bits)].
 */
export function reduce(ctx: GpuContext, op: string, x: GpuStorage, offset: number, outer: number, size: number, inner: number, dtype: DType, scale = 1): GpuStorage {
  const ty = wgslType(dtype);
  const r = REDUCE[op]!;
  const low = ty === 'f32' ? '-inf_()' : 'i32(-2147483647 - 1)';
  const high = ty === 'f32' ? 'inf_()' : 'i32(2147483647)';
  const init = r.init === 'LOW' ? low : r.init === 'HIGH' ? high : `${ty}(${r.init})`;
  const step = ty === 'i32' ? r.step.replace(/, isnan_\(v\)\)$/, ', false)') : r.step;
  const code = () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<${ty}>;
@group(0) @binding(2) var<storage, read> x: array<${ty}>;
var<workgroup> part: array<${ty}, 64>;
${SPECIALS}
fn combine(acc: ${ty}, v: ${ty}) -> ${ty} { return ${step}; }
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.x + wid.y * nwg.x;
  let outer = u32(prm[0]); let size = u32(prm[1]); let inner = u32(prm[2]);
  if (o >= outer * inner) { return; }
  let oo = o / inner; let ii = o % inner;
  let base = u32(prm[3]) + oo * size * inner + ii;
  var acc = ${init};
  for (var s = lid.x; s < size; s = s + 64u) { acc = combine(acc, x[base + s * inner]); }
  part[lid.x] = acc;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w = w / 2u) {
    if (lid.x < w) { part[lid.x] = combine(part[lid.x], part[lid.x + w]); }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    ${ty === 'f32' ? 'out[o] = part[0] * bitcast<f32>(prm[4]);' : 'out[o] = part[0];'}
  }
}`;
  const out = ctx.storage(outer * inner, dtype);
  if (outer * inner === 0) return out;
  const prm = new Int32Array([outer, size, inner, offset, 0]);
  new Float32Array(prm.buffer, 16, 1)[0] = scale;
  const m = ctx.metaBuffer(prm);
  ctx.dispatch(ctx.pipeline(`reduce:${op}:${ty}`, code), [m.buffer, out.buffer, x.buffer], outer * inner);
  ctx.release(m.buffer, m.bytes);
  return out;
}

// ---- softmax and cross-entropy over rows -------------------------------------------------------

/**
 * Per row of x [rows, C] (contiguous, at offset): p = softmax (or log-softmax when `log`), and
 * when targets t and weights w are given, loss_i = w_i·(logsumexp(x_i) − x_{i,t_i}) (0 where
 * w_i = 0). One workgroup of 64 threads per row. meta: [rows, C, offset, log, withLoss].
 */
const ROWS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> t: array<i32>;
@group(0) @binding(5) var<storage, read> w: array<f32>;
var<workgroup> part: array<f32, 64>;
${SPECIALS}
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  let rows = u32(prm[0]); let C = u32(prm[1]);
  if (row >= rows) { return; }
  let base = u32(prm[2]) + row * C;
  let o = row * C;
  var m = -inf_();
  for (var j = lid.x; j < C; j = j + 64u) { let v = x[base + j]; if (v > m || isnan_(v)) { m = v; } }
  part[lid.x] = m;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s / 2u) {
    if (lid.x < s) { let v = part[lid.x + s]; if (v > part[lid.x] || isnan_(v)) { part[lid.x] = v; } }
    workgroupBarrier();
  }
  var mx = part[0];
  if (abs(mx) > 3.0e38) { mx = 0.0; }
  workgroupBarrier();
  var acc = 0.0;
  for (var j = lid.x; j < C; j = j + 64u) { acc = acc + exp(x[base + j] - mx); }
  part[lid.x] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s / 2u) {
    if (lid.x < s) { part[lid.x] = part[lid.x] + part[lid.x + s]; }
    workgroupBarrier();
  }
  let total = part[0];
  let lse = log(total);
  for (var j = lid.x; j < C; j = j + 64u) {
    let sh = x[base + j] - mx;
    if (prm[3] != 0) { p[o + j] = sh - lse; } else { p[o + j] = exp(sh) / total; }
  }
  if (prm[4] != 0 && lid.x == 0u) {
    let wi = w[row];
    if (wi == 0.0) { loss[row] = 0.0; } else { loss[row] = wi * (mx + lse - x[base + u32(t[row])]); }
  }
}`;

export function rowSoftmax(
  ctx: GpuContext,
  x: GpuStorage,
  offset: number,
  rows: number,
  C: number,
  log: boolean,
  targets: { t: GpuStorage; w: GpuStorage } | null,
): { p: GpuStorage; loss: GpuStorage | null } {
  const p = ctx.storage(rows * C, 'float32');
  const loss = targets ? ctx.storage(rows, 'float32') : null;
  if (rows * C === 0) return { p, loss };
  const m = ctx.metaBuffer(new Int32Array([rows, C, offset, log ? 1 : 0, targets ? 1 : 0]));
  // Unused bindings still need a buffer: the ones of this call stand in.
  const lossBuf = loss ?? ctx.storage(1, 'float32');
  ctx.dispatch(ctx.pipeline('rows', () => ROWS), [m.buffer, p.buffer, lossBuf.buffer, x.buffer, (targets?.t ?? x).buffer, (targets?.w ?? x).buffer], rows);
  ctx.release(m.buffer, m.bytes);
  return { p, loss };
}

/**
 * crossEntropyIndex's gradient: out[i, j] = coef_i·(p[i, j] − [j = t_i]) with coef_i = w_i·g_i
 * (reduction none), w_i·g·scale (mean: scale 1/Σw from wsum; sum: 1); 0 rows where coef is 0.
 * meta: [rows, C, mode (0 none, 1 mean, 2 sum)].
 */
const CE_GRAD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> p: array<f32>;
@group(0) @binding(4) var<storage, read> t: array<i32>;
@group(0) @binding(5) var<storage, read> w: array<f32>;
@group(0) @binding(6) var<storage, read> wsum: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 256u;
  let rows = u32(prm[0]); let C = u32(prm[1]); let mode = prm[2];
  if (e >= rows * C) { return; }
  let i = e / C; let j = e % C;
  var coef = 0.0;
  if (mode == 0) { coef = w[i] * g[i]; }
  else if (mode == 1) { coef = w[i] * (g[0] * (1.0 / wsum[0])); }
  else { coef = w[i] * g[0]; }
  if (coef == 0.0) { out[e] = 0.0; return; }
  var v = coef * p[e];
  if (u32(t[i]) == j) { v = v - coef; }
  out[e] = v;
}`;

export function crossEntropyGrad(ctx: GpuContext, g: GpuStorage, p: GpuStorage, t: GpuStorage, w: GpuStorage, wsum: GpuStorage, rows: number, C: number, mode: number): GpuStorage {
  const out = ctx.storage(rows * C, 'float32');
  if (rows * C === 0) return out;
  const m = ctx.metaBuffer(new Int32Array([rows, C, mode]));
  ctx.dispatch(ctx.pipeline('ceGrad', () => CE_GRAD), [m.buffer, out.buffer, g.buffer, p.buffer, t.buffer, w.buffer, wsum.buffer], Math.ceil((rows * C) / 256));
  ctx.release(m.buffer, m.bytes);
  return out;
}

// ---- sliding windows: im2col, col2im, max pooling and its gradient ----------------------------

/** A window geometry over planes of h×w (windowNumbers), as the parameters the window shaders read. */
export interface Window {
  planes: number; h: number; w: number; kh: number; kw: number; sh: number; sw: number;
  ph: number; pw: number; dh: number; dw: number; oh: number; ow: number;
}

const WINDOW_PRM = /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
${SPECIALS}
struct Win { planes: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, oh: i32, ow: i32 }
fn win() -> Win {
  return Win(prm[0], prm[1], prm[2], prm[3], prm[4], prm[5], prm[6], prm[7], prm[8], prm[9], prm[10], prm[11], prm[12]);
}
`;

function windowMeta(g: Window, extra: number[]): Int32Array {
  return new Int32Array([g.planes, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.oh, g.ow, ...extra]);
}

function f32Bits(v: number): number {
  return new Int32Array(new Float32Array([v]).buffer)[0]!;
}

function runWindow(ctx: GpuContext, key: string, code: string, meta: Int32Array, buffers: GPUBuffer[], count: number): void {
  if (count === 0) return;
  const m = ctx.metaBuffer(meta);
  ctx.dispatch(ctx.pipeline(key, () => code), [m.buffer, ...buffers], Math.ceil(count / 256));
  ctx.release(m.buffer, m.bytes);
}

const IM2COL = /* wgsl */ `${WINDOW_PRM}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = i32(gid.x + gid.y * nwg.x * 256u);
  let g = win();
  let L = g.oh * g.ow;
  if (e >= g.planes * g.kh * g.kw * L) { return; }
  let l = e % L; var t = e / L;
  let j = t % g.kw; t = t / g.kw;
  let i = t % g.kh; let p = t / g.kh;
  let row = (l / g.ow) * g.sh - g.ph + i * g.dh;
  let col = (l % g.ow) * g.sw - g.pw + j * g.dw;
  if (row < 0 || row >= g.h || col < 0 || col >= g.w) { out[e] = bitcast<f32>(prm[14]); return; }
  out[e] = x[prm[13] + (p * g.h + row) * g.w + col];
}`;

/** [planes·kh·kw, L] columns of x's planes (x from element `offset`); positions over the padding read padValue. */
export function im2col(ctx: GpuContext, x: GpuStorage, offset: number, g: Window, padValue: number): GpuStorage {
  const n = g.planes * g.kh * g.kw * g.oh * g.ow;
  const out = ctx.storage(n, 'float32');
  runWindow(ctx, 'im2col', IM2COL, windowMeta(g, [offset, f32Bits(padValue)]), [out.buffer, x.buffer], n);
  return out;
}

// Each image position sums the column entries that read it (a gather: no two threads write one element).
const COL2IM = /* wgsl */ `${WINDOW_PRM}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> cols: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = i32(gid.x + gid.y * nwg.x * 256u);
  let g = win();
  if (e >= g.planes * g.h * g.w) { return; }
  let xx = e % g.w; let yy = (e / g.w) % g.h; let p = e / (g.w * g.h);
  let L = g.oh * g.ow;
  var acc = 0.0;
  for (var i = 0; i < g.kh; i++) {
    let a = yy + g.ph - i * g.dh;
    if (a < 0 || a % g.sh != 0 || a / g.sh >= g.oh) { continue; }
    for (var j = 0; j < g.kw; j++) {
      let b = xx + g.pw - j * g.dw;
      if (b < 0 || b % g.sw != 0 || b / g.sw >= g.ow) { continue; }
      acc = acc + cols[prm[13] + ((p * g.kh + i) * g.kw + j) * L + (a / g.sh) * g.ow + b / g.sw];
    }
  }
  out[e] = acc;
}`;

/** The planes [planes, h, w] whose columns `cols` are (from element `offset`), overlapping windows summed. */
export function col2im(ctx: GpuContext, cols: GpuStorage, offset: number, g: Window): GpuStorage {
  const n = g.planes * g.h * g.w;
  const out = ctx.storage(n, 'float32');
  runWindow(ctx, 'col2im', COL2IM, windowMeta(g, [offset]), [out.buffer, cols.buffer], n);
  return out;
}

// PyTorch's scan, as the reference maxPool: the first largest in row-major window order, a NaN
// over any number (the last NaN), the first real position when every value is −∞.
const MAXPOOL = /* wgsl */ `${WINDOW_PRM}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> picks: array<i32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = i32(gid.x + gid.y * nwg.x * 256u);
  let g = win();
  let L = g.oh * g.ow;
  if (e >= g.planes * L) { return; }
  let p = e / L; let oy = (e % L) / g.ow; let ox = e % g.ow;
  var ya = oy * g.sh - g.ph; let yb = min(ya + (g.kh - 1) * g.dh + 1, g.h);
  while (ya < 0) { ya = ya + g.dh; }
  var xa = ox * g.sw - g.pw; let xb = min(xa + (g.kw - 1) * g.dw + 1, g.w);
  while (xa < 0) { xa = xa + g.dw; }
  let base = prm[13] + p * g.h * g.w;
  var best = -inf_();
  var pick = ya * g.w + xa;
  for (var yy = ya; yy < yb; yy = yy + g.dh) {
    for (var xx = xa; xx < xb; xx = xx + g.dw) {
      let v = x[base + yy * g.w + xx];
      if (v > best || isnan_(v)) { best = v; pick = yy * g.w + xx; }
    }
  }
  out[e] = best;
  picks[e] = pick;
}`;

/** Max pooling of x's planes (from element `offset`): the values [planes, L] and each window's picked plane offset. */
export function maxPool(ctx: GpuContext, x: GpuStorage, offset: number, g: Window): { y: GpuStorage; picks: GpuStorage } {
  const n = g.planes * g.oh * g.ow;
  const y = ctx.storage(n, 'float32');
  const picks = ctx.storage(n, 'int32');
  runWindow(ctx, 'maxPool', MAXPOOL, windowMeta(g, [offset]), [y.buffer, picks.buffer, x.buffer], n);
  return { y, picks };
}

// gx at each position: the sum of the gradients of the windows holding it that picked it (a gather).
const MAXPOOL_GRAD = /* wgsl */ `${WINDOW_PRM}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read> picks: array<i32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = i32(gid.x + gid.y * nwg.x * 256u);
  let g = win();
  if (e >= g.planes * g.h * g.w) { return; }
  let pos = e % (g.h * g.w); let xx = pos % g.w; let yy = pos / g.w; let p = e / (g.w * g.h);
  let L = g.oh * g.ow;
  var acc = 0.0;
  for (var i = 0; i < g.kh; i++) {
    let a = yy + g.ph - i * g.dh;
    if (a < 0 || a % g.sh != 0 || a / g.sh >= g.oh) { continue; }
    for (var j = 0; j < g.kw; j++) {
      let b = xx + g.pw - j * g.dw;
      if (b < 0 || b % g.sw != 0 || b / g.sw >= g.ow) { continue; }
      let o = p * L + (a / g.sh) * g.ow + b / g.sw;
      if (picks[prm[14] + o] == pos) { acc = acc + gy[prm[13] + o]; }
    }
  }
  out[e] = acc;
}`;

/** maxPool's backward: gy [planes, L] (from `gOffset`) added at the picks (from `pOffset`) of planes [planes, h, w]. */
export function maxPoolGrad(ctx: GpuContext, gy: GpuStorage, gOffset: number, picks: GpuStorage, pOffset: number, g: Window): GpuStorage {
  const n = g.planes * g.h * g.w;
  const out = ctx.storage(n, 'float32');
  runWindow(ctx, 'maxPoolGrad', MAXPOOL_GRAD, windowMeta(g, [gOffset, pOffset]), [out.buffer, gy.buffer, picks.buffer], n);
  return out;
}

// ---- gather / indexSelect and their adjoints scatterAdd / indexAdd ------------------------------

/**
 * The indexing kernels over contiguous operands (row-major from element 0), as
 * ops/kernels.ts's gatherK / indexSelectK / scatterAddK / indexAddK. Both families are one
 * index map: the element e of the index space (index's shape for gather/scatterAdd;
 * [outer, n, inner] for indexSelect/indexAdd, read at the index entry (e / inner) % n) addresses
 * table[Σ_{d≠dim} c_d·ts_d + idx·ts_dim]. The gathers read it; the scatters add src (read at the
 * same multi-index through its own strides) into a copy of self, with an atomic add (i32), or a
 * compare-and-swap loop on the f32's bits: the adds into one element land in an unspecified
 * order, so float sums may differ from the host's sequential ones by rounding.
 * prm: [0] n, [1] ndim, [2] dim, [3] mode (0: entry e, 1: entry (e / inner) % n), [4] inner,
 * [5] entries, [8..15] index-space shape, [16..23] table strides, [24..31] src strides.
 */
const INDEX_MAP = /* wgsl */ `
fn target_(e: u32) -> u32 {
  var rem = e;
  var o = 0;
  var srcO = 0;
  let dim = prm[2];
  for (var d = prm[1] - 1; d >= 0; d = d - 1) {
    let size = u32(prm[8 + d]);
    let c = i32(rem % size);
    rem = rem / size;
    if (d != dim) { o = o + c * prm[16 + d]; }
    srcO = srcO + c * prm[24 + d];
  }
  var k = e;
  if (prm[3] == 1) { k = (e / u32(prm[4])) % u32(prm[5]); }
  srcAt = u32(srcO);
  return u32(o + idx[k] * prm[16 + dim]);
}
`;

function indexMeta(space: readonly number[], dim: number, tableStrides: readonly number[], srcStrides: readonly number[] | null, rows: { inner: number; entries: number } | null): Int32Array {
  const prm = new Int32Array(32);
  let n = 1;
  for (const s of space) n *= s;
  prm[0] = n;
  prm[1] = space.length;
  prm[2] = dim;
  prm[3] = rows ? 1 : 0;
  prm[4] = rows?.inner ?? 1;
  prm[5] = rows?.entries ?? 1;
  for (let d = 0; d < space.length; d++) {
    prm[8 + d] = space[d]!;
    prm[16 + d] = tableStrides[d]!;
    prm[24 + d] = srcStrides?.[d] ?? 0;
  }
  return prm;
}

/**
 * out[e] = x[target(e)] over the index space `space` (gather: index's shape, dim, x's strides;
 * indexSelect: [outer, n, inner], dim 1, with `rows`).
 */
export function gather(ctx: GpuContext, x: GpuStorage, index: GpuStorage, space: readonly number[], dim: number, xStrides: readonly number[], rows: { inner: number; entries: number } | null, dtype: DType): GpuStorage {
  const ty = wgslType(dtype);
  const prm = indexMeta(space, dim, xStrides, null, rows);
  const out = ctx.storage(prm[0]!, dtype);
  if (prm[0] === 0) return out;
  const code = () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<${ty}>;
@group(0) @binding(2) var<storage, read> x: array<${ty}>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;
var<private> srcAt: u32;
${INDEX_MAP}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 256u;
  if (e >= u32(prm[0])) { return; }
  out[e] = x[target_(e)];
}`;
  const m = ctx.metaBuffer(prm);
  ctx.dispatch(ctx.pipeline(`gather:${ty}`, code), [m.buffer, out.buffer, x.buffer, index.buffer], Math.ceil(prm[0]! / 256));
  ctx.release(m.buffer, m.bytes);
  return out;
}

/**
 * A copy of self (`selfLength` elements) with src[srcAt(e)] added at target(e) for every e of
 * the index space (scatterAdd: index's shape, self's and src's strides; indexAdd: [outer, n, inner]
 * with `rows`, src contiguous of that shape).
 */
export function scatterAdd(
  ctx: GpuContext, self: GpuStorage, selfLength: number, index: GpuStorage, src: GpuStorage, space: readonly number[], dim: number,
  selfStrides: readonly number[], srcStrides: readonly number[], rows: { inner: number; entries: number } | null, dtype: DType,
): GpuStorage {
  const ty = wgslType(dtype);
  const out = copy(ctx, { storage: self, offset: 0, strides: null }, [selfLength], dtype);
  const prm = indexMeta(space, dim, selfStrides, srcStrides, rows);
  if (prm[0] === 0) return out;
  const add = ty === 'i32'
    ? 'atomicAdd(&out[t], v);'
    : `var old = atomicLoad(&out[t]);
  loop {
    let r = atomicCompareExchangeWeak(&out[t], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }`;
  const code = () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<atomic<${ty === 'i32' ? 'i32' : 'u32'}>>;
@group(0) @binding(2) var<storage, read> src: array<${ty}>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;
var<private> srcAt: u32;
${INDEX_MAP}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 256u;
  if (e >= u32(prm[0])) { return; }
  let t = target_(e);
  let v = src[srcAt];
  ${add}
}`;
  const m = ctx.metaBuffer(prm);
  ctx.dispatch(ctx.pipeline(`scatterAdd:${ty}`, code), [m.buffer, out.buffer, src.buffer, index.buffer], Math.ceil(prm[0]! / 256));
  ctx.release(m.buffer, m.bytes);
  return out;
}

// ---- fused optimizer updates ----------------------------------------------------------------

/** The buffers a fused update reads and writes: contiguous runs of n elements from their offsets. */
export interface StepOperand {
  storage: GpuStorage;
  offset: number;
}

function runStep(ctx: GpuContext, key: string, code: () => string, n: number, ints: number[], floats: number[], operands: readonly StepOperand[]): void {
  if (n === 0) return;
  const prm = new Int32Array(16 + floats.length);
  prm[0] = n;
  operands.forEach((o, k) => (prm[1 + k] = o.offset));
  ints.forEach((v, k) => (prm[8 + k] = v));
  new Float32Array(prm.buffer, 64, floats.length).set(floats);
  const m = ctx.metaBuffer(prm);
  ctx.dispatch(ctx.pipeline(key, code), [m.buffer, ...operands.map((o) => o.storage.buffer)], Math.ceil(n / 256));
  ctx.release(m.buffer, m.bytes);
}

/**
 * One Adam / AdamW step over a parameter in one dispatch, as backend/reference-optim.ts's
 * adamStep in float32: d = sign·g (+ l2·θ); θ ·= shrink; m ← β₁m + (1 − β₁)d; v ← β₂v + (1 − β₂)d²;
 * v̂ ← max(v̂, v) (amsgrad, NaN propagating as the host's); θ += negStepSize·m / (√v̂ / bias2Sqrt + eps).
 * prm: [0] n, [1..5] offsets of θ, g, m, v, v̂; floats from [16]: β₁, β₂, 1 − β₁, 1 − β₂, eps, negStepSize, bias2Sqrt, l2, shrink, sign.
 */
export function adamStep(
  ctx: GpuContext, n: number, p: StepOperand, g: StepOperand, m: StepOperand, v: StepOperand, vMax: StepOperand | null,
  a: { beta1: number; beta2: number; eps: number; negStepSize: number; bias2Sqrt: number; l2: number; shrink: number; sign: number },
): void {
  const ams = vMax !== null;
  const code = () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
${ams ? '@group(0) @binding(5) var<storage, read_write> vmax: array<f32>;' : ''}
${SPECIALS}
fn f(k: i32) -> f32 { return bitcast<f32>(prm[16 + k]); }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u32(prm[0])) { return; }
  let ip = u32(prm[1]) + i; let ig = u32(prm[2]) + i; let im = u32(prm[3]) + i; let iv = u32(prm[4]) + i;
  let l2 = f(7); let shrink = f(8);
  var x = p[ip];
  var d = f(9) * g[ig];
  if (l2 != 0.0) { d = d + l2 * x; }
  if (shrink != 1.0) { x = x * shrink; }
  let mi = m[im] * f(0) + f(2) * d;
  let vi = v[iv] * f(1) + f(3) * d * d;
  m[im] = mi;
  v[iv] = vi;
  var second = vi;
  ${ams ? `let ix = u32(prm[5]) + i;
  var mx = vmax[ix];
  if (isnan_(mx) || isnan_(second) || mx < second) { mx = second; }
  vmax[ix] = mx;
  second = mx;` : ''}
  let denom = sqrt(second) / f(6) + f(4);
  p[ip] = x + (f(5) * mi) / denom;
}`;
  const floats = [a.beta1, a.beta2, 1 - a.beta1, 1 - a.beta2, a.eps, a.negStepSize, a.bias2Sqrt, a.l2, a.shrink, a.sign];
  runStep(ctx, `adamStep:${ams}`, code, n, [], floats, ams ? [p, g, m, v, vMax] : [p, g, m, v]);
}

/**
 * One SGD step in one dispatch, as the host's sgdStep in float32: d = sign·g (+ wd·θ); with a
 * momentum buffer b ← d (first step) or momentum·b + (1 − dampening)·d, d ← d + momentum·b
 * (nesterov) or b; θ −= lr·d. prm: [0] n, [1..3] offsets of θ, g, b; [8] first, [9] nesterov;
 * floats from [16]: lr, momentum, 1 − dampening, weightDecay, sign.
 */
export function sgdStep(
  ctx: GpuContext, n: number, p: StepOperand, g: StepOperand, buf: StepOperand | null,
  a: { first: boolean; lr: number; momentum: number; dampening: number; nesterov: boolean; weightDecay: number; sign: number },
): void {
  const hasBuf = buf !== null;
  const code = () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
${hasBuf ? '@group(0) @binding(3) var<storage, read_write> b: array<f32>;' : ''}
fn f(k: i32) -> f32 { return bitcast<f32>(prm[16 + k]); }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u32(prm[0])) { return; }
  let ip = u32(prm[1]) + i;
  let x = p[ip];
  var d = f(4) * g[u32(prm[2]) + i];
  let wd = f(3);
  if (wd != 0.0) { d = d + wd * x; }
  ${hasBuf ? `let ib = u32(prm[3]) + i;
  var bi = d;
  if (prm[8] == 0) { bi = f(1) * b[ib] + f(2) * d; }
  b[ib] = bi;
  if (prm[9] != 0) { d = d + f(1) * bi; } else { d = bi; }` : ''}
  p[ip] = x - f(0) * d;
}`;
  const floats = [a.lr, a.momentum, 1 - a.dampening, a.weightDecay, a.sign];
  runStep(ctx, `sgdStep:${hasBuf}`, code, n, [a.first ? 1 : 0, a.nesterov ? 1 : 0], floats, hasBuf ? [p, g, buf] : [p, g]);
}

// ---- seeded random fills (a stream of the device's own) ------------------------------------------

/**
 * n draws of a counter-based generator: element i is a hash of (seed, i) (two rounds of the PCG
 * output permutation over the seed's two words and the counter), so every thread computes its
 * own without state. 'rand': uniform in [0, 1) on 24 bits; 'randn': Box–Muller over the draws
 * 2j and 2j + 1 (cos for even i, sin for odd), u₁ kept above 0. prm: [0] n, [1] seed lo, [2] seed hi, [3] normal.
 */
export function randomFill(ctx: GpuContext, n: number, seedLo: number, seedHi: number, normal: boolean): GpuStorage {
  const out = ctx.storage(n, 'float32');
  if (n === 0) return out;
  const code = () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${HELPERS}
fn pcg_(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}
fn draw_(i: u32) -> u32 { return pcg_(pcg_(i ^ bitcast<u32>(prm[1])) + bitcast<u32>(prm[2])); }
fn unit_(i: u32) -> f32 { return f32(draw_(i) >> 8u) * 5.9604644775390625e-8; }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u32(prm[0])) { return; }
  if (prm[3] == 0) { out[i] = unit_(i); return; }
  let j = i & ~1u;
  let u = (f32(draw_(j) >> 8u) + 1.0) * 5.9604644775390625e-8;
  let v = unit_(j + 1u);
  let r = sqrt(-2.0 * log(u));
  let t = 6.283185307179586 * v;
  if ((i & 1u) == 0u) { out[i] = r * cos_(t); } else { out[i] = r * sin_(t); }
}`;
  const m = ctx.metaBuffer(new Int32Array([n, seedLo | 0, seedHi | 0, normal ? 1 : 0]));
  ctx.dispatch(ctx.pipeline('randomFill', code), [m.buffer, out.buffer], Math.ceil(n / 256));
  ctx.release(m.buffer, m.bytes);
  return out;
}

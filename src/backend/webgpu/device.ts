import type { AdamArgs, SgdArgs, TypedArray } from '../types.js';
import { DeviceError, ValueError, fmtShape } from '../../errors.js';
import type { DeviceImpl, DeviceKernel } from '../../tensor/device.js';
import type { DType } from '../../tensor/dtype.js';
import { batchOffsets, broadcastShapes, contiguousStrides, numel, sameShape } from '../../tensor/shape.js';
import { kernel } from '../dispatch.js';
import { windowNumbers } from '../window.js';
import { allocate } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import type { OpAttrs } from '../../ops/registry.js';
import { GpuContext, GpuStorage } from './context.js';
import * as K from './kernels.js';

/**
 * The 'webgpu' device: which primitive ops run as WGSL kernels (forward below, one case per op,
 * saving what the op's CPU rule saves so that the shared backward rules find it), and the
 * storage plumbing the core asks of a device. An op without a case returns null: apply() then
 * runs it through the host and this device counts it (fallbacks()).
 */

type Saver = { save(...t: Tensor[]): void };

export class WebGpuDevice implements DeviceImpl {
  readonly name = 'webgpu';
  private readonly fallbackCounts = new Map<string, number>();
  private readonly scalars = new Map<string, GpuStorage>();

  /** The checking mode's comparisons not yet read back (see checkAgainstHost). */
  private pending: { what: string; shape: readonly number[]; dtype: DType; host: TypedArray; gpu: { values(): Promise<TypedArray> } }[] = [];
  /** Set in the checking mode only (initWebGPU({ check: true })). */
  readonly checkAgainstHost?: (what: string, out: Tensor, host: Tensor) => void;

  constructor(
    readonly ctx: GpuContext,
    private readonly trace: boolean,
    check = false,
  ) {
    if (check) this.checkAgainstHost = (what, out, host) => this.check(what, out, host);
  }

  /**
   * The checking mode: the host's result of an op the GPU computed is kept as the output's host
   * copy (so synchronous reads see it) and the GPU's elements, copied now, are compared with it
   * when checkResults() is awaited.
   */
  private check(what: string, out: Tensor, host: Tensor): void {
    const values = host.rowMajor(true);
    const s = out.storage as GpuStorage;
    if (out.dtype !== host.dtype || !sameShape(out.shape, host.shape)) {
      this.mismatches.push(`${what}: the GPU gave ${out.dtype} ${fmtShape(out.shape)}, the host ${host.dtype} ${fmtShape(host.shape)}`);
      return;
    }
    if (s.host === null && out.isContiguous() && out.offset === 0 && out.numel() === s.length) s.host = values;
    const c = out.isContiguous() ? out : new Tensor(K.copy(this.ctx, this.operand(out, out.shape), out.shape, out.dtype), out.shape, out.dtype);
    const gpu = this.ctx.snapshot((c.storage as GpuStorage).buffer, c.offset, c.numel(), c.dtype);
    this.pending.push({ what, shape: out.shape, dtype: out.dtype, host: values, gpu });
  }

  private mismatches: string[] = [];

  /**
   * The checking mode's verdict on the ops since the last call: one line per op whose GPU result
   * differs from the host's by more than float32 rounding (1e-4 · max(1, |host|); integers and
   * bools exactly), empty when all agree.
   */
  async checkResults(): Promise<string[]> {
    const pending = this.pending;
    this.pending = [];
    const bad = this.mismatches;
    this.mismatches = [];
    for (const p of pending) {
      const got = await p.gpu.values();
      const want = p.host;
      let worst = -1;
      let excess = 0;
      for (let i = 0; i < want.length; i++) {
        const w = want[i]!;
        const g = got[i]!;
        if (Number.isNaN(w) && Number.isNaN(g)) continue;
        const tol = p.dtype === 'float32' ? 1e-4 * Math.max(1, Math.abs(w)) : 0;
        const d = w === g ? 0 : Math.abs(g - w);
        if (!(d <= tol) && (Number.isNaN(d) || d - tol > excess || worst < 0)) {
          worst = i;
          excess = Number.isNaN(d) ? Infinity : d - tol;
        }
      }
      if (worst >= 0) {
        bad.push(`${p.what} ${p.dtype} ${fmtShape(p.shape)}: element ${worst} is ${got[worst]} on the GPU, ${want[worst]} on the host`);
      }
    }
    return bad;
  }

  upload(array: TypedArray, dtype: DType): GpuStorage {
    return this.ctx.upload(array, dtype);
  }

  hostCopy(t: Tensor): TypedArray | null {
    const s = t.storage as GpuStorage;
    const host = s.host;
    if (host === null) return null;
    const n = t.numel();
    if (t.isContiguous()) return t.offset === 0 && n === host.length ? host : host.subarray(t.offset, t.offset + n);
    const out = allocate(t.dtype, n);
    kernel('stridedCopy', n, t.dtype)(host, t.shape, t.strides, t.offset, out);
    return out;
  }

  contiguous(t: Tensor, fresh: boolean): Tensor {
    if (t.isContiguous() && !fresh) return t;
    const s = K.copy(this.ctx, this.operand(t, t.shape), t.shape, t.dtype);
    const out = new Tensor(s, t.shape, t.dtype);
    if (this.checkAgainstHost !== undefined) {
      const host = this.hostCopy(t);
      if (host !== null) this.check('contiguous', out, new Tensor(host, t.shape, t.dtype));
    }
    return out;
  }

  write(op: string, dst: Tensor, src: Tensor): void {
    const d = dst.storage as GpuStorage;
    const s = src.storage as GpuStorage;
    const before = d.host;
    d.host = null; // the host copy no longer matches
    if (this.checkAgainstHost !== undefined) {
      // The checking mode keeps the host copy up to date (the same write on the host), checked after.
      const values = this.hostCopy(src);
      if (before !== null && values !== null) {
        this.writeToDevice(op, dst, src);
        if (dst.isContiguous()) before.set(values, dst.offset);
        else kernel('stridedWrite', dst.numel(), dst.dtype)(before, dst.shape, dst.strides, dst.offset, values);
        this.check(op, new Tensor(d, [d.length], dst.dtype), new Tensor(before.slice(), [d.length], dst.dtype));
        d.host = before;
        return;
      }
    }
    this.writeToDevice(op, dst, src);
  }

  private writeToDevice(op: string, dst: Tensor, src: Tensor): void {
    const d = dst.storage as GpuStorage;
    const s = src.storage as GpuStorage;
    if (dst.isContiguous()) {
      this.ctx.copy(s.buffer, src.offset * 4, d.buffer, dst.offset * 4, dst.numel() * 4);
      return;
    }
    for (let i = 0; i < dst.ndim; i++) {
      if (dst.strides[i] === 0 && dst.shape[i]! > 1) {
        throw new ValueError(
          `${op}: unsupported operation: more than one element of the written-to tensor (shape ${fmtShape(dst.shape)}, ` +
            `strides [${dst.strides.join(', ')}]) refers to a single memory location; clone() the tensor before writing to it`,
        );
      }
    }
    K.scatterInto(this.ctx, d, dst.shape, dst.strides, dst.offset, s, dst.dtype);
  }

  noteFallback(op: string): void {
    const n = this.fallbackCounts.get(op) ?? 0;
    this.fallbackCounts.set(op, n + 1);
    if (this.trace && n === 0) console.warn(`chainrule webgpu: '${op}' has no WebGPU kernel; it ran through the host`);
  }

  /** How many times each op ran through the host. */
  fallbacks(): Record<string, number> {
    return Object.fromEntries(this.fallbackCounts);
  }

  resetFallbacks(): void {
    this.fallbackCounts.clear();
  }

  /** A GPU operand for t read at the output shape `shape` (t broadcast to it; a 0-d host tensor uploaded). */
  private operand(t: Tensor, shape: readonly number[]): K.Operand {
    let storage: GpuStorage;
    let offset = t.offset;
    if (t.deviceResident === false) {
      storage = this.scalar(t.rowMajor(false)[0]!, t.dtype);
      offset = 0;
      return { storage, offset, strides: shape.length === 0 ? null : shape.map(() => 0) };
    }
    storage = t.storage as GpuStorage;
    if (t.isContiguous() && sameShape(t.shape, shape)) return { storage, offset, strides: null };
    const lead = shape.length - t.ndim;
    const strides = shape.map((s, i) => (i < lead || (t.shape[i - lead] === 1 && s !== 1) ? 0 : t.strides[i - lead]!));
    return { storage, offset, strides };
  }

  /** One uploaded storage per scalar value and dtype (the constants of formulas: 0, 1, 0.5, ...). */
  private scalar(v: number, dtype: DType): GpuStorage {
    const key = `${dtype}:${Object.is(v, -0) ? '-0' : v}`;
    let s = this.scalars.get(key);
    if (s === undefined) {
      if (this.scalars.size > 4096) this.scalars.clear();
      const a = allocate(dtype, 1);
      a[0] = v;
      s = this.ctx.upload(a, dtype);
      this.scalars.set(key, s);
    }
    return s;
  }

  private tensor(s: GpuStorage, shape: readonly number[], dtype: DType): Tensor {
    return new Tensor(s, shape, dtype);
  }

  forward(op: string, c: Saver, inputs: readonly Tensor[], attrs: unknown): Tensor | null {
    for (const t of inputs) if (t.ndim > K.MAX_DIMS || t.dtype === 'float64') return null;
    const ctx = this.ctx;
    const [a, b] = inputs;
    switch (op) {
      case 'add': case 'sub': case 'mul': case 'div': case 'pow': case 'maximum': case 'minimum':
      case 'reluGrad': case 'tanhGrad': case 'sigmoidGrad': {
        if (!K.hasBinary(op, a!.dtype) || a!.dtype !== b!.dtype) return null;
        const shape = sameShape(a!.shape, b!.shape) ? a!.shape : broadcastShapes(op, a!.shape, b!.shape);
        const out = this.tensor(K.binary(ctx, op, this.operand(a!, shape), this.operand(b!, shape), shape, a!.dtype), shape, a!.dtype);
        if (op === 'pow') c.save(a!, b!, out);
        else if (op !== 'add' && op !== 'sub') c.save(a!, b!);
        return out;
      }
      case 'powScalarGrad': {
        if (a!.dtype !== 'float32' || b!.dtype !== 'float32') return null;
        const shape = sameShape(a!.shape, b!.shape) ? a!.shape : broadcastShapes(op, a!.shape, b!.shape);
        const { exponent } = attrs as OpAttrs['powScalarGrad'];
        c.save(a!, b!);
        return this.tensor(K.binary(ctx, op, this.operand(a!, shape), this.operand(b!, shape), shape, 'float32', exponent), shape, 'float32');
      }
      case 'neg': case 'exp': case 'log': case 'sqrt': case 'abs': case 'sin': case 'cos': case 'tanh': case 'sigmoid':
      case 'relu': case 'log1p': case 'expm1': {
        if (!K.hasUnary(op, a!.dtype)) return null;
        const out = this.tensor(K.unary(ctx, op, this.operand(a!, a!.shape), a!.shape, a!.dtype), a!.shape, a!.dtype);
        const savesOut = op === 'exp' || op === 'sqrt' || op === 'tanh' || op === 'sigmoid' || op === 'relu' || op === 'expm1';
        if (savesOut) c.save(out);
        else if (op !== 'neg') c.save(a!);
        return out;
      }
      case 'powScalar': {
        if (a!.dtype !== 'float32') return null;
        const { exponent } = attrs as OpAttrs['powScalar'];
        c.save(a!);
        const x = this.operand(a!, a!.shape);
        const s = exponent === 2 ? K.unary(ctx, 'square', x, a!.shape, 'float32') : K.binary(ctx, 'pow', x, this.operand(this.host(exponent, 'float32'), a!.shape), a!.shape, 'float32');
        return this.tensor(s, a!.shape, 'float32');
      }
      case 'clamp': {
        if (!K.hasBinary('maximum', a!.dtype)) return null;
        const { min, max } = attrs as OpAttrs['clamp'];
        c.save(a!);
        let s = K.copy(ctx, this.operand(a!, a!.shape), a!.shape, a!.dtype);
        const contiguous = (st: GpuStorage): K.Operand => ({ storage: st, offset: 0, strides: null });
        if (min !== null) s = K.binary(ctx, 'maximum', contiguous(s), this.operand(this.host(min, a!.dtype), a!.shape), a!.shape, a!.dtype);
        if (max !== null) s = K.binary(ctx, 'minimum', contiguous(s), this.operand(this.host(max, a!.dtype), a!.shape), a!.shape, a!.dtype);
        return this.tensor(s, a!.shape, a!.dtype);
      }
      case 'where': {
        const [cond, x, y] = inputs as [Tensor, Tensor, Tensor];
        if (x.dtype !== y.dtype || cond.dtype !== 'bool') return null;
        const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, x.shape), y.shape);
        c.save(cond);
        return this.tensor(K.where(ctx, this.operand(cond, shape), this.operand(x, shape), this.operand(y, shape), shape, x.dtype), shape, x.dtype);
      }
      case 'cast': {
        const { dtype } = attrs as OpAttrs['cast'];
        if (dtype === 'float64') return null;
        const x = this.operand(a!, a!.shape);
        const s = dtype === a!.dtype ? K.copy(ctx, x, a!.shape, dtype) : K.cast(ctx, x, a!.shape, a!.dtype, dtype);
        return this.tensor(s, a!.shape, dtype);
      }
      case 'contiguous':
        return this.contiguous(a!, true);
      case 'sum': case 'mean': case 'amax': case 'amin': {
        const { dims, keepdim } = attrs as OpAttrs['sum'];
        const kind = op === 'amax' ? 'max' : op === 'amin' ? 'min' : 'sum';
        if (!K.hasReduce(kind, a!.dtype) || (op === 'mean' && a!.dtype !== 'float32')) return null;
        const kept = this.reduce(kind, a!, dims, op === 'mean');
        if (kind !== 'sum') c.save(a!, kept);
        return keepdim ? kept : new Tensor(kept.storage, a!.shape.filter((_, i) => !dims.includes(i)), kept.dtype);
      }
      case 'matmul': {
        const { transA, transB } = attrs as OpAttrs['matmul'];
        if (a!.dtype !== 'float32' || b!.dtype !== 'float32') return null;
        c.save(a!, b!);
        return this.matmul(a!, b!, transA, transB, null, false);
      }
      case 'linear': {
        // The fused linear (ops/rules/fused.ts): none and relu as the matmul's epilogue, tanh and
        // sigmoid as a unary pass after it; each saves what the CPU rule saves (gelu: the host).
        const [x, w, bias] = inputs as [Tensor, Tensor, Tensor | undefined];
        const { activation } = attrs as OpAttrs['linear'];
        if (x.dtype !== 'float32' || w.dtype !== 'float32' || (bias && bias.dtype !== 'float32') || activation === 'gelu') return null;
        const relu = activation === 'relu';
        let y = this.matmul(x, w, false, true, bias ? this.contiguous(bias, false) : null, relu);
        if (activation === 'tanh' || activation === 'sigmoid') {
          y = this.tensor(K.unary(ctx, activation, this.operand(y, y.shape), y.shape, 'float32'), y.shape, 'float32');
        }
        if (activation === 'none') c.save(x, w);
        else c.save(x, w, y);
        return y;
      }
      case 'crossEntropyIndex': {
        const [x, t, w] = inputs as [Tensor, Tensor, Tensor];
        if (x.dtype !== 'float32' || t.deviceResident === false || w.deviceResident === false) return null;
        const { reduction } = attrs as OpAttrs['crossEntropyIndex'];
        const n = x.shape[0]!;
        const C = x.shape[1]!;
        const xc = this.contiguous(x, false);
        const tc = this.contiguous(t, false);
        const wc = this.contiguous(w, false);
        const { p, loss } = K.rowSoftmax(ctx, xc.storage as GpuStorage, xc.offset, n, C, false, { t: tc.storage as GpuStorage, w: wc.storage as GpuStorage });
        c.save(this.tensor(p, [n, C], 'float32'), t, w, x);
        const losses = this.tensor(loss!, [n], 'float32');
        if (reduction === 'none') return losses;
        const total = K.reduce(ctx, 'sum', loss!, 0, 1, n, 1, 'float32');
        if (reduction === 'sum') return this.tensor(total, [], 'float32');
        const wsum = K.reduce(ctx, 'sum', wc.storage as GpuStorage, wc.offset, 1, n, 1, 'float32');
        const op0 = (s: GpuStorage): K.Operand => ({ storage: s, offset: 0, strides: null });
        return this.tensor(K.binary(ctx, 'div', op0(total), op0(wsum), [], 'float32'), [], 'float32');
      }
      case 'crossEntropyIndexGrad': {
        const [g, x, p, t, w] = inputs as [Tensor, Tensor, Tensor, Tensor, Tensor];
        if (p.dtype !== 'float32' || g.dtype !== 'float32' || p.deviceResident === false || t.deviceResident === false || w.deviceResident === false) return null;
        const { reduction } = attrs as OpAttrs['crossEntropyIndexGrad'];
        c.save(g, x, t, w);
        const n = p.shape[0]!;
        const C = p.shape[1]!;
        const gs = this.whole(g);
        const ws = this.whole(w);
        const wsum = reduction === 'mean' ? K.reduce(ctx, 'sum', ws, 0, 1, n, 1, 'float32') : ws;
        const mode = reduction === 'none' ? 0 : reduction === 'mean' ? 1 : 2;
        return this.tensor(K.crossEntropyGrad(ctx, gs, this.whole(p), this.whole(t), ws, wsum, n, C, mode), [n, C], 'float32');
      }
      case 'gather': case 'indexSelect': case 'scatterAdd': case 'indexAdd': {
        // ops/rules/indexing.ts: each saves its index. Float32 and int32 tables.
        const [x, index, src] = inputs as [Tensor, Tensor, Tensor | undefined];
        const { dim } = attrs as OpAttrs['gather'];
        if ((x.dtype !== 'float32' && x.dtype !== 'int32') || index.dtype !== 'int32' || (src && src.dtype !== x.dtype)) return null;
        c.save(index);
        const ix = this.whole(index);
        const outer = numel(x.shape.slice(0, dim));
        const size = x.shape[dim]!;
        const inner = numel(x.shape.slice(dim + 1));
        const entries = index.numel();
        const rows = { inner, entries };
        const rowStrides = [size * inner, inner, 1];
        switch (op) {
          case 'gather':
            return this.tensor(K.gather(ctx, this.whole(x), ix, index.shape, dim, contiguousStrides(x.shape), null, x.dtype), index.shape, x.dtype);
          case 'indexSelect': {
            const shape = x.shape.map((s, i) => (i === dim ? entries : s));
            return this.tensor(K.gather(ctx, this.whole(x), ix, [outer, entries, inner], 1, rowStrides, rows, x.dtype), shape, x.dtype);
          }
          case 'scatterAdd':
            return this.tensor(
              K.scatterAdd(ctx, this.whole(x), x.numel(), ix, this.whole(src!), index.shape, dim, contiguousStrides(x.shape), contiguousStrides(src!.shape), null, x.dtype),
              x.shape, x.dtype,
            );
          default:
            return this.tensor(
              K.scatterAdd(ctx, this.whole(x), x.numel(), ix, this.whole(src!), [outer, entries, inner], 1, rowStrides, [entries * inner, inner, 1], rows, x.dtype),
              x.shape, x.dtype,
            );
        }
      }
      case 'im2col': case 'col2im': case 'maxPool2d': case 'maxPool2dGrad':
      case 'conv2d': case 'conv2dInputGrad': case 'conv2dWeightGrad':
        for (const t of inputs) if (t.dtype !== (op === 'maxPool2dGrad' && t === b ? 'int32' : 'float32') || t.deviceResident === false) return null;
        return this.windowOp(op, c, inputs, attrs as OpAttrs['im2col'] & OpAttrs['col2im'] & OpAttrs['conv2d']);
      default:
        return null;
    }
  }

  /**
   * The convolution and pooling primitives (ops/rules/conv.ts), float32 NCHW: im2col, col2im and
   * max pooling as window shaders; conv2d as im2col then one batched matmul per sample (W shared),
   * the bias added and relu after; its gradients as Wᵀ·gy then col2im, and gy·colsᵀ summed over
   * the samples. Each saves what the CPU rule saves.
   */
  private windowOp(op: string, c: Saver, inputs: readonly Tensor[], attrs: OpAttrs['im2col'] & OpAttrs['col2im'] & OpAttrs['conv2d']): Tensor | null {
    const ctx = this.ctx;
    const [kh, kw] = attrs.kernel as [number, number];
    const win = (planes: number, h: number, w: number): K.Window => {
      const g = windowNumbers(h, w, attrs);
      return { planes, h, w, kh, kw, sh: g.sh, sw: g.sw, ph: g.ph, pw: g.pw, dh: g.dh, dw: g.dw, oh: g.oh, ow: g.ow };
    };
    const seq = (count: number, step: number): Int32Array => Int32Array.from({ length: count }, (_, i) => i * step);
    const t = (s: GpuStorage, shape: number[], dtype: DType = 'float32'): Tensor => this.tensor(s, shape, dtype);
    switch (op) {
      case 'im2col': {
        const x = inputs[0]!;
        const [n, ch, h, w] = x.shape as [number, number, number, number];
        const g = win(n * ch, h, w);
        return t(K.im2col(ctx, this.whole(x), 0, g, attrs.padValue), [n, ch * kh * kw, g.oh * g.ow]);
      }
      case 'col2im': {
        const cols = inputs[0]!;
        const [n, rows] = cols.shape as [number, number];
        const [h, w] = attrs.size as [number, number];
        const ch = rows / (kh * kw);
        return t(K.col2im(ctx, this.whole(cols), 0, win(n * ch, h, w)), [n, ch, h, w]);
      }
      case 'maxPool2d': {
        const x = inputs[0]!;
        const [n, ch, h, w] = x.shape as [number, number, number, number];
        const g = win(n * ch, h, w);
        const { y, picks } = K.maxPool(ctx, this.whole(x), 0, g);
        c.save(t(picks, [n, ch, g.oh * g.ow], 'int32'));
        return t(y, [n, ch, g.oh, g.ow]);
      }
      case 'maxPool2dGrad': {
        const [gy, picks] = inputs as [Tensor, Tensor];
        c.save(picks);
        const [n, ch] = gy.shape as [number, number];
        const [h, w] = attrs.size as [number, number];
        return t(K.maxPoolGrad(ctx, this.whole(gy), 0, this.whole(picks), 0, win(n * ch, h, w)), [n, ch, h, w]);
      }
      case 'conv2d': {
        const [x, w, bias] = inputs as [Tensor, Tensor, Tensor | undefined];
        const act = attrs.activation;
        if (act !== 'none' && act !== 'relu') return null;
        const [n, ch, h, wd] = x.shape as [number, number, number, number];
        const o = w.shape[0]!;
        const g = win(n * ch, h, wd);
        const k = ch * kh * kw;
        const l = g.oh * g.ow;
        const cols = K.im2col(ctx, this.whole(x), 0, g, 0);
        let y = K.matmul(ctx, { m: o, n: l, k, a: this.whole(w), b: cols, transA: false, transB: false, aOffsets: seq(n, 0), bOffsets: seq(n, k * l), bias: null, relu: act === 'relu' && !bias });
        const shape = [n, o, l];
        if (bias) {
          y = K.binary(ctx, 'add', { storage: y, offset: 0, strides: null }, { storage: this.whole(bias), offset: 0, strides: [0, 1, 0] }, shape, 'float32');
          if (act === 'relu') y = K.unary(ctx, 'relu', { storage: y, offset: 0, strides: null }, shape, 'float32');
        }
        const out = t(y, [n, o, g.oh, g.ow]);
        c.save(x, w, ...(act === 'relu' ? [out] : []), t(cols, [n, k, l]));
        return out;
      }
      case 'conv2dInputGrad': {
        const [gy, w] = inputs as [Tensor, Tensor];
        c.save(gy, w);
        const [n, o, oh, ow] = gy.shape as [number, number, number, number];
        const [h, wd] = attrs.size as [number, number];
        const ch = w.shape[1]!;
        const k = ch * kh * kw;
        const l = oh * ow;
        const dcols = K.matmul(ctx, { m: k, n: l, k: o, a: this.whole(w), b: this.whole(gy), transA: true, transB: false, aOffsets: seq(n, 0), bOffsets: seq(n, o * l), bias: null, relu: false });
        return t(K.col2im(ctx, dcols, 0, win(n * ch, h, wd)), [n, ch, h, wd]);
      }
      case 'conv2dWeightGrad': {
        const [gy, x, saved] = inputs as [Tensor, Tensor, Tensor | undefined];
        c.save(gy, x);
        const [n, o, oh, ow] = gy.shape as [number, number, number, number];
        const [, ch, h, wd] = x.shape as [number, number, number, number];
        const k = ch * kh * kw;
        const l = oh * ow;
        const cols = saved ? this.whole(saved) : K.im2col(ctx, this.whole(x), 0, win(n * ch, h, wd), 0);
        const per = K.matmul(ctx, { m: o, n: k, k: l, a: this.whole(gy), b: cols, transA: false, transB: true, aOffsets: seq(n, o * l), bOffsets: seq(n, k * l), bias: null, relu: false });
        return t(K.reduce(ctx, 'sum', per, 0, 1, n, o * k, 'float32'), [o, ch, kh, kw]);
      }
      default:
        return null;
    }
  }

  kernel(name: DeviceKernel, args: readonly unknown[]): Tensor | null {
    const none: Saver = { save() {} };
    switch (name) {
      case 'unary': {
        const [op, x] = args as [string, Tensor];
        if (x.ndim > K.MAX_DIMS || !K.hasUnary(op, x.dtype)) return null;
        return this.tensor(K.unary(this.ctx, op, this.operand(x, x.shape), x.shape, x.dtype), x.shape, x.dtype);
      }
      case 'binary': {
        const [op, , a, b] = args as [string, string, Tensor, Tensor];
        return this.forward(op, none, [a, b], {});
      }
      case 'compare': {
        const [op, opName, a, b] = args as [string, string, Tensor, Tensor];
        if (a.dtype !== b.dtype || !K.hasCompare(op, a.dtype) || a.ndim > K.MAX_DIMS || b.ndim > K.MAX_DIMS) return null;
        const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShapes(opName, a.shape, b.shape);
        return this.tensor(K.compare(this.ctx, op, this.operand(a, shape), this.operand(b, shape), shape, a.dtype), shape, 'bool');
      }
      case 'reduce': {
        const [op, x, dims] = args as [string, Tensor, number[]];
        if (!K.hasReduce(op, x.dtype)) return null;
        return this.reduce(op, x, dims, false);
      }
      case 'where': {
        const [cond, a, b] = args as [Tensor, Tensor, Tensor];
        return this.forward('where', none, [cond, a, b], {});
      }
      case 'cast': {
        const [t, dtype] = args as [Tensor, DType];
        return this.forward('cast', none, [t], { dtype });
      }
      default:
        return null;
    }
  }

  /**
   * The fused optimizer updates (optim/fused-steps.ts, registered by initWebGPU): one dispatch
   * per parameter, writing it and its state in place. False (the optimizer then runs its
   * tensor-op update) unless every operand is a contiguous float32 GPU tensor of one size. In
   * the checking mode the host's kernel runs on the host copies as well, and the written
   * tensors are compared with it and keep its values as their host copies.
   */
  adamStep(p: Tensor, grad: Tensor, m: Tensor, v: Tensor, vMax: Tensor | null, a: Omit<AdamArgs, 'param' | 'grad' | 'expAvg' | 'expAvgSq' | 'maxExpAvgSq'>): boolean {
    const all = vMax ? [p, grad, m, v, vMax] : [p, grad, m, v];
    if (!this.stepOperands(all)) return false;
    const [op, og, om, ov, ox] = all.map((t) => ({ storage: t.storage as GpuStorage, offset: t.offset }));
    K.adamStep(this.ctx, p.numel(), op!, og!, om!, ov!, ox ?? null, a);
    this.afterStep('Adam', all, [0, 2, 3, 4], (h) =>
      kernel('adamStep', p.numel(), 'float32')({ param: h[0]!, grad: h[1]!, expAvg: h[2]!, expAvgSq: h[3]!, maxExpAvgSq: h[4] ?? null, ...a }),
    );
    return true;
  }

  sgdStep(p: Tensor, grad: Tensor, buf: Tensor | null, a: Omit<SgdArgs, 'param' | 'grad' | 'momentumBuffer'>): boolean {
    const all = buf ? [p, grad, buf] : [p, grad];
    if (!this.stepOperands(all)) return false;
    const [op, og, ob] = all.map((t) => ({ storage: t.storage as GpuStorage, offset: t.offset }));
    K.sgdStep(this.ctx, p.numel(), op!, og!, ob ?? null, a);
    this.afterStep('SGD', all, [0, 2], (h) => kernel('sgdStep', p.numel(), 'float32')({ param: h[0]!, grad: h[1]!, momentumBuffer: h[2] ?? null, ...a }));
    return true;
  }

  private stepOperands(ts: readonly Tensor[]): boolean {
    const n = ts[0]!.numel();
    return ts.every((t) => t.storage.device === this.name && t.dtype === 'float32' && t.isContiguous() && t.numel() === n);
  }

  /** The written tensors' host copies are stale (or, checking, the host's step on copies of them); their versions move on. */
  private afterStep(op: string, all: readonly Tensor[], written: readonly number[], host: (h: Float32Array[]) => void): void {
    const copies = this.checkAgainstHost !== undefined ? all.map((t) => this.hostCopy(t)) : null;
    for (const k of written) {
      const t = all[k];
      if (t === undefined) continue;
      (t.storage as GpuStorage).host = null;
      t.storage.version++;
    }
    if (copies === null || copies.includes(null)) return;
    const h = copies.map((c) => (c as Float32Array).slice());
    host(h);
    for (const k of written) if (all[k] !== undefined) this.check(op, all[k]!, new Tensor(h[k]!, all[k]!.shape, 'float32'));
  }

  /** A storage holding exactly t's elements, row-major from 0 (t's own when it already is that). */
  private whole(t: Tensor): GpuStorage {
    if (t.deviceResident === false) return this.scalar(t.rowMajor(false)[0]!, t.dtype);
    if (t.isContiguous() && t.offset === 0) return t.storage as GpuStorage;
    return this.contiguous(t, true).storage as GpuStorage;
  }

  private host(v: number, dtype: DType): Tensor {
    const a = allocate(dtype, 1);
    a[0] = v;
    return new Tensor(a, [], dtype);
  }

  /** Reduce over sorted, normalised dims (kept as size 1), one pass per run of adjacent dims, as the host reduceK. */
  private reduce(op: string, x: Tensor, dims: readonly number[], mean: boolean): Tensor {
    const xc = this.contiguous(x, false);
    const shape = [...x.shape];
    let count = 1;
    for (const d of dims) count *= shape[d]!;
    if (dims.length === 0) return this.contiguous(x, true);
    let storage = xc.storage as GpuStorage;
    let offset = xc.offset;
    const sorted = [...dims].sort((p, q) => q - p);
    let i = 0;
    while (i < sorted.length) {
      let lo = sorted[i]!;
      const hi = lo;
      while (i + 1 < sorted.length && sorted[i + 1] === lo - 1) lo = sorted[++i]!;
      i++;
      let outer = 1;
      let size = 1;
      let inner = 1;
      for (let d = 0; d < shape.length; d++) {
        if (d < lo) outer *= shape[d]!;
        else if (d <= hi) size *= shape[d]!;
        else inner *= shape[d]!;
      }
      const last = i >= sorted.length;
      storage = K.reduce(this.ctx, op, storage, offset, outer, size, inner, x.dtype, mean && last ? 1 / count : 1);
      offset = 0;
      for (let d = lo; d <= hi; d++) shape[d] = 1;
    }
    return this.tensor(storage, shape, x.dtype);
  }

  /**
   * op(A)·op(B) over broadcast batch dims. A transposed view (w.t(), the backward's operands)
   * is read with its flag flipped; a matrix neither row- nor column-major is copied first.
   */
  private matmul(a: Tensor, b: Tensor, transA: boolean, transB: boolean, bias: Tensor | null, relu: boolean): Tensor {
    const ar = a.ndim;
    const br = b.ndim;
    const m = transA ? a.shape[ar - 1]! : a.shape[ar - 2]!;
    const k = transA ? a.shape[ar - 2]! : a.shape[ar - 1]!;
    const n = transB ? b.shape[br - 2]! : b.shape[br - 1]!;
    const batchShape = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
    const A = this.gemmOperand(a, transA, batchShape);
    const B = this.gemmOperand(b, transB, batchShape);
    const [aOffsets, bOffsets] = batchOffsets(batchShape, A.offset, A.batchStrides, B.offset, B.batchStrides);
    const s = K.matmul(this.ctx, {
      m, n, k, a: A.storage, b: B.storage, transA: A.trans, transB: B.trans, aOffsets, bOffsets,
      bias: bias ? this.whole(bias) : null, relu,
    });
    return this.tensor(s, [...batchShape, m, n], 'float32');
  }

  private gemmOperand(x: Tensor, trans: boolean, batchShape: readonly number[]): { storage: GpuStorage; trans: boolean; offset: number; batchStrides: number[] } {
    let t = x;
    let layout = matrixLayout(t);
    if (layout === null) {
      t = this.contiguous(x, true);
      layout = 'rows';
    }
    const nb = t.ndim - 2;
    const lead = batchShape.length - nb;
    const batchStrides = batchShape.map((_, i) => (i < lead || t.shape[i - lead] === 1 ? 0 : t.strides[i - lead]!));
    return { storage: t.storage as GpuStorage, trans: layout === 'cols' ? !trans : trans, offset: t.offset, batchStrides };
  }
}

/** As ops/kernels.ts's: whether x's matrices are row-major, column-major (a transposed view), or neither. */
function matrixLayout(x: Tensor): 'rows' | 'cols' | null {
  const nd = x.ndim;
  const r = x.shape[nd - 2]!;
  const c = x.shape[nd - 1]!;
  const sr = x.strides[nd - 2]!;
  const sc = x.strides[nd - 1]!;
  if ((c === 1 || sc === 1) && (r === 1 || sr === c)) return 'rows';
  if ((r === 1 || sr === 1) && (c === 1 || sc === r)) return 'cols';
  return null;
}

export { DeviceError };

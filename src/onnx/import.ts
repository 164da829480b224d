import { noGrad } from '../autograd/grad-mode.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { linear } from '../nn/functional/basic.js';
import { avgPool2d, conv2d, maxPool2d } from '../nn/functional/conv.js';
import { conv1d, convTranspose1d, convTranspose2d } from '../nn/functional/conv-transpose.js';
import { interpolate } from '../nn/functional/extra.js';
import { batchNorm, layerNorm } from '../nn/functional/norm.js';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { cat, slice, stack } from '../ops/shape-functional.js';
import { full, tensor, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { OnnxError } from './errors.js';
import { AttrType, DataType, ModelProto, toNum, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './schema.js';

const INT32_MAX = 2 ** 31 - 1;

/** A TensorProto's values as a chainrule tensor (int64 and the small integer types become int32). */
function readTensor(t: OnnxTensor, who: string): Tensor {
  const dims = (t.dims ?? []).map(toNum);
  const n = dims.reduce((a, b) => a * b, 1);
  const name = t.name ? `"${t.name}"` : 'a tensor';
  if (t.dataLocation === 1) throw new OnnxError(`${who}: ${name} keeps its data in an external file, which importOnnx does not read`);
  // A copy of its own: decoded bytes may be a view into a larger (pooled, unaligned) buffer.
  const raw = t.rawData && t.rawData.length ? new Uint8Array(t.rawData) : null;
  const fromRaw = <A>(ctor: { new (b: ArrayBuffer, o: number, l: number): A; BYTES_PER_ELEMENT: number }): A | null => {
    if (!raw) return null;
    if (raw.byteLength !== n * ctor.BYTES_PER_ELEMENT) {
      throw new OnnxError(`${who}: ${name} of shape ${fmtShape(dims)} has ${raw.byteLength} bytes of raw data, expected ${n * ctor.BYTES_PER_ELEMENT}`);
    }
    return new ctor(raw.buffer as ArrayBuffer, 0, n);
  };
  const check = (len: number) => {
    if (len !== n) throw new OnnxError(`${who}: ${name} of shape ${fmtShape(dims)} holds ${len} values, expected ${n}`);
  };
  const ints = (vals: ArrayLike<number | bigint>): Int32Array => {
    const out = new Int32Array(vals.length);
    for (let i = 0; i < vals.length; i++) {
      // int64 "infinities" (Slice ends and the like) saturate at the int32 range.
      const v = Number(vals[i]!);
      out[i] = Math.max(-INT32_MAX - 1, Math.min(INT32_MAX, v));
    }
    return out;
  };
  let data: Float32Array | Float64Array | Int32Array | Uint8Array;
  let dtype: DType;
  switch (t.dataType) {
    case DataType.FLOAT:
      data = fromRaw(Float32Array) ?? Float32Array.from(t.floatData ?? []);
      dtype = 'float32';
      break;
    case DataType.DOUBLE:
      data = fromRaw(Float64Array) ?? Float64Array.from(t.doubleData ?? []);
      dtype = 'float64';
      break;
    case DataType.INT64:
      data = ints(fromRaw(BigInt64Array) ?? (t.int64Data ?? []).map(toNum));
      dtype = 'int32';
      break;
    case DataType.INT32:
    case DataType.INT16:
    case DataType.INT8:
    case DataType.UINT8:
      data = raw
        ? ints(t.dataType === DataType.INT32 ? fromRaw(Int32Array)! : t.dataType === DataType.INT16 ? fromRaw(Int16Array)! : t.dataType === DataType.INT8 ? fromRaw(Int8Array)! : fromRaw(Uint8Array)!)
        : Int32Array.from(t.int32Data ?? []);
      dtype = 'int32';
      break;
    case DataType.BOOL:
      data = raw ? fromRaw(Uint8Array)! : Uint8Array.from(t.int32Data ?? []);
      dtype = 'bool';
      break;
    default:
      throw new OnnxError(`${who}: ${name} has ONNX data type ${t.dataType}, which importOnnx does not read (float, double, int64, int32, int16, int8, uint8, bool)`);
  }
  check(data.length);
  return tensor(data, { shape: dims, dtype });
}

function onnxDType(code: number | undefined): DType | null {
  switch (code) {
    case DataType.FLOAT: return 'float32';
    case DataType.DOUBLE: return 'float64';
    case DataType.INT64: case DataType.INT32: case DataType.INT16: case DataType.INT8: case DataType.UINT8: return 'int32';
    case DataType.BOOL: return 'bool';
    default: return null;
  }
}

/** One node, with the attribute readers its op needs. */
class NodeView {
  readonly attrs = new Map<string, OnnxAttribute>();
  readonly label: string;
  constructor(readonly node: OnnxNode, readonly opset: number) {
    for (const a of node.attribute ?? []) this.attrs.set(a.name ?? '', a);
    this.label = `${node.opType}${node.name ? ` node "${node.name}"` : ''}`;
  }
  get op(): string { return this.node.opType ?? ''; }
  get inputs(): string[] { return this.node.input ?? []; }
  get outputs(): string[] { return this.node.output ?? []; }
  has(name: string): boolean { return this.attrs.has(name); }
  int(name: string, def: number): number {
    const a = this.attrs.get(name);
    return a ? toNum(a.i) : def;
  }
  float(name: string, def: number): number {
    const a = this.attrs.get(name);
    return a ? (a.f ?? 0) : def;
  }
  ints(name: string): number[] | null {
    const a = this.attrs.get(name);
    return a ? (a.ints ?? []).map(toNum) : null;
  }
  str(name: string, def: string): string {
    const a = this.attrs.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : def;
  }
}

/** Values read back to numbers (shapes, axes, exponents): these inputs must be known on the host. */
function values(t: Tensor): number[] {
  return Array.from(t.contiguous().typedData as ArrayLike<number>, Number);
}

const prod = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);

function normAxis(who: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new OnnxError(`${who}: axis ${axis} is out of range for a ${rank}-d input`);
  return a;
}

type Inputs = (Tensor | undefined)[];
interface OpImpl {
  /** A setting this importer cannot follow, found before anything runs; null when fine. */
  check?(n: NodeView): string | null;
  run(n: NodeView, x: Inputs): Tensor[];
}

const req = (n: NodeView, x: Inputs, i: number): Tensor => {
  const t = x[i];
  if (!t) throw new OnnxError(`importOnnx: ${n.label} needs input ${i}, which is missing`);
  return t;
};
const unary = (f: (t: Tensor, n: NodeView) => Tensor): OpImpl => ({ run: (n, x) => [f(req(n, x, 0), n)] });
const binary = (f: (a: Tensor, b: Tensor) => Tensor): OpImpl => ({ run: (n, x) => [f(req(n, x, 0), req(n, x, 1))] });

/** Only 2-D windows with explicit, symmetric padding; ceil_mode is checked against the input when it runs. */
function windowCheck(n: NodeView): string | null {
  const k = n.ints('kernel_shape');
  const conv = n.op === 'Conv' || n.op === 'ConvTranspose';
  if (!k && !conv) return 'the kernel_shape attribute is missing';
  if (k && k.length !== 2 && !(conv && k.length === 1)) return `${k.length}-d kernel_shape [${k.join(',')}]: only 2-d windows${conv ? ' and 1-d convolutions' : ''} are supported`;
  const rank = k?.length ?? 2;
  const names = n.op === 'ConvTranspose' ? [['strides', rank], ['dilations', rank], ['pads', 2 * rank], ['output_padding', rank]] as const : [['strides', rank], ['dilations', rank], ['pads', 2 * rank]] as const;
  for (const [name, len] of names) {
    const v = n.ints(name);
    if (v && v.length !== len) return `${name} [${v.join(',')}] should have ${len} values for a ${rank}-d window`;
  }
  const autoPad = n.str('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') return `auto_pad ${autoPad} is not supported (only NOTSET and VALID)`;
  const p = n.ints('pads');
  if (p && p.some((v, i) => i < p.length / 2 && v !== p[i + p.length / 2])) return `asymmetric pads [${p.join(',')}] are not supported`;
  if (n.outputs.length > 1 && n.outputs[1]) return 'a second output (the indices) is not supported';
  return null;
}

function windowParams(n: NodeView, x: Tensor, kernel: number[]) {
  if (x.ndim !== 4) throw new ShapeError(`importOnnx: ${n.label} expects a 4-d [N,C,H,W] input, got shape ${fmtShape(x.shape)}`);
  const stride = n.ints('strides') ?? [1, 1];
  const dilation = n.ints('dilations') ?? [1, 1];
  const pads = n.str('auto_pad', 'NOTSET') === 'VALID' ? [0, 0, 0, 0] : (n.ints('pads') ?? [0, 0, 0, 0]);
  const padding: [number, number] = [pads[0]!, pads[1]!];
  if (n.int('ceil_mode', 0) === 1) {
    // Rounding the output size up only matters where the last window would start past the edge.
    for (let d = 0; d < 2; d++) {
      const span = x.shape[2 + d]! + 2 * padding[d]! - dilation[d]! * (kernel[d]! - 1) - 1;
      if (span % stride[d]! !== 0) {
        throw new OnnxError(`importOnnx: ${n.label} uses ceil_mode 1, which changes the output size for input shape ${fmtShape(x.shape)}; only floor rounding is supported`);
      }
    }
  }
  return { stride: stride as [number, number], padding, dilation: dilation as [number, number] };
}

function conv1dParams(n: NodeView, x: Tensor) {
  if (x.ndim !== 3) throw new ShapeError(`importOnnx: ${n.label} expects a 3-d [N,C,L] input, got shape ${fmtShape(x.shape)}`);
  const pads = n.str('auto_pad', 'NOTSET') === 'VALID' ? [0, 0] : (n.ints('pads') ?? [0, 0]);
  return { stride: (n.ints('strides') ?? [1])[0]!, padding: pads[0]!, dilation: (n.ints('dilations') ?? [1])[0]! };
}

/**
 * ONNX LSTM / GRU / RNN (layout 0: X [L, N, F]) computed step by step with chainrule's ops, so
 * it differentiates and trains. Gates in ONNX's order: LSTM i o f c, GRU z r h. Outputs
 * Y [L, D, N, H], Y_h [D, N, H] (and Y_c for the LSTM).
 */
function recurrent(kind: 'LSTM' | 'GRU' | 'RNN'): OpImpl {
  const gates = kind === 'LSTM' ? 4 : kind === 'GRU' ? 3 : 1;
  return {
    check(n) {
      const dir = n.str('direction', 'forward');
      if (!['forward', 'reverse', 'bidirectional'].includes(dir)) return `direction ${dir} is not one of forward, reverse, bidirectional`;
      if (!n.has('hidden_size')) return 'the hidden_size attribute is missing';
      if (n.has('clip')) return 'clip is not supported';
      if (n.int('layout', 0) !== 0) return 'layout 1 (batch first) is not supported';
      if (kind === 'LSTM' && n.int('input_forget', 0) !== 0) return 'input_forget 1 is not supported';
      if (kind === 'LSTM' && n.inputs[7]) return 'peephole weights (input P) are not supported';
      if (n.inputs[4]) return 'sequence_lens (input 4) is not supported: every sequence is taken at full length';
      const acts = n.attrs.get('activations')?.strings?.map((b) => new TextDecoder().decode(b).toLowerCase());
      if (acts) {
        const D = dir === 'bidirectional' ? 2 : 1;
        const defaults = kind === 'LSTM' ? ['sigmoid', 'tanh', 'tanh'] : kind === 'GRU' ? ['sigmoid', 'tanh'] : null;
        const ok = defaults ? acts.length === defaults.length * D && acts.every((a, i) => a === defaults[i % defaults.length]) : acts.length === D && acts.every((a) => a === 'tanh' || a === 'relu') && acts.every((a) => a === acts[0]);
        if (!ok) return `activations [${acts.join(', ')}] are not supported (${defaults ? `only the defaults ${defaults.join(', ')}` : 'Tanh or Relu, the same for both directions'})`;
      }
      return null;
    },
    run(n, x) {
      const who = `importOnnx: ${n.label}`;
      const X = req(n, x, 0);
      const W = req(n, x, 1);
      const R = req(n, x, 2);
      const B = x[3];
      const H = n.int('hidden_size', 0);
      const dir = n.str('direction', 'forward');
      const D = dir === 'bidirectional' ? 2 : 1;
      if (X.ndim !== 3) throw new ShapeError(`${who}: X must be [seq, batch, features], got shape ${fmtShape(X.shape)}`);
      const [L, N, F] = X.shape as [number, number, number];
      const G = gates * H;
      const want = (t: Tensor | undefined, name: string, shape: number[]) => {
        if (t && (t.ndim !== shape.length || t.shape.some((d, i) => d !== shape[i]))) throw new ShapeError(`${who}: ${name} must have shape ${fmtShape(shape)}, got ${fmtShape(t.shape)}`);
      };
      want(W, 'W', [D, G, F]);
      want(R, 'R', [D, G, H]);
      want(B, 'B', [D, 2 * G]);
      want(x[5], 'initial_h', [D, N, H]);
      if (kind === 'LSTM') want(x[6], 'initial_c', [D, N, H]);
      const relu = kind === 'RNN' && new TextDecoder().decode(n.attrs.get('activations')?.strings?.[0] ?? new Uint8Array()).toLowerCase() === 'relu';
      const beforeReset = n.int('linear_before_reset', 0) === 1;
      const ys: Tensor[] = [];
      const hs: Tensor[] = [];
      const cs: Tensor[] = [];
      for (let d = 0; d < D; d++) {
        const reverse = dir === 'reverse' || d === 1;
        const w = W.select(0, d);
        const r = R.select(0, d);
        const wb = B ? B.select(0, d).narrow(0, 0, G) : null;
        const rb = B ? B.select(0, d).narrow(0, G, G) : null;
        const xp = linear(X.reshape([L * N, F]), w, wb).reshape([L, N, G]);
        // Initial states in X's type (a float32 ConstantOfShape stays float32 when the module is made float64).
        let h = x[5] ? x[5].select(0, d).to(X.dtype) : zeros([N, H], { dtype: X.dtype });
        let c = kind === 'LSTM' ? (x[6] ? x[6].select(0, d).to(X.dtype) : zeros([N, H], { dtype: X.dtype })) : null;
        const steps = new Array<Tensor>(L);
        for (let i = 0; i < L; i++) {
          const t = reverse ? L - 1 - i : i;
          const xt = xp.select(0, t);
          if (kind === 'LSTM') {
            const g = xt.add(linear(h, r, rb));
            const ig = g.narrow(1, 0, H).sigmoid();
            const og = g.narrow(1, H, H).sigmoid();
            const fg = g.narrow(1, 2 * H, H).sigmoid();
            const cg = g.narrow(1, 3 * H, H).tanh();
            c = fg.mul(c!).add(ig.mul(cg));
            h = og.mul(c.tanh());
          } else if (kind === 'GRU') {
            const z = xt.narrow(1, 0, H).add(linear(h, r.narrow(0, 0, H), rb ? rb.narrow(0, 0, H) : null)).sigmoid();
            const rg = xt.narrow(1, H, H).add(linear(h, r.narrow(0, H, H), rb ? rb.narrow(0, H, H) : null)).sigmoid();
            const rh = r.narrow(0, 2 * H, H);
            const rbh = rb ? rb.narrow(0, 2 * H, H) : null;
            const hh = beforeReset ? rg.mul(linear(h, rh, rbh)) : linear(rg.mul(h), rh, rbh);
            const cand = xt.narrow(1, 2 * H, H).add(hh).tanh();
            // (1 − z)·h̃ + z·h
            h = cand.add(z.mul(h.sub(cand)));
          } else {
            const a = xt.add(linear(h, r, rb));
            h = relu ? a.relu() : a.tanh();
          }
          steps[t] = h;
        }
        if (L === 0) throw new ShapeError(`${who}: the sequence is empty (X has shape ${fmtShape(X.shape)})`);
        ys.push(stack(steps, 0));
        hs.push(h);
        if (c) cs.push(c);
      }
      const outs = [stack(ys, 1), stack(hs, 0)];
      if (kind === 'LSTM') outs.push(stack(cs, 0));
      return outs;
    },
  };
}

function softmaxLike(kind: 'softmax' | 'logSoftmax'): OpImpl {
  return {
    run(n, x) {
      const t = req(n, x, 0);
      const f = (u: Tensor, d: number) => (kind === 'softmax' ? u.softmax(d) : u.logSoftmax(d));
      if (n.opset >= 13) return [f(t, normAxis(n.label, n.int('axis', -1), t.ndim))];
      // Before opset 13 the input is seen as 2-d [before axis, from axis on].
      const a = normAxis(n.label, n.int('axis', 1), t.ndim);
      return [f(t.reshape([prod(t.shape.slice(0, a)), prod(t.shape.slice(a))]), 1).reshape([...t.shape])];
    },
  };
}

function axesOf(n: NodeView, x: Inputs, inputIndex: number): number[] | null {
  if (n.opset >= 13 && x[inputIndex]) return values(x[inputIndex]!);
  return n.ints('axes');
}

function reduce(kind: 'mean' | 'sum' | 'max'): OpImpl {
  return {
    run(n, x) {
      const t = req(n, x, 0);
      // ReduceSum takes its axes as an input from opset 13, the others from opset 18 (past what this reads).
      const axes = kind === 'sum' ? axesOf(n, x, 1) : n.ints('axes');
      const keep = n.int('keepdims', 1) === 1;
      const dims = axes && axes.length ? axes.map((a) => normAxis(n.label, a, t.ndim)) : t.shape.map((_, i) => i);
      if (kind === 'mean') return [t.mean(dims, keep)];
      if (kind === 'sum') return [t.sum(dims, keep)];
      return [t.amax(dims, keep)];
    },
  };
}

const OPS: Record<string, OpImpl> = {
  Identity: unary((t) => t),
  Dropout: {
    check: (n) => (n.outputs.length > 1 && n.outputs[1] ? 'the mask output is not supported' : null),
    // Inference semantics: an exported model's Dropout is the identity.
    run: (n, x) => [req(n, x, 0)],
  },
  Relu: unary((t) => t.relu()),
  Sigmoid: unary((t) => t.sigmoid()),
  Tanh: unary((t) => t.tanh()),
  Exp: unary((t) => t.exp()),
  Log: unary((t) => t.log()),
  Sqrt: unary((t) => t.sqrt()),
  Neg: unary((t) => t.neg()),
  Abs: unary((t) => t.abs()),
  Erf: unary((t) => t.erf()),
  Reciprocal: unary((t) => t.reciprocal()),
  Softplus: unary((t) => t.softplus()),
  LeakyRelu: unary((t, n) => t.leakyRelu(n.float('alpha', 0.01))),
  Elu: unary((t, n) => t.elu(n.float('alpha', 1))),
  Softmax: softmaxLike('softmax'),
  LogSoftmax: softmaxLike('logSoftmax'),
  Add: binary((a, b) => a.add(b)),
  Sub: binary((a, b) => a.sub(b)),
  Mul: binary((a, b) => a.mul(b)),
  Div: binary((a, b) => {
    const q = a.div(b);
    // Integer operands divide to an integer (truncated), as ONNX.
    return a.dtype === 'int32' && b.dtype === 'int32' ? q.to('int32') : q;
  }),
  Pow: binary((a, b) => (b.numel() === 1 && !b.requiresGrad ? a.pow(values(b)[0]!) : a.pow(b))),
  MatMul: binary((a, b) => a.matmul(b)),
  Gemm: {
    run(n, x) {
      const a = req(n, x, 0);
      const b = req(n, x, 1);
      const c = x[2];
      const alpha = n.float('alpha', 1);
      const beta = n.float('beta', 1);
      const transA = n.int('transA', 0) === 1;
      const transB = n.int('transB', 0) === 1;
      if (a.ndim !== 2 || b.ndim !== 2) throw new ShapeError(`importOnnx: ${n.label} needs 2-d A and B, got shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
      // The common case (a Linear layer) as one linear op.
      if (!transA && transB && alpha === 1 && beta === 1 && (!c || (c.ndim === 1 && c.shape[0] === b.shape[0]))) {
        return [linear(a, b, c ?? null, `importOnnx: ${n.label}`)];
      }
      let y = (transA ? a.transpose(0, 1) : a).matmul(transB ? b.transpose(0, 1) : b);
      if (alpha !== 1) y = y.mul(alpha);
      if (c) y = y.add(beta === 1 ? c : c.mul(beta));
      return [y];
    },
  },
  Conv: {
    check: windowCheck,
    run(n, x) {
      const t = req(n, x, 0);
      const w = req(n, x, 1);
      if (w.ndim === 3) {
        const o = conv1dParams(n, t);
        return [conv1d(t, w, x[2] ?? null, { ...o, groups: n.int('group', 1) }, `importOnnx: ${n.label}`)];
      }
      if (w.ndim !== 4) throw new ShapeError(`importOnnx: ${n.label}: only 1-d and 2-d convolutions are supported; the weight has shape ${fmtShape(w.shape)}`);
      const { stride, padding, dilation } = windowParams(n, t, w.shape.slice(2));
      return [conv2d(t, w, x[2] ?? null, { stride, padding, dilation, groups: n.int('group', 1) }, `importOnnx: ${n.label}`)];
    },
  },
  ConvTranspose: {
    check: (n) => windowCheck(n) ?? (n.has('output_shape') ? 'the output_shape attribute is not supported (give pads and output_padding)' : null),
    run(n, x) {
      const t = req(n, x, 0);
      const w = req(n, x, 1);
      const who = `importOnnx: ${n.label}`;
      const groups = n.int('group', 1);
      if (w.ndim === 3) {
        return [convTranspose1d(t, w, x[2] ?? null, { ...conv1dParams(n, t), outputPadding: (n.ints('output_padding') ?? [0])[0]!, groups }, who)];
      }
      if (w.ndim !== 4) throw new ShapeError(`${who}: only 1-d and 2-d transposed convolutions are supported; the weight has shape ${fmtShape(w.shape)}`);
      if (t.ndim !== 4) throw new ShapeError(`${who} expects a 4-d [N,C,H,W] input, got shape ${fmtShape(t.shape)}`);
      const pads = n.str('auto_pad', 'NOTSET') === 'VALID' ? [0, 0, 0, 0] : (n.ints('pads') ?? [0, 0, 0, 0]);
      const o = {
        stride: (n.ints('strides') ?? [1, 1]) as [number, number],
        padding: [pads[0]!, pads[1]!] as [number, number],
        dilation: (n.ints('dilations') ?? [1, 1]) as [number, number],
        outputPadding: (n.ints('output_padding') ?? [0, 0]) as [number, number],
        groups,
      };
      return [convTranspose2d(t, w, x[2] ?? null, o, who)];
    },
  },
  LSTM: recurrent('LSTM'),
  GRU: recurrent('GRU'),
  RNN: recurrent('RNN'),
  Resize: {
    check(n) {
      const mode = n.str('mode', 'nearest');
      const ctm = n.str('coordinate_transformation_mode', 'half_pixel');
      if (mode === 'nearest') {
        if (ctm !== 'asymmetric' || n.str('nearest_mode', 'round_prefer_floor') !== 'floor') {
          return `nearest mode with coordinate_transformation_mode ${ctm} and nearest_mode ${n.str('nearest_mode', 'round_prefer_floor')}: only asymmetric and floor (PyTorch's nearest) are supported`;
        }
      } else if (mode === 'linear') {
        if (!['pytorch_half_pixel', 'half_pixel', 'align_corners'].includes(ctm)) return `linear mode with coordinate_transformation_mode ${ctm} is not supported (pytorch_half_pixel, half_pixel, align_corners)`;
      } else return `mode ${mode} is not supported (nearest, linear)`;
      if (n.int('exclude_outside', 0) !== 0) return 'exclude_outside 1 is not supported';
      return null;
    },
    run(n, x) {
      const t = req(n, x, 0);
      const who = `importOnnx: ${n.label}`;
      if (t.ndim !== 4) throw new ShapeError(`${who}: only 4-d [N,C,H,W] inputs are resized, got shape ${fmtShape(t.shape)}`);
      const mode = n.str('mode', 'nearest') === 'nearest' ? 'nearest' : 'bilinear';
      const ctm = n.str('coordinate_transformation_mode', 'half_pixel');
      const alignCorners = mode === 'bilinear' ? ctm === 'align_corners' : undefined;
      const scales = x[2] && x[2].numel() ? values(x[2]) : null;
      const sizes = x[3] && x[3].numel() ? values(x[3]) : null;
      const spec = scales ?? sizes;
      if (!spec || spec.length !== 4) throw new OnnxError(`${who}: needs 4 scales or 4 sizes, got ${spec ? spec.length : 'neither'}`);
      const keep = scales ? spec[0] === 1 && spec[1] === 1 : spec[0] === t.shape[0] && spec[1] === t.shape[1];
      if (!keep) throw new OnnxError(`${who}: only the last two dims are resized; ${scales ? 'scales' : 'sizes'} [${spec.join(',')}] for input ${fmtShape(t.shape)}`);
      if (mode === 'bilinear' && ctm === 'half_pixel' && (scales ? spec.slice(2).some((v, i) => Math.floor(v * t.shape[2 + i]!) === 1) : spec.slice(2).some((v) => v === 1))) {
        throw new OnnxError(`${who}: half_pixel to an output size of 1 is not supported (pytorch_half_pixel is)`);
      }
      if (scales) return [interpolate(t, { scaleFactor: [scales[2]!, scales[3]!], mode, alignCorners })];
      return [interpolate(t, { size: [sizes![2]!, sizes![3]!], mode, alignCorners })];
    },
  },
  Slice: {
    run(n, x) {
      let t = req(n, x, 0);
      const who = `importOnnx: ${n.label}`;
      if (n.opset < 10) throw new OnnxError(`${who}: Slice before opset 10 (attributes) is not supported`);
      const starts = values(req(n, x, 1));
      const ends = values(req(n, x, 2));
      const axes = x[3] ? values(x[3]) : starts.map((_, i) => i);
      const steps = x[4] ? values(x[4]) : starts.map(() => 1);
      if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
        throw new OnnxError(`${who}: starts, ends, axes and steps must be equally long, got ${starts.length}, ${ends.length}, ${axes.length}, ${steps.length}`);
      }
      axes.forEach((a, i) => {
        const d = normAxis(who, a, t.ndim);
        if (!(steps[i]! > 0)) throw new OnnxError(`${who}: only positive steps are supported, got ${steps[i]}`);
        t = slice(t, d, Math.max(starts[i]!, -(2 ** 31)), Math.min(ends[i]!, 2 ** 31 - 1), steps[i]!);
      });
      return [t];
    },
  },
  ConstantOfShape: {
    run(n, x) {
      const shape = values(req(n, x, 0));
      const v = n.attrs.get('value')?.t;
      if (!v) return [zeros(shape)];
      const c = readTensor(v, `importOnnx: ${n.label}`);
      if (c.numel() !== 1) throw new OnnxError(`importOnnx: ${n.label}: value must hold one element, got ${c.numel()}`);
      return [full(shape, values(c)[0]!, { dtype: c.dtype })];
    },
  },
  MaxPool: {
    check: (n) => windowCheck(n) ?? (n.int('storage_order', 0) !== 0 ? 'storage_order 1 is not supported' : null),
    run(n, x) {
      const t = req(n, x, 0);
      const kernel = n.ints('kernel_shape')!;
      return [maxPool2d(t, kernel, windowParams(n, t, kernel))];
    },
  },
  AveragePool: {
    check: (n) => windowCheck(n) ?? (n.ints('dilations')?.some((d) => d !== 1) ? 'dilations are not supported' : null),
    run(n, x) {
      const t = req(n, x, 0);
      const kernel = n.ints('kernel_shape')!;
      const { stride, padding } = windowParams(n, t, kernel);
      // ONNX's default leaves the padding out of the divisor (PyTorch's includes it).
      return [avgPool2d(t, kernel, { stride, padding, countIncludePad: n.int('count_include_pad', 0) === 1 })];
    },
  },
  GlobalAveragePool: unary((t) => t.mean(t.shape.map((_, i) => i).slice(2), true)),
  GlobalMaxPool: unary((t) => t.amax(t.shape.map((_, i) => i).slice(2), true)),
  BatchNormalization: {
    check: (n) => (n.int('training_mode', 0) !== 0 || (n.outputs.length > 1 && n.outputs.slice(1).some(Boolean)) ? 'training mode (running-statistics outputs) is not supported' : null),
    run(n, x) {
      const [t, scale, bias, mean, variance] = [0, 1, 2, 3, 4].map((i) => req(n, x, i));
      // Normalised with the stored statistics, also while fine-tuning (they stay as imported).
      return [batchNorm(t!, { weight: scale, bias, runningMean: mean, runningVar: variance, training: false, eps: n.float('epsilon', 1e-5) }, `importOnnx: ${n.label}`)];
    },
  },
  LayerNormalization: {
    check: (n) => (n.outputs.length > 1 && n.outputs.slice(1).some(Boolean) ? 'the mean and inverse-deviation outputs are not supported' : null),
    run(n, x) {
      const t = req(n, x, 0);
      const axis = normAxis(n.label, n.int('axis', -1), t.ndim);
      return [layerNorm(t, t.shape.slice(axis), { weight: req(n, x, 1), bias: x[2] ?? null, eps: n.float('epsilon', 1e-5) }, `importOnnx: ${n.label}`)];
    },
  },
  Flatten: unary((t, n) => {
    const a = n.int('axis', 1);
    const axis = a < 0 ? a + t.ndim : a;
    if (axis < 0 || axis > t.ndim) throw new OnnxError(`importOnnx: ${n.label}: axis ${a} is out of range for input shape ${fmtShape(t.shape)}`);
    return t.reshape([prod(t.shape.slice(0, axis)), prod(t.shape.slice(axis))]);
  }),
  Reshape: {
    run(n, x) {
      const t = req(n, x, 0);
      const allowZero = n.int('allowzero', 0) === 1;
      const target = values(req(n, x, 1)).map((d, i) => (d === 0 && !allowZero ? t.shape[i]! : d));
      if (target.some((d) => d === undefined)) throw new OnnxError(`importOnnx: ${n.label}: shape ${fmtShape(values(x[1]!))} copies a dim that input ${fmtShape(t.shape)} does not have`);
      return [t.reshape(target)];
    },
  },
  Transpose: unary((t, n) => t.permute(n.ints('perm') ?? t.shape.map((_, i) => t.ndim - 1 - i))),
  Squeeze: {
    run(n, x) {
      const t = req(n, x, 0);
      const axes = axesOf(n, x, 1);
      return [axes && axes.length ? t.squeeze(axes.map((a) => normAxis(n.label, a, t.ndim))) : t.squeeze()];
    },
  },
  Unsqueeze: {
    run(n, x) {
      let t = req(n, x, 0);
      const axes = axesOf(n, x, 1) ?? [];
      const rank = t.ndim + axes.length;
      for (const a of axes.map((v) => normAxis(n.label, v, rank)).sort((p, q) => p - q)) t = t.unsqueeze(a);
      return [t];
    },
  },
  Concat: {
    run(n, x) {
      const ts = x.filter((t): t is Tensor => t !== undefined);
      if (ts.length === 0) throw new OnnxError(`importOnnx: ${n.label} has no inputs`);
      return [cat(ts, normAxis(n.label, n.int('axis', 0), ts[0]!.ndim))];
    },
  },
  Shape: unary((t, n) => {
    const r = t.ndim;
    const clampAxis = (a: number) => Math.max(0, Math.min(r, a < 0 ? a + r : a));
    const dims = t.shape.slice(clampAxis(n.int('start', 0)), clampAxis(n.int('end', r)));
    return tensor(Int32Array.from(dims), { dtype: 'int32' });
  }),
  Gather: {
    run(n, x) {
      const data = req(n, x, 0);
      const idx = req(n, x, 1);
      if (idx.dtype !== 'int32') throw new DTypeError(`importOnnx: ${n.label}: indices must be integers, got ${idx.dtype}`);
      const axis = normAxis(n.label, n.int('axis', 0), data.ndim);
      const size = data.shape[axis]!;
      let flat = idx.reshape([idx.numel()]);
      const vals = values(flat);
      if (vals.some((v) => v < -size || v >= size)) {
        throw new OnnxError(`importOnnx: ${n.label}: an index is out of range [${-size}, ${size - 1}] for axis ${axis} of shape ${fmtShape(data.shape)}`);
      }
      if (vals.some((v) => v < 0)) flat = tensor(Int32Array.from(vals, (v) => (v < 0 ? v + size : v)), { dtype: 'int32' });
      const picked = data.indexSelect(axis, flat);
      return [picked.reshape([...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)])];
    },
  },
  ReduceMean: reduce('mean'),
  ReduceSum: reduce('sum'),
  ReduceMax: reduce('max'),
  Cast: {
    check: (n) => (onnxDType(n.int('to', 0)) ? null : `cast to ONNX data type ${n.int('to', 0)} is not supported`),
    run: (n, x) => [req(n, x, 0).to(onnxDType(n.int('to', 0))!)],
  },
  Clip: {
    run(n, x) {
      const t = req(n, x, 0);
      const lo = n.opset >= 11 ? (x[1] ? values(x[1])[0]! : -Infinity) : n.float('min', -Infinity);
      const hi = n.opset >= 11 ? (x[2] ? values(x[2])[0]! : Infinity) : n.float('max', Infinity);
      return [t.clamp(lo, hi)];
    },
  },
  Constant: {
    check: (n) => (['value', 'value_float', 'value_floats', 'value_int', 'value_ints'].some((k) => n.has(k)) ? null : `only value, value_float(s) and value_int(s) constants are supported (got ${[...n.attrs.keys()].join(', ')})`),
    run(n) {
      const a = n.attrs;
      if (a.has('value')) return [readTensor(a.get('value')!.t ?? {}, `importOnnx: ${n.label}`)];
      if (a.has('value_float')) return [tensor([n.float('value_float', 0)], { shape: [] })];
      if (a.has('value_floats')) return [tensor(a.get('value_floats')!.floats ?? [])];
      if (a.has('value_int')) return [tensor([n.int('value_int', 0)], { shape: [], dtype: 'int32' })];
      return [tensor(n.ints('value_ints')!, { dtype: 'int32' })];
    },
  },
};

/** The ONNX ops importOnnx can build. */
export const SUPPORTED_ONNX_OPS: readonly string[] = Object.keys(OPS).sort();

/** Graph inputs that a BatchNormalization reads as its running statistics: buffers, not parameters. */
const STAT_INPUTS: Record<string, number[]> = { BatchNormalization: [3, 4] };

interface Declared {
  name: string;
  dtype: DType | null;
  /** A fixed size, a named (free) dim as a string, or null when not given. */
  dims: (number | string | null)[] | null;
}

function declared(v: OnnxValueInfo): Declared {
  const tt = v.type?.tensorType;
  const dims = tt?.shape ? (tt.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? toNum(d.dimValue) : null)) : null;
  return { name: v.name ?? '', dtype: onnxDType(tt?.elemType), dims };
}

/**
 * A module running an ONNX graph with chainrule's ops, so it computes, differentiates and
 * trains like any other. Float initializers are its parameters (under their ONNX names, so
 * a model exported from PyTorch keeps PyTorch's state-dict keys), BatchNormalization's
 * running statistics its buffers; Constant nodes and integer initializers stay constants.
 * forward takes the graph's inputs in order and returns its (first) output; run returns all.
 */
export class OnnxModule extends Module<Tensor[], Tensor> {
  /** The graph's inputs (initializers excluded) and outputs, in order. */
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly opset: number;
  private readonly nodes: NodeView[];
  private readonly inputs: Declared[];
  /** ONNX initializer name → the field it is held in. */
  private readonly stateFields = new Map<string, string>();
  private readonly constants = new Map<string, Tensor>();

  constructor(model: OnnxModel) {
    super();
    const graph = model.graph;
    if (!graph) throw new OnnxError('importOnnx: the file has no graph');
    const opsets = (model.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx');
    this.opset = opsets.length ? toNum(opsets[0]!.version) : 1;
    this.nodes = (graph.node ?? []).map((n) => new NodeView(n, this.opset));

    // Every op that cannot be built, in one error.
    const unsupported = new Map<string, string[]>();
    const problems: string[] = [];
    for (const n of this.nodes) {
      const impl = n.node.domain && n.node.domain !== 'ai.onnx' ? undefined : OPS[n.op];
      if (!impl) {
        const key = n.node.domain && n.node.domain !== 'ai.onnx' ? `${n.node.domain}.${n.op}` : n.op;
        unsupported.set(key, [...(unsupported.get(key) ?? []), n.node.name ?? '']);
        continue;
      }
      const p = impl.check?.(n);
      if (p) problems.push(`${n.label}: ${p}`);
    }
    if (unsupported.size || problems.length) {
      const parts: string[] = [];
      if (unsupported.size) {
        const list = [...unsupported].map(([op, names]) => `${op} (${names.length} node${names.length > 1 ? 's' : ''})`);
        parts.push(`unsupported ONNX op${unsupported.size > 1 ? 's' : ''}: ${list.join(', ')}`);
      }
      parts.push(...problems);
      throw new OnnxError(`importOnnx: cannot build this model (opset ${this.opset}): ${parts.join('; ')}. Supported ops: ${SUPPORTED_ONNX_OPS.join(', ')}`);
    }

    // Initializers: parameters, buffers, constants.
    const stats = new Set<string>();
    for (const n of this.nodes) for (const i of STAT_INPUTS[n.op] ?? []) if (n.inputs[i]) stats.add(n.inputs[i]!);
    const inits = new Set<string>();
    for (const t of graph.initializer ?? []) {
      const name = t.name ?? '';
      inits.add(name);
      const value = readTensor(t, 'importOnnx');
      if (value.dtype !== 'float32' && value.dtype !== 'float64') {
        this.constants.set(name, value);
        continue;
      }
      const field = name === '' || name in this ? `onnx:${name}` : name;
      this.stateFields.set(name, field);
      if (stats.has(name)) this.registerBuffer(field, value);
      else this.registerParameter(field, new Parameter(value));
    }
    this.inputs = (graph.input ?? []).filter((v) => !inits.has(v.name ?? '')).map(declared);
    this.inputNames = this.inputs.map((d) => d.name);
    this.outputNames = (graph.output ?? []).map((v) => v.name ?? '');
    if (this.outputNames.length === 0) throw new OnnxError('importOnnx: the graph has no outputs');
  }

  /** All of the graph's outputs, in order. */
  run(...inputs: Tensor[]): Tensor[] {
    if (inputs.length !== this.inputs.length) {
      throw new ValueError(`OnnxModule: the graph takes ${this.inputs.length} input${this.inputs.length === 1 ? '' : 's'} (${this.inputNames.join(', ')}), got ${inputs.length}`);
    }
    const env = new Map<string, Tensor>(this.constants);
    const rec = this as unknown as Record<string, Tensor>;
    for (const [name, field] of this.stateFields) env.set(name, rec[field]!);
    this.inputs.forEach((d, i) => {
      const t = inputs[i];
      if (!(t instanceof Tensor)) throw new ValueError(`OnnxModule: input "${d.name}" must be a Tensor, got ${typeof t}`);
      if (d.dtype !== null && (d.dtype === 'int32') !== (t.dtype === 'int32')) {
        throw new DTypeError(`OnnxModule: input "${d.name}" is ${d.dtype} in the graph, got a ${t.dtype} tensor`);
      }
      if (d.dims && (d.dims.length !== t.ndim || d.dims.some((s, k) => typeof s === 'number' && s !== t.shape[k]))) {
        throw new ShapeError(`OnnxModule: input "${d.name}" has shape ${fmtShape(t.shape)}, the graph expects [${d.dims.map((s) => s ?? '?').join(',')}]`);
      }
      env.set(d.name, t);
    });
    for (const n of this.nodes) {
      const args = n.inputs.map((name) => {
        if (name === '') return undefined;
        const v = env.get(name);
        if (!v) throw new OnnxError(`importOnnx: ${n.label} reads "${name}", which no earlier node, input or initializer defines`);
        return v;
      });
      const outs = OPS[n.op]!.run(n, args);
      n.outputs.forEach((name, i) => {
        if (name && outs[i]) env.set(name, outs[i]!);
      });
    }
    return this.outputNames.map((name) => {
      const v = env.get(name);
      if (!v) throw new OnnxError(`importOnnx: the graph output "${name}" is never computed`);
      return v;
    });
  }

  override forward(...inputs: Tensor[]): Tensor {
    return this.run(...inputs)[0]!;
  }

  override extraRepr(): string {
    return `inputs=[${this.inputNames.join(', ')}], outputs=[${this.outputNames.join(', ')}], nodes=${this.nodes.length}, opset=${this.opset}`;
  }
}

/** Decode ONNX bytes into a module (synchronous; browser-safe). */
export function importOnnxBytes(bytes: Uint8Array | ArrayBuffer): OnnxModule {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let model: OnnxModel;
  try {
    model = ModelProto.toObject(ModelProto.decode(u8), { defaults: false }) as OnnxModel;
  } catch (e) {
    throw new OnnxError(`importOnnx: not an ONNX model (${u8.length} bytes): ${(e as Error).message}`);
  }
  return noGrad(() => new OnnxModule(model));
}

/**
 * Build a chainrule module from an ONNX model: its bytes, or (in Node) a file path. The
 * module runs the graph with chainrule's ops, so it can be evaluated, differentiated and
 * fine-tuned with chainrule's optimizers. Every op it cannot build is named in one OnnxError.
 *
 *   const m = await importOnnx('mlp.onnx');
 *   const y = m.call(x);
 */
export async function importOnnx(src: Uint8Array | ArrayBuffer | string): Promise<OnnxModule> {
  if (typeof src === 'string') {
    const { readFile } = await import('node:fs/promises');
    return importOnnxBytes(await readFile(src));
  }
  if (!(src instanceof Uint8Array) && !(src instanceof ArrayBuffer)) {
    throw new ValueError(`importOnnx: expects the model's bytes (Uint8Array or ArrayBuffer) or a file path, got ${src === null ? 'null' : typeof src}`);
  }
  return importOnnxBytes(src);
}

import { noGrad } from '../autograd/grad-mode.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { linear } from '../nn/functional/basic.js';
import { avgPool2d, conv2d, maxPool2d } from '../nn/functional/conv.js';
import { batchNorm, layerNorm } from '../nn/functional/norm.js';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { cat } from '../ops/shape-functional.js';
import { tensor } from '../tensor/creation.js';
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
  if (!k && n.op !== 'Conv') return 'the kernel_shape attribute is missing';
  if (k && k.length !== 2) return `${k.length}-d kernel_shape [${k.join(',')}]: only 2-d windows are supported`;
  for (const [name, len] of [['strides', 2], ['dilations', 2], ['pads', 4]] as const) {
    const v = n.ints(name);
    if (v && v.length !== len) return `${name} [${v.join(',')}] should have ${len} values for a 2-d window`;
  }
  const autoPad = n.str('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') return `auto_pad ${autoPad} is not supported (only NOTSET and VALID)`;
  const p = n.ints('pads');
  if (p && p.length === 4 && (p[0] !== p[2] || p[1] !== p[3])) return `asymmetric pads [${p.join(',')}] are not supported`;
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
      if (w.ndim !== 4) throw new ShapeError(`importOnnx: ${n.label}: only 2-d convolutions are supported; the weight has shape ${fmtShape(w.shape)}`);
      const { stride, padding, dilation } = windowParams(n, t, w.shape.slice(2));
      return [conv2d(t, w, x[2] ?? null, { stride, padding, dilation, groups: n.int('group', 1) }, `importOnnx: ${n.label}`)];
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

import { noGrad } from '../autograd/grad-mode.js';
import { ValueError, fmtShape } from '../errors.js';
import { pair } from '../nn/functional/conv.js';
import { Module, type AnyModule } from '../nn/module.js';
import { ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh } from '../nn/modules/activation.js';
import { Sequential } from '../nn/modules/container.js';
import { AvgPool2d, Conv2d, MaxPool2d } from '../nn/modules/conv.js';
import { Embedding } from '../nn/modules/embedding.js';
import { Dropout, Flatten, Identity, Linear } from '../nn/modules/linear.js';
import { BatchNorm1d, BatchNorm2d, LayerNorm } from '../nn/modules/norm.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { Unflatten } from '../train/model.js';
import { OnnxError } from './errors.js';
import { AttrType, DataType, ModelProto, type OnnxAttribute, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './schema.js';

export interface ExportOnnxOptions {
  /** Also write the bytes to this file (Node only). */
  path?: string;
  /** ONNX opset version, 13 to 17 (default 17). */
  opset?: number;
  /** Leave the batch dim (dim 0) of the input and output free ("batch") instead of the sample's size. */
  dynamicBatch?: boolean;
  /** Graph input and output names (default "input" and "output"). */
  inputName?: string;
  outputName?: string;
  /**
   * Put an affine map of the input in front of the model: the graph computes
   * model(input · scale + shift), scale and shift each one number or one per feature (the
   * input's last dim). For a model trained on normalised data that should take raw values.
   */
  inputTransform?: { scale: number | readonly number[]; shift: number | readonly number[] };
}

export const DEFAULT_OPSET = 17;
const MIN_OPSET = 13;
const MAX_OPSET = 17;
/** IR version 8 (ONNX 1.10–1.12) covers opsets up to 17. */
const IR_VERSION = 8;

const ONNX_TYPE: Record<DType, number> = { float32: DataType.FLOAT, float64: DataType.DOUBLE, int32: DataType.INT32, bool: DataType.BOOL };

const attrI = (name: string, i: number): OnnxAttribute => ({ name, type: AttrType.INT, i });
const attrF = (name: string, f: number): OnnxAttribute => ({ name, type: AttrType.FLOAT, f });
const attrInts = (name: string, ints: readonly number[]): OnnxAttribute => ({ name, type: AttrType.INTS, ints: [...ints] });

function rawBytes(a: ArrayBufferView): Uint8Array {
  // Copy: the tensor's own memory must not end up shared with the encoded message.
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** The ONNX graph being written: nodes in order, initializers, fresh value names. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly used = new Set<string>();
  private count = 0;

  constructor(readonly opset: number, readonly floatType: 'float32' | 'float64') {}

  fresh(hint: string): string {
    let n = `${hint}_${this.count++}`;
    while (this.used.has(n)) n = `${hint}_${this.count++}`;
    this.used.add(n);
    return n;
  }

  reserve(name: string): string {
    if (this.used.has(name)) return this.fresh(name);
    this.used.add(name);
    return name;
  }

  node(opType: string, inputs: string[], attribute: OnnxAttribute[] = [], hint = opType): string {
    const out = this.fresh(hint);
    this.nodes.push({ opType, input: inputs, output: [out], name: `${opType}_${this.nodes.length}`, attribute });
    return out;
  }

  /** A tensor's values as an initializer (named after the parameter when it is one). */
  tensor(name: string, t: Tensor): string {
    const n = this.reserve(name);
    const c = t.detach().contiguous();
    this.initializers.push({ name: n, dims: [...c.shape], dataType: ONNX_TYPE[c.dtype], rawData: rawBytes(c.typedData) });
    return n;
  }

  /** A Constant node holding values of the model's float type (a constant, not a parameter, for importers). */
  floats(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const arr = this.floatType === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
    return this.constant(hint, { dims: [...dims], dataType: ONNX_TYPE[this.floatType], rawData: rawBytes(arr) });
  }

  scalar(hint: string, v: number): string {
    return this.floats(hint, [v], []);
  }

  int64s(hint: string, values: readonly number[]): string {
    const arr = BigInt64Array.from(values.map((v) => BigInt(v)));
    return this.constant(hint, { dims: [values.length], dataType: DataType.INT64, rawData: rawBytes(arr) });
  }

  private constant(hint: string, t: OnnxTensor): string {
    return this.node('Constant', [], [{ name: 'value', type: AttrType.TENSOR, t }], hint);
  }
}

/** One leaf module with where it sits, and the shapes it saw on the sample input. */
interface Step {
  name: string;
  module: AnyModule;
  inShape: number[];
  outShape: number[];
}

/** Exactly this class, with forward and call as the class defines them (a subclass may compute anything). */
function isPlain(m: AnyModule, cls: abstract new (...a: never[]) => AnyModule): boolean {
  return Object.getPrototypeOf(m) === cls.prototype && !Object.hasOwn(m, 'forward') && !Object.hasOwn(m, 'call');
}

const LEAVES = [
  Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, LayerNorm, Dropout, Embedding, Flatten, Identity,
  ReLU, LeakyReLU, Sigmoid, Tanh, GELU, ELU, Softplus, Softmax, LogSoftmax, Unflatten,
] as const;

/** The leaves of the model in the order they run, Sequentials (nested too) opened up. */
function leaves(model: AnyModule, name: string, out: [string, AnyModule][], unsupported: string[]): void {
  if (isPlain(model, Sequential)) {
    for (const [n, c] of (model as Sequential).namedChildren()) leaves(c, name ? `${name}.${n}` : n, out, unsupported);
    return;
  }
  if (!LEAVES.some((cls) => isPlain(model, cls))) {
    const why = model instanceof Sequential || LEAVES.some((cls) => model instanceof cls) ? ' (a subclass with its own forward)' : '';
    unsupported.push(`${model.constructor.name}${name ? ` at "${name}"` : ''}${why}`);
    return;
  }
  const problem = configProblem(model);
  if (problem) unsupported.push(`${model.constructor.name}${name ? ` at "${name}"` : ''} (${problem})`);
  out.push([name, model]);
}

/** A setting of a supported layer that ONNX (or this exporter) cannot express. */
function configProblem(m: AnyModule): string | null {
  if (m instanceof AvgPool2d && m.divisorOverride !== null) return 'divisorOverride has no ONNX AveragePool counterpart';
  if ((m instanceof BatchNorm1d || m instanceof BatchNorm2d) && !m.trackRunningStats) {
    return 'trackRunningStats false: it normalises with batch statistics in eval mode too';
  }
  return null;
}

function valueInfo(name: string, dtype: DType, shape: readonly number[], batchDim: boolean): OnnxValueInfo {
  const dim = shape.map((d, i) => (i === 0 && batchDim ? { dimParam: 'batch' } : { dimValue: d }));
  return { name, type: { tensorType: { elemType: ONNX_TYPE[dtype], shape: { dim } } } };
}

/**
 * Write a model as an ONNX file: a Sequential (nested ones too) of Linear, Conv2d, MaxPool2d,
 * AvgPool2d, BatchNorm1d/2d, LayerNorm, Dropout, Embedding, Flatten, Identity and the
 * activation layers (ReLU, LeakyReLU, Sigmoid, Tanh, GELU, ELU, Softplus, Softmax,
 * LogSoftmax), or one of those alone. The graph is the model in eval mode (BatchNorm with its
 * running statistics, Dropout the identity), traced on `sampleInput` for its shapes; the
 * model's own mode is left as it was. Any module that cannot be written is named, all of
 * them in one OnnxError. Returns the file's bytes; with `path` (Node only) also writes them.
 *
 *   const bytes = await exportOnnx(model, randn([1, 784]), { path: 'mlp.onnx', dynamicBatch: true });
 */
export async function exportOnnx(model: AnyModule, sampleInput: Tensor, opts: ExportOnnxOptions = {}): Promise<Uint8Array> {
  const bytes = exportOnnxBytes(model, sampleInput, opts);
  if (opts.path !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(opts.path, bytes);
  }
  return bytes;
}

/** exportOnnx without the file: the bytes, synchronously (browser-safe). */
export function exportOnnxBytes(model: AnyModule, sampleInput: Tensor, opts: ExportOnnxOptions = {}): Uint8Array {
  if (!(model instanceof Module)) throw new ValueError(`exportOnnx: model must be an nn.Module, got ${typeof model}`);
  if (!(sampleInput instanceof Tensor)) throw new ValueError(`exportOnnx: sampleInput must be a Tensor, got ${typeof sampleInput}`);
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new ValueError(`exportOnnx: opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`);
  }
  const dynamicBatch = opts.dynamicBatch ?? false;
  if (dynamicBatch && sampleInput.ndim === 0) throw new ValueError('exportOnnx: dynamicBatch needs a sample input with a batch dim, got a 0-d tensor');

  const list: [string, AnyModule][] = [];
  const unsupported: string[] = [];
  leaves(model, '', list, unsupported);
  if (unsupported.length) {
    throw new OnnxError(`exportOnnx: ${unsupported.length} module${unsupported.length > 1 ? 's' : ''} cannot be exported to ONNX: ${unsupported.join('; ')}`);
  }
  const floats = new Set(model.parameters().map((p) => p.dtype));
  if (floats.size > 1) throw new ValueError(`exportOnnx: the model mixes parameter dtypes (${[...floats].join(', ')}); convert it with .float() or .double() first`);
  const floatType = (floats.values().next().value ?? (sampleInput.dtype === 'float64' ? 'float64' : 'float32')) as 'float32' | 'float64';

  // Trace the sample through each leaf in eval mode, for the shapes each one sees.
  const modes = model.modules().map((m) => [m, m.training] as const);
  const steps: Step[] = [];
  let output: Tensor;
  try {
    model.eval();
    output = noGrad(() => {
      let y = sampleInput;
      for (const [name, module] of list) {
        const inShape = [...y.shape];
        y = module.call(y) as Tensor;
        steps.push({ name, module, inShape, outShape: [...y.shape] });
      }
      return y;
    });
  } finally {
    for (const [m, t] of modes) m.training = t;
  }

  const g = new GraphBuilder(opset, floatType);
  const inputName = g.reserve(opts.inputName ?? 'input');
  let x = inputName;
  if (opts.inputTransform !== undefined) x = emitTransform(g, x, sampleInput, opts.inputTransform);
  let batchKept = dynamicBatch;
  for (const s of steps) {
    const r = emit(g, s, x, dynamicBatch);
    x = r.out;
    if (!r.keepsBatch) batchKept = false;
  }
  const outputName = g.reserve(opts.outputName ?? 'output');
  g.nodes.push({ opType: 'Identity', input: [x], output: [outputName], name: `Identity_${g.nodes.length}` });

  const message = {
    irVersion: IR_VERSION,
    producerName: 'chainrule',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: model.constructor.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(inputName, sampleInput.dtype, sampleInput.shape, dynamicBatch)],
      output: [valueInfo(outputName, output.dtype, output.shape, batchKept && output.ndim > 0)],
    },
  };
  return ModelProto.encode(ModelProto.fromObject(message)).finish();
}

function emitTransform(g: GraphBuilder, x: string, sample: Tensor, t: NonNullable<ExportOnnxOptions['inputTransform']>): string {
  const features = sample.ndim ? sample.shape[sample.ndim - 1]! : 1;
  if (sample.dtype !== 'float32' && sample.dtype !== 'float64') throw new ValueError(`exportOnnx: inputTransform needs a floating-point input, got ${sample.dtype}`);
  const vec = (what: string, v: number | readonly number[]): number[] => {
    const a = typeof v === 'number' ? [v] : [...v];
    if (a.length !== 1 && a.length !== features) throw new ValueError(`exportOnnx: inputTransform.${what} has ${a.length} values; the input has ${features} features (give one value or ${features})`);
    if (!a.every(Number.isFinite)) throw new ValueError(`exportOnnx: inputTransform.${what} must be finite numbers`);
    return a;
  };
  const scale = vec('scale', t.scale);
  const shift = vec('shift', t.shift);
  return g.node('Add', [g.node('Mul', [x, g.floats('scale', scale)]), g.floats('shift', shift)]);
}

/** The ONNX nodes for one leaf; keepsBatch is false where dim 0 of the output is not the batch. */
function emit(g: GraphBuilder, s: Step, x: string, dynamicBatch: boolean): { out: string; keepsBatch: boolean } {
  const m = s.module;
  const p = (k: string) => (s.name ? `${s.name}.${k}` : k);
  const rank = s.inShape.length;
  const out = (o: string) => ({ out: o, keepsBatch: true });

  if (m instanceof Linear) {
    const w = g.tensor(p('weight'), m.weight);
    const b = m.bias ? g.tensor(p('bias'), m.bias) : null;
    if (rank === 2) return out(g.node('Gemm', b ? [x, w, b] : [x, w], [attrI('transB', 1)]));
    const wt = g.node('Transpose', [w], [attrInts('perm', [1, 0])]);
    const y = g.node('MatMul', [x, wt]);
    return out(b ? g.node('Add', [y, b]) : y);
  }
  if (m instanceof Conv2d) {
    const w = g.tensor(p('weight'), m.weight);
    const b = m.bias ? g.tensor(p('bias'), m.bias) : null;
    const [ph, pw] = m.padding;
    return out(
      g.node('Conv', b ? [x, w, b] : [x, w], [
        attrInts('kernel_shape', m.kernelSize),
        attrInts('strides', m.stride),
        attrInts('pads', [ph, pw, ph, pw]),
        attrInts('dilations', m.dilation),
        attrI('group', m.groups),
      ]),
    );
  }
  if (m instanceof MaxPool2d || m instanceof AvgPool2d) {
    const k = pair(m.constructor.name, 'kernelSize', m.kernelSize, 1);
    const st = pair(m.constructor.name, 'stride', m.stride, 1);
    const [ph, pw] = pair(m.constructor.name, 'padding', m.padding, 0);
    const attrs = [attrInts('kernel_shape', k), attrInts('strides', st), attrInts('pads', [ph, pw, ph, pw])];
    if (m instanceof MaxPool2d) return out(g.node('MaxPool', [x], [...attrs, attrInts('dilations', pair('MaxPool2d', 'dilation', m.dilation, 1))]));
    return out(g.node('AveragePool', [x], [...attrs, attrI('count_include_pad', m.countIncludePad ? 1 : 0)]));
  }
  if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
    const c = m.numFeatures;
    const scale = m.weight ? g.tensor(p('weight'), m.weight) : g.floats(p('weight'), new Array<number>(c).fill(1));
    const bias = m.bias ? g.tensor(p('bias'), m.bias) : g.floats(p('bias'), new Array<number>(c).fill(0));
    const mean = g.tensor(p('running_mean'), m.running_mean!);
    const v = g.tensor(p('running_var'), m.running_var!);
    return out(g.node('BatchNormalization', [x, scale, bias, mean, v], [attrF('epsilon', m.eps)]));
  }
  if (m instanceof LayerNorm) {
    const k = m.normalizedShape.length;
    const n = m.normalizedShape.reduce((a, b) => a * b, 1);
    const w = m.weight ? g.tensor(p('weight'), m.weight) : null;
    const b = m.bias ? g.tensor(p('bias'), m.bias) : null;
    if (g.opset >= 17) {
      const scale = w ?? g.floats(p('weight'), new Array<number>(n).fill(1), m.normalizedShape);
      return out(g.node('LayerNormalization', b ? [x, scale, b] : [x, scale], [attrI('axis', -k), attrF('epsilon', m.eps)]));
    }
    // Before opset 17: (x − mean) / √(var + eps), the biased variance, over the trailing k dims.
    const axes = attrInts('axes', Array.from({ length: k }, (_, i) => i - k));
    const mu = g.node('ReduceMean', [x], [axes, attrI('keepdims', 1)]);
    const d = g.node('Sub', [x, mu]);
    const variance = g.node('ReduceMean', [g.node('Mul', [d, d])], [axes, attrI('keepdims', 1)]);
    const std = g.node('Sqrt', [g.node('Add', [variance, g.scalar('eps', m.eps)])]);
    let y = g.node('Div', [d, std]);
    if (w) y = g.node('Mul', [y, w]);
    if (b) y = g.node('Add', [y, b]);
    return out(y);
  }
  if (m instanceof Embedding) return out(g.node('Gather', [g.tensor(p('weight'), m.weight), x], [attrI('axis', 0)]));
  if (m instanceof Dropout || m instanceof Identity) return out(g.node('Identity', [x]));
  if (m instanceof Flatten) {
    const start = m.startDim < 0 ? m.startDim + rank : m.startDim;
    const end = m.endDim < 0 ? m.endDim + rank : m.endDim;
    if (start === 1 && end === rank - 1) return out(g.node('Flatten', [x], [attrI('axis', 1)]));
    // Dims before start copied (0), the merged ones inferred (−1), the rest as traced.
    const target = [...new Array<number>(start).fill(0), -1, ...s.inShape.slice(end + 1)];
    if (!dynamicBatch && start > 0) target.splice(0, start, ...s.inShape.slice(0, start));
    return { out: g.node('Reshape', [x, g.int64s('shape', target)]), keepsBatch: start > 0 };
  }
  if (m instanceof Unflatten) return out(g.node('Reshape', [x, g.int64s('shape', [dynamicBatch ? 0 : s.inShape[0]!, ...m.shape])]));
  if (m instanceof ReLU) return out(g.node('Relu', [x]));
  if (m instanceof Sigmoid) return out(g.node('Sigmoid', [x]));
  if (m instanceof Tanh) return out(g.node('Tanh', [x]));
  if (m instanceof LeakyReLU) return out(g.node('LeakyRelu', [x], [attrF('alpha', m.negativeSlope)]));
  if (m instanceof ELU) return out(g.node('Elu', [x], [attrF('alpha', m.alpha)]));
  if (m instanceof Softplus) {
    // ONNX Softplus is log(1 + eˣ); PyTorch's threshold (x itself past it) differs by under e^-threshold.
    if (m.beta === 1) return out(g.node('Softplus', [x]));
    const beta = g.scalar('beta', m.beta);
    return out(g.node('Div', [g.node('Softplus', [g.node('Mul', [x, beta])]), beta]));
  }
  if (m instanceof Softmax || m instanceof LogSoftmax) {
    const axis = m.dim < 0 ? m.dim + rank : m.dim;
    return out(g.node(m instanceof Softmax ? 'Softmax' : 'LogSoftmax', [x], [attrI('axis', axis)]));
  }
  if (m instanceof GELU) {
    const half = g.scalar('half', 0.5);
    const one = g.scalar('one', 1);
    if (m.approximate === 'none') {
      // x · ½ · (1 + erf(x / √2))
      const e = g.node('Erf', [g.node('Div', [x, g.scalar('sqrt2', Math.SQRT2)])]);
      return out(g.node('Mul', [g.node('Mul', [x, half]), g.node('Add', [e, one])]));
    }
    // x · ½ · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
    const cube = g.node('Mul', [x, g.node('Mul', [x, x])]);
    const inner = g.node('Mul', [g.node('Add', [x, g.node('Mul', [cube, g.scalar('c', 0.044715)])]), g.scalar('k', Math.sqrt(2 / Math.PI))]);
    return out(g.node('Mul', [g.node('Mul', [x, half]), g.node('Add', [g.node('Tanh', [inner]), one])]));
  }
  throw new OnnxError(`exportOnnx: no ONNX form for ${m.constructor.name} (input shape ${fmtShape(s.inShape)})`);
}

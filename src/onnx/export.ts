import { noGrad } from '../autograd/grad-mode.js';
import { ValueError, fmtShape } from '../errors.js';
import { pair } from '../nn/functional/conv.js';
import { Module, type AnyModule } from '../nn/module.js';
import { ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh } from '../nn/modules/activation.js';
import { Sequential } from '../nn/modules/container.js';
import { AvgPool2d, Conv2d, MaxPool2d } from '../nn/modules/conv.js';
import { Conv1d, ConvTranspose1d, ConvTranspose2d } from '../nn/modules/conv-transpose.js';
import { Embedding } from '../nn/modules/embedding.js';
import { AdaptiveAvgPool2d, GroupNorm, Upsample } from '../nn/modules/extra.js';
import { GRU, LSTM, RNN } from '../nn/modules/rnn.js';
import { MultiheadAttention, TransformerEncoder, TransformerEncoderLayer } from '../nn/modules/transformer.js';
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
const attrS = (name: string, s: string): OnnxAttribute => ({ name, type: AttrType.STRING, s: new TextEncoder().encode(s) });
const attrStrings = (name: string, ss: readonly string[]): OnnxAttribute => ({ name, type: AttrType.STRINGS, strings: ss.map((s) => new TextEncoder().encode(s)) });

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
    return this.nodeN(opType, inputs, 1, attribute, hint)[0]!;
  }

  /** A node with `outputs` outputs. */
  nodeN(opType: string, inputs: string[], outputs: number, attribute: OnnxAttribute[] = [], hint = opType): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push({ opType, input: inputs, output: outs, name: `${opType}_${this.nodes.length}`, attribute });
    return outs;
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

  /** A float32 Constant whatever the model's type (Resize's scales are always float). */
  constantFloat32(hint: string, values: readonly number[]): string {
    return this.constant(hint, { dims: [values.length], dataType: DataType.FLOAT, rawData: rawBytes(Float32Array.from(values)) });
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
function isPlain(m: AnyModule, cls: abstract new (...a: any[]) => AnyModule): boolean {
  return Object.getPrototypeOf(m) === cls.prototype && !Object.hasOwn(m, 'forward') && !Object.hasOwn(m, 'call');
}

const LEAVES = [
  Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, LayerNorm, Dropout, Embedding, Flatten, Identity,
  ReLU, LeakyReLU, Sigmoid, Tanh, GELU, ELU, Softplus, Softmax, LogSoftmax, Unflatten,
  Conv1d, ConvTranspose1d, ConvTranspose2d, GroupNorm, AdaptiveAvgPool2d, Upsample,
  TransformerEncoderLayer, TransformerEncoder, LSTM, GRU, RNN,
] as const;

/** Layers whose forward returns [output, state]: they can only end the model. */
const isRecurrent = (m: AnyModule): m is LSTM | GRU | RNN => m instanceof LSTM || m instanceof GRU || m instanceof RNN;

/** The leaves of the model in the order they run, Sequentials (nested too) opened up. */
function leaves(model: AnyModule, name: string, out: [string, AnyModule][], unsupported: string[]): void {
  if (isPlain(model, Sequential)) {
    for (const [n, c] of (model as Sequential).namedChildren()) leaves(c, name ? `${name}.${n}` : n, out, unsupported);
    return;
  }
  if (!LEAVES.some((cls) => isPlain(model, cls))) {
    const why =
      model instanceof Sequential || LEAVES.some((cls) => model instanceof cls) ? ' (a subclass with its own forward)'
      : model instanceof MultiheadAttention ? ' (it takes query, key and value; it is exported as part of a TransformerEncoderLayer)'
      : '';
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
  if (m instanceof TransformerEncoderLayer) return encoderLayerProblem(m);
  if (m instanceof TransformerEncoder) {
    for (const [, l] of m.layers.namedChildren()) {
      if (!isPlain(l, TransformerEncoderLayer)) return `a layer of class ${l.constructor.name} (a subclass with its own forward)`;
      const p = encoderLayerProblem(l as TransformerEncoderLayer);
      if (p) return p;
    }
    if (m.norm !== null && !isPlain(m.norm, LayerNorm)) return `its norm is a ${m.norm.constructor.name}; only a LayerNorm (or none) is exported`;
  }
  if (m instanceof AdaptiveAvgPool2d) {
    const o = m.outputSize;
    if (typeof o !== 'number' && (o[0] === null || o[1] === null)) return `outputSize ${JSON.stringify(o)} keeps an input size; give both sizes`;
  }
  return null;
}

/** Where the batch is in a 3-d tensor a layer reads or writes: dim 1 for the sequence-first layers (not batchFirst). */
function batchAxis(m: AnyModule | undefined, rank: number): number {
  if (rank !== 3 || m === undefined) return 0;
  const seqFirst =
    (isRecurrent(m) && !m.batchFirst) ||
    (m instanceof TransformerEncoderLayer && !m.self_attn.batchFirst) ||
    (m instanceof TransformerEncoder && !(m.layers.at(0) as TransformerEncoderLayer).self_attn.batchFirst);
  return seqFirst ? 1 : 0;
}

function encoderLayerProblem(m: TransformerEncoderLayer): string | null {
  const a = m.opts.activation;
  if (a !== undefined && a !== 'relu' && a !== 'gelu') return 'a custom activation function has no ONNX form (use \'relu\' or \'gelu\')';
  for (const n of [m.norm1, m.norm2]) if (!n.weight || !n.bias) return 'a LayerNorm without affine parameters';
  return null;
}

function valueInfo(name: string, dtype: DType, shape: readonly number[], batchDim: boolean | number): OnnxValueInfo {
  const axis = batchDim === true ? 0 : batchDim === false ? -1 : batchDim;
  const dim = shape.map((d, i) => (i === axis ? { dimParam: 'batch' } : { dimValue: d }));
  return { name, type: { tensorType: { elemType: ONNX_TYPE[dtype], shape: { dim } } } };
}

/**
 * Write a model as an ONNX file: a Sequential (nested ones too) of Linear, Conv2d, MaxPool2d,
 * AvgPool2d, BatchNorm1d/2d, LayerNorm, Dropout, Embedding, Flatten, Identity and the
 * activation layers (ReLU, LeakyReLU, Sigmoid, Tanh, GELU, ELU, Softplus, Softmax,
 * LogSoftmax), Conv1d, ConvTranspose1d/2d, GroupNorm, AdaptiveAvgPool2d, Upsample,
 * TransformerEncoderLayer / TransformerEncoder, and LSTM / GRU / RNN as the last module (the
 * graph then also outputs h_n, and c_n), or one of those alone. The graph is the model in eval mode (BatchNorm with its
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
  list.forEach(([name, m], i) => {
    if (isRecurrent(m) && i < list.length - 1) {
      unsupported.push(`${m.constructor.name}${name ? ` at "${name}"` : ''} (it returns [output, state], so it can only be the last module)`);
    }
  });
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
  // A recurrent layer at the end also gives its final state(s): more graph outputs.
  let states: Tensor[] = [];
  try {
    model.eval();
    output = noGrad(() => {
      let y = sampleInput;
      for (const [name, module] of list) {
        const inShape = [...y.shape];
        const r = module.call(y) as Tensor | [Tensor, Tensor | [Tensor, Tensor]];
        if (Array.isArray(r)) {
          y = r[0];
          states = Array.isArray(r[1]) ? r[1] : [r[1]];
        } else y = r;
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
  let stateNames: string[] = [];
  for (const s of steps) {
    const r = emit(g, s, x, dynamicBatch);
    x = r.out;
    if (!r.keepsBatch) batchKept = false;
    stateNames = r.states ?? [];
  }
  const outputName = g.reserve(opts.outputName ?? 'output');
  g.nodes.push({ opType: 'Identity', input: [x], output: [outputName], name: `Identity_${g.nodes.length}` });
  const last = steps.at(-1)?.module;
  // The batch stays where the input has it (dim 1 for sequence-first layers) through every layer that keeps it.
  const inAxis = batchAxis(steps[0]?.module, sampleInput.ndim);
  const outAxis = last && isRecurrent(last) ? batchAxis(last, output.ndim) : inAxis;
  const outputs = [valueInfo(outputName, output.dtype, output.shape, batchKept && output.ndim > outAxis ? outAxis : false)];
  // h_n (and c_n for an LSTM): [layers·directions, batch, hidden].
  stateNames.forEach((name, i) => {
    const out = g.reserve(i === 0 ? 'h_n' : 'c_n');
    g.nodes.push({ opType: 'Identity', input: [name], output: [out], name: `Identity_${g.nodes.length}` });
    outputs.push(valueInfo(out, states[i]!.dtype, states[i]!.shape, batchKept ? 1 : false));
  });

  const message = {
    irVersion: IR_VERSION,
    producerName: 'chainrule',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: model.constructor.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(inputName, sampleInput.dtype, sampleInput.shape, dynamicBatch ? inAxis : false)],
      output: outputs,
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

/** x·Wᵀ + b: Gemm for a 2-d input, MatMul and Add otherwise. */
function emitLinear(g: GraphBuilder, x: string, rank: number, weight: Tensor, bias: Tensor | null, prefix: string): string {
  const w = g.tensor(`${prefix}weight`, weight);
  const b = bias ? g.tensor(`${prefix}bias`, bias) : null;
  if (rank === 2) return g.node('Gemm', b ? [x, w, b] : [x, w], [attrI('transB', 1)]);
  const wt = g.node('Transpose', [w], [attrInts('perm', [1, 0])]);
  const y = g.node('MatMul', [x, wt]);
  return b ? g.node('Add', [y, b]) : y;
}

function emitLayerNorm(g: GraphBuilder, x: string, m: LayerNorm, prefix: string): string {
  const k = m.normalizedShape.length;
  const n = m.normalizedShape.reduce((a, b) => a * b, 1);
  const w = m.weight ? g.tensor(`${prefix}weight`, m.weight) : null;
  const b = m.bias ? g.tensor(`${prefix}bias`, m.bias) : null;
  if (g.opset >= 17) {
    const scale = w ?? g.floats(`${prefix}weight`, new Array<number>(n).fill(1), m.normalizedShape);
    return g.node('LayerNormalization', b ? [x, scale, b] : [x, scale], [attrI('axis', -k), attrF('epsilon', m.eps)]);
  }
  // Before opset 17: (x − mean) / √(var + eps), the biased variance, over the trailing k dims.
  const axes = Array.from({ length: k }, (_, i) => i - k);
  let y = emitNormalize(g, x, axes, m.eps);
  if (w) y = g.node('Mul', [y, w]);
  if (b) y = g.node('Add', [y, b]);
  return y;
}

/** (x − mean) / √(var + eps) over the given axes (biased variance). */
function emitNormalize(g: GraphBuilder, x: string, axes: number[], eps: number): string {
  const ax = attrInts('axes', axes);
  const mu = g.node('ReduceMean', [x], [ax, attrI('keepdims', 1)]);
  const d = g.node('Sub', [x, mu]);
  const variance = g.node('ReduceMean', [g.node('Mul', [d, d])], [ax, attrI('keepdims', 1)]);
  return g.node('Div', [d, g.node('Sqrt', [g.node('Add', [variance, g.scalar('eps', eps)])])]);
}

function emitGelu(g: GraphBuilder, x: string, approximate: 'none' | 'tanh'): string {
  const half = g.scalar('half', 0.5);
  const one = g.scalar('one', 1);
  if (approximate === 'none') {
    // x · ½ · (1 + erf(x / √2))
    const e = g.node('Erf', [g.node('Div', [x, g.scalar('sqrt2', Math.SQRT2)])]);
    return g.node('Mul', [g.node('Mul', [x, half]), g.node('Add', [e, one])]);
  }
  // x · ½ · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
  const cube = g.node('Mul', [x, g.node('Mul', [x, x])]);
  const inner = g.node('Mul', [g.node('Add', [x, g.node('Mul', [cube, g.scalar('c', 0.044715)])]), g.scalar('k', Math.sqrt(2 / Math.PI))]);
  return g.node('Mul', [g.node('Mul', [x, half]), g.node('Add', [g.node('Tanh', [inner]), one])]);
}

/**
 * Self-attention of x [N, L, E] (batch first): q, k, v from in_proj, per head
 * softmax(q·kᵀ/√d)·v, heads merged, out_proj. Reshapes copy N and L (0) so both stay free.
 */
function emitSelfAttention(g: GraphBuilder, x: string, m: MultiheadAttention, prefix: string): string {
  const E = m.embedDim;
  const H = m.numHeads;
  const hd = m.headDim;
  const qkv = emitLinear(g, x, 3, m.in_proj_weight, m.in_proj_bias, `${prefix}in_proj_`);
  // [N, L, 3E] → [N, L, 3, H, hd] → [3, N, H, L, hd]
  const split = g.node('Transpose', [g.node('Reshape', [qkv, g.int64s('shape', [0, 0, 3, H, hd])])], [attrInts('perm', [2, 0, 3, 1, 4])]);
  const part = (i: number) => g.node('Gather', [split, g.int64s('index', [i])], [attrI('axis', 0)]);
  // Gather with a 1-element index keeps a leading dim of 1: [1, N, H, L, hd]; the matmuls broadcast over it.
  const q = g.node('Div', [part(0), g.scalar('sqrt_head_dim', Math.sqrt(hd))]);
  const k = part(1);
  const v = part(2);
  const scores = g.node('MatMul', [q, g.node('Transpose', [k], [attrInts('perm', [0, 1, 2, 4, 3])])]);
  const attn = g.node('Softmax', [scores], [attrI('axis', 4)]);
  const heads = g.node('MatMul', [attn, v]); // [1, N, H, L, hd]
  const merged = g.node('Reshape', [g.node('Transpose', [heads], [attrInts('perm', [0, 1, 3, 2, 4])]), g.int64s('shape', [0, 0, 0, E])]);
  const squeezed = g.node('Squeeze', [merged, g.int64s('axes', [0])]);
  return emitLinear(g, squeezed, 3, m.out_proj.weight, m.out_proj.bias, `${prefix}out_proj.`);
}

/** One TransformerEncoderLayer in eval mode on x [N, L, E] (batch first). */
function emitEncoderLayer(g: GraphBuilder, x: string, m: TransformerEncoderLayer, prefix: string): string {
  const act = (t: string) => (m.opts.activation === 'gelu' ? emitGelu(g, t, 'none') : g.node('Relu', [t]));
  const sa = (t: string) => emitSelfAttention(g, t, m.self_attn, `${prefix}self_attn.`);
  const ff = (t: string) => emitLinear(g, act(emitLinear(g, t, 3, m.linear1.weight, m.linear1.bias, `${prefix}linear1.`)), 3, m.linear2.weight, m.linear2.bias, `${prefix}linear2.`);
  const norm1 = (t: string) => emitLayerNorm(g, t, m.norm1, `${prefix}norm1.`);
  const norm2 = (t: string) => emitLayerNorm(g, t, m.norm2, `${prefix}norm2.`);
  if (m.normFirst) {
    const h = g.node('Add', [x, sa(norm1(x))]);
    return g.node('Add', [h, ff(norm2(h))]);
  }
  const h = norm1(g.node('Add', [x, sa(x)]));
  return norm2(g.node('Add', [h, ff(h)]));
}

/** Rows of a PyTorch gate-stacked weight [G·H, *] reordered to ONNX's gate order. */
function gateRows(g: GraphBuilder, w: string, order: readonly number[], H: number): string {
  const idx = order.flatMap((gate) => Array.from({ length: H }, (_, j) => gate * H + j));
  return g.node('Gather', [w, g.int64s('gates', idx)], [attrI('axis', 0)]);
}

/**
 * nn.LSTM / GRU / RNN as ONNX LSTM / GRU / RNN nodes, one per layer (both directions in one
 * node). PyTorch stacks the LSTM gates i f g o and ONNX i o f c, the GRU's r z n and z r h;
 * the parameters stay under their own names and a Gather reorders their rows. PyTorch's GRU
 * applies the reset gate after the hidden projection: linear_before_reset 1.
 */
function emitRecurrent(g: GraphBuilder, x: string, m: LSTM | GRU | RNN, prefix: string): { out: string; states: string[] } {
  const lstm = m instanceof LSTM;
  const gru = m instanceof GRU;
  const H = m.hiddenSize;
  const D = m.bidirectional ? 2 : 1;
  const order = lstm ? [0, 3, 1, 2] : gru ? [1, 0, 2] : [0];
  const op = lstm ? 'LSTM' : gru ? 'GRU' : 'RNN';
  const params = m as unknown as Record<string, Tensor>;
  let seq = m.batchFirst ? g.node('Transpose', [x], [attrInts('perm', [1, 0, 2])]) : x;
  const hs: string[] = [];
  const cs: string[] = [];
  for (let l = 0; l < m.numLayers; l++) {
    const per = (name: string) => {
      const list: string[] = [];
      for (let d = 0; d < D; d++) {
        const key = `${name}_l${l}${d === 1 ? '_reverse' : ''}`;
        list.push(g.tensor(`${prefix}${key}`, params[key]!));
      }
      return list;
    };
    const stackDirs = (parts: string[]) => (parts.length === 1 ? parts[0]! : g.node('Concat', parts, [attrI('axis', 0)]));
    const unsq = (t: string) => g.node('Unsqueeze', [t, g.int64s('axes', [0])]);
    const W = stackDirs(per('weight_ih').map((w) => unsq(gateRows(g, w, order, H))));
    const R = stackDirs(per('weight_hh').map((w) => unsq(gateRows(g, w, order, H))));
    const inputs = [seq, W, R];
    if (m.bias) {
      const bi = per('bias_ih');
      const bh = per('bias_hh');
      inputs.push(stackDirs(bi.map((b, d) => unsq(g.node('Concat', [gateRows(g, b, order, H), gateRows(g, bh[d]!, order, H)], [attrI('axis', 0)])))));
    }
    const attrs = [attrI('hidden_size', H), attrS('direction', D === 2 ? 'bidirectional' : 'forward')];
    if (gru) attrs.push(attrI('linear_before_reset', 1));
    if (m instanceof RNN) {
      // The nonlinearity is kept in the (protected) mode the recurrent layers share.
      const relu = (m as unknown as { mode: string }).mode === 'RNN_RELU';
      attrs.push(attrStrings('activations', new Array<string>(D).fill(relu ? 'Relu' : 'Tanh')));
    }
    const outs = g.nodeN(op, inputs, lstm ? 3 : 2, attrs, op);
    // Y [L, D, N, H] → [L, N, D·H]
    seq = g.node('Reshape', [g.node('Transpose', [outs[0]!], [attrInts('perm', [0, 2, 1, 3])]), g.int64s('shape', [0, 0, -1])]);
    hs.push(outs[1]!);
    if (lstm) cs.push(outs[2]!);
  }
  const cat = (parts: string[]) => (parts.length === 1 ? g.node('Identity', [parts[0]!]) : g.node('Concat', parts, [attrI('axis', 0)]));
  const out = m.batchFirst ? g.node('Transpose', [seq], [attrInts('perm', [1, 0, 2])]) : seq;
  return { out, states: lstm ? [cat(hs), cat(cs)] : [cat(hs)] };
}

/** The ONNX nodes for one leaf; keepsBatch is false where dim 0 of the output is not the batch. */
function emit(g: GraphBuilder, s: Step, x: string, dynamicBatch: boolean): { out: string; keepsBatch: boolean; states?: string[] } {
  const m = s.module;
  const pre = s.name ? `${s.name}.` : '';
  const p = (k: string) => `${pre}${k}`;
  const rank = s.inShape.length;
  const out = (o: string) => ({ out: o, keepsBatch: true });

  if (m instanceof Linear) return out(emitLinear(g, x, rank, m.weight, m.bias, pre));
  if (isRecurrent(m)) {
    if (rank !== 3) throw new OnnxError(`exportOnnx: ${m.constructor.name}${s.name ? ` at "${s.name}"` : ''} is exported for batched (3-d) input; the sample has shape ${fmtShape(s.inShape)}`);
    const r = emitRecurrent(g, x, m, pre);
    return { out: r.out, keepsBatch: true, states: r.states };
  }
  if (m instanceof TransformerEncoderLayer || m instanceof TransformerEncoder) {
    const layers = m instanceof TransformerEncoderLayer ? [[pre, m] as const] : m.layers.namedChildren().map(([n, l]) => [`${pre}layers.${n}.`, l as TransformerEncoderLayer] as const);
    if (rank !== 3) throw new OnnxError(`exportOnnx: ${m.constructor.name}${s.name ? ` at "${s.name}"` : ''} is exported for batched (3-d) input; the sample has shape ${fmtShape(s.inShape)}`);
    const seqFirst = !layers[0]![1].self_attn.batchFirst;
    let y = seqFirst ? g.node('Transpose', [x], [attrInts('perm', [1, 0, 2])]) : x;
    for (const [prefix, layer] of layers) y = emitEncoderLayer(g, y, layer, prefix);
    if (m instanceof TransformerEncoder && m.norm) y = emitLayerNorm(g, y, m.norm as LayerNorm, `${pre}norm.`);
    return out(seqFirst ? g.node('Transpose', [y], [attrInts('perm', [1, 0, 2])]) : y);
  }
  if (m instanceof Conv1d || m instanceof ConvTranspose1d || m instanceof ConvTranspose2d) {
    const w = g.tensor(p('weight'), m.weight);
    const b = m.bias ? g.tensor(p('bias'), m.bias) : null;
    const two = m instanceof ConvTranspose2d;
    const list = (v: number | readonly number[]) => (typeof v === 'number' ? [v] : [...v]);
    const pads = list(m.padding);
    const attrs = [
      attrInts('kernel_shape', list(m.kernelSize)),
      attrInts('strides', list(m.stride)),
      attrInts('pads', [...pads, ...pads]),
      attrInts('dilations', list(m.dilation)),
      attrI('group', m.groups),
    ];
    if (m instanceof Conv1d) return out(g.node('Conv', b ? [x, w, b] : [x, w], attrs));
    attrs.push(attrInts('output_padding', two ? [...(m as ConvTranspose2d).outputPadding] : [(m as ConvTranspose1d).outputPadding]));
    return out(g.node('ConvTranspose', b ? [x, w, b] : [x, w], attrs));
  }
  if (m instanceof GroupNorm) {
    // [N, C, *] → [N, G, C/G·∏*], normalised over the last dim, back to the input's shape.
    const grouped = g.node('Reshape', [x, g.int64s('shape', [0, m.numGroups, -1])]);
    let y = g.node('Reshape', [emitNormalize(g, grouped, [-1], m.opts.eps ?? 1e-5), g.node('Shape', [x])]);
    const perChannel = [m.numChannels, ...new Array<number>(rank - 2).fill(1)];
    if (m.weight) y = g.node('Mul', [y, g.node('Reshape', [g.tensor(p('weight'), m.weight), g.int64s('shape', perChannel)])]);
    if (m.bias) y = g.node('Add', [y, g.node('Reshape', [g.tensor(p('bias'), m.bias), g.int64s('shape', perChannel)])]);
    return out(y);
  }
  if (m instanceof AdaptiveAvgPool2d) {
    const [H, W] = s.inShape.slice(-2) as [number, number];
    const [oh, ow] = s.outShape.slice(-2) as [number, number];
    if (rank !== 4) throw new OnnxError(`exportOnnx: AdaptiveAvgPool2d${s.name ? ` at "${s.name}"` : ''} is exported for [N, C, H, W] input; the sample has shape ${fmtShape(s.inShape)}`);
    if (oh === 1 && ow === 1) return out(g.node('GlobalAveragePool', [x]));
    if (H % oh === 0 && W % ow === 0) {
      const k = [H / oh, W / ow];
      return out(g.node('AveragePool', [x], [attrInts('kernel_shape', k), attrInts('strides', k)]));
    }
    throw new OnnxError(
      `exportOnnx: AdaptiveAvgPool2d${s.name ? ` at "${s.name}"` : ''} to ${oh}x${ow} from ${H}x${W} has windows of unequal size, which no ONNX pooling op computes; ` +
        'only an output of 1x1 (GlobalAveragePool) or one that divides the input size (AveragePool) is exported',
    );
  }
  if (m instanceof Upsample) {
    if (rank !== 4) throw new OnnxError(`exportOnnx: Upsample${s.name ? ` at "${s.name}"` : ''} is exported for [N, C, H, W] input; the sample has shape ${fmtShape(s.inShape)}`);
    const mode = m.opts.mode ?? 'nearest';
    const attrs =
      mode === 'nearest'
        ? [attrS('mode', 'nearest'), attrS('coordinate_transformation_mode', 'asymmetric'), attrS('nearest_mode', 'floor')]
        : [attrS('mode', 'linear'), attrS('coordinate_transformation_mode', m.opts.alignCorners ? 'align_corners' : 'pytorch_half_pixel')];
    const roi = g.floats('roi', []);
    if (m.opts.scaleFactor !== undefined) {
      // Given a scale, PyTorch maps output to input coordinates by 1/scale, as Resize with scales does.
      const sf = typeof m.opts.scaleFactor === 'number' ? [m.opts.scaleFactor, m.opts.scaleFactor] : m.opts.scaleFactor;
      const scales = g.constantFloat32('scales', [1, 1, ...sf]);
      return out(g.node('Resize', [x, roi, scales], attrs));
    }
    // Sizes: N and C from the input at run time, H and W as traced.
    const nc = g.node('Slice', [g.node('Shape', [x]), g.int64s('starts', [0]), g.int64s('ends', [2])]);
    const sizes = g.node('Concat', [nc, g.int64s('hw', s.outShape.slice(2))], [attrI('axis', 0)]);
    return out(g.node('Resize', [x, roi, '', sizes], attrs));
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
  if (m instanceof LayerNorm) return out(emitLayerNorm(g, x, m, pre));
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
  if (m instanceof GELU) return out(emitGelu(g, x, m.approximate));
  throw new OnnxError(`exportOnnx: no ONNX form for ${m.constructor.name} (input shape ${fmtShape(s.inShape)})`);
}

import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { arange, zeros } from '../../tensor/creation.js';
import { defaultGenerator, type Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { gelu, relu, softmax } from '../../ops/functional.js';
import { noGrad } from '../../autograd/grad-mode.js';
import { dropout, linear } from '../functional/basic.js';
import { maskBias } from '../functional/attention.js';
import { constant_, xavierUniform_ } from '../init.js';
import { Module, type AnyModule } from '../module.js';
import { Parameter } from '../parameter.js';
import { ModuleList } from './container.js';
import { Dropout, Linear, type FactoryOptions } from './linear.js';
import { LayerNorm } from './norm.js';
import type { DType } from '../../tensor/dtype.js';
import { declareSignature, signature, type Args } from '../../signature.js';

/**
 * nn.MultiheadAttention and the Transformer layers, as PyTorch 1.13 computes them and under its
 * parameter names (`in_proj_weight`, `in_proj_bias`, `out_proj.weight`, `self_attn.*`,
 * `linear1.*`, `norm1.*`, ...), so that PyTorch state dicts load by name.
 *
 * Multi-head attention of query [L, N, E], key and value [S, N, E] ([N, L, E] with batchFirst;
 * [L, E] unbatched), H heads of size E/H:
 *   q, k, v = query·W_qᵀ + b_q, key·W_kᵀ + b_k, value·W_vᵀ + b_v   (W_q, W_k, W_v: rows of in_proj_weight)
 *   per head: softmax(q/√(E/H) · kᵀ + mask)·v, heads concatenated, then out_proj
 * A boolean attnMask [L, S] or [N·H, L, S] is true where a query may NOT attend; a boolean
 * keyPaddingMask [N, S] is true at keys to ignore; float masks are added to the scores.
 */

const MHA = declareSignature(
  'nn.MultiheadAttention',
  signature('MultiheadAttention', 'embedDim:int numHeads:int dropout?:num bias?:bool addBiasKv=false addZeroAttn=false kdim=null vdim=null batchFirst?:bool device="cpu" dtype?:dtype', ['generator']),
);
const LAYER_SPEC = 'dModel:int nhead:int dimFeedforward?:int dropout?:num activation?:str|fn layerNormEps?:num batchFirst?:bool normFirst?:bool device="cpu" dtype?:dtype';
const ENCODER_LAYER = declareSignature('nn.TransformerEncoderLayer', signature('TransformerEncoderLayer', LAYER_SPEC, ['generator']));
const DECODER_LAYER = declareSignature('nn.TransformerDecoderLayer', signature('TransformerDecoderLayer', LAYER_SPEC, ['generator']));
const ENCODER = declareSignature('nn.TransformerEncoder', signature('TransformerEncoder', 'encoderLayer:module numLayers:int norm?:module|null enableNestedTensor=true maskCheck=true'));
const DECODER = declareSignature('nn.TransformerDecoder', signature('TransformerDecoder', 'decoderLayer:module numLayers:int norm?:module|null'));
type Cpu = 'cpu' | null;
type LayerArgs = Args<
  [dModel: number, nhead: number],
  [dimFeedforward: number, dropout: number, activation: TransformerLayerOptions['activation'], layerNormEps: number, batchFirst: boolean, normFirst: boolean, device: Cpu, dtype: DType],
  TransformerLayerOptions
>;

export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Dropout on the attention weights in training. */
  dropout?: number;
  bias?: boolean;
  batchFirst?: boolean;
  generator?: Generator;
}

export interface AttentionCallOptions {
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights (default true, as PyTorch). */
  needWeights?: boolean;
  attnMask?: Tensor | null;
  /** Average the weights over heads (default true): [N, L, S]; else [N, H, L, S]. */
  averageAttnWeights?: boolean;
  /** A causal mask instead of attnMask. */
  isCausal?: boolean;
}

export class MultiheadAttention extends Module<[Tensor, Tensor, Tensor, AttentionCallOptions?], [Tensor, Tensor | null]> {
  in_proj_weight: Parameter;
  in_proj_bias: Parameter | null;
  out_proj: Linear;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly generator: Generator;

  readonly embedDim: number;
  readonly numHeads: number;

  constructor(
    ...args: Args<
      [embedDim: number, numHeads: number],
      [dropout: number, bias: boolean, addBiasKv: false, addZeroAttn: false, kdim: null, vdim: null, batchFirst: boolean, device: Cpu, dtype: DType],
      MultiheadAttentionOptions
    >
  ) {
    super();
    const opts = MHA.parse<MultiheadAttentionOptions & { embedDim: number; numHeads: number }>(args);
    const { embedDim, numHeads } = opts;
    [this.embedDim, this.numHeads] = [embedDim, numHeads];
    if (!Number.isInteger(embedDim) || embedDim < 1) throw new ValueError(`MultiheadAttention: embedDim must be a positive integer, got ${embedDim}`);
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new ValueError(`MultiheadAttention: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    }
    this.headDim = embedDim / numHeads;
    this.dropout = opts.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new ValueError(`MultiheadAttention: dropout must be in [0, 1], got ${this.dropout}`);
    this.batchFirst = opts.batchFirst ?? false;
    this.generator = opts.generator ?? defaultGenerator;
    const dtype = opts.dtype ?? 'float32';
    const bias = opts.bias ?? true;
    this.in_proj_weight = new Parameter(zeros([3 * embedDim, embedDim], { dtype }));
    this.in_proj_bias = bias ? new Parameter(zeros([3 * embedDim], { dtype })) : null;
    this.out_proj = new Linear(embedDim, embedDim, { dtype, bias });
    // PyTorch's _reset_parameters: Xavier-uniform in-projection, zero biases; out_proj.weight keeps Linear's init.
    xavierUniform_(this.in_proj_weight, 1, this.generator);
    if (this.in_proj_bias) constant_(this.in_proj_bias, 0);
    if (this.out_proj.bias) constant_(this.out_proj.bias, 0);
  }

  override forward(query: Tensor, key: Tensor, value: Tensor, opts: AttentionCallOptions = {}): [Tensor, Tensor | null] {
    const who = this.label();
    const E = this.embedDim;
    const H = this.numHeads;
    const hd = this.headDim;
    for (const [name, t] of [['query', query], ['key', key], ['value', value]] as const) {
      if ((t.ndim !== 2 && t.ndim !== 3) || t.shape[t.ndim - 1] !== E) {
        throw new ShapeError(`${who}: ${name} must be [L, N, ${E}]${this.batchFirst ? ' ([N, L, E] with batchFirst)' : ''} or unbatched [L, ${E}], got ${fmtShape(t.shape)}`);
      }
    }
    if (query.ndim !== key.ndim || key.ndim !== value.ndim) {
      throw new ShapeError(`${who}: query, key and value must all be batched or all unbatched, got ${fmtShape(query.shape)}, ${fmtShape(key.shape)}, ${fmtShape(value.shape)}`);
    }
    const batched = query.ndim === 3;
    const seqFirst = (t: Tensor) => (batched ? (this.batchFirst ? t.transpose(0, 1) : t) : t.unsqueeze(1));
    const q0 = seqFirst(query);
    const k0 = seqFirst(key);
    const v0 = seqFirst(value);
    const [L, N] = [q0.shape[0]!, q0.shape[1]!];
    const S = k0.shape[0]!;
    if (k0.shape[1] !== N || v0.shape[1] !== N || v0.shape[0] !== S) {
      throw new ShapeError(`${who}: key and value must have the same sequence length and batch as each other (and the batch of query), got ${fmtShape(query.shape)}, ${fmtShape(key.shape)}, ${fmtShape(value.shape)}`);
    }
    const w = this.in_proj_weight;
    const b = this.in_proj_bias;
    const proj = (x: Tensor, i: number, len: number) =>
      linear(x.reshape([len * N, E]), w.narrow(0, i * E, E), b === null ? null : b.narrow(0, i * E, E))
        .reshape([len, N * H, hd])
        .transpose(0, 1);
    const dtype = query.dtype as 'float32' | 'float64';
    const q = proj(q0, 0, L).div(Math.sqrt(hd));
    const k = proj(k0, 1, S);
    const v = proj(v0, 2, S);
    // The masks as one additive bias broadcasting over [N·H, L, S].
    let bias: Tensor | null = null;
    if (opts.isCausal && !opts.attnMask) {
      bias = maskBias(causalBlocked(L, S), true, dtype);
    } else if (opts.attnMask) {
      const m = opts.attnMask;
      const ok = (m.ndim === 2 && m.shape[0] === L && m.shape[1] === S) || (m.ndim === 3 && m.shape[0] === N * H && m.shape[1] === L && m.shape[2] === S);
      if (!ok) throw new ShapeError(`${who}: attnMask must be [${L}, ${S}] or [${N * H}, ${L}, ${S}] (N·numHeads, L, S), got ${fmtShape(m.shape)}`);
      bias = maskBias(m, true, dtype);
    }
    if (opts.keyPaddingMask) {
      const m = opts.keyPaddingMask;
      const want = batched ? [N, S] : [S];
      if (m.ndim !== want.length || m.shape.some((d, i) => d !== want[i])) {
        throw new ShapeError(`${who}: keyPaddingMask must be ${fmtShape(want)} (batch, key length), got ${fmtShape(m.shape)}`);
      }
      const kp = maskBias(m, true, dtype).reshape([N, 1, 1, S]).expand([N, H, 1, S]).reshape([N * H, 1, S]);
      bias = bias === null ? kp : bias.add(kp);
    }
    let scores = q.matmul(k.transpose(1, 2));
    if (bias !== null) scores = scores.add(bias);
    let attn = softmax(scores, -1);
    if (this.dropout > 0 && this.training) attn = dropout(attn, this.dropout, true, this.generator);
    const heads = attn.matmul(v); // [N·H, L, hd]
    const merged = heads.transpose(0, 1).reshape([L * N, E]);
    let out = this.out_proj.call(merged).reshape([L, N, E]);
    out = batched ? (this.batchFirst ? out.transpose(0, 1) : out) : out.squeeze(1);
    if (!(opts.needWeights ?? true)) return [out, null];
    let weights = attn.reshape([N, H, L, S]);
    if (opts.averageAttnWeights ?? true) weights = weights.mean(1);
    if (!batched) weights = weights.squeeze(0);
    return [out, weights];
  }

  override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}${this.dropout ? `, dropout=${this.dropout}` : ''}${this.batchFirst ? ', batchFirst=true' : ''}`;
  }
}

/** Bool [L, S], true where key j comes after query i (blocked in a causal mask). */
function causalBlocked(L: number, S: number): Tensor {
  return noGrad(() => arange(0, L).unsqueeze(1).lt(arange(0, S).unsqueeze(0)));
}

// ---- Transformer layers ---------------------------------------------------------------------

export interface TransformerLayerOptions extends FactoryOptions {
  dimFeedforward?: number;
  dropout?: number;
  activation?: 'relu' | 'gelu' | ((x: Tensor) => Tensor);
  layerNormEps?: number;
  batchFirst?: boolean;
  /** Pre-norm (LayerNorm before attention and the feed-forward) instead of PyTorch's default post-norm. */
  normFirst?: boolean;
  generator?: Generator;
}

function activationFn(who: string, a: TransformerLayerOptions['activation']): (x: Tensor) => Tensor {
  if (a === undefined || a === 'relu') return relu;
  if (a === 'gelu') return gelu;
  if (typeof a === 'function') return a;
  throw new ValueError(`${who}: activation must be 'relu', 'gelu' or a function, got ${JSON.stringify(a)}`);
}

export interface EncoderCallOptions {
  srcMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  isCausal?: boolean;
}

export class TransformerEncoderLayer extends Module<[Tensor, EncoderCallOptions?]> {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly normFirst: boolean;
  private readonly act: (x: Tensor) => Tensor;

  readonly dModel: number;
  readonly nhead: number;
  readonly opts: TransformerLayerOptions;

  constructor(...args: LayerArgs) {
    super();
    const { dModel, nhead, ...opts } = ENCODER_LAYER.parse<TransformerLayerOptions & { dModel: number; nhead: number }>(args);
    [this.dModel, this.nhead, this.opts] = [dModel, nhead, opts];
    const dtype = opts.dtype ?? 'float32';
    const ff = opts.dimFeedforward ?? 2048;
    const p = opts.dropout ?? 0.1;
    const eps = opts.layerNormEps ?? 1e-5;
    const gen = opts.generator ?? defaultGenerator;
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst: opts.batchFirst ?? false, dtype, generator: gen });
    this.linear1 = new Linear(dModel, ff, { dtype });
    this.dropout = new Dropout(p, { generator: gen });
    this.linear2 = new Linear(ff, dModel, { dtype });
    this.norm1 = new LayerNorm(dModel, { eps, dtype });
    this.norm2 = new LayerNorm(dModel, { eps, dtype });
    this.dropout1 = new Dropout(p, { generator: gen });
    this.dropout2 = new Dropout(p, { generator: gen });
    this.normFirst = opts.normFirst ?? false;
    this.act = activationFn('TransformerEncoderLayer', opts.activation);
  }

  override forward(src: Tensor, opts: EncoderCallOptions = {}): Tensor {
    const sa = (x: Tensor) =>
      this.dropout1.call(this.self_attn.call(x, x, x, { attnMask: opts.srcMask, keyPaddingMask: opts.srcKeyPaddingMask, isCausal: opts.isCausal, needWeights: false })[0]);
    const ff = (x: Tensor) => this.dropout2.call(this.linear2.call(this.dropout.call(this.act(this.linear1.call(x)))));
    let x = src;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.call(x)));
      return x.add(ff(this.norm2.call(x)));
    }
    x = this.norm1.call(x.add(sa(x)));
    return this.norm2.call(x.add(ff(x)));
  }

  /** A new layer with the same settings and a copy of this one's weights (PyTorch's deepcopy in TransformerEncoder). */
  cloneLayer(): TransformerEncoderLayer {
    const c = new TransformerEncoderLayer(this.dModel, this.nhead, this.opts);
    c.loadStateDict(this.stateDict());
    c.train(this.training);
    return c;
  }
}

export interface DecoderCallOptions {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  tgtIsCausal?: boolean;
}

export class TransformerDecoderLayer extends Module<[Tensor, Tensor, DecoderCallOptions?]> {
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  readonly normFirst: boolean;
  private readonly act: (x: Tensor) => Tensor;

  readonly dModel: number;
  readonly nhead: number;
  readonly opts: TransformerLayerOptions;

  constructor(...args: LayerArgs) {
    super();
    const { dModel, nhead, ...opts } = DECODER_LAYER.parse<TransformerLayerOptions & { dModel: number; nhead: number }>(args);
    [this.dModel, this.nhead, this.opts] = [dModel, nhead, opts];
    const dtype = opts.dtype ?? 'float32';
    const ff = opts.dimFeedforward ?? 2048;
    const p = opts.dropout ?? 0.1;
    const eps = opts.layerNormEps ?? 1e-5;
    const gen = opts.generator ?? defaultGenerator;
    const batchFirst = opts.batchFirst ?? false;
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst, dtype, generator: gen });
    this.multihead_attn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst, dtype, generator: gen });
    this.linear1 = new Linear(dModel, ff, { dtype });
    this.dropout = new Dropout(p, { generator: gen });
    this.linear2 = new Linear(ff, dModel, { dtype });
    this.norm1 = new LayerNorm(dModel, { eps, dtype });
    this.norm2 = new LayerNorm(dModel, { eps, dtype });
    this.norm3 = new LayerNorm(dModel, { eps, dtype });
    this.dropout1 = new Dropout(p, { generator: gen });
    this.dropout2 = new Dropout(p, { generator: gen });
    this.dropout3 = new Dropout(p, { generator: gen });
    this.normFirst = opts.normFirst ?? false;
    this.act = activationFn('TransformerDecoderLayer', opts.activation);
  }

  override forward(tgt: Tensor, memory: Tensor, opts: DecoderCallOptions = {}): Tensor {
    const sa = (x: Tensor) =>
      this.dropout1.call(this.self_attn.call(x, x, x, { attnMask: opts.tgtMask, keyPaddingMask: opts.tgtKeyPaddingMask, isCausal: opts.tgtIsCausal, needWeights: false })[0]);
    const mha = (x: Tensor) =>
      this.dropout2.call(this.multihead_attn.call(x, memory, memory, { attnMask: opts.memoryMask, keyPaddingMask: opts.memoryKeyPaddingMask, needWeights: false })[0]);
    const ff = (x: Tensor) => this.dropout3.call(this.linear2.call(this.dropout.call(this.act(this.linear1.call(x)))));
    let x = tgt;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.call(x)));
      x = x.add(mha(this.norm2.call(x)));
      return x.add(ff(this.norm3.call(x)));
    }
    x = this.norm1.call(x.add(sa(x)));
    x = this.norm2.call(x.add(mha(x)));
    return this.norm3.call(x.add(ff(x)));
  }

  cloneLayer(): TransformerDecoderLayer {
    const c = new TransformerDecoderLayer(this.dModel, this.nhead, this.opts);
    c.loadStateDict(this.stateDict());
    c.train(this.training);
    return c;
  }
}

/** numLayers copies of encoderLayer (same starting weights, as PyTorch's deepcopy), then an optional norm. */
export class TransformerEncoder extends Module<[Tensor, EncoderCallOptions?]> {
  layers: ModuleList;
  norm: AnyModule | null;

  readonly numLayers: number;

  constructor(...args: Args<[encoderLayer: TransformerEncoderLayer, numLayers: number], [norm: AnyModule | null, enableNestedTensor: true, maskCheck: true], { norm?: AnyModule | null }>) {
    super();
    const opts = ENCODER.parse<{ encoderLayer: TransformerEncoderLayer; numLayers: number; norm?: AnyModule | null }>(args);
    const { encoderLayer, numLayers } = opts;
    this.numLayers = numLayers;
    if (!Number.isInteger(numLayers) || numLayers < 1) throw new ValueError(`TransformerEncoder: numLayers must be a positive integer, got ${numLayers}`);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => encoderLayer.cloneLayer()));
    this.norm = opts.norm ?? null;
  }

  override forward(src: Tensor, opts: EncoderCallOptions = {}): Tensor {
    let x = src;
    for (const [, layer] of this.layers.namedChildren()) x = (layer as TransformerEncoderLayer).call(x, opts);
    return this.norm ? (this.norm.call(x) as Tensor) : x;
  }
}

/** numLayers copies of decoderLayer, then an optional norm. */
export class TransformerDecoder extends Module<[Tensor, Tensor, DecoderCallOptions?]> {
  layers: ModuleList;
  norm: AnyModule | null;

  readonly numLayers: number;

  constructor(...args: Args<[decoderLayer: TransformerDecoderLayer, numLayers: number], [norm: AnyModule | null], { norm?: AnyModule | null }>) {
    super();
    const opts = DECODER.parse<{ decoderLayer: TransformerDecoderLayer; numLayers: number; norm?: AnyModule | null }>(args);
    const { decoderLayer, numLayers } = opts;
    this.numLayers = numLayers;
    if (!Number.isInteger(numLayers) || numLayers < 1) throw new ValueError(`TransformerDecoder: numLayers must be a positive integer, got ${numLayers}`);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => decoderLayer.cloneLayer()));
    this.norm = opts.norm ?? null;
  }

  override forward(tgt: Tensor, memory: Tensor, opts: DecoderCallOptions = {}): Tensor {
    let x = tgt;
    for (const [, layer] of this.layers.namedChildren()) x = (layer as TransformerDecoderLayer).call(x, memory, opts);
    return this.norm ? (this.norm.call(x) as Tensor) : x;
  }
}

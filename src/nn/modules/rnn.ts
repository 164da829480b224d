import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { zeros } from '../../tensor/creation.js';
import { defaultGenerator, type Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { cat, stack } from '../../ops/shape-functional.js';
import { dropout, linear } from '../functional/basic.js';
import { uniform_ } from '../init.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import type { FactoryOptions } from './linear.js';
import type { DType } from '../../tensor/dtype.js';
import { declareSignature, signature, type Args } from '../../signature.js';

// PyTorch's RNN, LSTM and GRU take RNNBase's order; nonlinearity (RNN only) is an option.
const RNN_SPEC = 'inputSize:int hiddenSize:int numLayers?:int bias?:bool batchFirst?:bool dropout?:num bidirectional?:bool projSize=0 device="cpu" dtype?:dtype';
const SIGS = {
  RNN: declareSignature('nn.RNN', signature('RNN', RNN_SPEC, ['nonlinearity', 'generator'])),
  LSTM: declareSignature('nn.LSTM', signature('LSTM', RNN_SPEC, ['generator'])),
  GRU: declareSignature('nn.GRU', signature('GRU', RNN_SPEC, ['generator'])),
  RNNCell: declareSignature('nn.RNNCell', signature('RNNCell', 'inputSize:int hiddenSize:int bias?:bool nonlinearity?:str device="cpu" dtype?:dtype', ['generator'])),
  LSTMCell: declareSignature('nn.LSTMCell', signature('LSTMCell', 'inputSize:int hiddenSize:int bias?:bool device="cpu" dtype?:dtype', ['generator'])),
  GRUCell: declareSignature('nn.GRUCell', signature('GRUCell', 'inputSize:int hiddenSize:int bias?:bool device="cpu" dtype?:dtype', ['generator'])),
};
type Sizes = [inputSize: number, hiddenSize: number];
type RecurrentArgs<O> = Args<
  Sizes,
  [numLayers: number, bias: boolean, batchFirst: boolean, dropout: number, bidirectional: boolean, projSize: 0, device: 'cpu' | null, dtype: DType],
  O
>;
type Parsed<O> = O & { inputSize: number; hiddenSize: number };

/**
 * Recurrent layers as PyTorch's torch.nn.RNN / LSTM / GRU and their single-step cells: the same
 * parameter names (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `_reverse` for the
 * backward direction of a bidirectional layer), shapes, gate order and initialisation
 * (every parameter U(−1/√hidden, 1/√hidden)), so that a PyTorch state dict loads by name.
 *
 *   RNN:   h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh),  act = tanh or relu
 *   LSTM:  [i f g o] = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh     (gates in this order, as PyTorch)
 *          c' = σ(f)·c + σ(i)·tanh(g),  h' = σ(o)·tanh(c')
 *   GRU:   [r z n]: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n)
 *          h' = (1 − z)·n + z·h       (x_· = x·W_iᵀ + b_i, h_· = h·W_hᵀ + b_h per gate)
 *
 * The input projection of every time step is one matmul per layer and direction (all steps at
 * once), and each step adds one matmul with W_hh: the gates of a step are one product.
 */

type Mode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';
const GATES: Record<Mode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

/** One time step from the step's input projection xp = x·W_ihᵀ + b_ih [N, G·H]. */
function step(mode: Mode, xp: Tensor, h: Tensor, c: Tensor | null, wHh: Tensor, bHh: Tensor | null, H: number): [Tensor, Tensor | null] {
  const hp = linear(h, wHh, bHh);
  switch (mode) {
    case 'RNN_TANH':
      return [xp.add(hp).tanh(), null];
    case 'RNN_RELU':
      return [xp.add(hp).relu(), null];
    case 'LSTM': {
      const gates = xp.add(hp);
      const i = gates.narrow(1, 0, H).sigmoid();
      const f = gates.narrow(1, H, H).sigmoid();
      const g = gates.narrow(1, 2 * H, H).tanh();
      const o = gates.narrow(1, 3 * H, H).sigmoid();
      const c2 = f.mul(c!).add(i.mul(g));
      return [o.mul(c2.tanh()), c2];
    }
    case 'GRU': {
      const r = xp.narrow(1, 0, H).add(hp.narrow(1, 0, H)).sigmoid();
      const z = xp.narrow(1, H, H).add(hp.narrow(1, H, H)).sigmoid();
      const n = xp.narrow(1, 2 * H, H).add(r.mul(hp.narrow(1, 2 * H, H))).tanh();
      // (1 − z)·n + z·h, as n + z·(h − n)
      return [n.add(z.mul(h.sub(n))), null];
    }
  }
}

export interface RNNOptions extends FactoryOptions {
  numLayers?: number;
  /** RNN only: 'tanh' (default) or 'relu'. */
  nonlinearity?: 'tanh' | 'relu';
  bias?: boolean;
  /** Input and output as [batch, seq, feature] instead of [seq, batch, feature]. */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, in training mode. */
  dropout?: number;
  bidirectional?: boolean;
  generator?: Generator;
}

interface LayerParams {
  wIh: string;
  wHh: string;
  bIh: string | null;
  bHh: string | null;
}

abstract class RNNBase<In extends unknown[], Out> extends Module<In, Out> {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly generator: Generator;
  /** Parameter names per layer and direction (index layer·D + direction). */
  private readonly names: LayerParams[] = [];

  constructor(
    protected readonly mode: Mode,
    readonly inputSize: number,
    readonly hiddenSize: number,
    opts: RNNOptions,
  ) {
    super();
    const who = mode === 'LSTM' ? 'LSTM' : mode === 'GRU' ? 'GRU' : 'RNN';
    this.numLayers = opts.numLayers ?? 1;
    this.bias = opts.bias ?? true;
    this.batchFirst = opts.batchFirst ?? false;
    this.dropout = opts.dropout ?? 0;
    this.bidirectional = opts.bidirectional ?? false;
    this.generator = opts.generator ?? defaultGenerator;
    for (const [k, v] of [['inputSize', inputSize], ['hiddenSize', hiddenSize], ['numLayers', this.numLayers]] as const) {
      if (!Number.isInteger(v) || v < (k === 'inputSize' ? 0 : 1)) throw new ValueError(`${who}: ${k} must be a positive integer, got ${v}`);
    }
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new ValueError(`${who}: dropout must be a probability in [0, 1], got ${this.dropout}`);
    const dtype = opts.dtype ?? 'float32';
    const G = GATES[mode] * hiddenSize;
    const D = this.bidirectional ? 2 : 1;
    for (let l = 0; l < this.numLayers; l++) {
      const inF = l === 0 ? inputSize : hiddenSize * D;
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        const names: LayerParams = { wIh: `weight_ih${sfx}`, wHh: `weight_hh${sfx}`, bIh: null, bHh: null };
        this.registerParameter(names.wIh, new Parameter(zeros([G, inF], { dtype })));
        this.registerParameter(names.wHh, new Parameter(zeros([G, hiddenSize], { dtype })));
        if (this.bias) {
          names.bIh = `bias_ih${sfx}`;
          names.bHh = `bias_hh${sfx}`;
          this.registerParameter(names.bIh, new Parameter(zeros([G], { dtype })));
          this.registerParameter(names.bHh, new Parameter(zeros([G], { dtype })));
        }
        this.names.push(names);
      }
    }
    this.resetParameters();
  }

  resetParameters(): void {
    const bound = this.hiddenSize > 0 ? 1 / Math.sqrt(this.hiddenSize) : 0;
    for (const p of this.parameters()) uniform_(p, -bound, bound, this.generator);
  }

  private param(name: string | null): Tensor | null {
    return name === null ? null : ((this as unknown as Record<string, Tensor>)[name] ?? null);
  }

  private get who(): string {
    return this.label();
  }

  /**
   * The whole sequence. x: [L, N, inputSize] ([N, L, inputSize] with batchFirst) or unbatched
   * [L, inputSize]; h0 (and c0): [D·numLayers, N, hidden] ([D·numLayers, hidden] unbatched),
   * zeros when not given. Returns the last layer's outputs [L, N, D·hidden] and the final states.
   */
  protected run(x: Tensor, h0: Tensor | null, c0: Tensor | null): { output: Tensor; h: Tensor; c: Tensor | null } {
    const lstm = this.mode === 'LSTM';
    if (x.ndim !== 2 && x.ndim !== 3) {
      throw new ShapeError(`${this.who}: expected a 2-D (unbatched) or 3-D input, got shape ${fmtShape(x.shape)}`);
    }
    if (x.shape[x.ndim - 1] !== this.inputSize) {
      throw new ShapeError(`${this.who}: input has ${x.shape[x.ndim - 1]} features (shape ${fmtShape(x.shape)}) but inputSize is ${this.inputSize}`);
    }
    const batched = x.ndim === 3;
    let seq = batched ? (this.batchFirst ? x.transpose(0, 1) : x) : x.unsqueeze(1);
    const [L, N] = [seq.shape[0]!, seq.shape[1]!];
    const D = this.bidirectional ? 2 : 1;
    const H = this.hiddenSize;
    const stateShape = [D * this.numLayers, N, H];
    const state = (t: Tensor | null, what: string): Tensor => {
      if (t === null) return zeros(stateShape, { dtype: x.dtype });
      const s = batched ? t : t.ndim === 2 ? t.unsqueeze(1) : t;
      if (s.ndim !== 3 || s.shape[0] !== stateShape[0] || s.shape[1] !== N || s.shape[2] !== H) {
        const want = batched ? stateShape : [stateShape[0]!, H];
        throw new ShapeError(`${this.who}: ${what} must have shape ${fmtShape(want)}, got ${fmtShape(t.shape)}`);
      }
      return s;
    };
    const hInit = state(h0, lstm ? 'h0' : 'hx');
    const cInit = lstm ? state(c0, 'c0') : null;
    const hs: Tensor[] = [];
    const cs: Tensor[] = [];
    for (let l = 0; l < this.numLayers; l++) {
      const outs: Tensor[] = [];
      const inF = seq.shape[2]!;
      for (let d = 0; d < D; d++) {
        const k = l * D + d;
        const names = this.names[k]!;
        const wHh = this.param(names.wHh)!;
        const bHh = this.param(names.bHh);
        const xp = linear(seq.reshape([L * N, inF]), this.param(names.wIh)!, this.param(names.bIh)).reshape([L, N, GATES[this.mode] * H]);
        let h = hInit.select(0, k);
        let c = cInit === null ? null : cInit.select(0, k);
        const steps = new Array<Tensor>(L);
        for (let i = 0; i < L; i++) {
          const t = d === 0 ? i : L - 1 - i;
          [h, c] = step(this.mode, xp.select(0, t), h, c, wHh, bHh, H);
          steps[t] = h;
        }
        outs.push(L === 0 ? zeros([0, N, H], { dtype: x.dtype }) : stack(steps, 0));
        hs.push(h);
        if (c !== null) cs.push(c);
      }
      seq = D === 2 ? cat(outs, 2) : outs[0]!;
      if (l < this.numLayers - 1 && this.dropout > 0 && this.training) seq = dropout(seq, this.dropout, true, this.generator);
    }
    let output = seq;
    let h = stack(hs, 0);
    let c = lstm ? stack(cs, 0) : null;
    if (!batched) {
      output = output.squeeze(1);
      h = h.squeeze(1);
      c = c === null ? null : c.squeeze(1);
    } else if (this.batchFirst) output = output.transpose(0, 1);
    return { output, h, c };
  }

  override extraRepr(): string {
    const parts = [`${this.inputSize}, ${this.hiddenSize}`];
    if (this.numLayers !== 1) parts.push(`numLayers=${this.numLayers}`);
    if (this.mode === 'RNN_RELU') parts.push(`nonlinearity=relu`);
    if (!this.bias) parts.push('bias=false');
    if (this.batchFirst) parts.push('batchFirst=true');
    if (this.dropout) parts.push(`dropout=${this.dropout}`);
    if (this.bidirectional) parts.push('bidirectional=true');
    return parts.join(', ');
  }
}

/** Elman RNN (tanh or relu). forward(x, h0?) → [output, hN]. */
export class RNN extends RNNBase<[Tensor, (Tensor | null)?], [Tensor, Tensor]> {
  constructor(...args: RecurrentArgs<RNNOptions>) {
    const { inputSize, hiddenSize, ...opts } = SIGS.RNN.parse<Parsed<RNNOptions>>(args);
    const nl = opts.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new ValueError(`RNN: nonlinearity must be 'tanh' or 'relu', got ${JSON.stringify(nl)}`);
    super(nl === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', inputSize, hiddenSize, opts);
  }

  override forward(x: Tensor, h0: Tensor | null = null): [Tensor, Tensor] {
    const r = this.run(x, h0, null);
    return [r.output, r.h];
  }
}

/** LSTM. forward(x, [h0, c0]?) → [output, [hN, cN]]. */
export class LSTM extends RNNBase<[Tensor, ([Tensor, Tensor] | null)?], [Tensor, [Tensor, Tensor]]> {
  constructor(...args: RecurrentArgs<Omit<RNNOptions, 'nonlinearity'>>) {
    const { inputSize, hiddenSize, ...opts } = SIGS.LSTM.parse<Parsed<RNNOptions>>(args);
    super('LSTM', inputSize, hiddenSize, opts);
  }

  override forward(x: Tensor, state: [Tensor, Tensor] | null = null): [Tensor, [Tensor, Tensor]] {
    if (state !== null && (!Array.isArray(state) || state.length !== 2)) {
      throw new ValueError(`${this.label()}: the initial state must be [h0, c0] (two tensors), got ${Array.isArray(state) ? `${state.length} items` : typeof state}`);
    }
    const r = this.run(x, state?.[0] ?? null, state?.[1] ?? null);
    return [r.output, [r.h, r.c!]];
  }
}

/** GRU. forward(x, h0?) → [output, hN]. */
export class GRU extends RNNBase<[Tensor, (Tensor | null)?], [Tensor, Tensor]> {
  constructor(...args: RecurrentArgs<Omit<RNNOptions, 'nonlinearity'>>) {
    const { inputSize, hiddenSize, ...opts } = SIGS.GRU.parse<Parsed<RNNOptions>>(args);
    super('GRU', inputSize, hiddenSize, opts);
  }

  override forward(x: Tensor, h0: Tensor | null = null): [Tensor, Tensor] {
    const r = this.run(x, h0, null);
    return [r.output, r.h];
  }
}

// ---- single steps ------------------------------------------------------------------------

export interface RNNCellOptions extends FactoryOptions {
  bias?: boolean;
  /** RNNCell only. */
  nonlinearity?: 'tanh' | 'relu';
  generator?: Generator;
}

abstract class CellBase<In extends unknown[], Out> extends Module<In, Out> {
  weight_ih: Parameter;
  weight_hh: Parameter;
  bias_ih: Parameter | null;
  bias_hh: Parameter | null;

  constructor(
    protected readonly mode: Mode,
    readonly inputSize: number,
    readonly hiddenSize: number,
    opts: RNNCellOptions,
  ) {
    super();
    const dtype = opts.dtype ?? 'float32';
    const G = GATES[mode] * hiddenSize;
    this.weight_ih = new Parameter(zeros([G, inputSize], { dtype }));
    this.weight_hh = new Parameter(zeros([G, hiddenSize], { dtype }));
    const bias = opts.bias ?? true;
    this.bias_ih = bias ? new Parameter(zeros([G], { dtype })) : null;
    this.bias_hh = bias ? new Parameter(zeros([G], { dtype })) : null;
    const bound = hiddenSize > 0 ? 1 / Math.sqrt(hiddenSize) : 0;
    for (const p of this.parameters()) uniform_(p, -bound, bound, opts.generator ?? defaultGenerator);
  }

  /** x [N, inputSize] or [inputSize]; h, c [N, hidden] or [hidden] (zeros when null). */
  protected cell(x: Tensor, h: Tensor | null, c: Tensor | null): [Tensor, Tensor | null] {
    if ((x.ndim !== 1 && x.ndim !== 2) || x.shape[x.ndim - 1] !== this.inputSize) {
      throw new ShapeError(`${this.label()}: expected input [N, ${this.inputSize}] or [${this.inputSize}], got shape ${fmtShape(x.shape)}`);
    }
    const batched = x.ndim === 2;
    const xb = batched ? x : x.unsqueeze(0);
    const N = xb.shape[0]!;
    const state = (t: Tensor | null, what: string): Tensor => {
      if (t === null) return zeros([N, this.hiddenSize], { dtype: x.dtype });
      const s = batched ? t : t.unsqueeze(0);
      if (s.ndim !== 2 || s.shape[0] !== N || s.shape[1] !== this.hiddenSize) {
        throw new ShapeError(`${this.label()}: ${what} must have shape ${fmtShape(batched ? [N, this.hiddenSize] : [this.hiddenSize])}, got ${fmtShape(t.shape)}`);
      }
      return s;
    };
    const hb = state(h, 'hx');
    const cb = this.mode === 'LSTM' ? state(c, 'cx') : null;
    const [h2, c2] = step(this.mode, linear(xb, this.weight_ih, this.bias_ih), hb, cb, this.weight_hh, this.bias_hh, this.hiddenSize);
    return batched ? [h2, c2] : [h2.squeeze(0), c2 === null ? null : c2.squeeze(0)];
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias_ih === null ? ', bias=false' : ''}${this.mode === 'RNN_RELU' ? ', nonlinearity=relu' : ''}`;
  }
}

export class RNNCell extends CellBase<[Tensor, (Tensor | null)?], Tensor> {
  constructor(...args: Args<Sizes, [bias: boolean, nonlinearity: 'tanh' | 'relu', device: 'cpu' | null, dtype: DType], RNNCellOptions>) {
    const { inputSize, hiddenSize, ...opts } = SIGS.RNNCell.parse<Parsed<RNNCellOptions>>(args);
    const nl = opts.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new ValueError(`RNNCell: nonlinearity must be 'tanh' or 'relu', got ${JSON.stringify(nl)}`);
    super(nl === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', inputSize, hiddenSize, opts);
  }

  override forward(x: Tensor, hx: Tensor | null = null): Tensor {
    return this.cell(x, hx, null)[0];
  }
}

export class LSTMCell extends CellBase<[Tensor, ([Tensor, Tensor] | null)?], [Tensor, Tensor]> {
  constructor(...args: Args<Sizes, [bias: boolean, device: 'cpu' | null, dtype: DType], Omit<RNNCellOptions, 'nonlinearity'>>) {
    const { inputSize, hiddenSize, ...opts } = SIGS.LSTMCell.parse<Parsed<RNNCellOptions>>(args);
    super('LSTM', inputSize, hiddenSize, opts);
  }

  override forward(x: Tensor, state: [Tensor, Tensor] | null = null): [Tensor, Tensor] {
    const [h, c] = this.cell(x, state?.[0] ?? null, state?.[1] ?? null);
    return [h, c!];
  }
}

export class GRUCell extends CellBase<[Tensor, (Tensor | null)?], Tensor> {
  constructor(...args: Args<Sizes, [bias: boolean, device: 'cpu' | null, dtype: DType], Omit<RNNCellOptions, 'nonlinearity'>>) {
    const { inputSize, hiddenSize, ...opts } = SIGS.GRUCell.parse<Parsed<RNNCellOptions>>(args);
    super('GRU', inputSize, hiddenSize, opts);
  }

  override forward(x: Tensor, hx: Tensor | null = null): Tensor {
    return this.cell(x, hx, null)[0];
  }
}

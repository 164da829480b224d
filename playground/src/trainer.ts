/**
 * The training itself, with no DOM and no messaging, so that it runs in the page's worker and,
 * for checks, in Node: the model, the optimizer, one step, the evaluation of the train and test
 * sets, the decision boundary and the hidden units' maps on a grid, and the inspected step
 * (its recorded graph, and explain()'s BP1–BP4 trace of the batch).
 */
import { F, manualSeed, nn, noGrad, optim, tensor, type Tensor } from 'chainrule';
import { GradientMonitor, explain, toDot, type ExplainResult, type GradientWarning } from 'chainrule/inspect';
import { makeDataset, rng, type Points, type Split } from './datasets.js';
import { layerSizes, type Settings } from './settings.js';

import { EXTENT, GRID, UNIT_GRID } from './grid.js';

export interface Metrics {
  step: number;
  epoch: number;
  trainLoss: number;
  testLoss: number;
  trainAcc: number;
  testAcc: number;
}

export interface GradientBars {
  labels: string[];
  /** ‖δˡ‖ = ‖∂L/∂zˡ‖ per layer at the latest step (NaN where not recorded). */
  delta: number[];
  /** ‖∂L/∂Wˡ‖ per layer. */
  weight: number[];
  /** Share of dead ReLU units per layer, or null. */
  dead: (number | null)[];
  warnings: GradientWarning[];
}

export interface UnitMaps {
  /** 1-based hidden layer. */
  layer: number;
  units: number;
  /** units × UNIT_GRID² activations, unit-major. */
  values: Float32Array;
  /** The activation's range, for the colour scale: [-1, 1] for tanh, [0, 1] for sigmoid, else the data's. */
  lo: number;
  hi: number;
}

export interface InspectedStep {
  step: number;
  dot: string;
  explain: ExplainResult | null;
  explainError: string | null;
  /** What the trace leaves out of the real step (dropout, L2, the optimizer's own update). */
  notes: string[];
}

function activationModule(kind: Settings['activation']): nn.Module {
  switch (kind) {
    case 'tanh':
      return new nn.Tanh();
    case 'relu':
      return new nn.ReLU();
    case 'sigmoid':
      return new nn.Sigmoid();
    case 'leakyRelu':
      return new nn.LeakyReLU(0.01);
  }
}

export class Trainer {
  readonly settings: Settings;
  readonly data: Split;
  /**
   * What training runs: logits out for bce and ce (bce is then trained as
   * binaryCrossEntropyWithLogits, exact where a sigmoid saturates), probabilities for mse.
   */
  readonly model: nn.Sequential;
  /** The same modules without Dropout: what the evaluation and the maps run on. */
  readonly plain: nn.Sequential;
  /** `plain` with the output's Sigmoid for bce: the model explain() traces (BP1 with σ′(zᴸ)). */
  readonly traced: nn.Sequential;
  readonly linears: nn.Linear[];
  readonly monitor: GradientMonitor;
  private readonly opt: optim.Optimizer;
  private readonly trainX: Tensor;
  private readonly trainY: Tensor;
  private readonly testX: Tensor;
  private readonly testY: Tensor;
  private readonly grid: Tensor;
  private readonly order: Int32Array;
  private cursor = 0;
  private readonly shuffle: () => number;
  step = 0;
  epoch = 0;

  constructor(settings: Settings) {
    this.settings = settings;
    this.data = makeDataset(settings.dataset, settings.points, settings.noise, settings.trainShare, settings.seed);
    manualSeed(settings.seed);
    const sizes = layerSizes(settings);
    const all: nn.Module[] = [];
    const plain: nn.Module[] = [];
    const traced: nn.Module[] = [];
    this.linears = [];
    for (let i = 1; i < sizes.length; i++) {
      const lin = new nn.Linear(sizes[i - 1]!, sizes[i]!);
      this.linears.push(lin);
      all.push(lin);
      plain.push(lin);
      traced.push(lin);
      const last = i === sizes.length - 1;
      if (!last) {
        const act = activationModule(settings.activation);
        all.push(act);
        plain.push(act);
        traced.push(act);
        if (settings.dropout > 0) all.push(new nn.Dropout(settings.dropout));
      } else if (settings.loss === 'mse') {
        const s = new nn.Sigmoid();
        all.push(s);
        plain.push(s);
        traced.push(s);
      } else if (settings.loss === 'bce') {
        traced.push(new nn.Sigmoid());
      }
    }
    this.model = new nn.Sequential(...all);
    this.plain = new nn.Sequential(...plain);
    this.traced = new nn.Sequential(...traced);
    this.monitor = new GradientMonitor(this.plain);
    const params = this.model.parameters();
    const wd = settings.l2;
    this.opt = settings.optimizer === 'adam' ? new optim.Adam(params, { lr: settings.lr, weightDecay: wd })
      : new optim.SGD(params, { lr: settings.lr, weightDecay: wd, momentum: settings.optimizer === 'momentum' ? 0.9 : 0 });
    [this.trainX, this.trainY] = this.tensors(this.data.train);
    [this.testX, this.testY] = this.tensors(this.data.test);
    const g = new Float32Array(GRID * GRID * 2);
    for (let r = 0; r < GRID; r++) {
      for (let c = 0; c < GRID; c++) {
        // Row 0 is the top of the picture (largest x₂).
        g[(r * GRID + c) * 2] = -EXTENT + ((c + 0.5) / GRID) * 2 * EXTENT;
        g[(r * GRID + c) * 2 + 1] = EXTENT - ((r + 0.5) / GRID) * 2 * EXTENT;
      }
    }
    this.grid = tensor(g, { shape: [GRID * GRID, 2] });
    this.order = Int32Array.from({ length: this.data.train.label.length }, (_, i) => i);
    this.shuffle = rng(settings.seed + 101);
    this.reshuffle();
  }

  /** Inputs [N, 2] and targets: [N, 1] floats for the sigmoid losses, [N] class indices for cross-entropy. */
  private tensors(p: Points): [Tensor, Tensor] {
    const n = p.label.length;
    const x = tensor(p.xy, { shape: [n, 2] });
    const y = this.settings.loss === 'ce' ? tensor(Int32Array.from(p.label), { shape: [n], dtype: 'int32' }) : tensor(Float32Array.from(p.label), { shape: [n, 1] });
    return [x, y];
  }

  private reshuffle(): void {
    const o = this.order;
    for (let i = o.length - 1; i > 0; i--) {
      const j = Math.floor(this.shuffle() * (i + 1));
      const t = o[i]!;
      o[i] = o[j]!;
      o[j] = t;
    }
  }

  /** The next minibatch of the training set (a new epoch reshuffles). */
  nextBatch(): [Tensor, Tensor] {
    const n = this.order.length;
    const b = Math.min(this.settings.batchSize, n);
    if (this.cursor + b > n) {
      this.cursor = 0;
      this.epoch++;
      this.reshuffle();
    }
    const xy = new Float32Array(b * 2);
    const lab = new Float32Array(b);
    for (let i = 0; i < b; i++) {
      const k = this.order[this.cursor + i]!;
      xy[2 * i] = this.data.train.xy[2 * k]!;
      xy[2 * i + 1] = this.data.train.xy[2 * k + 1]!;
      lab[i] = this.data.train.label[k]!;
    }
    this.cursor += b;
    const x = tensor(xy, { shape: [b, 2] });
    const y = this.settings.loss === 'ce' ? tensor(Int32Array.from(lab), { shape: [b], dtype: 'int32' }) : tensor(lab, { shape: [b, 1] });
    return [x, y];
  }

  lossOf(out: Tensor, y: Tensor): Tensor {
    switch (this.settings.loss) {
      case 'bce':
        return F.binaryCrossEntropyWithLogits(out, y);
      case 'mse':
        return F.mseLoss(out, y);
      case 'ce':
        return F.crossEntropy(out, y);
    }
  }

  /** One optimizer step on the next minibatch; returns the batch loss. */
  trainStep(): number {
    const [x, y] = this.nextBatch();
    this.model.train();
    this.opt.zeroGrad();
    const loss = this.lossOf(this.model.call(x) as Tensor, y);
    loss.backward();
    this.step++;
    this.monitor.step(this.step);
    if (this.monitor.history.length > 64) this.monitor.history.splice(0, this.monitor.history.length - 32);
    this.opt.step();
    return loss.item();
  }

  /** P(class 1) per row of the model's output (logits for bce and ce, probabilities for mse). */
  private probability(out: Tensor): Float32Array {
    const o = out.dataSync();
    if (this.settings.loss === 'mse') return Float32Array.from(o);
    if (this.settings.loss === 'bce') return Float32Array.from(o, (z) => 1 / (1 + Math.exp(-z)));
    const n = out.shape[0]!;
    const p = new Float32Array(n);
    for (let i = 0; i < n; i++) p[i] = 1 / (1 + Math.exp(o[2 * i]! - o[2 * i + 1]!));
    return p;
  }

  metrics(): Metrics {
    this.model.eval();
    const [trainLoss, trainAcc] = this.score(this.trainX, this.trainY, this.data.train.label);
    const [testLoss, testAcc] = this.score(this.testX, this.testY, this.data.test.label);
    return { step: this.step, epoch: this.epoch, trainLoss, testLoss, trainAcc, testAcc };
  }

  private score(x: Tensor, y: Tensor, labels: Uint8Array): [number, number] {
    return noGrad(() => {
      const out = this.plain.call(x) as Tensor;
      const loss = this.lossOf(out, y).item();
      const p = this.probability(out);
      let right = 0;
      for (let i = 0; i < p.length; i++) if ((p[i]! > 0.5 ? 1 : 0) === labels[i]) right++;
      return [loss, labels.length ? right / labels.length : 0];
    });
  }

  /** P(class 1) on the GRID × GRID cells (row 0 at the top), and every hidden unit's activation. */
  maps(): { boundary: Float32Array; units: UnitMaps[] } {
    return noGrad(() => {
      const units: UnitMaps[] = [];
      let h = this.grid;
      let layer = 0;
      const mods = this.plain.children();
      for (let i = 0; i < mods.length; i++) {
        const m = mods[i]!;
        h = m.call(h) as Tensor;
        const isHiddenActivation = !(m instanceof nn.Linear) && i < mods.length - 1;
        if (isHiddenActivation) {
          layer++;
          units.push(this.unitMaps(h, layer));
        }
      }
      return { boundary: this.probability(h), units };
    });
  }

  private unitMaps(h: Tensor, layer: number): UnitMaps {
    const d = h.dataSync();
    const n = h.shape[1]!;
    const values = new Float32Array(n * UNIT_GRID * UNIT_GRID);
    let lo = Infinity;
    let hi = -Infinity;
    for (let r = 0; r < UNIT_GRID; r++) {
      for (let c = 0; c < UNIT_GRID; c++) {
        const row = (2 * r * GRID + 2 * c) * n;
        for (let u = 0; u < n; u++) {
          const v = d[row + u]!;
          values[u * UNIT_GRID * UNIT_GRID + r * UNIT_GRID + c] = v;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    const act = this.settings.activation;
    if (act === 'tanh') [lo, hi] = [-1, 1];
    else if (act === 'sigmoid') [lo, hi] = [0, 1];
    else [lo, hi] = [Math.min(lo, 0), Math.max(hi, 1e-6)];
    return { layer, units: n, values, lo, hi };
  }

  gradientBars(): GradientBars {
    const last = this.monitor.history[this.monitor.history.length - 1];
    return {
      labels: this.monitor.layers.map((l) => `L${l.index}`),
      delta: this.monitor.layers.map((_, i) => last?.layers[i]!.deltaNorm ?? Number.NaN),
      weight: this.monitor.layers.map((_, i) => last?.layers[i]!.weightGradNorm ?? Number.NaN),
      dead: this.monitor.layers.map((_, i) => last?.layers[i]!.deadFraction ?? null),
      warnings: this.monitor.warnings(),
    };
  }

  /**
   * One step as "step" shows it: explain() traces BP1–BP4 on the batch with the weights before
   * the update, then the real step runs with its forward written layer by layer so that the
   * drawn graph names zˡ and aˡ and shows their gradients (retainGrad).
   */
  inspectStep(): InspectedStep {
    const [x, y] = this.nextBatch();
    const notes: string[] = [];
    let ex: ExplainResult | null = null;
    let explainError: string | null = null;
    try {
      ex = explain(this.traced, x, y, { loss: this.settings.loss, lr: this.settings.lr });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      explainError = /NaN/.test(message) && this.settings.loss === 'bce'
        ? `explain() could not trace this batch: an output saturated (σ(zᴸ) is exactly 0 or 1 in float32, so the BP1 factor ∂ℓ/∂a = (a − y)/(a(1 − a)) is 0/0). Reset, or use the cross-entropy output. (${message})`
        : `explain() could not trace this batch: ${message}`;
    }
    if (this.settings.loss === 'bce') notes.push('training computes this loss from the logits zᴸ (binaryCrossEntropyWithLogits: the same loss and δᴸ = a − y, without the 0·∞ of a saturated sigmoid), so the graph has no sigmoid node');
    if (this.settings.dropout > 0) notes.push(`dropout (p = ${this.settings.dropout}) is left out of the trace: it is shown in eval mode; the real step below drops units`);
    if (this.settings.l2 > 0) notes.push(`L2 (weight decay ${this.settings.l2}) is applied by the optimizer, after these gradients`);
    if (this.settings.optimizer !== 'sgd') notes.push(`the update shown is plain SGD with η = ${this.settings.lr}; this run's ${this.settings.optimizer === 'adam' ? 'Adam' : 'SGD with momentum 0.9'} moves the weights differently`);

    this.model.train();
    this.opt.zeroGrad();
    const named: Record<string, Tensor> = { x, y };
    let h = x;
    let layer = 1;
    for (const m of this.model.children()) {
      h = m.call(h) as Tensor;
      if (m instanceof nn.Linear) named[`z${layer}`] = h;
      else if (m instanceof nn.Dropout) named[`dropout(a${layer - 1})`] = h;
      else named[`a${layer++}`] = h;
    }
    for (const t of Object.values(named)) if (t.requiresGrad && t.gradFn) t.retainGrad();
    const loss = this.lossOf(h, y);
    named.L = loss;
    loss.backward();
    this.step++;
    this.monitor.step(this.step);
    const dot = toDot(loss, { modelForNames: this.model, tensors: named, maxValues: 16, rankdir: 'TB', title: `Step ${this.step}: batch of ${x.shape[0]}, L = ${loss.item().toPrecision(4)}` });
    this.opt.step();
    return { step: this.step, dot, explain: ex, explainError, notes };
  }
}

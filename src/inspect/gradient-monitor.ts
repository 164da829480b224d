/**
 * GradientMonitor: per step and per Linear layer, the norm of ∂L/∂W and of δ = ∂L/∂z (the
 * gradient at the layer's pre-activation output, caught by a hook during backward), and the
 * share of ReLU units that are zero for every example of the batch. From these it warns about
 * vanishing and exploding gradients and dead ReLUs, and it never lets a dead output layer pass
 * as a column of zeros.
 *
 *   const monitor = new GradientMonitor(model);
 *   for (...) { opt.zeroGrad(); loss(model.call(x), y).backward(); monitor.step(); opt.step(); }
 *   monitor.warnings(); monitor.toSvg();
 */
import type { AnyModule } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ActivationKind } from './explain-math.js';
import { linearBlocks, watchForward, type LinearBlock } from './layers.js';
import { gradientFlowSvg } from './gradflow-chart.js';

export interface GradientMonitorOptions {
  /** A layer whose norm is below this fraction of the last layer's is vanishing. Default 1e-3. */
  vanishingRatio?: number;
  /** A norm above this is exploding. Default 1e3. */
  explodingNorm?: number;
  /** Growth by more than this factor over `window` steps is exploding. Default 10. */
  growthFactor?: number;
  /** Steps averaged for the vanishing test and spanned by the growth test. Default 5. */
  window?: number;
  /** A ReLU layer with more than this share of units zero over a batch is dead. Default 0.9. */
  deadFraction?: number;
}

export interface MonitoredLayer {
  index: number;
  path: string;
  activation: ActivationKind;
  /** Short name for charts: the path when it says something, else L1, L2, ... */
  label: string;
  units: number;
}

export interface LayerRecord {
  /** ‖∂L/∂W‖₂ (Frobenius); null when the weight had no gradient. */
  weightGradNorm: number | null;
  /** ‖δ‖₂ over the batch; null when no backward reached the layer's output this step. */
  deltaNorm: number | null;
  /** Share of units that were zero for every example (ReLU layers only), else null. */
  deadFraction: number | null;
}

export interface StepRecord {
  step: number;
  layers: LayerRecord[];
}

export type WarningKind = 'vanishing' | 'exploding' | 'dead-relu' | 'output-dead' | 'no-gradient';

export interface GradientWarning {
  kind: WarningKind;
  /** 1-based layer index, or null for the whole network. */
  layer: number | null;
  message: string;
}

const l2 = (t: Tensor): number => {
  let s = 0;
  const d = t.dataSync();
  for (let i = 0; i < d.length; i++) s += d[i]! * d[i]!;
  return Math.sqrt(s);
};

/** Share of columns (units) of a ReLU's [..., units] output that are zero in every row (example). */
function deadShare(out: Tensor): number {
  const units = out.shape[out.ndim - 1] ?? 1;
  const alive = new Uint8Array(units);
  const d = out.dataSync();
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) alive[i % units] = 1;
  return 1 - alive.reduce((a, b) => a + b, 0) / units;
}

export class GradientMonitor {
  readonly layers: MonitoredLayer[];
  readonly history: StepRecord[] = [];
  private readonly blocks: LinearBlock[];
  private readonly opts: Required<GradientMonitorOptions>;
  private readonly unwatch: (() => void)[] = [];
  private deltaSq: (number | null)[];
  private dead: (number | null)[];

  constructor(model: AnyModule, options: GradientMonitorOptions = {}) {
    this.opts = { vanishingRatio: 1e-3, explodingNorm: 1e3, growthFactor: 10, window: 5, deadFraction: 0.9, ...options };
    this.blocks = linearBlocks(model, 'GradientMonitor');
    this.layers = this.blocks.map((b) => ({
      index: b.index, path: b.path, activation: b.activation, units: b.linear.outFeatures,
      label: /^\d+$/.test(b.path) || b.path === 'model' ? `L${b.index}` : b.path,
    }));
    this.deltaSq = this.blocks.map(() => null);
    this.dead = this.blocks.map(() => null);
    this.blocks.forEach((b, i) => {
      this.unwatch.push(watchForward(b.linear, (z) => {
        if (!z.requiresGrad) return; // evaluation passes (noGrad) are not training steps
        z.registerHook((g) => {
          this.deltaSq[i] = (this.deltaSq[i] ?? 0) + l2(g) ** 2;
        });
      }));
      if (b.activationModule && b.activation === 'relu') {
        this.unwatch.push(watchForward(b.activationModule, (a) => {
          if (a.requiresGrad) this.dead[i] = deadShare(a);
        }));
      }
    });
  }

  /** Record the gradients of the backward pass just run; call after backward(), before zeroGrad(). */
  step(stepNumber?: number): StepRecord {
    const rec: StepRecord = {
      step: stepNumber ?? (this.history.length ? this.history[this.history.length - 1]!.step + 1 : 1),
      layers: this.blocks.map((b, i) => ({
        weightGradNorm: b.linear.weight.grad ? l2(b.linear.weight.grad) : null,
        deltaNorm: this.deltaSq[i] === null ? null : Math.sqrt(this.deltaSq[i]!),
        deadFraction: this.dead[i] ?? null,
      })),
    };
    this.history.push(rec);
    this.deltaSq = this.blocks.map(() => null);
    this.dead = this.blocks.map(() => null);
    return rec;
  }

  /** Stop watching the model (its forward methods are restored). */
  detach(): void {
    for (const u of this.unwatch.splice(0)) u();
  }

  /** The norm a layer is judged by: ‖δ‖ when it was caught, else ‖∂L/∂W‖. */
  static norm(r: LayerRecord): number | null {
    return r.deltaNorm ?? r.weightGradNorm;
  }

  /** What looks wrong at the latest step (and over the last `window` steps). */
  warnings(): GradientWarning[] {
    const out: GradientWarning[] = [];
    const last = this.history[this.history.length - 1];
    if (!last) return out;
    const L = this.layers.length;
    const top = this.layers[L - 1]!;
    const name = (i: number) => `layer ${i + 1} (Linear "${this.layers[i]!.path}" + ${this.layers[i]!.activation})`;
    const norms = last.layers.map(GradientMonitor.norm);
    const outDead = last.layers[L - 1]!.deadFraction;
    if (top.activation === 'relu' && outDead === 1) {
      out.push({
        kind: 'output-dead', layer: L,
        message: `output layer dead: the ReLU after the last Linear ("${top.path}") is 0 for every example in the batch (z ≤ 0), ` +
          'so σ′(z) = 0, δ at the output is 0 and every gradient in the network is exactly zero: no layer can learn. ' +
          'Give the output layer no activation (or a sigmoid/softmax inside the loss).',
      });
    } else if (norms.every((n) => n === 0)) {
      out.push({ kind: 'no-gradient', layer: null, message: 'every gradient is exactly zero at this step: nothing can learn (is the loss constant, or the output saturated?)' });
    }
    last.layers.forEach((r, i) => {
      if (i === L - 1 && out.some((w) => w.kind === 'output-dead')) return;
      if (r.deadFraction !== null && r.deadFraction > this.opts.deadFraction) {
        out.push({ kind: 'dead-relu', layer: i + 1, message: `dead ReLU: ${(100 * r.deadFraction).toFixed(0)}% of the ${this.layers[i]!.units} units of ${name(i)} are zero for every example in the batch` });
      }
    });
    // Vanishing: averaged over the recent window, against the last layer.
    const recent = this.history.slice(-this.opts.window);
    const avg = (i: number) => {
      const vs = recent.map((s) => GradientMonitor.norm(s.layers[i]!)).filter((v): v is number => v !== null);
      return vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : null;
    };
    const ref = avg(L - 1);
    if (ref !== null && ref > 0) {
      for (let i = 0; i < L - 1; i++) {
        const v = avg(i);
        if (v !== null && v < this.opts.vanishingRatio * ref) {
          out.push({ kind: 'vanishing', layer: i + 1, message: `vanishing gradient: ‖δ‖ of ${name(i)} is ${v.toExponential(2)}, ${(v / ref).toExponential(1)} × the last layer's (${ref.toExponential(2)}); threshold ${this.opts.vanishingRatio}` });
        }
      }
    }
    // Exploding: too large now, or growing fast.
    const back = this.history[this.history.length - 1 - this.opts.window];
    norms.forEach((v, i) => {
      if (v === null) return;
      const before = back ? GradientMonitor.norm(back.layers[i]!) : null;
      if (v > this.opts.explodingNorm) {
        out.push({ kind: 'exploding', layer: i + 1, message: `exploding gradient: ‖δ‖ of ${name(i)} is ${v.toExponential(2)} (> ${this.opts.explodingNorm})` });
      } else if (before && v / before > this.opts.growthFactor) {
        out.push({ kind: 'exploding', layer: i + 1, message: `exploding gradient: ‖δ‖ of ${name(i)} grew ${(v / before).toFixed(0)}× over the last ${this.opts.window} steps (${before.toExponential(2)} → ${v.toExponential(2)})` });
      }
    });
    return out;
  }

  /** ‖δ¹‖ / ‖δᴸ‖ at the latest step (null when undefined: no step, or a zero last layer). */
  firstToLastRatio(): number | null {
    const last = this.history[this.history.length - 1];
    if (!last) return null;
    const a = GradientMonitor.norm(last.layers[0]!);
    const b = GradientMonitor.norm(last.layers[last.layers.length - 1]!);
    return a === null || b === null || b === 0 ? null : a / b;
  }

  /** The latest step as a table, then the warnings. Zeros are never shown without a reason. */
  report(): string {
    const last = this.history[this.history.length - 1];
    if (!last) return 'GradientMonitor: no step recorded yet (call monitor.step() after backward())\n';
    const e = (v: number | null) => (v === null ? '–' : v === 0 ? '0 (exactly)' : v.toExponential(3));
    const rows = this.layers.map((l, i) => {
      const r = last.layers[i]!;
      return [`${l.index}`, l.path, l.activation, e(r.deltaNorm), e(r.weightGradNorm), r.deadFraction === null ? '–' : `${(100 * r.deadFraction).toFixed(0)}%`];
    });
    const head = ['layer', 'module', 'activation', '‖δ‖', '‖∂L/∂W‖', 'units off (whole batch)'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmtRow = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ');
    const ratio = this.firstToLastRatio();
    const warnings = this.warnings();
    // A network-wide failure goes above the table, so that its zeros are read with their cause.
    const fatal = warnings.filter((x) => x.kind === 'output-dead' || x.kind === 'no-gradient');
    const rest = warnings.filter((x) => !fatal.includes(x));
    const L = [...String(this.layers.length)].map((c) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[Number(c)]).join('');
    return [
      ...fatal.map((x) => `⚠ ${x.message}`),
      fmtRow(head),
      ...rows.map(fmtRow),
      `first-to-last ratio ‖δ¹‖/‖δ${L}‖: ${ratio === null ? 'undefined (the last layer has no gradient)' : ratio.toExponential(3)}`,
      ...rest.map((x) => `⚠ ${x.message}`),
      ...(warnings.length ? [] : ['no warnings']),
      '',
    ].join('\n');
  }

  /** Bar chart (log scale, one bar per layer) of the latest step, a layer × step heatmap, and the warnings. */
  toSvg(title = 'Gradient flow'): string {
    return gradientFlowSvg(this, title);
  }
}

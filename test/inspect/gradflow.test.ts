import { describe, expect, it } from 'vitest';
import { manualSeed, randn, tensor } from '../../src/index.js';
import { Linear, ReLU, Sequential } from '../../src/nn/index.js';
import { mseLoss } from '../../src/nn/functional.js';
import { SGD } from '../../src/optim/index.js';
import { GradientMonitor } from '../../src/inspect/gradient-monitor.js';
import { gradflowNetwork, traceLoss } from '../../src/inspect/examples.js';
import { noGrad } from '../../src/index.js';
import { runCli } from './cli.js';
import { findAll, parseXml } from './xml.js';

/** One step of the seeds' experiment: forward, ½(a − y)², backward, record. */
function seedsRun(activation: 'sigmoid' | 'relu', outputActivation: 'sigmoid' | 'relu' | 'identity', seed = 0) {
  const { model, x, y } = gradflowNetwork({ activation, outputActivation, seed });
  const monitor = new GradientMonitor(model);
  mseLoss(model.call(x), y, { reduction: 'sum' }).mul(0.5).backward();
  monitor.step();
  return monitor;
}

describe('GradientMonitor on the seeds\' experiment', () => {
  it('sigmoid\'s early layers vanish (first-to-last ratio about 1e-3); ReLU\'s do not', () => {
    const sigmoid = seedsRun('sigmoid', 'sigmoid');
    const relu = seedsRun('relu', 'identity');
    const ratio = sigmoid.firstToLastRatio()!;
    expect(ratio).toBeGreaterThan(1e-4);
    expect(ratio).toBeLessThan(3e-3);
    const vanishing = sigmoid.warnings().filter((w) => w.kind === 'vanishing').map((w) => w.layer);
    expect(vanishing).toContain(1);
    expect(vanishing.every((l) => l! <= 3)).toBe(true);
    // Sigmoid norms grow layer by layer towards the output.
    const norms = sigmoid.history[0]!.layers.map((l) => l.deltaNorm!);
    for (let i = 1; i < norms.length; i++) expect(norms[i]!).toBeGreaterThan(norms[i - 1]!);
    expect(relu.warnings()).toEqual([]);
    expect(relu.firstToLastRatio()!).toBeGreaterThan(1e-2);
  });

  it('δ norms are the seeds\' ‖δˡ‖: they match retained gradients on the layer outputs', () => {
    const monitor = seedsRun('sigmoid', 'sigmoid');
    const rec = monitor.history[0]!;
    expect(rec.layers).toHaveLength(6);
    const { model, x, y } = gradflowNetwork({ activation: 'sigmoid', seed: 0 });
    const traced = traceLoss(model, x, y, 'half-mse');
    rec.layers.forEach((l, i) => {
      const z = traced.tensors[`z${'¹²³⁴⁵⁶'[i]}`]!;
      expect(l.deltaNorm!).toBeCloseTo(Math.hypot(...z.grad!.tolist()), 14);
      expect(l.weightGradNorm!).toBeGreaterThan(0);
    });
  });

  it('the seeds\' ReLU output layer died: reported as dead, never as silent zeros', async () => {
    const monitor = seedsRun('relu', 'relu');
    const rec = monitor.history[0]!;
    expect(rec.layers.every((l) => l.weightGradNorm === 0)).toBe(true);
    const w = monitor.warnings();
    expect(w[0]!.kind).toBe('output-dead');
    expect(w[0]!.message).toMatch(/^output layer dead: /);
    expect(monitor.report().split('\n')[0]).toMatch(/^⚠ output layer dead/);
    const cli = await runCli('gradflow', '--relu-output');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('output layer dead: ');
  });

  it('chainrule gradflow prints per-layer norms and the ratio for both networks', async () => {
    const { code, stdout } = await runCli('gradflow', '--format', 'json');
    expect(code).toBe(0);
    const runs = JSON.parse(stdout) as { name: string; firstToLastRatio: number; warnings: { kind: string }[] }[];
    expect(runs.map((r) => r.name)).toEqual(['sigmoid', 'relu']);
    expect(runs[0]!.firstToLastRatio).toBeLessThan(3e-3);
    expect(runs[0]!.warnings.some((w) => w.kind === 'vanishing')).toBe(true);
    const text = (await runCli('gradflow')).stdout;
    expect(text).toMatch(/first-to-last ratio ‖δ¹‖\/‖δ⁶‖: \d\.\d+e-4/);
  });
});

describe('GradientMonitor in training', () => {
  it('a hidden ReLU layer whose units are all off is dead', () => {
    const model = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 1));
    noGrad(() => (model.at(0) as Linear).bias!.fill_(-100));
    const monitor = new GradientMonitor(model);
    mseLoss(model.call(randn([16, 4])), randn([16, 1])).backward();
    monitor.step();
    expect(monitor.warnings().map((w) => [w.kind, w.layer])).toContainEqual(['dead-relu', 1]);
  });

  it('exploding: a norm over the threshold, or ×10 growth over the window', () => {
    manualSeed(0);
    const model = new Sequential(new Linear(2, 2), new ReLU(), new Linear(2, 1));
    const monitor = new GradientMonitor(model, { explodingNorm: 1e6, window: 2 });
    const x = tensor([[1, 1]]);
    for (const scale of [1, 1, 1000]) {
      model.zeroGrad();
      model.call(x).sum().mul(scale).backward();
      monitor.step();
    }
    expect(monitor.warnings().some((w) => w.kind === 'exploding' && /grew/.test(w.message))).toBe(true);
    const tight = new GradientMonitor(new Sequential(new Linear(2, 1)), { explodingNorm: 1 });
    tight.step();
    expect(tight.warnings()).toEqual([]);
  });

  it('records one entry per step while training, and stops watching on detach()', () => {
    manualSeed(1);
    const model = new Sequential(new Linear(3, 5), new ReLU(), new Linear(5, 2));
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const monitor = new GradientMonitor(model);
    const x = randn([8, 3]);
    const y = randn([8, 2]);
    for (let i = 0; i < 4; i++) {
      opt.zeroGrad();
      mseLoss(model.call(x), y).backward();
      monitor.step();
      opt.step();
    }
    noGrad(() => model.call(x)); // evaluation passes are not recorded
    expect(monitor.history.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    monitor.detach();
    expect(Object.keys(model.at(0))).not.toContain('forward');
    mseLoss(model.call(x), y).backward();
    expect(monitor.step().layers.every((l) => l.deltaNorm === null)).toBe(true);
  });

  it('the SVG has one bar per layer, in layer order, with heights ordered as the recorded norms', () => {
    const monitor = seedsRun('sigmoid', 'sigmoid');
    const root = parseXml(monitor.toSvg('sigmoid'));
    const bars = findAll(root, (e) => e.attrs.class === 'bar' && e.attrs['data-series']!.startsWith('‖δ‖'));
    expect(bars.map((b) => b.attrs['data-category'])).toEqual(monitor.layers.map((l) => l.label));
    const norms = monitor.history[0]!.layers.map((l) => l.deltaNorm!);
    expect(bars.map((b) => Number(b.attrs['data-value']))).toEqual(norms);
    const heights = bars.map((b) => Number(b.attrs.height));
    const byNorm = [...norms.keys()].sort((a, b) => norms[a]! - norms[b]!);
    const byHeight = [...heights.keys()].sort((a, b) => heights[a]! - heights[b]!);
    expect(byHeight).toEqual(byNorm);
    // Axes: log ticks and labelled axes; heatmap with its colour scale; the warning written out.
    const texts = findAll(root, (e) => e.name === 'text').map((e) => e.text);
    expect(texts).toContain('gradient norm ‖·‖₂ (log scale)');
    expect(texts.some((t) => /^10⁻[⁰¹²³⁴⁵⁶⁷⁸⁹]+$/.test(t))).toBe(true);
    expect(findAll(root, (e) => e.attrs.class === 'cell')).toHaveLength(6);
    expect(findAll(root, (e) => e.name === 'linearGradient')).toHaveLength(1);
    expect(findAll(root, (e) => e.attrs.class === 'warning').length).toBeGreaterThan(0);
  });

  it('zero norms are drawn as labelled markers, and the gradflow --svg chart is well-formed', async () => {
    const dead = seedsRun('relu', 'relu');
    const root = parseXml(dead.toSvg());
    const markers = findAll(root, (e) => e.name === 'g' && e.attrs.class === 'bar');
    expect(markers.length).toBe(12);
    expect(markers.every((m) => m.attrs['data-value'] === '0')).toBe(true);
  });
});

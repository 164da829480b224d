import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/index.js';
import { Linear, ReLU, LeakyReLU, Sequential, Sigmoid, Tanh } from '../../src/nn/index.js';
import { explain, ExplainMismatchError, type ExplainResult } from '../../src/inspect/explain.js';
import { renderExplain } from '../../src/inspect/explain-render.js';
import { workedExample } from '../../src/inspect/examples.js';
import { runCli } from './cli.js';

const six = (v: number) => Number(v.toFixed(6));

describe('explain: the seeds\' worked example', () => {
  it('chainrule explain --format json gives the chapter 16.5 numbers and agrees with autograd', async () => {
    const { code, stdout } = await runCli('explain', '--format', 'json');
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as ExplainResult;
    expect(six(r.loss.value)).toBe(0.31455);
    expect(r.loss.value.toFixed(6)).toBe('0.314550');
    expect(r.layers[1]!.delta[0]!.map(six)).toEqual([0.125394]);
    expect(r.layers[1]!.gradW[0]!.map(six)).toEqual([0.074393, 0.074846, 0.075298]);
    expect(r.lossAfter.toFixed(6)).toBe('0.297599');
    // The rest of the printout: z¹, a¹, σ′, δ¹ and dL/dW¹ as the seeds print them.
    expect(r.layers[0]!.z[0]!.map(six)).toEqual([0.3775, 0.3925, 0.4075]);
    expect(r.layers[0]!.a[0]!.map(six)).toEqual([0.59327, 0.596884, 0.600488]);
    expect(r.bp1.sigmaPrime![0]!.map(six)).toEqual([0.158095]);
    expect(r.layers[0]!.delta[0]!.map(six)).toEqual([0.012103, 0.013577, 0.015041]);
    expect(r.layers[0]!.gradW.flat().map((v) => Number(v.toFixed(8)))).toEqual([0.00060516, 0.00121031, 0.00067886, 0.00135772, 0.00075206, 0.00150412]);
    expect(r.autograd.agrees).toBe(true);
    expect(r.autograd.dtype).toBe('float64');
    expect(r.autograd.maxAbsDiff).toBeLessThan(1e-12);
  });

  it('the text form writes the weighted sums out and says it was checked', async () => {
    const { stdout } = await runCli('explain');
    expect(stdout).toContain('z¹₁ = 0.15·0.05 + 0.2·0.1 + 0.35 = 0.3775');
    expect(stdout).toContain('a¹₁ = σ(0.3775) = 0.59327');
    expect(stdout).toContain('δ²₁ = 0.793158·0.158095 = 0.125394');
    expect(stdout).toContain('∂L/∂W²₁,₁ = δ²₁·a¹₁ = 0.125394·0.59327 = 0.074393');
    expect(stdout).toContain('Loss after the step: 0.297599');
    for (const eq of ['BP1', 'BP2', 'BP3', 'BP4']) expect(stdout).toContain(eq);
    expect(stdout).toMatch(/✓ All \d+ numbers .* agree with chainrule's autograd/);
  });

  it('markdown has a heading per step and the equations in code blocks', async () => {
    const { stdout } = await runCli('explain', '--format', 'markdown');
    expect(stdout.startsWith('# ')).toBe(true);
    expect(stdout.match(/^## /gm)!.length).toBeGreaterThanOrEqual(7);
    expect(stdout.split('```').length % 2).toBe(1);
  });
});

describe('explain: δᴸ = a − y for the matched output/loss pairs', () => {
  it('sigmoid + binary cross-entropy (exercise 16.1)', async () => {
    const r = JSON.parse((await runCli('explain', '--loss', 'bce', '--format', 'json')).stdout) as ExplainResult;
    const a = r.output[0]![0]!;
    const y = r.target[0]![0]!;
    expect(r.bp1.delta[0]![0]!).toBeCloseTo(a - y, 12);
    expect(r.bp1.gradA[0]![0]! * r.bp1.sigmaPrime![0]![0]!).toBeCloseTo(a - y, 12);
    expect(r.bp1.aMinusYGap).toBeLessThan(1e-12);
    expect(r.autograd.agrees).toBe(true);
  });

  it('softmax + cross-entropy (exercise 16.4), on a batch with class labels', () => {
    const model = new Sequential(new Linear(3, 4, { dtype: 'float64' }), new Tanh(), new Linear(4, 3, { dtype: 'float64' }));
    const x = tensor([[0.5, -1, 2], [0.1, 0.2, 0.3]], { dtype: 'float64' });
    const y = tensor([2, 0], { dtype: 'int32' });
    const r = explain(model, x, y, { loss: 'ce', lr: 0.1 });
    r.bp1.delta.forEach((row, n) => row.forEach((d, k) => expect(d).toBeCloseTo(r.output[n]![k]! - (k === [2, 0][n] ? 1 : 0), 12)));
    // softmax rows sum to one, and autograd's ∂L/∂zᴸ is δ/N for the batch mean.
    for (const row of r.output) expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(r.exampleWeight).toBe(0.5);
    expect(r.autograd.agrees).toBe(true);
    expect(renderExplain(r)).toContain('aₖ − yₖ');
  });
});

describe('explain: other models', () => {
  it('a batch through LeakyReLU and ReLU layers with mean MSE, in float32, agrees with autograd', () => {
    const model = new Sequential(new Linear(2, 3), new LeakyReLU(0.1), new Linear(3, 3), new ReLU(), new Linear(3, 2), new Sigmoid());
    const x = tensor([[1, -2], [0.5, 0.25], [-1, 3]]);
    const y = tensor([[0, 1], [1, 0], [0.5, 0.5]]);
    const r = explain(model, x, y, { loss: 'mse', lr: 0.05 });
    expect(r.batchSize).toBe(3);
    expect(r.autograd).toMatchObject({ agrees: true, dtype: 'float32' });
    expect(r.lossAfter).toBeLessThan(r.loss.value + 1e-6);
    const text = renderExplain(r);
    expect(text).toContain('(example 3)');
    expect(text).toContain('(1/3)');
  });

  it('summarises large layers instead of printing every unit', () => {
    const model = new Sequential(new Linear(30, 20, { dtype: 'float64' }), new Sigmoid(), new Linear(20, 1, { dtype: 'float64' }), new Sigmoid());
    const x = tensor([Array.from({ length: 30 }, (_, i) => Math.sin(i))], { dtype: 'float64' });
    const text = renderExplain(explain(model, x, tensor([[1]], { dtype: 'float64' }), { loss: 'half-mse' }));
    expect(text).toMatch(/z¹: 1 × 20, ‖·‖ = [\d.]+, first entries \[/);
    expect(text).not.toContain('z¹₁₇');
  });

  it('a model whose forward differs from the equations is an error, not a warning', () => {
    const { model, x, y } = workedExample();
    const first = model.at(0) as Linear;
    Object.defineProperty(first, 'forward', { value: (t: Parameters<Linear['forward']>[0]) => Linear.prototype.forward.call(first, t).mul(1.5), configurable: true });
    expect(() => explain(model, x, y, { lr: 0.5 })).toThrow(ExplainMismatchError);
  });

  it('refuses what it cannot explain, naming the module', () => {
    const { model, x, y } = workedExample();
    expect(() => explain(model, x, y, { loss: 'ce' })).toThrow(/must have no activation/);
    const bad = new Sequential(new Linear(2, 2), new ReLU(), new ReLU());
    expect(() => explain(bad, tensor([[1, 2]]), tensor([[1, 2]]))).toThrow(/cannot explain module ReLU at "2"/);
  });

  it('CLI: a bad flag is a one-line usage error', async () => {
    const r = await runCli('explain', '--loss', 'hinge');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--loss/);
  });
});

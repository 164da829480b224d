import { describe, expect, it } from 'vitest';
import { Linear, ReLU, Sequential } from '../../src/nn/index.js';
import { summary, renderSummary } from '../../src/inspect/summary.js';
import { runCli } from './cli.js';

describe('summary', () => {
  const mlp = () => new Sequential(new Linear(5, 10), new ReLU(), new Linear(10, 8), new ReLU(), new Linear(8, 3));

  it('5-10-8-3 has 175 parameters and the multiply-adds counted by hand', () => {
    const s = summary(mlp(), [5]);
    expect(s.totalParams).toBe(5 * 10 + 10 + 10 * 8 + 8 + 8 * 3 + 3);
    expect(s.totalParams).toBe(175);
    const linear = s.rows.filter((r) => r.type === 'Linear');
    expect(linear.map((r) => r.params)).toEqual([60, 88, 27]);
    expect(linear.map((r) => r.forwardMacs)).toEqual([5 * 10, 10 * 8, 8 * 3]);
    // Backward: ∂L/∂W costs in·out; ∂L/∂x another in·out, except for the first layer (its input is data).
    expect(linear.map((r) => r.backwardMacs)).toEqual([50, 2 * 80, 2 * 24]);
    expect(s.forwardMacs).toBe(154);
    expect(s.backwardMacs).toBe(258);
    expect(s.ratio).toBeCloseTo(258 / 154, 12);
    expect(s.rows.map((r) => r.outputShape)).toEqual([[10], [10], [8], [8], [3]]);
  });

  it('scales with the batch and explains its convention', () => {
    const s = summary(mlp(), [32, 5]);
    expect(s.forwardMacs).toBe(32 * 154);
    expect(s.backwardMacs).toBe(32 * 258);
    const text = renderSummary(s);
    expect(text).toMatch(/Total\s+175\s+4,928\s+8,256/);
    expect(text).toContain('Convention:');
    expect(text).toContain('first layer');
  });

  it('chainrule summary --layers 5,10,8,3', async () => {
    const { code, stdout } = await runCli('summary', '--layers', '5,10,8,3');
    expect(code).toBe(0);
    expect(stdout).toMatch(/Parameters: 175 /);
    expect(stdout).toMatch(/Backward \/ forward multiply-adds: 258 \/ 154 = 1\.675/);
    const json = JSON.parse((await runCli('summary', '--format', 'json', '--layers', '784,128,10')).stdout);
    expect(json.totalParams).toBe(784 * 128 + 128 + 128 * 10 + 10);
  });
});

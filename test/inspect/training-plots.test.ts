import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manualSeed, randn } from '../../src/index.js';
import { Linear, ReLU, Sequential } from '../../src/nn/index.js';
import { mseLoss } from '../../src/nn/functional.js';
import { GradientMonitor } from '../../src/inspect/gradient-monitor.js';
import { trainingPlotSvgs, writeTrainingPlots } from '../../src/inspect/training-plots.js';
import { findAll, parseXml } from './xml.js';

const metrics = [1, 2, 3, 4].map((epoch) => ({
  epoch, trainLoss: 1 / epoch, trainAccuracy: 0.5 + epoch / 10, testLoss: 1.1 / epoch, testAccuracy: 0.45 + epoch / 10, lr: 0.1, seconds: 1,
}));

describe('training plots', () => {
  it('loss and accuracy curves: train and test series, labelled axes, a legend', () => {
    const svgs = trainingPlotSvgs(metrics);
    expect(Object.keys(svgs)).toEqual(['loss.svg', 'accuracy.svg']);
    const loss = parseXml(svgs['loss.svg']!);
    const series = findAll(loss, (e) => e.attrs.class === 'series');
    expect(series.map((s) => s.attrs['data-series'])).toEqual(['train', 'test']);
    expect(JSON.parse(series[0]!.attrs['data-points']!)).toEqual(metrics.map((m) => [m.epoch, m.trainLoss]));
    const texts = findAll(loss, (e) => e.name === 'text').map((e) => e.text);
    expect(texts).toContain('epoch');
    expect(texts).toContain('cross-entropy loss (nats)');
    expect(findAll(loss, (e) => e.attrs.class === 'legend-item')).toHaveLength(2);
    const acc = findAll(parseXml(svgs['accuracy.svg']!), (e) => e.name === 'text').map((e) => e.text);
    expect(acc).toContain('accuracy (% of samples correct)');
    expect(acc.some((t) => /^\d+(\.\d)?%$/.test(t))).toBe(true);
  });

  it('writeTrainingPlots writes the curves and the gradient-flow chart next to the checkpoint', async () => {
    manualSeed(2);
    const model = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 1));
    const monitor = new GradientMonitor(model);
    for (let i = 0; i < 3; i++) {
      model.zeroGrad();
      mseLoss(model.call(randn([8, 3])), randn([8, 1])).backward();
      monitor.step();
    }
    const dir = await mkdtemp(join(tmpdir(), 'chainrule-plots-'));
    try {
      const written = await writeTrainingPlots(join(dir, 'run'), metrics, monitor);
      expect(written.map((p) => p.slice(dir.length + 5))).toEqual(['loss.svg', 'accuracy.svg', 'gradient-flow.svg']);
      for (const p of written) expect(parseXml(await readFile(p, 'utf8')).name).toBe('svg');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('without a test set only the train curve is drawn', () => {
    const svgs = trainingPlotSvgs(metrics.map((m) => ({ ...m, testLoss: null, testAccuracy: null })));
    expect(findAll(parseXml(svgs['loss.svg']!), (e) => e.attrs.class === 'series')).toHaveLength(1);
  });
});

/** The playground's settings round-trip through the URL, and its datasets are what they say. */
import { describe, expect, it } from 'vitest';
import { makeDataset } from '../../playground/src/datasets.js';
import { DATASETS, DEFAULTS, fromQuery, layerSizes, parseHidden, toQuery, type Settings } from '../../playground/src/settings.js';

describe('playground settings in the URL', () => {
  it('round-trips every field', () => {
    const s: Settings = {
      dataset: 'moons', noise: 0.12, trainShare: 0.7, points: 1000, seed: 42, hidden: [8, 4, 3], activation: 'leakyRelu',
      loss: 'ce', optimizer: 'momentum', lr: 0.003, batchSize: 64, l2: 0.001, dropout: 0.2,
    };
    expect(fromQuery(toQuery(s))).toEqual(s);
    expect(fromQuery(toQuery({ ...s, hidden: [] })).hidden).toEqual([]);
    expect(layerSizes(s)).toEqual([2, 8, 4, 3, 2]);
    expect(layerSizes(DEFAULTS)).toEqual([2, 16, 16, 1]);
  });

  it('falls back to the defaults on unknown or out-of-range values', () => {
    const s = fromQuery('dataset=mnist&noise=abc&lr=-1&batch=100000&hidden=4,x&act=swish&dropout=2');
    expect(s.dataset).toBe(DEFAULTS.dataset);
    expect(s.noise).toBe(DEFAULTS.noise);
    expect(s.lr).toBe(1e-5);
    expect(s.batchSize).toBe(512);
    expect(s.hidden).toEqual(DEFAULTS.hidden);
    expect(s.activation).toBe(DEFAULTS.activation);
    expect(s.dropout).toBe(0.9);
    expect(parseHidden('100,3', [])).toEqual([64, 3]);
    expect(parseHidden('0', [5])).toEqual([]);
  });
});

describe('playground datasets', () => {
  it.each(DATASETS)('%s: seeded, split as asked, both classes, inside the plot', (kind) => {
    const a = makeDataset(kind, 400, 0.05, 0.75, 7);
    const b = makeDataset(kind, 400, 0.05, 0.75, 7);
    expect(a.train.xy).toEqual(b.train.xy);
    expect(a.train.label.length).toBe(300);
    expect(a.test.label.length).toBe(100);
    expect(a.train.xy.length).toBe(600);
    const ones = [...a.train.label, ...a.test.label].filter((c) => c === 1).length;
    expect(ones).toBeGreaterThan(140);
    expect(ones).toBeLessThan(260);
    for (const v of [...a.train.xy, ...a.test.xy]) expect(Math.abs(v)).toBeLessThan(1.2);
    expect(makeDataset(kind, 400, 0.05, 0.75, 8).train.xy).not.toEqual(a.train.xy);
  });

  it('xor labels follow the sign of x·y when there is no noise', () => {
    const { train } = makeDataset('xor', 200, 0, 0.5, 1);
    for (let i = 0; i < train.label.length; i++) expect(train.label[i]).toBe(train.xy[2 * i]! * train.xy[2 * i + 1]! > 0 ? 1 : 0);
  });
});

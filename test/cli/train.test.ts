import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { fashionSubsetDir } from '../../src/data/fashion.js';
import type { EpochMetrics } from '../../src/train/metrics.js';
import { cli, spawnCli, tempDir } from './helpers.js';
import { parseXml } from '../inspect/xml.js';

describe('chainrule train on a slice of the embedded Fashion-MNIST', () => {
  it('prints one plain line per epoch off a terminal and writes the checkpoint and metrics', async () => {
    const dir = tempDir('train');
    const r = await spawnCli(['train', '--limit', '500', '--epochs', '2', '--layers', '784,32,10', '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(/\r/);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^data: Fashion-MNIST subset .*: 500 training, 500 test samples, 10 classes$/);
    expect(lines[1]).toMatch(/^model: mlp 784-32-10 relu \(25,450 parameters\); adam lr 0\.001, batch 64, 2 epochs, seed 0$/);
    expect(lines[2]).toMatch(/^epoch 1\/2 {2}train loss \d\.\d{4} acc \d+\.\d\d% {2}test loss \d\.\d{4} acc \d+\.\d\d% {2}lr 0\.001 {2}\d+\.\ds$/);
    expect(lines[3]).toMatch(/^epoch 2\/2 /);
    expect(lines[4]).toMatch(new RegExp(`^done: test accuracy \\d+\\.\\d\\d% after epoch 2 \\(best .*\\), \\d+\\.\\ds on [\\w-]+ kernels; checkpoint in ${dir}$`));

    expect(readdirSync(dir).sort()).toEqual([
      'checkpoint.json', 'config.json', 'metrics.csv', 'metrics.json', 'model.safetensors', 'optimizer.json',
      'optimizer.safetensors', 'rng.json',
    ]);
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as EpochMetrics[];
    expect(metrics.map((m) => m.epoch)).toEqual([1, 2]);
    for (const m of metrics) {
      expect(Object.keys(m)).toEqual(['epoch', 'trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'lr', 'seconds']);
      expect(m.trainLoss).toBeGreaterThan(0);
      expect(m.testAccuracy).toBeGreaterThan(0.3); // ten classes: chance is 0.1
    }
    expect(metrics[1]!.trainLoss).toBeLessThan(metrics[0]!.trainLoss);
    const csv = readFileSync(join(dir, 'metrics.csv'), 'utf8').trimEnd().split('\n');
    expect(csv[0]).toBe('epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds');
    expect(csv[2]!.split(',').slice(0, 6).map(Number)).toEqual([2, metrics[1]!.trainLoss, metrics[1]!.trainAccuracy, metrics[1]!.testLoss, metrics[1]!.testAccuracy, 0.001]);

    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.config).toMatchObject({
      format: 'chainrule-run', chainruleVersion: '0.1.0', epoch: 2,
      model: { kind: 'mlp', layers: [784, 32, 10], activation: 'relu' },
      data: { kind: 'fashion-mnist', dir: null, limit: 500 },
      training: { optimizer: 'adam', lr: 0.001, epochs: 2, batchSize: 64, seed: 0, scheduler: 'none' },
      preprocess: { scale: 1 / 255 },
    });
    expect(Object.keys(ckpt.model).sort()).toEqual(['layers.0.bias', 'layers.0.weight', 'layers.2.bias', 'layers.2.weight']);

    // eval measures the same test accuracy the last epoch reported
    const ev = await cli('eval', dir, '--format', 'json');
    expect(ev.code, ev.stderr).toBe(0);
    const result = JSON.parse(ev.stdout) as { accuracy: number; loss: number; total: number };
    expect(result.total).toBe(500);
    expect(result.accuracy).toBe(metrics[1]!.testAccuracy);
    expect(result.loss).toBeCloseTo(metrics[1]!.testLoss!, 6);

    // predict on IDX images, and on the same images as JSON
    const images = join(fashionSubsetDir(), 't10k-images-idx3-ubyte.gz');
    const pr = await cli('predict', dir, '--input', images, '--format', 'json');
    expect(pr.code, pr.stderr).toBe(0);
    const rows = JSON.parse(pr.stdout) as { row: number; class: number; label: string; probabilities: number[] }[];
    expect(rows.length).toBe(2000);
    expect(rows[0]!.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    const text = await cli('predict', dir, '--input', images, '--top', '2');
    expect(text.stdout.split('\n')[0]).toMatch(/^0\t\d\t[^\t]+\t\d+\.\d\d%\t\([^,]+ \d+\.\d\d%\)$/);
  });

  it('trains on a CSV, and eval/predict read CSV rows with or without the label column', async () => {
    const dir = tempDir('csv');
    const rows = ['a,b,kind'];
    for (let i = 0; i < 120; i++) rows.push(`${i % 2 ? 1 + (i % 7) / 10 : -1 - (i % 5) / 10},${(i % 3) - 1},${i % 2 ? 'odd' : 'even'}`);
    const csv = join(dir, 'data.csv');
    writeFileSync(csv, rows.join('\n'));
    const out = join(dir, 'run');
    const r = await cli('train', '--csv', csv, '--label-column', 'kind', '--epochs', '30', '--lr', '0.05', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/data: .*data\.csv \(120 rows, 2 features, label "kind"\): 96 training, 24 test samples, 2 classes/);
    expect(r.stdout).toMatch(/model: mlp 2-128-2 relu/);
    expect(r.stdout).toMatch(/done: test accuracy 100\.00%/);

    const ev = await cli('eval', out, '--csv', csv);
    expect(ev.stdout).toMatch(/test accuracy 100\.00% \(120\/120\)/);
    // Issue 18: a file of one of the classes is matched to the checkpoint's class names, not
    // numbered on its own (its only class "odd" would have been scored as class 0, "even").
    const oddOnly = join(dir, 'odd.csv');
    writeFileSync(oddOnly, [rows[0], ...rows.slice(1).filter((l) => l.endsWith(',odd'))].join('\n'));
    const evOdd = await cli('eval', out, '--csv', oddOnly);
    expect(evOdd.code, evOdd.stderr).toBe(0);
    expect(evOdd.stdout).toMatch(/test accuracy 100\.00% \(60\/60\)/);
    const unknown = join(dir, 'prime.csv');
    writeFileSync(unknown, 'a,b,kind\n1.5,0,odd\n2,1,prime\n');
    const evUnknown = await cli('eval', out, '--csv', unknown);
    expect(evUnknown.code).toBe(1);
    expect(evUnknown.stderr).toMatch(/label "prime" is not one of the checkpoint's classes \("even", "odd"\)/);
    writeFileSync(join(dir, 'new.csv'), 'a,b\n1.5,0\n-1.2,1\n');
    const pr = await cli('predict', out, '--input', join(dir, 'new.csv'));
    expect(pr.stdout.split('\n').map((l) => l.split('\t').slice(0, 3).join(' '))).toEqual(['0 1 odd', '1 0 even', '']);
    const withLabels = await cli('predict', out, '--input', csv, '--format', 'json');
    expect((JSON.parse(withLabels.stdout) as unknown[]).length).toBe(120);
  });

  it('takes its settings from a config file, flags winning over it', async () => {
    const dir = tempDir('cfg');
    const config = join(dir, 'run.json');
    writeFileSync(config, JSON.stringify({ layers: [784, 8, 10], epochs: 1, 'batch-size': 100, limit: 200, optimizer: 'sgd', momentum: 0.9, lr: 0.5 }));
    const r = await cli('train', '--config', config, '--lr', '0.01', '--out', join(dir, 'out'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/model: mlp 784-8-10 relu .* sgd lr 0\.01, batch 100, 1 epoch, seed 0, momentum 0\.9/);
    // paths in a config file are relative to the file
    writeFileSync(join(dir, 'tiny.csv'), 'a,b,y\n0,1,0\n1,0,1\n0,2,0\n2,0,1\n0,3,0\n');
    writeFileSync(config, JSON.stringify({ csv: 'tiny.csv', 'label-column': 'y', epochs: 1 }));
    const rel = await cli('train', '--config', config);
    expect(rel.code, rel.stderr).toBe(0);
    expect(rel.stdout).toMatch(new RegExp(`data: ${join(dir, 'tiny.csv')} \\(5 rows, 2 features, label "y"\\): 4 training, 1 test samples, 2 classes`));
    writeFileSync(config, JSON.stringify({ lr: 'fast' }));
    const bad = await cli('train', '--config', config);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/run\.json: "lr": "fast" is not a number/);
    writeFileSync(config, JSON.stringify({ learningRate: 0.1 }));
    expect((await cli('train', '--config', config)).stderr).toMatch(/run\.json: unknown key "learningRate"; known keys: model, layers/);
  });

  it('--plots writes loss, accuracy and gradient-flow charts next to the checkpoint', async () => {
    const dir = tempDir('plots');
    const r = await spawnCli(['train', '--limit', '300', '--epochs', '2', '--layers', '784,16,10', '--out', dir, '--plots']);
    expect(r.code).toBe(0);
    for (const name of ['loss.svg', 'accuracy.svg', 'gradient-flow.svg']) {
      const svg = parseXml(readFileSync(join(dir, name), 'utf8'));
      expect(svg.name).toBe('svg');
    }
    // one bar pair per Linear layer in the gradient-flow chart, named by module path
    const flow = readFileSync(join(dir, 'gradient-flow.svg'), 'utf8');
    expect(flow).toContain('layers.0');
    expect(flow).toContain('layers.2');
    expect((await cli('train', '--plots'))).toMatchObject({ code: 2 });
  });
});

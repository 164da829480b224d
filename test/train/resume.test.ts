import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backend } from '../../src/backend/index.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import type { EpochMetrics } from '../../src/train/metrics.js';
import { cli, spawnCli, tempDir } from '../cli/helpers.js';

async function train(...argv: string[]): Promise<void> {
  const r = await cli('train', '--quiet', ...argv);
  expect(r.code, r.stderr).toBe(0);
}

async function metrics(dir: string): Promise<Omit<EpochMetrics, 'seconds'>[]> {
  const m = (await loadCheckpoint(dir)).metrics as EpochMetrics[];
  return m.map(({ seconds: _s, ...rest }) => rest);
}

/** A 3-class CSV with a little structure to learn, written once. */
function spiralCsv(): string {
  const rows = ['x,y,z,class'];
  for (let i = 0; i < 240; i++) {
    const k = i % 3;
    const r = (i / 240) * 2;
    const t = r * 2 + (k * 2 * Math.PI) / 3;
    rows.push(`${(r * Math.cos(t)).toFixed(4)},${(r * Math.sin(t)).toFixed(4)},${((i * 37) % 11) / 11},c${k}`);
  }
  const path = join(tempDir('csv'), 'spiral.csv');
  writeFileSync(path, rows.join('\n'));
  return path;
}

describe('train --resume', () => {
  it('3 epochs straight and 2 epochs + resume 1 give exactly the same per-epoch losses and weights', async () => {
    const common = ['--limit', '300', '--layers', '784,32,10', '--batch-size', '32'];
    const straight = tempDir('straight');
    const resumed = tempDir('resumed');
    await train(...common, '--epochs', '3', '--out', straight);
    await train(...common, '--epochs', '2', '--out', resumed);
    expect((await metrics(resumed)).length).toBe(2);
    await train('--resume', resumed, '--epochs', '3');

    const a = await metrics(straight);
    const b = await metrics(resumed);
    expect(b).toEqual(a); // every loss, accuracy and lr, to the last bit
    expect(a.length).toBe(3);
    expect(readFileSync(join(resumed, 'model.safetensors'))).toEqual(readFileSync(join(straight, 'model.safetensors')));
    expect(readFileSync(join(resumed, 'optimizer.safetensors'))).toEqual(readFileSync(join(straight, 'optimizer.safetensors')));
  });

  it('holds with SGD momentum, dropout, clipping and a plateau schedule on a CSV (state in every generator)', async () => {
    const csv = spiralCsv();
    const common = [
      '--csv', csv, '--label-column', 'class', '--layers', '3,16,16,3', '--optimizer', 'sgd', '--momentum', '0.9',
      '--lr', '0.05', '--dropout', '0.2', '--clip-norm', '1', '--scheduler', 'plateau', '--batch-size', '16', '--seed', '7',
    ];
    const straight = tempDir('straight');
    const resumed = tempDir('resumed');
    await train(...common, '--epochs', '4', '--out', straight);
    await train(...common, '--epochs', '1', '--out', resumed);
    await train('--resume', resumed, '--epochs', '3');
    await train('--resume', resumed, '--epochs', '4');
    expect(await metrics(resumed)).toEqual(await metrics(straight));
    const cfg = (await loadCheckpoint(resumed)).config as { epoch: number; classNames: string[] };
    expect(cfg.epoch).toBe(4);
    expect(cfg.classNames).toEqual(['c0', 'c1', 'c2']);
  });

  it('a run that has reached its epochs says how to go on', async () => {
    const dir = tempDir('done');
    await train('--limit', '100', '--layers', '784,8,10', '--epochs', '1', '--out', dir);
    const r = await cli('train', '--resume', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/already holds 1 epochs; pass --epochs N with N > 1/);
  });

  it('records the kernels, and says so when a resume runs on other ones', async () => {
    const dir = tempDir('kernels');
    await train('--limit', '100', '--layers', '784,8,10', '--epochs', '1', '--out', dir);
    expect((await loadCheckpoint(dir)).config).toMatchObject({ backend: backend().name });
    const r = await spawnCli(['train', '--resume', dir, '--epochs', '2'], { CHAINRULE_BACKEND: 'reference' });
    expect(r.code, r.stderr).toBe(0);
    if (backend().name !== 'reference') {
      expect(r.stdout).toMatch(`note: the run so far used ${backend().name} kernels and goes on with reference`);
    }
    expect((await loadCheckpoint(dir)).config).toMatchObject({ backend: 'reference', epoch: 2 });
  });
});

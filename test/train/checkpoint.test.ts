import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeJson, encodeJson, loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.js';
import { encodeSafetensors } from '../../src/io/safetensors.js';
import { manualSeed } from '../../src/tensor/random.js';
import { buildModel } from '../../src/train/model.js';
import { tempDir } from '../cli/helpers.js';

const f32 = (...v: number[]) => ({ dtype: 'float32' as const, shape: [v.length], data: Float32Array.from(v) });

describe('checkpoint files', () => {
  it('round-trip weights, optimizer tensors and JSON state, NaN and ±Infinity included', async () => {
    const dir = tempDir('ckpt');
    const state = { best: Infinity, worst: -Infinity, spare: NaN, steps: [1, 2], nested: { $numberish: 'x' } };
    await saveCheckpoint(dir, {
      model: { 'layers.0.weight': f32(1, 2, 3) },
      config: { epoch: 3 },
      optimizer: { tensors: { 'state.0.expAvg': f32(0.5) }, state },
      rng: { global: [1, 2, 3, 4, NaN, 0] },
      metrics: [{ epoch: 1 }],
      extra: { 'metrics.csv': 'epoch\n1\n' },
    });
    const c = await loadCheckpoint(dir);
    expect(c.model['layers.0.weight']).toEqual(f32(1, 2, 3));
    expect(c.optimizer!.tensors['state.0.expAvg']).toEqual(f32(0.5));
    expect(c.optimizer!.state).toEqual(state);
    expect((c.rng as { global: number[] }).global[4]).toBeNaN();
    expect(c.config).toEqual({ epoch: 3 });
    expect(readFileSync(join(dir, 'metrics.csv'), 'utf8')).toBe('epoch\n1\n');
    expect(decodeJson(encodeJson([NaN, Infinity, -Infinity, 1e-300]), 'x')).toEqual([NaN, Infinity, -Infinity, 1e-300]);
  });

  it('model.safetensors is the safetensors encoder\'s output (the one the Python reader checks), named by module path', async () => {
    manualSeed(0);
    const model = buildModel({ kind: 'mlp', layers: [6, 4, 3], activation: 'relu' });
    const dir = tempDir('ckpt');
    await saveCheckpoint(dir, { model: model.stateDict(), config: {} });
    const bytes = readFileSync(join(dir, 'model.safetensors'));
    expect(new Uint8Array(bytes)).toEqual(encodeSafetensors(model.stateDict(), { format: 'pt' }));
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    expect(Object.keys(header).sort()).toEqual(['__metadata__', 'layers.0.bias', 'layers.0.weight', 'layers.2.bias', 'layers.2.weight']);
    expect(header['layers.0.weight']).toMatchObject({ dtype: 'F32', shape: [4, 6] });
    expect(header.__metadata__).toEqual({ format: 'pt' });
  });

  it('a file changed after the save is reported, not loaded', async () => {
    const dir = tempDir('ckpt');
    await saveCheckpoint(dir, { model: { w: f32(1, 2) }, config: { a: 1 } });
    writeFileSync(join(dir, 'config.json'), '{"a": 2}\n');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/config\.json: .* bytes, but checkpoint\.json records/);
    writeFileSync(join(dir, 'config.json'), '{\n  "a": 2\n}\n'); // same size, other bytes
    await expect(loadCheckpoint(dir)).rejects.toThrow(/config\.json: contents do not match the SHA-256 in checkpoint\.json/);
  });

  it('a new save replaces the old one and removes what an interrupted save left behind', async () => {
    const dir = tempDir('ckpt');
    await saveCheckpoint(dir, { model: { w: f32(1) }, config: { v: 1 } });
    mkdirSync(join(dir, '.staging-1-dead'));
    writeFileSync(join(dir, '.staging-1-dead', 'model.safetensors'), 'torn');
    await saveCheckpoint(dir, { model: { w: f32(2) }, config: { v: 2 } });
    expect((await loadCheckpoint(dir)).model.w).toEqual(f32(2));
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(existsSync(join(dir, 'optimizer.json'))).toBe(false);
  });

  it('refuses extra files that would collide with its own', async () => {
    const dir = tempDir('ckpt');
    await expect(saveCheckpoint(dir, { model: {}, config: {}, extra: { 'config.json': 'x' } })).rejects.toThrow(/cannot be an extra file name/);
    await expect(saveCheckpoint(dir, { model: {}, config: {}, extra: { '../x': 'x' } })).rejects.toThrow(/cannot be an extra file name/);
  });
});

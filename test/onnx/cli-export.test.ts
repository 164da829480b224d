import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readIdx } from '../../src/io/idx.js';
import { cli, fakeFashionDir, tempDir } from '../cli/helpers.js';
import { maxAbsDiff } from './helpers.js';

/** Softmax of each row of logits [n, k]. */
function softmaxRows(logits: Float32Array, k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * k < logits.length; r++) {
    const row = Array.from(logits.subarray(r * k, (r + 1) * k));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / s));
  }
  return out;
}

async function ortProbabilities(file: string, x: Float32Array, shape: number[], k: number): Promise<number[]> {
  const s = await ort.InferenceSession.create(readFileSync(file));
  const r = await s.run({ input: new ort.Tensor('float32', x, shape) });
  expect(r.output!.dims).toEqual([shape[0], k]);
  return softmaxRows(r.output!.data as Float32Array, k);
}

describe('chainrule export DIR --onnx FILE', () => {
  it('an MLP trained on a CSV: ONNX Runtime on the raw rows gives the probabilities predict prints', async () => {
    const dir = tempDir('onnx-cli');
    const rows = ['a,b,c,kind'];
    for (let i = 0; i < 90; i++) rows.push(`${(i % 2 ? 10 : -10) + (i % 7)},${(i % 3) * 100},${i / 9},${['x', 'y', 'z'][i % 3]}`);
    writeFileSync(join(dir, 'data.csv'), rows.join('\n'));
    const out = join(dir, 'run');
    const t = await cli('train', '--csv', join(dir, 'data.csv'), '--label-column', 'kind', '--epochs', '3', '--layers', '3,8,3', '--out', out);
    expect(t.code, t.stderr).toBe(0);
    const file = join(dir, 'model.onnx');
    const e = await cli('export', out, '--onnx', file);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^wrote .*model\.onnx \(\d+ bytes, ONNX opset 17\): input \[batch,3\] raw features, output \[batch,3\] logits\n$/);

    const samples = [[3, 0, 1], [-8, 200, 5.5], [11, 100, 0], [-4, 0, 9]];
    writeFileSync(join(dir, 'new.json'), JSON.stringify(samples));
    const pr = await cli('predict', out, '--input', join(dir, 'new.json'), '--format', 'json');
    expect(pr.code, pr.stderr).toBe(0);
    const expected = (JSON.parse(pr.stdout) as { probabilities: number[] }[]).flatMap((r) => r.probabilities);
    const got = await ortProbabilities(file, Float32Array.from(samples.flat()), [4, 3], 3);
    // predict prints 6 significant digits.
    expect(maxAbsDiff(got, expected)).toBeLessThanOrEqual(1e-5);
  });

  it('the CNN preset on Fashion-MNIST-shaped data, at a fixed batch size', async () => {
    const data = fakeFashionDir({ train: 30, test: 10 });
    const dir = tempDir('onnx-cli-cnn');
    const out = join(dir, 'run');
    const t = await cli('train', '--data', data, '--model', 'cnn', '--epochs', '1', '--out', out);
    expect(t.code, t.stderr).toBe(0);
    const file = join(dir, 'cnn.onnx');
    const e = await cli('export', out, '--onnx', file, '--batch', '5', '--opset', '13');
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/ONNX opset 13\): input \[5,784\] raw features, output \[5,10\] logits/);
    const images = await readIdx(join(data, 't10k-images-idx3-ubyte.gz'));
    const x = Float32Array.from((images.data as Uint8Array).subarray(0, 5 * 784));
    writeFileSync(join(dir, 'x.json'), JSON.stringify(Array.from({ length: 5 }, (_, i) => Array.from(x.subarray(i * 784, (i + 1) * 784)))));
    const pr = await cli('predict', out, '--input', join(dir, 'x.json'), '--format', 'json');
    expect(pr.code, pr.stderr).toBe(0);
    const expected = (JSON.parse(pr.stdout) as { probabilities: number[] }[]).flatMap((r) => r.probabilities);
    expect(maxAbsDiff(await ortProbabilities(file, x, [5, 784], 10), expected)).toBeLessThanOrEqual(1e-5);
  });

  it('usage errors: no directory, no --onnx, a bad opset', async () => {
    expect((await cli('export', '--onnx', 'x.onnx')).stderr).toMatch(/export needs the checkpoint directory/);
    const noFile = await cli('export', tempDir('onnx-cli-empty'));
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/export needs --onnx FILE/);
    const missing = await cli('export', join(tempDir('onnx-cli-none'), 'nothing'), '--onnx', 'x.onnx');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChainruleError, loadFromBytes, noGrad, saveToBytes, tensor, type Tensor } from '../../src/index.js';
import { load, save } from '../../src/io/index.js';
import * as nn from '../../src/nn/index.js';
import { chainruleModel, INPUT_PATH, STATE_PATH, TORCH_JSON_PATH } from '../fixtures/gen_chainrule_state.js';

const dir = mkdtempSync(join(tmpdir(), 'chainrule-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = (name: string) => new URL(`../fixtures/safetensors/${name}`, import.meta.url);

function torchArchitecture(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(4, 6), new nn.BatchNorm1d(6), new nn.ReLU(), new nn.Linear(6, 3));
}

function maxAbsDiff(a: Tensor, b: { data: number[] }): number {
  const x = [...a.dataSync()];
  expect(x.length).toBe(b.data.length);
  return Math.max(...x.map((v, i) => Math.abs(v - b.data[i]!)));
}

describe('chainrule/io save / load', () => {
  it('round-trips a state dict through a file, dtypes and values exact', async () => {
    const m = new nn.Sequential(new nn.Linear(3, 2, { dtype: 'float64' }), new nn.BatchNorm1d(2, { dtype: 'float64' }));
    const path = join(dir, 'm.safetensors');
    await save(m.stateDict(), path);
    const back = await load(path);
    expect(Object.keys(back).sort()).toEqual(Object.keys(m.stateDict()).sort());
    for (const [k, v] of Object.entries(m.stateDict())) {
      expect(back[k]!.dtype).toBe(v.dtype);
      expect(back[k]!.toArray()).toEqual(v.toArray());
    }
    const m2 = new nn.Sequential(new nn.Linear(3, 2, { dtype: 'float64' }), new nn.BatchNorm1d(2, { dtype: 'float64' }));
    expect(m2.loadStateDict(back)).toEqual({ missingKeys: [], unexpectedKeys: [] });
  });

  it('saveToBytes / loadFromBytes in memory, a strided view saved by its values', () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]]);
    const bytes = saveToBytes({ xt: x.t(), n: tensor([7, 8], { dtype: 'int32' }) }, { note: 'hi' });
    const back = loadFromBytes(bytes);
    expect(back.xt!.toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(back.n!.dtype).toBe('int32');
  });

  it('refuses to replace a file that is not safetensors, a directory, or bad arguments', async () => {
    const precious = join(dir, 'notes.txt');
    writeFileSync(precious, 'my notes');
    await expect(save({ a: tensor([1]) }, precious)).rejects.toThrow(/exists and is not a safetensors file; refusing to replace it/);
    expect(readFileSync(precious, 'utf8')).toBe('my notes');
    await expect(save({ a: tensor([1]) }, dir)).rejects.toThrow(/is a directory/);
    await expect(save(null as never, join(dir, 'x.safetensors'))).rejects.toThrow(ChainruleError);
    await expect(save({ a: [1, 2] } as never, join(dir, 'x.safetensors'))).rejects.toThrow(/"a" is not a tensor/);
    await expect(load(join(dir, 'missing.safetensors'))).rejects.toThrow(/file not found/);
    // An existing safetensors file is replaced; { overwrite: true } replaces anything.
    const path = join(dir, 'again.safetensors');
    await save({ a: tensor([1]) }, path);
    await save({ a: tensor([2]) }, path);
    expect((await load(path)).a!.toArray()).toEqual([2]);
    await save({ a: tensor([3]) }, precious, { overwrite: true });
    expect((await load(precious)).a!.toArray()).toEqual([3]);
  });
});

describe('a state dict round trip with PyTorch (test/fixtures/gen_torch_state.py)', () => {
  it("PyTorch → chainrule: PyTorch's file loads strictly by name and gives PyTorch's output", async () => {
    const expected = JSON.parse(readFileSync(fixture('torch_state.expected.json'), 'utf8'));
    const sd = await load(fixture('torch_state.safetensors').pathname);
    expect(sd['1.num_batches_tracked']!.dtype).toBe('int32'); // PyTorch's int64, narrowed
    expect(sd['1.num_batches_tracked']!.item()).toBe(3);
    const model = torchArchitecture();
    expect(model.loadStateDict(sd)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    model.eval();
    const y = noGrad(() => model.call(tensor(expected.input.data).reshape(expected.input.shape)) as Tensor);
    expect(maxAbsDiff(y, expected.output)).toBeLessThan(1e-6);
  });

  it("chainrule → PyTorch: save() writes the committed bytes, which PyTorch loaded strictly and ran to chainrule's output", async () => {
    const { model, input } = chainruleModel();
    const path = join(dir, 'chainrule_state.safetensors');
    await save(model.stateDict(), path, { metadata: { format: 'pt' } });
    expect(new Uint8Array(readFileSync(path))).toEqual(new Uint8Array(readFileSync(STATE_PATH)));
    expect(JSON.parse(readFileSync(INPUT_PATH, 'utf8')).data).toEqual([...input.dataSync()]);
    const torch = JSON.parse(readFileSync(TORCH_JSON_PATH, 'utf8'));
    expect(torch.keys.sort()).toEqual(Object.keys(model.stateDict()).sort());
    const y = noGrad(() => model.call(input) as Tensor);
    expect(maxAbsDiff(y, torch.output)).toBeLessThan(1e-6);
  });
});

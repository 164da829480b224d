import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { manualSeed, nn, noGrad, randn, tensor, type Tensor } from '../../src/index.js';
import { ValueError } from '../../src/errors.js';
import { OnnxError, exportOnnx, exportOnnxBytes, importOnnx } from '../../src/onnx/index.js';
import { FIXTURES, maxAbsDiff } from './helpers.js';
import { exportCases, mlp } from './models.js';

const tmp = mkdtempSync(join(tmpdir(), 'chainrule-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ortTensor(t: Tensor): ort.Tensor {
  const c = t.contiguous();
  return t.dtype === 'int32' ? new ort.Tensor('int32', c.typedData as Int32Array, [...c.shape]) : new ort.Tensor('float32', c.typedData as Float32Array, [...c.shape]);
}

async function runOrt(bytes: Uint8Array, x: Tensor): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes);
  const r = await session.run({ input: ortTensor(x) });
  return { dims: r.output!.dims, data: r.output!.data as Float32Array };
}

const cases = exportCases();

/** A model's output, or a recurrent layer's [output, h] / [output, [h, c]], as a list. */
function outputsOf(r: unknown): Tensor[] {
  if (!Array.isArray(r)) return [r as Tensor];
  const [y, s] = r as [Tensor, Tensor | Tensor[]];
  return [y, ...(Array.isArray(s) ? s : [s])];
}

describe('exportOnnx: run by ONNX Runtime, the outputs match chainrule', () => {
  for (const c of cases) {
    it(`${c.name}: max abs error ≤ 1e-5 at batch sizes 2 and 7 (dynamicBatch)`, async () => {
      const bytes = await exportOnnx(c.model, c.input(2), { dynamicBatch: true, opset: c.opset });
      const session = await ort.InferenceSession.create(bytes);
      for (const batch of [2, 7]) {
        const x = c.input(batch);
        const expected = outputsOf(noGrad(() => c.model.call(x)));
        // A recurrent layer's graph also gives its final states (h_n, and c_n for an LSTM).
        expect(session.outputNames).toEqual(['output', 'h_n', 'c_n'].slice(0, expected.length));
        const r = await session.run({ input: ortTensor(x) });
        session.outputNames.forEach((name, i) => {
          const want = expected[i]!.contiguous();
          expect(r[name]!.dims, `${c.name} ${name} batch ${batch}`).toEqual(want.shape);
          expect(maxAbsDiff(r[name]!.data as Float32Array, want.typedData as Float32Array), `${c.name} ${name} batch ${batch}`).toBeLessThanOrEqual(1e-5);
        });
      }
    });
  }

  it('the committed files checked by test/fixtures/check_onnx.py are what exportOnnx writes now', async () => {
    for (const c of exportCases()) {
      const bytes = await exportOnnx(c.model, c.input(2), { dynamicBatch: true, opset: c.opset });
      const committed = readFileSync(new URL(`chainrule_${c.name}.onnx`, FIXTURES));
      expect(Buffer.from(bytes).equals(committed), `chainrule_${c.name}.onnx (rerun test/fixtures/gen_onnx_export.ts)`).toBe(true);
    }
  });

  it('without dynamicBatch the batch size is fixed to the sample’s', async () => {
    const c = cases[2]!;
    const bytes = exportOnnxBytes(c.model, c.input(3));
    const r = await runOrt(bytes, c.input(3));
    expect(r.dims).toEqual([3, 5]);
    await expect(runOrt(bytes, c.input(4))).rejects.toThrow(/dimension|Got: 4/i);
  });

  it('writes the file with path, and leaves the model’s training mode as it was', async () => {
    manualSeed(1);
    const m = mlp();
    m.train();
    const path = join(tmp, 'mlp.onnx');
    const bytes = await exportOnnx(m, randn([2, 6]), { path });
    expect(Buffer.from(bytes).equals(readFileSync(path))).toBe(true);
    expect(m.modules().every((x) => x.training)).toBe(true);
    // The graph is the eval-mode model: Dropout is the identity, BatchNorm uses running stats.
    const x = randn([2, 6]);
    const r = await runOrt(bytes, x);
    m.eval();
    expect(maxAbsDiff(r.data, noGrad(() => m.call(x)).typedData as Float32Array)).toBeLessThanOrEqual(1e-5);
  });

  it('inputTransform: the graph computes model(x · scale + shift)', async () => {
    const c = cases[0]!;
    const scale = [0.5, 2, 1, -1, 3, 0.25];
    const shift = [1, 0, -2, 0.5, 0, 1];
    const bytes = exportOnnxBytes(c.model, c.input(2), { dynamicBatch: true, inputTransform: { scale, shift } });
    const x = c.input(3);
    const expected = noGrad(() => c.model.call(x.mul(tensor(scale)).add(tensor(shift)))) as Tensor;
    expect(maxAbsDiff((await runOrt(bytes, x)).data, expected.typedData as Float32Array)).toBeLessThanOrEqual(1e-5);
  });

  it('round trip: importOnnx of an export computes the same and keeps the state-dict names', async () => {
    for (const c of cases) {
      const bytes = await exportOnnx(c.model, c.input(2), { dynamicBatch: true, opset: c.opset });
      const back = await importOnnx(bytes);
      const x = c.input(4);
      const expected = outputsOf(noGrad(() => c.model.call(x)));
      const got = back.run(x);
      expect(got.length, c.name).toBe(expected.length);
      got.forEach((t, i) => {
        expect(t.shape, `${c.name} output ${i}`).toEqual(expected[i]!.shape);
        expect(maxAbsDiff(t.contiguous().typedData as Float32Array, expected[i]!.contiguous().typedData as Float32Array), `${c.name} output ${i}`).toBeLessThanOrEqual(1e-5);
      });
      const own = Object.keys(c.model.stateDict()).filter((k) => !k.endsWith('num_batches_tracked')).sort();
      expect(Object.keys(back.stateDict()).sort(), c.name).toEqual(own);
    }
  });
});

describe('exportOnnx: what it refuses', () => {
  class Custom extends nn.Module {
    override forward(x: Tensor): Tensor {
      return x.mul(2);
    }
  }
  class MyLinear extends nn.Linear {
    override forward(x: Tensor): Tensor {
      return super.forward(x).mul(3);
    }
  }

  it('names every module it cannot write in one error', () => {
    const m = new nn.Sequential(
      new nn.Linear(4, 4), new Custom(), new MyLinear(4, 4), new nn.AvgPool2d(2, { divisorOverride: 3 }),
      new nn.BatchNorm1d(4, { trackRunningStats: false }), new nn.Sequential(new nn.ReLU(), new Custom()),
    );
    let err: unknown;
    try {
      exportOnnxBytes(m, randn([2, 4]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^exportOnnx: 5 modules cannot be exported to ONNX: /);
    expect(msg).toContain('Custom at "1"');
    expect(msg).toContain('MyLinear at "2" (a subclass with its own forward)');
    expect(msg).toContain('AvgPool2d at "3" (divisorOverride');
    expect(msg).toContain('BatchNorm1d at "4" (trackRunningStats false');
    expect(msg).toContain('Custom at "5.1"');
  });

  it('refuses what the sequence layers and AdaptiveAvgPool2d cannot express, naming the layer', () => {
    let err: unknown;
    try {
      exportOnnxBytes(new nn.Sequential(new nn.LSTM(3, 4, { batchFirst: true }), new nn.Linear(4, 2)), randn([2, 5, 3]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxError);
    expect((err as Error).message).toContain('LSTM at "0" (it returns [output, state], so it can only be the last module)');
    expect(() => exportOnnxBytes(new nn.MultiheadAttention(4, 2), randn([3, 2, 4]))).toThrow(/MultiheadAttention \(it takes query, key and value/);
    const custom = new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 8, activation: (t: Tensor) => t.sigmoid() });
    expect(() => exportOnnxBytes(custom, randn([3, 2, 4]))).toThrow(/TransformerEncoderLayer \(a custom activation function has no ONNX form/);
    expect(() => exportOnnxBytes(new nn.AdaptiveAvgPool2d([3, 3]), randn([1, 2, 7, 7]))).toThrow(/AdaptiveAvgPool2d to 3x3 from 7x7 has windows of unequal size/);
    expect(() => exportOnnxBytes(new nn.AdaptiveAvgPool2d([2, null]), randn([1, 2, 4, 4]))).toThrow(/outputSize \[2,null\] keeps an input size/);
    expect(() => exportOnnxBytes(new nn.GRU(3, 4), randn([5, 3]))).toThrow(/GRU is exported for batched \(3-d\) input; the sample has shape \[5,3\]/);
  });

  it('checks its arguments', async () => {
    const m = mlp();
    expect(() => exportOnnxBytes(m, randn([2, 6]), { opset: 12 })).toThrow(/opset must be an integer from 13 to 17, got 12/);
    expect(() => exportOnnxBytes(m, randn([2, 6]), { opset: 18 })).toThrow(ValueError);
    expect(() => exportOnnxBytes({} as nn.Module, randn([2, 6]))).toThrow(/model must be an nn.Module/);
    expect(() => exportOnnxBytes(m, [1, 2] as unknown as Tensor)).toThrow(/sampleInput must be a Tensor/);
    expect(() => exportOnnxBytes(m, randn([2, 6]), { inputTransform: { scale: [1, 2], shift: 0 } })).toThrow(
      /inputTransform.scale has 2 values; the input has 6 features/,
    );
    expect(() => exportOnnxBytes(m, randn([2, 6]), { inputTransform: { scale: 1, shift: NaN } })).toThrow(/shift must be finite/);
    // A sample of the wrong shape fails as the model itself would, naming the layer.
    expect(() => exportOnnxBytes(m, randn([2, 5]))).toThrow(/Linear\(0\): input has 5 features/);
  });
});

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ChainruleError, F, Generator, gradcheck, manualSeed, optim, randn, tensor, type Tensor } from '../../src/index.js';
import { DTypeError, ShapeError } from '../../src/errors.js';
import { OnnxError, importOnnx, importOnnxBytes } from '../../src/onnx/index.js';
import { ModelProto } from '../../src/onnx/schema.js';
import { FIXTURES, fromJson, loadJson, maxAbsDiff, type TJson } from './helpers.js';

interface Case {
  file: string;
  stateDictKeys: string[];
  runs: { input: TJson; output: TJson }[];
}
const fixture = loadJson<{ torch: string; cases: Record<string, Case> }>('torch_outputs.json');
const file = (name: string) => fileURLToPath(new URL(name, FIXTURES));

describe('importOnnx: models exported by PyTorch (torch.onnx.export, test/fixtures/gen_onnx.py)', () => {
  for (const [name, c] of Object.entries(fixture.cases)) {
    describe(name, () => {
      it("matches PyTorch's outputs within 1e-5 at both batch sizes", async () => {
        const m = await importOnnx(file(c.file));
        for (const run of c.runs) {
          const y = m.call(fromJson(run.input));
          expect(y.shape).toEqual(run.output.shape);
          expect(maxAbsDiff(y.typedData as Float32Array, run.output.data)).toBeLessThanOrEqual(1e-5);
        }
      });

      it("keeps PyTorch's state-dict names: float initializers are parameters, BatchNorm statistics buffers", async () => {
        const m = importOnnxBytes(readFileSync(file(c.file)));
        // PyTorch's num_batches_tracked is not part of the ONNX graph.
        const expected = c.stateDictKeys.filter((k) => !k.endsWith('num_batches_tracked')).sort();
        expect(Object.keys(m.stateDict()).sort()).toEqual(expected);
        const params = m.namedParameters().map(([k]) => k);
        expect(params.some((k) => k.includes('running'))).toBe(false);
        expect(params.length).toBe(expected.filter((k) => !k.includes('running')).length);
      });

      it('fine-tunes with an optimizer: the loss falls, the running statistics stay', async () => {
        const m = await importOnnx(file(c.file));
        manualSeed(7);
        const x = fromJson(c.runs[1]!.input);
        const classes = c.runs[1]!.output.shape[1]!;
        const target = tensor(Int32Array.from({ length: x.shape[0]! }, (_, i) => i % classes), { dtype: 'int32' });
        const stats = m.namedBuffers().map(([k, b]) => [k, Array.from(b.typedData)] as const);
        const opt = new optim.Adam(m.parameters(), { lr: 0.02 });
        const losses: number[] = [];
        for (let step = 0; step < 15; step++) {
          opt.zeroGrad();
          const loss = F.crossEntropy(m.call(x), target);
          loss.backward();
          opt.step();
          losses.push(loss.item());
        }
        expect(losses.every(Number.isFinite)).toBe(true);
        expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.7);
        for (const [k, before] of stats) expect(Array.from(m.stateDict()[k]!.typedData), k).toEqual(before);
      });

      it('passes gradcheck in float64 (input and parameter gradients through the imported graph)', async () => {
        const m = (await importOnnx(file(c.file))).double();
        const raw = fromJson(c.runs[0]!.input);
        // Token indices are not differentiable; float inputs are checked along with the parameters.
        const x = raw.dtype === 'int32' ? raw : raw.double().requiresGrad_();
        const params = m.parameters();
        // The parameters are perturbed in place, so the module itself sees each finite difference.
        const r = gradcheck((xi: Tensor) => m.call(xi), [x, ...params], { atol: 1e-6 });
        expect(r.ok).toBe(true);
        expect(r.checked).toBeGreaterThanOrEqual(params.reduce((n, p) => n + p.numel(), x.requiresGrad ? x.numel() : 0));
      });
    });
  }
});

/** A model message with the given nodes, one float input "x" of shape [2, 3] and output "y". */
function model(nodes: object[], opts: { initializer?: object[]; opset?: number } = {}): Uint8Array {
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }] } } } });
  return ModelProto.encode(
    ModelProto.fromObject({
      irVersion: 8,
      opsetImport: [{ domain: '', version: opts.opset ?? 17 }],
      graph: { name: 'g', node: nodes, initializer: opts.initializer ?? [], input: [vi('x')], output: [vi('y')] },
    }),
  ).finish();
}

const rnnFixture = loadJson<{ torch: string; cases: Record<string, Case> }>('torch_rnn_outputs.json');

describe('importOnnx: recurrent models exported by PyTorch (ONNX LSTM and GRU nodes, test/fixtures/gen_onnx_rnn.py)', () => {
  for (const [name, c] of Object.entries(rnnFixture.cases)) {
    describe(name, () => {
      it("matches PyTorch's outputs within 1e-5 at both batch sizes", async () => {
        const m = await importOnnx(file(c.file));
        for (const run of c.runs) {
          const y = m.call(fromJson(run.input));
          expect(y.shape).toEqual(run.output.shape);
          expect(maxAbsDiff(y.typedData as Float32Array, run.output.data)).toBeLessThanOrEqual(1e-5);
        }
      });

      it('holds as many trainable numbers as the PyTorch model (its recurrent weights restacked by the exporter)', async () => {
        const m = await importOnnx(file(c.file));
        const n = m.parameters().reduce((a, p) => a + p.numel(), 0);
        // PyTorch: fc, and per layer and direction W_ih, W_hh, b_ih, b_hh; ONNX stores W, R and B = [b_ih, b_hh] per layer.
        const expected = name === 'lstm' ? 4 * 5 + 4 + (20 * 3 + 20 * 5 + 40) + (20 * 5 + 20 * 5 + 40) : 3 * 6 + 3 + 2 * (9 * 4 + 9 * 3 + 18);
        expect(n).toBe(expected);
        expect(Object.keys(m.stateDict())).toEqual(expect.arrayContaining(['fc.weight', 'fc.bias']));
      });

      it('fine-tunes with an optimizer: the loss falls', async () => {
        const m = await importOnnx(file(c.file));
        const x = fromJson(c.runs[1]!.input);
        const classes = c.runs[1]!.output.shape[1]!;
        const target = tensor(Int32Array.from({ length: x.shape[0]! }, (_, i) => i % classes), { dtype: 'int32' });
        const opt = new optim.Adam(m.parameters(), { lr: 0.05 });
        const losses: number[] = [];
        for (let step = 0; step < 15; step++) {
          opt.zeroGrad();
          const loss = F.crossEntropy(m.call(x), target);
          loss.backward();
          opt.step();
          losses.push(loss.item());
        }
        expect(losses.every(Number.isFinite)).toBe(true);
        expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.7);
      });

      it('passes gradcheck in float64 through the recurrent nodes (input and parameters)', async () => {
        const m = (await importOnnx(file(c.file))).double();
        const x = fromJson(c.runs[0]!.input).double().requiresGrad_();
        const params = m.parameters();
        const r = gradcheck((xi: Tensor) => m.call(xi), [x, ...params], { atol: 1e-6 });
        expect(r.ok).toBe(true);
        expect(r.checked).toBeGreaterThanOrEqual(params.reduce((k, p) => k + p.numel(), x.numel()));
      });
    });
  }
});

describe('importOnnx: what it refuses', () => {
  it('names every unsupported op and setting in one error', () => {
    const bytes = model([
      { opType: 'Einsum', input: ['x'], output: ['a'], name: 'e1' },
      { opType: 'Resize', input: ['a'], output: ['b'], name: 'up', attribute: [{ name: 'mode', type: 3, s: new TextEncoder().encode('cubic') }] },
      { opType: 'Einsum', input: ['b'], output: ['c'], name: 'e2' },
      { opType: 'LSTM', input: ['c', 'w', 'r', '', 'lens'], output: ['c2'], name: 'lstm', attribute: [{ name: 'hidden_size', type: 2, i: 3 }] },
      { opType: 'Conv', input: ['c', 'w'], output: ['d'], name: 'conv', attribute: [{ name: 'auto_pad', type: 3, s: new TextEncoder().encode('SAME_UPPER') }] },
      { opType: 'MaxPool', input: ['d'], output: ['e'], name: 'pool' },
      { opType: 'Relu', input: ['e'], output: ['y'], domain: 'com.example' },
    ]);
    let err: unknown;
    try {
      importOnnxBytes(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxError);
    const msg = (err as Error).message;
    expect(msg).toContain('Einsum (2 nodes)');
    expect(msg).toContain('Resize node "up": mode cubic is not supported');
    expect(msg).toContain('LSTM node "lstm": sequence_lens (input 4) is not supported');
    expect(msg).toContain('com.example.Relu');
    expect(msg).toContain('Conv node "conv": auto_pad SAME_UPPER is not supported');
    expect(msg).toContain('MaxPool node "pool": the kernel_shape attribute is missing');
    expect(msg.split('\n')).toHaveLength(1);
  });

  it('refuses bytes that are not an ONNX model, and a model without a graph', async () => {
    await expect(importOnnx(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]))).rejects.toThrow(OnnxError);
    expect(() => importOnnxBytes(new Uint8Array(0))).toThrow(/no graph/);
    await expect(importOnnx(42 as unknown as Uint8Array)).rejects.toThrow(/expects the model's bytes/);
  });

  it('checks the inputs it is given against the graph', () => {
    const m = importOnnxBytes(model([{ opType: 'Relu', input: ['x'], output: ['y'] }]));
    expect(Array.from(m.call(tensor([[-1, 2, -3]])).typedData)).toEqual([0, 2, 0]);
    expect(m.call(randn([5, 3])).shape).toEqual([5, 3]);
    expect(() => m.call(randn([2, 4]))).toThrow(ShapeError);
    expect(() => m.call(randn([2, 4]))).toThrow(/input "x" has shape \[2,4\], the graph expects \[batch,3\]/);
    expect(() => m.call(tensor([[1, 2, 3]], { dtype: 'int32' }))).toThrow(DTypeError);
    expect(() => m.call()).toThrow(/takes 1 input \(x\), got 0/);
  });

  it('reads an initializer whose raw data does not fit its shape as an error naming it', () => {
    const bad = { name: 'w', dims: [3, 3], dataType: 1, rawData: new Uint8Array(8) };
    expect(() => importOnnxBytes(model([{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }], { initializer: [bad] }))).toThrow(
      /"w" of shape \[3,3\] has 8 bytes of raw data, expected 36/,
    );
  });

  it('Softmax before opset 13 works over the 2-d coerced input', () => {
    const m = importOnnxBytes(model([{ opType: 'Softmax', input: ['x'], output: ['y'], attribute: [{ name: 'axis', type: 2, i: 1 }] }], { opset: 11 }));
    const x = randn([2, 3]);
    expect(maxAbsDiff(m.call(x).typedData as Float32Array, x.softmax(1).typedData as Float32Array)).toBeLessThan(1e-7);
  });

  it('corrupted files (random bytes changed, truncated) load or fail with a chainrule error, never a JavaScript one', () => {
    const gen = new Generator(5);
    const other: string[] = [];
    let loadedAndRan = 0;
    const files = [['torch_cnn.onnx', [2, 1, 8, 8]], ['torch_mlp.onnx', [2, 4]], ['chainrule_cnn.onnx', [2, 3, 10, 10]], ['chainrule_mlp.onnx', [2, 6]]] as const;
    for (const [f, shape] of files) {
      const orig = readFileSync(new URL(f, FIXTURES));
      for (let k = 0; k < 150; k++) {
        const b = new Uint8Array(orig);
        for (let j = 1 + gen.integer(0, 4); j > 0; j--) b[gen.integer(0, b.length)] = gen.integer(0, 256);
        try {
          importOnnxBytes(k % 10 === 0 ? b.subarray(0, gen.integer(0, b.length)) : b).call(randn([...shape]));
          loadedAndRan++;
        } catch (e) {
          if (!(e instanceof ChainruleError)) other.push(`${f} #${k}: ${(e as Error).name}: ${(e as Error).message}`);
        }
      }
    }
    expect(other).toEqual([]);
    // Most single-byte changes land in weights and still load: the test does exercise running.
    expect(loadedAndRan).toBeGreaterThan(100);
  });
});

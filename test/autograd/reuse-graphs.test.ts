import { describe, expect, it } from 'vitest';
import * as L from '../../src/index.js';

/**
 * Graphs of big tensors (32 KB and more: every gradient is tracked, written in place where the
 * walk proves it exclusive, recycled when dead) through most ops, with tensors used several
 * times, so that one gradient reaches several slots. backward() reuses memory; autograd.grad
 * runs the same rules but reuses nothing. The two must agree bit for bit, step after step
 * (zeroGrad recycles the .grad buffers into the next step). Run with CHAINRULE_DEBUG_POOL=1 a
 * read of any given-back buffer shows up here as NaN.
 */
type T = L.Tensor;
type Graph = (P: (shape: number[], scale?: number) => T, R: (shape: number[]) => T) => { params: T[]; loss: () => T };
const { nn, F } = L;

const graphs: Record<string, Graph> = {
  activations: (P, R) => {
    const w1 = P([96, 128]);
    const w2 = P([128, 128]);
    const x = R([64, 96]);
    return { params: [w1, w2], loss: () => {
      let h = x.matmul(w1).tanh();
      h = L.gelu(h).add(L.elu(h)).mul(L.sigmoid(h)).sub(L.softplus(h)).add(L.leakyRelu(h, 0.1));
      h = h.matmul(w2).relu().add(L.erf(h)).mul(L.exp(h.mul(0.1))).add(L.log1p(h.abs()));
      return h.square().mean();
    } };
  },
  broadcasting: (P) => {
    const a = P([64, 128], 1);
    const b = P([128]);
    const c = P([64, 1]);
    return { params: [a, b, c], loss: () => {
      const y = a.add(b).mul(c).sub(a.mul(a)).div(c.abs().add(1));
      const z = L.maximum(y, a).add(L.minimum(y, b)).add(L.where(L.gt(a, 0), y, a.neg()));
      const q = L.clamp(z, -1, 1).add(L.sqrt(z.abs().add(1))).add(L.pow(a.abs().add(0.5), 1.5)).add(L.rsqrt(y.square().add(1)));
      return q.add(L.sin(a)).mul(L.cos(b)).add(L.reciprocal(c.square().add(1))).sum();
    } };
  },
  reductions: (P) => {
    const a = P([64, 128], 1);
    return { params: [a], loss: () => {
      const s = L.softmax(a, 1).add(L.logSoftmax(a, 0)).mul(a);
      const r = L.sum(s, [1]).add(L.mean(s, [1])).add(L.amax(s, 1)).add(L.logsumexp(a, 1)).add(L.variance(a, 1)).add(L.std(a, 1));
      return r.sum().add(L.amin(a, 0).sum()).add(s.sum(0).mean());
    } };
  },
  shapes: (P) => {
    const a = P([64, 128], 1);
    const b = P([64, 128], 1);
    const rows = L.tensor(Int32Array.from({ length: 64 }, (_, i) => (i * 7) % 64));
    const cols = L.tensor(Int32Array.from({ length: 64 * 128 }, (_, i) => (i * 13) % 128)).reshape([64, 128]);
    return { params: [a, b], loss: () => {
      const c = L.cat([a, b], 0).reshape([128, 128]).transpose(0, 1).permute([1, 0]);
      const parts = L.split(c, 32, 0).map((t, i) => t.mul(i + 1));
      const st = L.chunk(L.stack([a, b], 0).sum(0), 4, 1)[0]!;
      const ex = a.unsqueeze(0).expand([2, 64, 128]).squeeze().sum(0).flatten();
      const sel = L.indexSelect(a, 0, rows).add(L.narrow(b, 1, 0, 128)).add(L.slice(a, 0, 0, 64));
      const scattered = L.scatterAdd(b.mul(0), 1, cols, a).add(L.indexAdd(b, 0, rows, a));
      return L.cat(parts, 0).sum().add(st.sum()).add(ex.sum()).add(sel.square().sum())
        .add(L.gather(a, 1, cols).mul(b).sum()).add(scattered.square().sum()).add(L.select(a, 0, 3).sum());
    } };
  },
  'one gradient to several slots': (P, R) => {
    const a = P([64, 128], 1);
    const b = P([64, 128], 1);
    const c = R([64, 128]);
    return { params: [a, b], loss: () => {
      const h = a.tanh();
      const q = b.sigmoid();
      const y = h.add(h).mul(h).add(a.mul(a)).add(L.add(a, a));
      return y.relu().sigmoid().add(y.tanh()).sum().add(q.add(h).sum()).add(h.mul(c).sum());
    } };
  },
  cnn: (_P, R) => {
    const m = new nn.Sequential(new nn.Conv2d(3, 16, 3, { padding: 1 }), new nn.BatchNorm2d(16), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(16, 16, 3), new nn.ReLU(), new nn.AvgPool2d(2), new nn.Flatten(), new nn.Linear(16 * 3 * 3, 64), new nn.LayerNorm(64), new nn.Linear(64, 10));
    const x = R([32, 3, 16, 16]);
    const labels = L.tensor(Int32Array.from({ length: 32 }, (_, i) => i % 10));
    return { params: m.parameters(), loss: () => F.crossEntropy(m.forward(x), labels) };
  },
};

describe('memory reuse changes no gradient', () => {
  for (const [name, graph] of Object.entries(graphs)) {
    it(`${name}: backward() equals autograd.grad (which reuses nothing), bit for bit, over steps`, () => {
      L.manualSeed(5);
      const { params, loss } = graph((shape, scale = 0.1) => L.randn(shape).mul(scale).requiresGrad_(true), (shape) => L.randn(shape));
      const opt = new L.optim.SGD(params, { lr: 0.01, momentum: 0.9 });
      for (let step = 0; step < 3; step++) {
        const expected = L.autograd.grad(loss(), params).map((g) => Array.from(g!.typedData));
        opt.zeroGrad();
        loss().backward();
        params.forEach((p, i) => {
          const got = Array.from(p.peekGrad()!.typedData);
          expect(got.some(Number.isNaN)).toBe(false);
          expect(got).toEqual(expected[i]);
        });
        opt.step();
      }
    });
  }
});

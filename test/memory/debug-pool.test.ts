import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/**
 * CHAINRULE_DEBUG_POOL=1 (src/memory/pool.ts) poisons every buffer given back, so that code
 * still reading memory it gave back computes NaN instead of someone else's numbers. The mode
 * is read once, when the module loads, so each case here loads the library afresh with the
 * variable set or unset, and breaks the conventions on purpose (in the test only) to show what
 * each mode makes of it.
 */
type Lib = typeof import('../../src/index.js');
type Pool = typeof import('../../src/memory/pool.js');
type Memory = typeof import('../../src/memory/index.js');
interface Instance {
  lib: Lib;
  pool: Pool;
  memory: Memory;
}

async function load(debug: '1' | '0'): Promise<Instance> {
  vi.stubEnv('CHAINRULE_DEBUG_POOL', debug);
  vi.resetModules();
  const lib = await import('../../src/index.js');
  const pool = await import('../../src/memory/pool.js');
  const memory = await import('../../src/memory/index.js');
  vi.unstubAllEnvs();
  return { lib, pool, memory };
}

let on: Instance;
let off: Instance;
beforeAll(async () => {
  on = await load('1');
  off = await load('0');
});
afterAll(() => {
  vi.resetModules();
});

const sumOf = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

describe('CHAINRULE_DEBUG_POOL', () => {
  it('is read from the environment when the module loads', () => {
    expect(on.pool.debugPoolEnabled()).toBe(true);
    expect(off.pool.debugPoolEnabled()).toBe(false);
  });

  it('a buffer recycled while a live tensor still uses it: NaN in debug mode, silently wrong numbers without', () => {
    const run = ({ lib, pool }: Instance) => {
      lib.manualSeed(7);
      const x = lib.randn([64, 128]); // 32 KB: big enough for the pool
      const live = x.mul(2);
      const expected = live.sum().item();
      pool.recycleBuffer(live.typedData); // the broken convention: `live` is still referenced
      const readBack = live.sum().item();
      const next = x.add(1000); // the next allocation of that size takes the buffer
      return { expected, readBack, aliased: live.typedData.buffer === next.typedData.buffer, after: live.sum().item(), nextSum: next.sum().item() };
    };
    const d = run(on);
    expect(Number.isNaN(d.readBack)).toBe(true);
    expect(Number.isNaN(d.expected)).toBe(false);
    const p = run(off);
    // Without the mode nothing fails: the stale tensor first reads its old values, then the
    // next owner's, and every number looks plausible.
    expect(p.readBack).toBe(p.expected);
    expect(p.aliased).toBe(true);
    expect(p.after).toBe(p.nextSum);
  });

  it('an array kept out of a released Scratch reads NaN in debug mode', () => {
    const run = ({ memory }: Instance) => {
      const s = memory.takeScratch('float32', 8192, 'test: columns');
      const raw = s.array;
      raw.fill(1);
      s.release(); // the broken convention: raw is read below
      return sumOf(raw);
    };
    expect(Number.isNaN(run(on))).toBe(true);
    expect(run(off)).toBe(8192);
  });

  it('float32 and float64 views read NaN, int32 ones the sentinel 2146959360, and small buffers (never pooled) are poisoned too', () => {
    const big = new Int32Array(8192).fill(5);
    on.pool.recycleBuffer(big);
    expect(big[0]).toBe(2146959360);
    // The pool hands a buffer out by size: whatever type reads it next must see NaN.
    expect(new Float32Array(big.buffer).every(Number.isNaN)).toBe(true);
    expect(new Float64Array(big.buffer).every(Number.isNaN)).toBe(true);
    const small = new Float64Array(16).fill(1);
    on.pool.recycleBuffer(small);
    expect(Number.isNaN(small[3]!)).toBe(true);
    const plain = new Int32Array(8192).fill(5);
    off.pool.recycleBuffer(plain);
    expect(plain[0]).toBe(5);
  });

  it('a write into a buffer after it was given back throws a named error when the buffer is handed out again', () => {
    const run = ({ lib, pool }: Instance) => {
      lib.manualSeed(8);
      const x = lib.randn([32, 256]);
      const live = x.mul(3);
      pool.recycleBuffer(live.typedData);
      live.typedData[100] = 0; // a holder that should have let go writes
      return () => x.add(1); // same size: takes the buffer
    };
    expect(run(on)).toThrow(on.pool.ReleasedBufferError);
    expect(run(on)).toThrow(/buffer pool: a 32768-byte buffer was written at byte 400 after it was given back/);
    expect(run(off)).not.toThrow();
  });

  it('a gradient a node passes to two edges is not recycled between them (caught by debug mode only)', () => {
    // add(h, h) gives its gradient g to h's node twice. The first edge sums g into h's slot;
    // an engine that then recycled g (nothing held it for a moment) read a given-back buffer
    // at the second edge. Without the mode the next allocation happened to be that same
    // buffer, written element by element as it was read, so the numbers came out right.
    const run = ({ lib }: Instance) => {
      lib.manualSeed(12);
      const a = lib.randn([64, 128]).requiresGrad_(true);
      const h = a.tanh();
      h.add(h).mul(h).sum().backward();
      return Array.from(a.grad!.typedData);
    };
    const d = run(on);
    expect(d.some(Number.isNaN)).toBe(false);
    expect(d).toEqual(run(off));
  });

  it('training with reuse reads no buffer after giving it back: debug mode gives the same bits', () => {
    // An MLP and a small CNN, with Adam: gradients written in place, .grad buffers recycled by
    // zeroGrad, conv2d's scratch buffers. Any read of a given-back buffer would be NaN here.
    const train = ({ lib }: Instance) => {
      const { nn, optim, F } = lib;
      lib.manualSeed(11);
      const cnn = new nn.Sequential(new nn.Conv2d(2, 16, 3), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(16 * 7 * 7, 10));
      const mlp = new nn.Sequential(new nn.Linear(96, 128), new nn.Tanh(), new nn.Linear(128, 128), new nn.Sigmoid(), new nn.Linear(128, 10));
      const params = [...cnn.parameters(), ...mlp.parameters()];
      const opt = new optim.Adam(params, { lr: 1e-2 });
      const img = lib.randn([16, 2, 16, 16]);
      const x = lib.randn([64, 96]);
      const y = lib.randn([16, 10]);
      const losses: number[] = [];
      for (let s = 0; s < 6; s++) {
        opt.zeroGrad();
        const loss = F.crossEntropy(cnn.forward(img), lib.tensor(Int32Array.from({ length: 16 }, (_, i) => i % 10)))
          .add(F.mseLoss(mlp.forward(x).narrow(0, 0, 16), y));
        loss.backward();
        opt.step();
        losses.push(loss.item());
      }
      return { losses, params: params.map((p) => Array.from(p.detach().typedData)) };
    };
    const d = train(on);
    const p = train(off);
    expect(d.losses.every(Number.isFinite)).toBe(true);
    expect(d.losses).toEqual(p.losses);
    expect(d.params).toEqual(p.params);
    expect(on.pool.pooledByteCount()).toBeGreaterThan(0); // reuse really happened
  });
});

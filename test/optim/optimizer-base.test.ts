import { describe, expect, it } from 'vitest';
import { Tensor, tensor } from '../../src/index.js';
import * as optim from '../../src/optim/index.js';
import { fixture, makeOptimizer, makeProblem, train } from './helpers.js';

const f64 = { dtype: 'float64' } as const;

/** A state dict as a checkpoint would hold it: one JSON string, tensors as dtype/shape/values. */
function serialise(sd: optim.OptimizerStateDict): string {
  return JSON.stringify(sd, (_k, v: unknown) =>
    v instanceof Tensor ? { tensor: v.dtype, shape: v.shape, values: Array.from(v.typedData as ArrayLike<number>) } : v,
  );
}
function deserialise(s: string): optim.OptimizerStateDict {
  return JSON.parse(s, (_k, v: { tensor?: 'float64' | 'float32'; shape: number[]; values: number[] }) =>
    v !== null && typeof v === 'object' && typeof v.tensor === 'string' ? tensor(v.values, { dtype: v.tensor, shape: v.shape }) : v,
  );
}

describe('stateDict / loadStateDict: 10 steps + save + load into a fresh optimizer + 10 steps = 20 steps, bit for bit', () => {
  for (const c of fixture.optimizers) {
    it(c.name, () => {
      const straight = makeProblem();
      const expectedLosses = train(makeOptimizer(c, straight.params), straight.loss, 20);

      const first = makeProblem();
      const opt = makeOptimizer(c, first.params);
      const losses = train(opt, first.loss, 10);
      const checkpoint = { params: first.params.map((p) => Array.from(p.typedData)), optimizer: serialise(opt.stateDict()) };
      const json = JSON.parse(JSON.stringify(checkpoint)) as typeof checkpoint;

      const resumed = makeProblem();
      resumed.params.forEach((p, i) => p.typedData.set(json.params[i]!));
      const opt2 = makeOptimizer(c, resumed.params);
      opt2.loadStateDict(deserialise(json.optimizer));
      losses.push(...train(opt2, resumed.loss, 10));

      expect(losses).toEqual(expectedLosses);
      resumed.params.forEach((p, i) => expect(Array.from(p.typedData)).toEqual(Array.from(straight.params[i]!.typedData)));
    });
  }
});

describe('Optimizer base', () => {
  const param = (values: number[]) => tensor(values, { ...f64, requiresGrad: true });

  it('stateDict: state by parameter index, group options with indices, copies not views', () => {
    const a = param([1, 2]);
    const b = param([3]);
    const opt = new optim.Adam([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1, amsgrad: true });
    a.grad = tensor([1, 1], f64);
    opt.step();
    const sd = opt.stateDict();
    expect(sd.paramGroups).toEqual([
      { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [0] },
      { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [1] },
    ]);
    expect(Object.keys(sd.state)).toEqual(['0']);
    expect(Object.keys(sd.state[0]!).sort()).toEqual(['expAvg', 'expAvgSq', 'maxExpAvgSq', 'step']);
    expect(sd.state[0]!.step).toBe(1);
    const saved = (sd.state[0]!.expAvg as Tensor).tolist();
    opt.step();
    expect((sd.state[0]!.expAvg as Tensor).tolist()).toEqual(saved);
  });

  it('loadStateDict refuses a state dict of another shape', () => {
    const opt = new optim.SGD([param([1])], { lr: 0.1, momentum: 0.9 });
    const other = new optim.SGD([{ params: [param([1])] }, { params: [param([2])] }], { lr: 0.1 });
    expect(() => opt.loadStateDict(other.stateDict())).toThrow('2 parameter groups');
    const two = new optim.SGD([param([1]), param([2])], { lr: 0.1 });
    expect(() => opt.loadStateDict(two.stateDict())).toThrow('2 parameters in the state dict, 1 here');
    const big = param([1, 2]);
    const src = new optim.SGD([big], { lr: 0.1, momentum: 0.9 });
    big.grad = tensor([1, 1], f64);
    src.step();
    expect(() => opt.loadStateDict(src.stateDict())).toThrow("state 'momentumBuffer' of parameter 0 has shape [2]");
  });

  it('zeroGrad sets .grad to null (or zeros with setToNone = false)', () => {
    const a = param([1, 2]);
    const opt = new optim.SGD([a], { lr: 0.1 });
    a.grad = tensor([5, 5], f64);
    opt.zeroGrad(false);
    expect(a.grad!.tolist()).toEqual([0, 0]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
  });

  it('step(closure) evaluates the closure with grad enabled and returns its loss', () => {
    const { params, loss } = makeProblem();
    const opt = new optim.SGD(params, { lr: 0.01 });
    const l = opt.step(() => {
      opt.zeroGrad();
      const v = loss();
      v.backward();
      return v;
    });
    const plain = makeProblem();
    const expected = train(new optim.SGD(plain.params, { lr: 0.01 }), plain.loss, 1);
    expect((l as Tensor).item()).toBe(expected[0]);
    expect(Array.from(params[0].typedData)).toEqual(Array.from(plain.params[0].typedData));
  });

  it('parameters without a gradient are left alone, and get no state', () => {
    const a = param([1]);
    const b = param([2]);
    const opt = new optim.Adam([a, b], { lr: 0.1 });
    a.grad = tensor([1], f64);
    opt.step();
    expect(b.typedData[0]).toBe(2);
    expect(opt.state.has(b)).toBe(false);
    expect(a.typedData[0]).toBe(1 - 0.1 / (1 + 1e-8));
  });

  it('updates write in place, bump version, and keep float32 parameters float32', () => {
    const a = tensor([1, -1], { requiresGrad: true });
    const data = a.typedData;
    const opt = new optim.AdamW([a], { lr: 0.1 });
    a.grad = tensor([0.5, -0.5]);
    const v = a.version;
    opt.step();
    expect(a.typedData).toBe(data);
    expect(a.typedData).toBeInstanceOf(Float32Array);
    expect(a.version).toBe(v + 1);
    expect((opt.state.get(a)!.expAvg as Tensor).dtype).toBe('float32');
    expect(a.typedData[0]).toBeCloseTo(1 * (1 - 0.1 * 0.01) - 0.1, 6);
  });

  it('addParamGroup fills defaults; refuses duplicates and non-leaves', () => {
    const a = param([1]);
    const opt = new optim.SGD([a], { lr: 0.1, momentum: 0.9 });
    const b = param([2]);
    opt.addParamGroup({ params: [b], lr: 0.01 });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.01, momentum: 0.9, dampening: 0, nesterov: false });
    expect(() => opt.addParamGroup({ params: [a] })).toThrow('more than once');
    expect(() => opt.addParamGroup({ params: [b.mul(2)] })).toThrow("can't optimize a non-leaf");
    expect(() => new optim.SGD([], { lr: 0.1 })).toThrow('empty parameter list');
    expect(() => new optim.SGD([a])).toThrow('SGD: parameter group 0 has no lr');
    expect(() => new optim.SGD(a as never, { lr: 0.1 })).toThrow('got a single Tensor');
  });

  it('accepts any iterable of parameters (a generator, as Module.parameters() may give)', () => {
    const a = param([1]);
    const b = param([2]);
    function* gen() {
      yield a;
      yield b;
    }
    expect(new optim.RMSprop(gen()).paramGroups[0]!.params).toEqual([a, b]);
  });
});

describe('validation names the option and the value', () => {
  const p = () => [tensor([1], { ...f64, requiresGrad: true })];
  const cases: [string, () => unknown, string][] = [
    ['negative lr', () => new optim.SGD(p(), { lr: -0.1 }), 'SGD: invalid lr -0.1 (must be a finite number >= 0)'],
    ['NaN lr', () => new optim.Adam(p(), { lr: NaN }), 'Adam: invalid lr NaN'],
    ['beta1', () => new optim.Adam(p(), { betas: [1.2, 0.999] }), 'Adam: invalid beta1 1.2 (must be in [0, 1))'],
    ['beta2', () => new optim.AdamW(p(), { betas: [0.9, 1] }), 'AdamW: invalid beta2 1 (must be in [0, 1))'],
    ['negative beta', () => new optim.Adam(p(), { betas: [-0.1, 0.9] }), 'Adam: invalid beta1 -0.1'],
    ['eps 0', () => new optim.Adam(p(), { eps: 0 }), 'Adam: invalid eps 0 (must be a finite number > 0)'],
    ['eps negative', () => new optim.RMSprop(p(), { eps: -1e-8 }), 'RMSprop: invalid eps -1e-8'],
    ['weight decay', () => new optim.AdamW(p(), { weightDecay: -0.01 }), 'AdamW: invalid weightDecay -0.01'],
    ['SGD weight decay', () => new optim.SGD(p(), { lr: 0.1, weightDecay: -1 }), 'SGD: invalid weightDecay -1'],
    ['momentum', () => new optim.SGD(p(), { lr: 0.1, momentum: -0.5 }), 'SGD: invalid momentum -0.5 (must be a finite number >= 0)'],
    ['RMSprop momentum', () => new optim.RMSprop(p(), { momentum: -1 }), 'RMSprop: invalid momentum -1'],
    ['RMSprop alpha', () => new optim.RMSprop(p(), { alpha: 1.5 }), 'RMSprop: invalid alpha 1.5'],
    ['nesterov without momentum', () => new optim.SGD(p(), { lr: 0.1, nesterov: true }), 'SGD: invalid nesterov true with momentum 0'],
    ['nesterov with dampening', () => new optim.SGD(p(), { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), 'dampening 0.1'],
    ['Adagrad lrDecay', () => new optim.Adagrad(p(), { lrDecay: -1 }), 'Adagrad: invalid lrDecay -1'],
    ['Adagrad accumulator', () => new optim.Adagrad(p(), { initialAccumulatorValue: -1 }), 'Adagrad: invalid initialAccumulatorValue -1'],
    ['a group option', () => new optim.SGD([{ params: p(), lr: -1 }], { lr: 0.1 }), 'SGD: invalid lr -1'],
  ];
  for (const [what, make, message] of cases) {
    it(what, () => expect(make).toThrow(message));
  }
});

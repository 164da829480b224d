/**
 * Issue 18, "no silent wrong answers", API side: every bad argument gives a chainrule error
 * that names the op and the value, never a JS TypeError / RangeError or a silently wrong
 * tensor. One test per example of the issue and per class it stands for.
 */
import { describe, expect, it } from 'vitest';
import {
  AllocationError, AutogradError, ChainruleError, DTypeError, Generator, IndexError, ShapeError, ValueError,
  arange, empty, eye, full, gather, indexSelect, linspace, manualSeed, nn, ones, optim, rand, randint, randn, randperm,
  tensor, zeros, Tensor,
} from '../../src/index.js';

/** Runs fn, expects a chainrule error of class `cls` whose message matches `message`. */
function refuses(fn: () => unknown, cls: new (...a: never[]) => Error, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an error').toBeDefined();
  expect(caught).toBeInstanceOf(ChainruleError);
  expect(caught).not.toBeInstanceOf(TypeError);
  expect(caught).not.toBeInstanceOf(RangeError);
  expect(caught).toBeInstanceOf(cls);
  expect((caught as Error).message).toMatch(message);
}

const param = () => tensor([1, 2], { requiresGrad: true });

describe('shapes', () => {
  it('tensor(data, { shape }) refuses negative and fractional shapes (issue examples)', () => {
    refuses(() => tensor([1, 2], { shape: [-1, -2] }), ShapeError, /^tensor: size -1 at dim 0 of shape \[-1,-2\]/);
    refuses(() => tensor([1, 2], { shape: [0.5, 4] }), ShapeError, /tensor: size 0\.5 at dim 0/);
    refuses(() => tensor(new Float32Array(2), { shape: [-1, -2] }), ShapeError, /tensor: size -1/);
    refuses(() => tensor([1, 2], { shape: [NaN] }), ShapeError, /tensor: size NaN/);
    refuses(() => tensor([1, 2], { shape: [Infinity] }), ShapeError, /tensor: size Infinity/);
    refuses(() => tensor([1, 2], { shape: [3] }), ValueError, /2 elements do not fill shape \[3\]/);
    expect(tensor([1, 2, 3, 4], { shape: [2, 2] }).shape).toEqual([2, 2]);
  });

  it('every creation function refuses negative, fractional, NaN and infinite sizes, naming itself', () => {
    const makers: [string, (s: number[]) => unknown][] = [
      ['zeros', (s) => zeros(s)], ['ones', (s) => ones(s)], ['empty', (s) => empty(s)], ['full', (s) => full(s, 1)],
      ['rand', (s) => rand(s)], ['randn', (s) => randn(s)], ['randint', (s) => randint(0, 3, s)],
    ];
    for (const [op, make] of makers) {
      for (const bad of [-1, 0.5, NaN, Infinity, -Infinity]) {
        refuses(() => make([2, bad]), ShapeError, new RegExp(`^${op}: size ${bad} at dim 1`));
      }
    }
    refuses(() => zeros('3' as never), ShapeError, /zeros: the shape must be an array of sizes \(or one size\), got "3"/);
    refuses(() => zeros(null as never), ShapeError, /zeros: the shape must be an array/);
    refuses(() => zeros([2, '3'] as never), ShapeError, /zeros: size "3" at dim 1/);
  });

  it('zeros(3) is a 1-D shape and zeros(2, 3) a 2-D one, as in PyTorch', () => {
    expect(zeros(3).shape).toEqual([3]);
    expect(zeros(2, 3).shape).toEqual([2, 3]);
    expect(ones(2, 3, { dtype: 'float64' }).dtype).toBe('float64');
    expect(rand(4).shape).toEqual([4]);
    expect(randn(2, 2).shape).toEqual([2, 2]);
    expect(full(2, 7).toArray()).toEqual([7, 7]);
    expect(randint(0, 3, 5).shape).toEqual([5]);
  });

  it('a size too large for a typed array says how many bytes it would need (issue examples)', () => {
    refuses(() => zeros([1e6, 1e6]), AllocationError, /^zeros: shape \[1000000,1000000\] has 1,000,000,000,000 elements and would need 4,000,000,000,000 bytes \(4\.0 TB\) as float32/);
    refuses(() => new nn.Linear(1e6, 1e6), AllocationError, /^Linear: a weight of shape \[1000000,1000000\] has .* \(4\.0 TB\)/);
    refuses(() => arange(0, 1e12), AllocationError, /^arange: .* 1,000,000,000,000 elements and would need 4,000,000,000,000 bytes/);
    refuses(() => zeros([2 ** 31]), AllocationError, /at most 2,147,483,647 elements/);
    refuses(() => zeros([2 ** 30, 2], { dtype: 'float64' }), AllocationError, /17,179,869,184 bytes \(17\.2 GB\) as float64/);
    refuses(() => linspace(0, 1, 1e12), AllocationError, /^linspace:/);
    refuses(() => randperm(1e12), AllocationError, /^randperm:/);
    refuses(() => eye(1e6), AllocationError, /^eye:/);
  });

  it('layers check their sizes before allocating', () => {
    refuses(() => new nn.Linear(-1, 3), ValueError, /^Linear: inFeatures -1 is out of range/);
    refuses(() => new nn.Linear(2.5, 3), ValueError, /^Linear: inFeatures must be an integer, got 2\.5/);
    refuses(() => new nn.Linear(NaN, 3), ValueError, /^Linear: inFeatures must be an integer, got NaN/);
    refuses(() => new nn.Embedding(1e6, 1e6), AllocationError, /^Embedding: a weight of shape/);
    refuses(() => new nn.Conv2d(1e4, 1e4, 100), AllocationError, /^Conv2d: a weight of shape \[10000,10000,100,100\]/);
    refuses(() => new nn.Conv2d(3, 4, 3, { groups: 0 }), ValueError, /^Conv2d: groups 0/);
    refuses(() => new nn.BatchNorm1d(-3), ValueError, /^BatchNorm1d: numFeatures -3/);
    refuses(() => new nn.BatchNorm1d(3, { eps: NaN }), ValueError, /^BatchNorm1d: eps must be a finite number/);
    refuses(() => new nn.LayerNorm([4, -1]), ShapeError, /^LayerNorm: size -1 at dim 1 of shape \[4,-1\]/);
  });

  it('reshape, view and expand refuse fractional, NaN and negative sizes (other than -1)', () => {
    const x = tensor([1, 2, 3, 4]);
    refuses(() => x.reshape(0.5, 8), ShapeError, /^reshape: invalid size 0\.5/);
    refuses(() => x.view([NaN, 4]), ShapeError, /^view: invalid size NaN/);
    refuses(() => x.reshape([-2, -2]), ShapeError, /^reshape: invalid size -2/);
    refuses(() => tensor([1]).expand(NaN), ShapeError, /^expand: size NaN at dim 0/);
    refuses(() => tensor([1]).expand(2.5), ShapeError, /^expand: size 2\.5/);
    refuses(() => tensor([1]).expand(-3), ShapeError, /^expand: size -3/);
    expect(tensor([1]).expand(-1).shape).toEqual([1]);
    expect(tensor([[1], [2]]).expand(-1, 3).shape).toEqual([2, 3]);
  });

  it('a Tensor built directly with a bad shape is refused too', () => {
    refuses(() => new Tensor(new Float32Array(2), [-1, -2], 'float32'), ShapeError, /size -1 at dim 0/);
    refuses(() => new Tensor(new Float32Array(2), [2.5], 'float32'), ShapeError, /size 2\.5/);
  });
});

describe('dtypes', () => {
  it('an unknown dtype string lists the known ones (issue example)', () => {
    const known = /the dtypes are bool, int32, float32, float64/;
    refuses(() => zeros([2], { dtype: 'float16' as never }), DTypeError, /^zeros: unknown dtype "float16"/);
    refuses(() => tensor([1], { dtype: 'int64' as never }), DTypeError, known);
    refuses(() => tensor(new Float32Array(1), { dtype: 'half' as never }), DTypeError, known);
    refuses(() => arange(3, undefined, 1, { dtype: 'uint8' as never }), DTypeError, /^arange: unknown dtype "uint8"/);
    refuses(() => tensor([1]).to('float16' as never), DTypeError, /^to: unknown dtype "float16"/);
    refuses(() => new nn.Linear(2, 2, { dtype: 'bfloat16' as never }), DTypeError, /^Linear: unknown dtype "bfloat16"/);
  });

  it('int32 creation refuses values that would wrap or are not numbers at all (issue example)', () => {
    refuses(() => tensor([3e9], { dtype: 'int32' }), ValueError, /^tensor: value 3000000000 \(at \[0\]\) does not fit dtype int32/);
    refuses(() => tensor([[1, 2], [3, -3e9]], { dtype: 'int32' }), ValueError, /value -3000000000 \(at \[1\]\[1\]\)/);
    refuses(() => tensor([NaN], { dtype: 'int32' }), ValueError, /value NaN/);
    refuses(() => tensor([Infinity], { dtype: 'int32' }), ValueError, /value Infinity/);
    refuses(() => tensor(new Float64Array([2 ** 31]), { dtype: 'int32' }), ValueError, /value 2147483648 \(element 0\)/);
    refuses(() => full([2], 3e9, { dtype: 'int32' }), ValueError, /^full: value 3000000000/);
    refuses(() => arange(0, 4e9, 1e9, { dtype: 'int32' }), ValueError, /^arange: value 3000000000/);
    refuses(() => randint(0, 2 ** 32, [2]), ValueError, /^randint: value 4294967295/);
    // The edges fit, and a finite fraction truncates toward zero, as PyTorch's conversion does.
    expect(tensor([2 ** 31 - 1, -(2 ** 31), 1.7, -1.7], { dtype: 'int32' }).tolist()).toEqual([2147483647, -2147483648, 1, -1]);
  });
});

describe('index and range arguments', () => {
  const x = tensor([1, 2, 3, 4]);

  it('narrow(x, 0, 0.5, 2) is an error, not NaNs (issue example)', () => {
    refuses(() => x.narrow(0, 0.5, 2), IndexError, /^narrow: start must be an integer, got 0\.5/);
    refuses(() => x.narrow(0, 1, 1.5), IndexError, /^narrow: length must be an integer, got 1\.5/);
    refuses(() => x.narrow(0, NaN, 1), IndexError, /^narrow: start must be an integer, got NaN/);
    refuses(() => x.narrow(0, 3, 2), IndexError, /^narrow: start 3 and length 2 go outside dim 0 of size 4/);
    refuses(() => x.narrow(0.5, 0, 1), IndexError, /^narrow: dim 0\.5 is out of range/);
    expect(x.narrow(0, 1, 2).toArray()).toEqual([2, 3]);
  });

  it('slice bounds must be integers (or ±Infinity); split sizes non-negative integers', () => {
    refuses(() => x.slice(0, 0.5, 3), IndexError, /^slice: start must be an integer, got 0\.5/);
    refuses(() => x.slice(0, 0, NaN), IndexError, /^slice: end must be an integer, got NaN/);
    expect(x.slice(0, 1, Infinity).toArray()).toEqual([2, 3, 4]);
    refuses(() => x.split([1.5, 2.5]), ValueError, /^split: size 0 must be an integer, got 1\.5/);
    refuses(() => x.split([-1, 5]), ValueError, /^split: size 0 -1 is out of range/);
  });

  it('dims: fractional or out of range', () => {
    refuses(() => x.sum(0.5), IndexError, /^sum: dim 0\.5 is out of range/);
    refuses(() => x.sum(1), IndexError, /^sum: dim 1 is out of range for a tensor with 1 dims/);
    refuses(() => x.transpose(0, 2), IndexError, /^transpose: dim 2/);
    refuses(() => x.unsqueeze(3), IndexError, /^unsqueeze: dim 3/);
    refuses(() => x.size(NaN), ChainruleError, /^size: dim NaN/);
  });

  it('select index, gather and indexSelect indices out of range', () => {
    refuses(() => x.select(0, 1.5), IndexError, /^select: index 1\.5/);
    refuses(() => x.select(0, 4), IndexError, /^select: index 4 is out of range for dim 0 of size 4/);
    refuses(() => gather(x, 0, tensor([7], { dtype: 'int32' })), IndexError, /^gather: index 7 \(at position 0\) is out of range/);
    refuses(() => gather(x, 0, tensor([-1], { dtype: 'int32' })), IndexError, /^gather: index -1/);
    refuses(() => indexSelect(x, 0, tensor([0, 9], { dtype: 'int32' })), IndexError, /^indexSelect: index 9 \(at position 1\)/);
    refuses(() => indexSelect(x, 0, tensor([0.5])), DTypeError, /^indexSelect: index must be an int32 tensor/);
  });

  it('creation counts and ranges: arange, linspace, eye, randperm, randint', () => {
    refuses(() => arange(0, NaN), ValueError, /^arange: end must be a finite number, got NaN/);
    refuses(() => arange(0, Infinity), ValueError, /^arange: end must be a finite number, got Infinity/);
    refuses(() => arange(0, 5, 0), ValueError, /^arange: step must be nonzero/);
    refuses(() => linspace(0, 1, 2.5), ValueError, /^linspace: steps must be an integer, got 2\.5/);
    refuses(() => linspace(0, NaN, 3), ValueError, /^linspace: end must be a finite number/);
    refuses(() => eye(-1), ValueError, /^eye: n -1 is out of range/);
    refuses(() => eye(2, 1.5), ValueError, /^eye: m must be an integer/);
    refuses(() => randperm(1.5), ValueError, /^randperm: n must be an integer, got 1\.5/);
    refuses(() => randint(0, NaN, [2]), ValueError, /^randint: high must be a finite number, got NaN/);
    refuses(() => randint(0.5, 3, [2]), ValueError, /^randint: low and high must be integers/);
  });
});

describe('optimizer, scheduler and clipping options', () => {
  it('SGD with lr Infinity or NaN is refused (issue example), as are negative lr and bad momentum', () => {
    refuses(() => new optim.SGD([param()], { lr: Infinity }), ValueError, /^SGD: invalid lr Infinity \(must be a finite number >= 0\)/);
    refuses(() => new optim.SGD([param()], { lr: NaN }), ValueError, /^SGD: invalid lr NaN/);
    refuses(() => new optim.SGD([param()], { lr: -0.1 }), ValueError, /^SGD: invalid lr -0\.1/);
    refuses(() => new optim.SGD([param()], { lr: 0.1, momentum: Infinity }), ValueError, /^SGD: invalid momentum Infinity/);
    refuses(() => new optim.SGD([param()], { lr: 0.1, weightDecay: -1 }), ValueError, /^SGD: invalid weightDecay -1/);
    refuses(() => new optim.SGD([param()], { lr: 0.1, dampening: NaN }), ValueError, /^SGD: invalid dampening NaN/);
    refuses(() => new optim.SGD([param()], { lr: '0.1' as never }), ValueError, /^SGD: /);
  });

  it('Adam and the others: betas in [0, 1), eps > 0, all finite', () => {
    refuses(() => new optim.Adam([param()], { betas: [1, 0.999] }), ValueError, /^Adam: invalid beta1 1 \(must be in \[0, 1\)\)/);
    refuses(() => new optim.Adam([param()], { betas: [0.9, -0.1] }), ValueError, /^Adam: invalid beta2 -0\.1/);
    refuses(() => new optim.Adam([param()], { eps: Infinity }), ValueError, /^Adam: invalid eps Infinity/);
    refuses(() => new optim.AdamW([param()], { lr: Infinity }), ValueError, /^AdamW: invalid lr Infinity/);
    refuses(() => new optim.RMSprop([param()], { lr: 0.01, alpha: NaN }), ValueError, /^RMSprop: invalid alpha NaN/);
    refuses(() => new optim.Adagrad([param()], { lr: 0.01, lrDecay: Infinity }), ValueError, /^Adagrad: invalid lrDecay Infinity/);
  });

  it('schedulers refuse non-finite gammas and factors', () => {
    const opt = () => new optim.SGD([param()], { lr: 0.1 });
    refuses(() => new optim.StepLR(opt(), 2, Infinity), ValueError, /^StepLR: invalid gamma Infinity/);
    refuses(() => new optim.StepLR(opt(), 2, -0.5), ValueError, /^StepLR: invalid gamma -0\.5/);
    refuses(() => new optim.ExponentialLR(opt(), NaN), ValueError, /^ExponentialLR: invalid gamma NaN/);
    refuses(() => new optim.MultiStepLR(opt(), [2], NaN), ValueError, /^MultiStepLR: invalid gamma NaN/);
    refuses(() => new optim.CosineAnnealingLR(opt(), Infinity), ValueError, /^CosineAnnealingLR: invalid tMax Infinity/);
    refuses(() => new optim.CosineAnnealingLR(opt(), 10, NaN), ValueError, /^CosineAnnealingLR: invalid etaMin NaN/);
    refuses(() => new optim.StepLR(opt(), 2, 0.5, 1.5), ValueError, /^StepLR: invalid lastEpoch 1\.5/);
    refuses(() => new optim.ReduceLROnPlateau(opt(), { threshold: Infinity }), ValueError, /^ReduceLROnPlateau: invalid threshold Infinity/);
    refuses(() => new optim.ReduceLROnPlateau(opt(), { minLr: NaN }), ValueError, /^ReduceLROnPlateau: invalid minLr NaN/);
  });

  it('clipGradNorm_(params, -1) would flip every gradient: refused (issue example)', () => {
    const p = param();
    p.grad = tensor([3, 4]);
    refuses(() => nn.clipGradNorm_([p], -1), ValueError, /^clipGradNorm_: invalid maxNorm -1 \(must be a number >= 0\)/);
    refuses(() => nn.clipGradNorm_([p], NaN), ValueError, /^clipGradNorm_: invalid maxNorm NaN/);
    refuses(() => nn.clipGradNorm_([p], '1' as never), ValueError, /^clipGradNorm_: invalid maxNorm 1/);
    expect(p.grad.toArray()).toEqual([3, 4]);
    nn.clipGradNorm_([p], 1);
    expect((p.grad.toArray() as number[])[0]).toBeGreaterThan(0);
    refuses(() => nn.clipGradValue_([p], NaN), ValueError, /^clipGradValue_: invalid clipValue NaN/);
  });

  it('seeds: manualSeed(NaN), fractions and unsafe integers are refused (issue example)', () => {
    refuses(() => manualSeed(NaN), ValueError, /^manualSeed: the seed must be an integer .* got NaN/);
    refuses(() => manualSeed(1.5), ValueError, /got 1\.5/);
    refuses(() => manualSeed(Infinity), ValueError, /got Infinity/);
    refuses(() => manualSeed(2 ** 60), ValueError, /^manualSeed: /);
    refuses(() => new Generator(NaN), ValueError, /^manualSeed: /);
    refuses(() => manualSeed('1' as never), ValueError, /got string/);
    refuses(() => new Generator(0).setState([1, 2] as never), ValueError, /^Generator\.setState: expected/);
    expect(() => manualSeed(-5)).not.toThrow();
    manualSeed(0);
    const g = new Generator(3);
    const state = JSON.parse(JSON.stringify(g.getState())) as number[]; // NaN spare normal becomes null in JSON
    expect(() => new Generator(0).setState(state)).not.toThrow();
  });
});

describe('state dicts', () => {
  it('loadStateDict(null) names what is wrong (issue example)', () => {
    const m = new nn.Linear(2, 2);
    refuses(() => m.loadStateDict(null as never), nn.StateDictError, /^loadStateDict: expected a state dict .* got null/);
    refuses(() => m.loadStateDict(5 as never), nn.StateDictError, /got number/);
    refuses(() => m.loadStateDict([] as never), nn.StateDictError, /got an array/);
    refuses(() => m.loadStateDict({ weight: 5, bias: null } as never), nn.StateDictError, /not tensors: "weight" \(number\), "bias" \(null\)/);
    refuses(() => m.loadStateDict({ weight: zeros([3, 2]), bias: zeros([2]) }), nn.StateDictError, /shape mismatch for "weight"/);
  });

  it('optimizer and scheduler loadStateDict refuse malformed dicts', () => {
    const opt = new optim.SGD([param()], { lr: 0.1 });
    refuses(() => opt.loadStateDict(null as never), ValueError, /^SGD\.loadStateDict: expected a state dict \{ state, paramGroups \}, got null/);
    refuses(() => opt.loadStateDict({ paramGroups: [] } as never), ValueError, /^SGD\.loadStateDict: the state dict's 'state' is missing|undefined/);
    refuses(() => opt.loadStateDict({ state: {}, paramGroups: [null] } as never), ValueError, /parameter group 0 of the state dict has no 'params' list/);
    refuses(() => opt.loadStateDict({ state: {}, paramGroups: [{ params: [0], lr: Infinity }] } as never), ValueError, /^SGD: invalid lr Infinity/);
    const sched = new optim.StepLR(opt, 2);
    refuses(() => sched.loadStateDict(null as never), ValueError, /^StepLR\.loadStateDict: expected a state dict object, got null/);
    const sd = sched.stateDict();
    refuses(() => sched.loadStateDict({ ...sd, lastEpoch: NaN }), ValueError, /^StepLR\.loadStateDict: invalid lastEpoch NaN/);
    refuses(() => sched.loadStateDict({ ...sd, baseLrs: [Infinity] }), ValueError, /invalid baseLrs \[Infinity\]/);
    const { gamma: _g, ...noGamma } = sd as Record<string, unknown>;
    refuses(() => sched.loadStateDict(noGamma as never), ValueError, /the state dict has no 'gamma'/);
    // Keys that are not the scheduler's own options are ignored, not assigned.
    sched.loadStateDict({ ...sd, constructor: 1, toString: 2 } as never);
    expect(typeof sched.toString).toBe('function');
  });
});

describe('the version counter is shared with a detached alias', () => {
  it('x.detach().mul_(3) after y = (x*x).sum() makes backward refuse (issue example)', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(x).sum();
    x.detach().mul_(3);
    refuses(() => y.backward(), AutogradError, /saved by MulBackward for its gradient was modified in place \(version 0 then, 1 now\)/);
  });
});

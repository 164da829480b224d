import { describe, expect, it } from 'vitest';
import { Tensor, ValueError, full, manualSeed, nn, optim, randn, zeros } from '../../src/index.js';
import * as creation from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/random.js';
import { declaredSignatures } from '../../src/signature.js';
import { loadFixture } from './helpers.js';

/**
 * PyTorch 1.13's positional signatures (test/fixtures/gen_signatures.py) replayed on chainrule:
 * every exported layer, loss, optimizer, scheduler and creation function declares PyTorch's
 * positional parameters in PyTorch's order; the sample call built positionally gives the same
 * object as the same values in an options object; each positional argument changes what is
 * built (none is ignored); and an extra argument, a wrong-typed one, an unsupported PyTorch value
 * and a snake_case option key are each a ValueError naming the parameter.
 */

interface FixtureParam {
  name: string;
  required: boolean;
  default: unknown;
  sample: unknown;
  fixed?: boolean;
  alt?: unknown;
}
interface Entry {
  kind: 'layer' | 'loss' | 'optimizer' | 'scheduler' | 'creation';
  name: string;
  params: FixtureParam[];
  varargs: string | null;
  minArgs: number;
  call: unknown[];
}
const fixture = loadFixture<{ torch: string; entries: Entry[] }>('signatures.json');

/** PyTorch's snake_case name in chainrule's camelCase (T_max → tMax; _weight stays). */
function camel(n: string): string {
  if (n.startsWith('_')) return n;
  const c = n.replace(/_+([a-zA-Z0-9])/g, (_m, ch: string) => ch.toUpperCase());
  return c[0]!.toLowerCase() + c.slice(1);
}

const exportName = (e: Entry): string => (e.kind === 'layer' || e.kind === 'loss' ? `nn.${e.name}` : e.kind === 'creation' ? camel(e.name) : `optim.${e.name}`);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCtor = new (...a: any[]) => unknown;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...a: any[]) => unknown;
function target(e: Entry): (args: unknown[]) => unknown {
  if (e.kind === 'creation') {
    const f = (creation as unknown as Record<string, AnyFn>)[camel(e.name)]!;
    return (args) => f(...args);
  }
  const C = (e.kind === 'layer' || e.kind === 'loss' ? (nn as unknown as Record<string, AnyCtor>) : (optim as unknown as Record<string, AnyCtor>))[e.name]!;
  return (args) => new C(...args);
}

const decay = (e: number): number => 0.9 ** e;

/** The fixture's encoded values as chainrule values; the objects of one call share `state` (the scheduler's optimizer). */
function decode(v: unknown, state: Record<string, unknown>): unknown {
  if (Array.isArray(v)) return v.map((x) => decode(x, state));
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if ('$dtype' in o) return o.$dtype;
  if ('$tensor' in o) return full(o.$tensor as number[], 0.5);
  if ('$fn' in o) return decay;
  if (!('$ctx' in o)) return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x, state)])); // an options object
  const name = o.$ctx as string;
  const made = ((): unknown => {
    switch (name) {
      case 'params': return [new nn.Parameter(randn([3]))];
      case 'optimizer': {
        const opt = new optim.SGD([new nn.Parameter(randn([3]))], { lr: 0.1, momentum: 0.9 });
        for (const g of opt.paramGroups) g.initialLr = g.lr;
        return opt;
      }
      case 'schedulers': {
        const opt = state.optimizer as optim.Optimizer;
        return [new optim.ExponentialLR(opt, 0.9), new optim.StepLR(opt, 2)];
      }
      case 'encoder_layer': return new nn.TransformerEncoderLayer(8, 2, 16);
      case 'decoder_layer': return new nn.TransformerDecoderLayer(8, 2, 16);
      case 'norm': return new nn.LayerNorm(8);
      case 'input': return zeros([2, 3]);
    }
    throw new Error(`no context object ${name}`);
  })();
  state[name] = made;
  return made;
}

/** Function identities, numbered in the order first seen (the same function gets the same number in every snapshot). */
const fnIds = new Map<unknown, number>();

/** What an object holds, as plain data: fields, parameters and buffers with their values, tensors' shapes, dtypes and values. */
function snapshot(x: unknown, seen = new Set<unknown>()): unknown {
  if (x instanceof Tensor) return { shape: x.shape, dtype: x.dtype, requiresGrad: x.requiresGrad, data: Array.from(x.dataSync() as ArrayLike<number>) };
  if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return x;
  if (seen.has(x)) return '<seen>';
  seen.add(x);
  if (x instanceof Generator) return 'Generator';
  if (typeof x === 'function' && !(x instanceof nn.Module)) {
    if (!fnIds.has(x)) fnIds.set(x, fnIds.size);
    return `function #${fnIds.get(x)}`;
  }
  if (x instanceof Map) return [...x].map(([k, v]) => [snapshot(k, seen), snapshot(v, seen)]);
  if (Array.isArray(x)) return x.map((v) => snapshot(v, seen));
  const fields = Object.entries(x as object).map(([k, v]) => [k, snapshot(v, seen)]);
  return { class: (x as object).constructor.name, fields };
}

/** Build with the default generator seeded, so two builds of the same settings hold the same values. */
function built(e: Entry, args: unknown[]): unknown {
  manualSeed(0);
  const state: Record<string, unknown> = {};
  const decoded = args.map((a) => decode(a, state));
  return snapshot(target(e)(decoded));
}

const sigOf = (e: Entry) => declaredSignatures().get(exportName(e))!;

/** Calls chainrule refuses below this length although PyTorch takes them (chainrule needs more to build anything). */
const CHAINRULE_MIN: Record<string, number> = { Upsample: 2 };
/** Positional parameters PyTorch itself ignores in the sample call (OneCycleLR: totalSteps given wins over epochs × stepsPerEpoch). */
const NO_EFFECT: Record<string, string[]> = {
  OneCycleLR: ['epochs', 'steps_per_epoch'],
  // The sample call turns off every parameter and buffer before dtype (affine, trackRunningStats / elementwiseAffine false), as it would in PyTorch.
  BatchNorm1d: ['dtype'],
  BatchNorm2d: ['dtype'],
  LayerNorm: ['dtype'],
};
/** Parameters chainrule requires although PyTorch has a default (PyTorch's implicit softmax dim is deprecated). */
const CHAINRULE_REQUIRED: Record<string, string[]> = { Softmax: ['dim'], LogSoftmax: ['dim'] };

describe(`PyTorch ${fixture.torch} signatures`, () => {
  it('covers every exported layer, loss, optimizer, scheduler and creation function', () => {
    const inFixture = new Set(fixture.entries.map(exportName));
    const containers = ['Module', 'Sequential', 'ModuleList', 'ModuleDict', 'ParameterList']; // take modules, as PyTorch's
    const layers = Object.entries(nn)
      .filter(([k, v]) => typeof v === 'function' && (v === nn.Module || v.prototype instanceof nn.Module) && !containers.includes(k))
      .map(([k]) => `nn.${k}`);
    const optimizers = Object.entries(optim)
      .filter(([, v]) => typeof v === 'function' && v.prototype instanceof optim.Optimizer)
      .map(([k]) => `optim.${k}`);
    const schedulers = Object.entries(optim)
      .filter(([k, v]) => typeof v === 'function' && (v.prototype instanceof optim.LRScheduler || ['ReduceLROnPlateau', 'SequentialLR'].includes(k)))
      .map(([k]) => `optim.${k}`);
    // scalar has no PyTorch counterpart of that form (torch.scalar_tensor is keyword-only past its value).
    const fns = Object.entries(creation).filter(([k, v]) => typeof v === 'function' && k !== 'scalar').map(([k]) => k);
    const missing = [...layers, ...optimizers, ...schedulers, ...fns].filter((n) => !inFixture.has(n));
    expect(missing).toEqual([]);
    expect(layers.length + optimizers.length + schedulers.length + fns.length).toBe(fixture.entries.length);
  });

  for (const e of fixture.entries) {
    describe(exportName(e), () => {
      it("declares PyTorch's positional parameters in PyTorch's order", () => {
        const sig = sigOf(e);
        expect(sig, `${exportName(e)} declares no signature`).toBeDefined();
        if (e.varargs) return; // sizes as separate numbers: checked below
        expect(sig.params.map((p) => p.name)).toEqual(e.params.map((p) => camel(p.name)));
        expect(sig.params.map((p) => p.fixed)).toEqual(e.params.map((p) => p.fixed === true));
        const required = sig.params.filter((p) => p.required).map((p) => p.name);
        const torchRequired = e.params.filter((p) => p.required).map((p) => camel(p.name));
        expect(required.filter((n) => !torchRequired.includes(n))).toEqual((CHAINRULE_REQUIRED[e.name] ?? []).map(camel));
      });

      if (e.varargs === 'size') {
        it('takes sizes as separate numbers or one array, then options; refuses anything else by name', () => {
          const f = target(e);
          const seeded = (args: unknown[]) => (manualSeed(0), snapshot(f(args)));
          expect(seeded([2, 3])).toEqual(seeded([[2, 3]]));
          expect(seeded([2, 3, { dtype: 'float64' }])).toEqual(seeded([[2, 3], { dtype: 'float64' }]));
          expect((f([2, 3, { dtype: 'float64' }]) as Tensor).dtype).toBe('float64');
          expect(() => f([2, 'x'])).toThrow(ValueError);
          expect(() => f([[2, 3], { requires_grad: true }])).toThrow(/unknown option 'requires_grad' \(did you mean requiresGrad\?\)/);
        });
        return;
      }
      if (e.varargs) {
        it('takes no arguments (PyTorch ignores any; chainrule refuses them)', () => {
          expect(() => target(e)([])).not.toThrow();
          expect(() => target(e)([3])).toThrow(/takes no positional arguments/);
        });
        return;
      }

      const sig = () => sigOf(e);
      const nRequired = () => sig().params.filter((p) => p.required).length;

      it('builds the same object from the positional call and from an options object', () => {
        const positional = built(e, e.call);
        const k = nRequired();
        const opts: Record<string, unknown> = {};
        e.params.forEach((p, i) => {
          if (i >= k && !p.fixed) opts[camel(p.name)] = e.call[i];
        });
        expect(positional).toEqual(built(e, [...e.call.slice(0, k), opts]));
      });

      it('lets no positional argument go unused', () => {
        const from = Math.max(e.minArgs, nRequired(), CHAINRULE_MIN[e.name] ?? 0);
        for (let k = from + 1; k <= e.call.length; k++) {
          const p = e.params[k - 1]!;
          if (p.fixed || JSON.stringify(p.sample) === JSON.stringify(p.default) || NO_EFFECT[e.name]?.includes(p.name)) continue;
          expect(built(e, e.call.slice(0, k)), `${p.name} = ${JSON.stringify(p.sample)} as argument ${k} changed nothing`).not.toEqual(built(e, e.call.slice(0, k - 1)));
        }
      });

      it('refuses an extra, a wrong-typed or an unsupported argument, and a snake_case option, naming it', () => {
        const f = target(e);
        const make = (args: unknown[]) => () => {
          manualSeed(0);
          const state: Record<string, unknown> = {};
          return f(args.map((a) => decode(a, state)));
        };
        const most = e.params.length === 0 ? 'no' : `at most ${e.params.length}`;
        expect(make([...e.call, 7])).toThrow(new RegExp(`^${sig().who}: takes ${most} positional arguments.*argument ${e.params.length + 1}`));
        sig().params.forEach((p, i) => {
          if (p.fixed) {
            const args = [...e.call];
            args[i] = e.params[i]!.alt;
            expect(make(args)).toThrow(new RegExp(`^${sig().who}: ${p.name} .*\\(argument ${i + 1}\\) is not supported`));
            return;
          }
          // SequentialLR's schedulers are made from its optimizer, so they would complain first.
          if (p.kinds.includes('any') || (e.name === 'SequentialLR' && i === 0)) return;
          const args = [...e.call];
          args[i] = p.kinds.includes('str') || p.kinds.includes('dtype') ? 42 : 'wrong';
          expect(make(args)).toThrow(ValueError);
          expect(make(args)).toThrow(`${sig().who}: ${p.name} (argument ${i + 1}) must be`);
        });
        const snake = e.params.findIndex((p, i) => i >= nRequired() && !p.fixed && p.name.includes('_') && !p.name.startsWith('_'));
        if (snake >= 0) {
          const p = e.params[snake]!;
          expect(make([...e.call.slice(0, nRequired()), { [p.name]: p.sample }])).toThrow(`unknown option '${p.name}' (did you mean ${camel(p.name)}?)`);
        }
      });
    });
  }
});

describe('PyTorch habits', () => {
  it('takes the forms of the issue positionally', () => {
    expect(new nn.Conv2d(1, 16, 4, 2, 1).call(randn([2, 1, 8, 8])).shape).toEqual([2, 16, 4, 4]);
    expect(new nn.Linear(4, 3, false).bias).toBeNull();
    expect(new nn.Dropout(0.5, false).p).toBe(0.5);
    expect(() => new nn.Dropout(0.5, true as never)).toThrow("Dropout: inplace true (argument 2) is not supported; chainrule takes only PyTorch's default false");
    const opt = new optim.SGD([new nn.Parameter(randn([2]))], 0.1, 0.9);
    expect([opt.paramGroups[0]!.lr, opt.paramGroups[0]!.momentum]).toEqual([0.1, 0.9]);
    expect(creation.randint(10, [4]).shape).toEqual([4]);
    expect(creation.arange(5, { dtype: 'float64' }).dtype).toBe('float64');
    expect(creation.eye(2, { dtype: 'float64' }).shape).toEqual([2, 2]);
  });

  it('names the parameter when options are misplaced, misspelt or given twice', () => {
    expect(() => new nn.Conv2d(1, 16, 4, { stride: 2 } as never, 1 as never)).toThrow(/options object must be the last argument/);
    expect(() => new optim.Adam([new nn.Parameter(randn([2]))], { weight_decay: 0.1 } as never)).toThrow("unknown option 'weight_decay' (did you mean weightDecay?)");
    expect(() => new nn.Linear(4, 3, false, { bias: true })).toThrow('Linear: bias given twice, as argument 3 and in the options');
    expect(() => new nn.Linear(...([4] as unknown as [number, number]))).toThrow('Linear: missing outFeatures');
  });

  it('says class indices must be int32 when crossEntropy gets float labels of the index shape', () => {
    const logits = randn([4, 3]);
    const labels = creation.tensor([0, 2, 1, 0]);
    expect(() => nn.functional.crossEntropy(logits, labels)).toThrow(/class-index targets must be int32.*labels\.to\('int32'\)/);
  });
});

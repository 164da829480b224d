import { kernel } from '../backend/dispatch.js';
import { enableGrad } from '../autograd/grad-mode.js';
import { ValueError, fmtShape } from '../errors.js';
import { describe } from '../tensor/checks.js';
import { allocate } from '../tensor/dtype.js';
import { sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { declareSignature, signature, type Args, type Signature } from '../signature.js';

/** Options every optimizer has. `initialLr` is set by the first scheduler attached. */
export interface OptimizerOptions {
  lr: number;
  initialLr?: number;
}

/** A parameter group: its tensors and its own copy of every option. */
export type ParamGroup<O extends OptimizerOptions = OptimizerOptions> = O & { params: Tensor[] };

/** What a caller passes for one group: the tensors and any options that differ from the defaults. */
export type ParamGroupInput<O extends OptimizerOptions = OptimizerOptions> = Partial<O> & { params: Iterable<Tensor> };

/** Parameters as an optimizer constructor takes them: tensors, or groups with their own options. */
export type ParamsInput<O extends OptimizerOptions = OptimizerOptions> = Iterable<Tensor> | Iterable<ParamGroupInput<O>>;

/** Per-parameter state: running buffers (tensors of the parameter's shape) and counters. */
export type ParamState = Record<string, Tensor | number>;

/**
 * An optimizer's state by parameter index (the order in which parameters appear in the groups)
 * and each group's options with its parameters replaced by their indices. Everything but the
 * state tensors is plain JSON, so a checkpoint can keep the tensors in safetensors and the rest
 * as JSON. Tensors are copies: training on does not change a saved state dict.
 */
export interface OptimizerStateDict<O extends OptimizerOptions = OptimizerOptions> {
  state: Record<number, ParamState>;
  paramGroups: (O & { params: number[] })[];
}

export type Closure = () => number | Tensor;

/**
 * The base of every optimizer, as torch.optim.Optimizer: parameter groups with their own options,
 * per-parameter state, zeroGrad, step(closure?), stateDict/loadStateDict and addParamGroup.
 * Subclasses validate options in `validate` and update parameters in `update`; updates write the
 * parameters' typed arrays directly (no graph is recorded) and bump each parameter's version.
 */
export abstract class Optimizer<O extends OptimizerOptions = OptimizerOptions> {
  readonly paramGroups: ParamGroup<O>[] = [];
  readonly state = new Map<Tensor, ParamState>();
  readonly defaults: Readonly<Partial<O>>;

  constructor(
    /** The class name used in error messages. */
    readonly name: string,
    params: ParamsInput<O>,
    defaults: Partial<O>,
  ) {
    this.defaults = { ...defaults };
    if (params instanceof Tensor) {
      throw new ValueError(`${name}: params must be an iterable of tensors or of parameter groups, got a single Tensor; wrap it: [t]`);
    }
    const list = Array.from(params as Iterable<Tensor | ParamGroupInput<O>>);
    if (list.length === 0) throw new ValueError(`${name}: got an empty parameter list`);
    const groups: ParamGroupInput<O>[] = list.every((p) => p instanceof Tensor)
      ? [{ params: list as Tensor[] } as unknown as ParamGroupInput<O>]
      : list.map((g, i) => {
          if (g instanceof Tensor || typeof g !== 'object' || g === null || !('params' in g)) {
            throw new ValueError(`${name}: params must be tensors or parameter groups { params, ...options }; item ${i} is neither`);
          }
          return g;
        });
    for (const g of groups) this.addParamGroup(g);
  }

  /** Check one group's options (after defaults are filled in); throw naming the option and value. */
  protected abstract validate(group: O): void;

  /** Apply one update to every parameter that has a gradient, writing its data directly (nothing is recorded). */
  protected abstract update(): void;

  /** Add a group of parameters; options it leaves out come from the constructor's defaults. */
  addParamGroup(group: ParamGroupInput<O>): void {
    const params = group.params instanceof Tensor ? [group.params] : Array.from(group.params);
    const full = { ...structuredCloneOptions({ ...this.defaults, ...group }), params } as ParamGroup<O>;
    if (typeof full.lr !== 'number') {
      throw new ValueError(`${this.name}: parameter group ${this.paramGroups.length} has no lr and no default lr was given`);
    }
    this.validate(full);
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    for (const [i, p] of params.entries()) {
      if (!(p instanceof Tensor)) throw new ValueError(`${this.name}: params[${i}] of a parameter group is not a Tensor`);
      if (!p.isLeaf) throw new ValueError(`${this.name}: can't optimize a non-leaf tensor (params[${i}], shape ${fmtShape(p.shape)})`);
      if (seen.has(p)) throw new ValueError(`${this.name}: a parameter appears more than once among the parameter groups`);
      seen.add(p);
    }
    this.paramGroups.push(full);
  }

  /** Forget every gradient (`.grad = null`), as PyTorch 2's set_to_none default. */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const grad = p.peekGrad();
        if (grad === null) continue;
        if (setToNone) p.releaseGrad();
        else if (grad.device !== 'cpu') grad.writeFrom('zeroGrad', zerosLike(grad));
        else {
          kernel('fill', grad.numel(), grad.dtype)(grad.typedData, 0, 0, grad.numel());
          grad.version++;
        }
      }
    }
  }

  /**
   * One update. A closure, if given, re-evaluates the loss (with gradients recorded, as in
   * PyTorch): `opt.step(() => { opt.zeroGrad(); const l = loss(); l.backward(); return l; })`.
   */
  step(closure?: Closure): number | Tensor | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    this.update();
    return loss;
  }

  /** The parameters of every group that have a gradient, with their group. */
  protected *withGrad(): Generator<[Tensor, Tensor, ParamGroup<O>]> {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const grad = p.peekGrad();
        if (grad === null) continue;
        if (!sameShape(grad.shape, p.shape)) {
          throw new ValueError(`${this.name}: gradient of shape ${fmtShape(grad.shape)} does not match its parameter of shape ${fmtShape(p.shape)}`);
        }
        yield [p, grad, g];
      }
    }
  }

  /** The state of p, created on first use. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (s === undefined) this.state.set(p, (s = {}));
    return s;
  }

  stateDict(): OptimizerStateDict<O> {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...options } = g;
      return { ...structuredCloneOptions(options), params: params.map((p) => setIndex(index, p)) } as unknown as O & { params: number[] };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(s)) copy[k] = v instanceof Tensor ? copyTensor(v, v.dtype) : v;
      state[i] = copy;
    }
    return { state, paramGroups };
  }

  /**
   * Restore a state dict saved from an optimizer of the same class over the same parameters
   * (in the same order): group options and per-parameter state are replaced, so training resumes
   * exactly where it stopped. State tensors are copied and cast to each parameter's dtype.
   */
  loadStateDict(sd: OptimizerStateDict<O>): void {
    if (sd === null || typeof sd !== 'object' || Array.isArray(sd)) {
      throw new ValueError(`${this.name}.loadStateDict: expected a state dict { state, paramGroups }, got ${describe(sd)}`);
    }
    if (sd.state === null || typeof sd.state !== 'object') {
      throw new ValueError(`${this.name}.loadStateDict: the state dict's 'state' is ${describe(sd.state)}, expected an object of per-parameter state`);
    }
    const saved = sd.paramGroups;
    if (!Array.isArray(saved) || saved.length !== this.paramGroups.length) {
      throw new ValueError(`${this.name}.loadStateDict: the state dict has ${saved?.length} parameter groups, this optimizer ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Tensor>();
    saved.forEach((g, gi) => {
      const mine = this.paramGroups[gi]!;
      if (g === null || typeof g !== 'object' || !Array.isArray(g.params)) {
        throw new ValueError(`${this.name}.loadStateDict: parameter group ${gi} of the state dict has no 'params' list`);
      }
      if (g.params.length !== mine.params.length) {
        throw new ValueError(`${this.name}.loadStateDict: parameter group ${gi} has ${g.params.length} parameters in the state dict, ${mine.params.length} here`);
      }
      g.params.forEach((idx, j) => byIndex.set(idx, mine.params[j]!));
    });
    const state = new Map<Tensor, ParamState>();
    for (const [key, s] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined) throw new ValueError(`${this.name}.loadStateDict: state for parameter ${key}, which no group lists`);
      if (s === null || typeof s !== 'object') throw new ValueError(`${this.name}.loadStateDict: state for parameter ${key} is ${describe(s)}, expected an object`);
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          if (!sameShape(v.shape, p.shape)) {
            throw new ValueError(`${this.name}.loadStateDict: state '${k}' of parameter ${key} has shape ${fmtShape(v.shape)}, the parameter ${fmtShape(p.shape)}`);
          }
          copy[k] = copyTensor(v, p.dtype);
        } else copy[k] = v;
      }
      state.set(p, copy);
    }
    const groups = saved.map((g, gi) => {
      const { params: _ignored, ...options } = g;
      const full = { ...structuredCloneOptions(options), params: this.paramGroups[gi]!.params } as unknown as ParamGroup<O>;
      this.validate(full);
      return full;
    });
    this.paramGroups.splice(0, this.paramGroups.length, ...groups);
    this.state.clear();
    for (const [p, s] of state) this.state.set(p, s);
  }
}

/** A tensor of p's shape and dtype filled with value (a running buffer; no autograd). */
export function zerosLike(p: Tensor, value = 0): Tensor {
  const t = new Tensor(allocate(p.dtype, p.numel()), p.shape, p.dtype);
  if (value !== 0) kernel('fill', t.numel(), p.dtype)(t.typedData, value, 0, t.numel());
  return p.device === 'cpu' ? t : t.to(p.device);
}

function setIndex(index: Map<Tensor, number>, p: Tensor): number {
  let i = index.get(p);
  if (i === undefined) index.set(p, (i = index.size));
  return i;
}

function copyTensor(t: Tensor, dtype: Tensor['dtype']): Tensor {
  const data = allocate(dtype, t.typedData.length);
  data.set(t.typedData);
  return new Tensor(data, t.shape, dtype);
}

/** Options are numbers, booleans, strings and small arrays (betas): copy arrays so groups never share them. */
function structuredCloneOptions<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = Array.isArray(v) ? [...v] : v;
  return out as T;
}

// ---- signatures ---------------------------------------------------------------------------

/** An optimizer's arguments: params, then PyTorch's positional options P in order, or an options object, or both. */
export type OptimizerArgs<O extends OptimizerOptions, P extends unknown[]> = Args<[params: ParamsInput<O>], P, Partial<O>>;

/** The declared signature of optim.<name>: params first (spec: the options after it, PyTorch's order). */
export function optimizerSignature(name: string, spec: string, keywords: string[] = []): Signature {
  return declareSignature(`optim.${name}`, signature(name, `params:iter|tensor ${spec}`, keywords));
}

/** params and the defaults (the class's, overridden by what was given) for Optimizer's constructor. */
export function optimizerArgs<O extends OptimizerOptions>(sig: Signature, args: readonly unknown[], defaults: Partial<O>): [ParamsInput<O>, Partial<O>] {
  const { params, ...given } = sig.parse<Partial<O> & { params: ParamsInput<O> }>(args);
  return [params, { ...defaults, ...(given as unknown as Partial<O>) }];
}

// ---- validation helpers -----------------------------------------------------------------

/** Throw `${name}: invalid ${option} ${value} (must be ${rule})` unless ok. NaN fails every rule. */
export function check(name: string, option: string, value: unknown, ok: boolean, rule: string): void {
  if (!ok) throw new ValueError(`${name}: invalid ${option} ${String(value)} (must be ${rule})`);
}

/** A finite number (Infinity as a learning rate or decay would turn every parameter into NaN). */
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const nonNegative = (name: string, option: string, v: number): void => check(name, option, v, finite(v) && v >= 0, 'a finite number >= 0');
export const positive = (name: string, option: string, v: number): void => check(name, option, v, finite(v) && v > 0, 'a finite number > 0');
export const unitInterval = (name: string, option: string, v: number): void =>
  check(name, option, v, finite(v) && v >= 0 && v < 1, 'in [0, 1)');
export const closedUnitInterval = (name: string, option: string, v: number): void =>
  check(name, option, v, finite(v) && v >= 0 && v <= 1, 'in [0, 1]');

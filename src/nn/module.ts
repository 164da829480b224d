import { noGrad } from '../autograd/grad-mode.js';
import { ChainruleError, ValueError, fmtShape } from '../errors.js';
import { isFloat, type DType } from '../tensor/dtype.js';
import { isDeviceName, type Device } from '../tensor/device.js';
import { Tensor } from '../tensor/tensor.js';
import { Parameter } from './parameter.js';
import type { Activation } from '../ops/rules/epilogue.js';

/** Any module, whatever its forward takes and returns. */
export type AnyModule = Module<any[], unknown>;

/** Thrown by loadStateDict; lists every missing key, unexpected key and shape mismatch. */
export class StateDictError extends ChainruleError {
  constructor(
    message: string,
    readonly missingKeys: string[],
    readonly unexpectedKeys: string[],
    readonly shapeMismatches: string[],
  ) {
    super(message);
  }
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Where a module sits in its parent, so a layer can name its own path in error messages. */
const parentLinks = new WeakMap<AnyModule, { parent: AnyModule; name: string }>();

/**
 * The base class of every layer and model, as PyTorch's nn.Module.
 *
 * Registration works by assignment, as in PyTorch: a field holding a `Parameter` is a
 * parameter, a field holding a `Module` is a submodule, in the order the fields were first
 * assigned. Buffers (state that is not learned, like BatchNorm's running mean) are plain
 * tensors, so they are declared with `registerBuffer(name, tensor)`; after that, assigning to
 * the field replaces the buffer. The constructor returns a Proxy whose traps see every field
 * definition, assignment and delete (PyTorch's `__setattr__`): they keep the fields in
 * assignment order, record each child's parent and name for `path`, and refuse a plain Tensor
 * assigned over a parameter. Plain arrays of modules are not registered (use `ModuleList`),
 * again as PyTorch.
 *
 *   class Net extends nn.Module {
 *     fc1 = new nn.Linear(4, 8);
 *     fc2 = new nn.Linear(8, 1);
 *     override forward(x: Tensor) { return this.fc2.call(this.fc1.call(x).relu()); }
 *   }
 */
const NO_LEGACY_KEYS: Record<string, string> = {};

/** Each module's proxy → the module object behind it (see Module.call). */
const targets = new WeakMap<object, AnyModule>();
/** The forward methods of the library's own layers, which assign no fields (see markBuiltinForward). */
const builtinForwards = new Set<unknown>();
/** The other way: each module object → its proxy, what its parent holds and parentLinks is keyed by. */
const proxies = new WeakMap<object, AnyModule>();

/**
 * @internal The module object behind a module's proxy (itself when given the object): what a
 * built-in container calls the library's own methods on (fuseWith, fusedActivation), which only
 * read fields, without paying the proxy on every field read.
 */
export function rawModule<M extends AnyModule>(m: M): M {
  const t = targets.get(m) as M | undefined;
  // Only for the library's own layers (a subclass that overrides forward may override these too).
  return t !== undefined && builtinForwards.has(t.forward) ? t : m;
}

/**
 * @internal Declares that these classes' own forward methods only read the module's fields, so
 * Module.call may run them on the module itself instead of through its proxy (nn/index.ts lists
 * the built-in layers). Never needed for correctness: an unmarked class just reads through the proxy.
 */
export function markBuiltinForward(...classes: { prototype: { forward: unknown } }[]): void {
  for (const c of classes) if (Object.hasOwn(c.prototype, 'forward')) builtinForwards.add(c.prototype.forward);
}

/** A module is callable: `model(x)` is `model.call(x)`, as calling a PyTorch module. */
export interface Module<In extends unknown[] = [Tensor], Out = Tensor> {
  (...args: In): Out;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Set by train()/eval(); layers such as Dropout and BatchNorm read it. */
  training = true;
  /** Buffer names, each with whether it goes into stateDict. */
  protected readonly bufferNames = new Map<string, boolean>();

  /**
   * Field names in first-assignment order. Object.keys would list integer-like names ('0',
   * '1', ...) before all others, whatever the order they were assigned in.
   */
  private readonly fieldOrder: string[] = [];

  constructor() {
    // The module is a function object, so that `model(x)` works as in PyTorch (the same as
    // model.call(x)); its prototype chain is the class's, so instanceof, methods and toString are
    // the module's own. Module's own fields, just initialised on `this`, move onto it.
    const self = (() => undefined) as unknown as this;
    delete (self as unknown as { name?: string }).name;
    delete (self as unknown as { length?: number }).length;
    Object.setPrototypeOf(self, new.target.prototype);
    Object.assign(self, this);
    const proxy: this = new Proxy(self, {
      apply(_fn, _thisArg, args: unknown[]) {
        return (proxy as AnyModule).call(...args);
      },
      defineProperty(obj, key, desc) {
        if (typeof key === 'string') {
          if ('value' in desc) checkAssignment(proxy, obj, key, desc.value);
          if (!Object.hasOwn(obj, key)) obj.fieldOrder.push(key);
        }
        return Reflect.defineProperty(obj, key, desc);
      },
      deleteProperty(obj, key) {
        if (typeof key === 'string' && obj.fieldOrder.includes(key)) obj.fieldOrder.splice(obj.fieldOrder.indexOf(key), 1);
        return Reflect.deleteProperty(obj, key);
      },
    });
    targets.set(proxy, self);
    proxies.set(self, proxy);
    return proxy;
  }

  /** The computation. Subclasses override it; call it as `m.forward(x)` or `m.call(x)`. */
  forward(...args: In): Out {
    void args;
    throw new ChainruleError(`${this.label()}: forward() is not implemented`);
  }

  /** Same as forward: the counterpart of calling a PyTorch module. */
  call(...args: In): Out {
    // A built-in layer's own forward runs on the module itself rather than through the proxy
    // that watches assignments (every property read through a proxy costs ~50 ns, several per
    // layer per step; those forwards assign nothing). A subclass's or a patched forward (e.g.
    // inspect's watchForward) runs on the proxy, so what it assigns is still registered.
    const target = targets.get(this);
    if (target !== undefined) {
      const f = target.forward;
      if (builtinForwards.has(f)) return f.apply(target, args) as Out;
    }
    return this.forward(...args);
  }

  /**
   * Fusion, asked by nn.Sequential of each module and the one after it: a function computing
   * `next.call(this.call(x))` as one op with the same bits, or null (the default) to run the two
   * one by one. Linear and Conv2d answer for a following module whose fusedActivation() names
   * an activation of ops/rules/epilogue.ts. A module whose forward or call is not its class's
   * own (a subclass override, an instance property such as inspect's watchForward) is not
   * fused, since the fused op would skip that code (runsOwnForward); a subclass that does not
   * override forward keeps fusion. Sequential.fusedPairs() says which pairs fuse.
   */
  fuseWith(next: AnyModule): ((x: Tensor) => Tensor) | null {
    void next;
    return null;
  }

  /** The activation this module applies, for a layer before it to fuse (null: none, or not fusable). */
  fusedActivation(): Activation | null {
    return null;
  }

  /** True while this module runs its class's own forward and call (not overridden, replaced or watched). */
  protected runsOwnForward(cls: { prototype: { forward: unknown } }): boolean {
    return this.forward === cls.prototype.forward && this.call === Module.prototype.call;
  }

  /** The dotted path from the outermost module that holds this one ('' for a root). */
  get path(): string {
    const names: string[] = [];
    const seen = new Set<AnyModule>();
    let m: AnyModule = proxies.get(this) ?? this;
    for (let link = parentLinks.get(m); link && !seen.has(m); link = parentLinks.get(m)) {
      seen.add(m);
      names.unshift(link.name);
      m = link.parent;
    }
    return names.join('.');
  }

  /** `Linear(layers.2)`, or `Linear` for a module that has no parent: for error messages. */
  label(): string {
    const p = this.path;
    return p ? `${this.constructor.name}(${p})` : this.constructor.name;
  }

  // ---- registration --------------------------------------------------------------------

  registerParameter(name: string, param: Parameter | null): void {
    (this as Record<string, unknown>)[name] = param;
  }

  registerModule(name: string, module: AnyModule | null): void {
    (this as Record<string, unknown>)[name] = module;
  }

  /** A tensor that is module state but not learned; `persistent: false` keeps it out of stateDict. */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    this.bufferNames.set(name, persistent);
    (this as Record<string, unknown>)[name] = tensor;
  }

  // ---- traversal -----------------------------------------------------------------------

  private ownEntries(): [string, unknown][] {
    return this.fieldOrder.map((k) => [k, (this as unknown as Record<string, unknown>)[k]]);
  }

  /** Direct submodules in registration order, every name (a module held twice appears twice). */
  protected childEntries(): [string, AnyModule][] {
    return this.ownEntries().filter((e): e is [string, AnyModule] => e[1] instanceof Module);
  }

  namedChildren(): [string, AnyModule][] {
    const seen = new Set<AnyModule>();
    return this.childEntries().filter(([, m]) => !seen.has(m) && seen.add(m));
  }

  children(): AnyModule[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, depth first, each once, with dotted names. */
  namedModules(prefix = ''): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    const seen = new Set<AnyModule>();
    const visit = (name: string, m: AnyModule) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [n, c] of m.childEntries()) visit(name ? `${name}.${n}` : n, c);
    };
    visit(prefix, this);
    return out;
  }

  modules(): AnyModule[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Parameters with dotted paths (`layers.0.weight`), each once; also sets each one's `name`. */
  namedParameters(prefix = '', recurse = true): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    const mods: [string, AnyModule][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [mname, m] of mods) {
      for (const [k, v] of m.ownEntries()) {
        if (!(v instanceof Parameter) || seen.has(v)) continue;
        seen.add(v);
        const full = mname ? `${mname}.${k}` : k;
        v.name = full;
        out.push([full, v]);
      }
    }
    return out;
  }

  parameters(recurse = true): Parameter[] {
    return this.namedParameters('', recurse).map(([, p]) => p);
  }

  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const mods: [string, AnyModule][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [mname, m] of mods) {
      for (const k of m.bufferNames.keys()) {
        const v = (m as unknown as Record<string, unknown>)[k];
        if (v instanceof Tensor) out.push([mname ? `${mname}.${k}` : k, v]);
      }
    }
    return out;
  }

  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, b]) => b);
  }

  /** Number of parameter elements (each shared parameter once); only trainable ones if asked. */
  numParameters(trainableOnly = false): number {
    return this.parameters()
      .filter((p) => !trainableOnly || p.requiresGrad)
      .reduce((n, p) => n + p.numel(), 0);
  }

  // ---- modes and bulk updates ------------------------------------------------------------

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Drop every parameter's gradient (PyTorch 2's set_to_none default), or zero it in place. */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (setToNone) p.releaseGrad();
      else if (p.peekGrad()) noGrad(() => p.peekGrad()!.zero_());
    }
  }

  /** Call fn on every submodule (children first) and then on this one, as PyTorch's apply. */
  apply(fn: (m: AnyModule) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Convert floating-point parameters and buffers (gradients too) to dtype, or move every parameter
   * and buffer to a device ('cpu', 'webgpu'). Either way the parameters are new objects: build
   * the optimizer after calling to(), as in PyTorch.
   */
  to(target: DType | Device): this {
    if (isDeviceName(target)) return this.toDevice(target);
    const dtype = target as DType;
    if (!isFloat(dtype)) throw new ValueError(`${this.label()}.to: modules hold floating-point state; got dtype ${dtype}`);
    // One replacement per parameter, so a parameter shared between modules stays shared.
    const converted = new Map<Parameter, Parameter>();
    noGrad(() => {
      for (const m of this.modules()) {
        const rec = m as unknown as Record<string, unknown>;
        for (const [k, v] of m.ownEntries()) {
          if (v instanceof Parameter && v.dtype !== dtype) {
            let p = converted.get(v);
            if (!p) {
              p = new Parameter(v.detach().to(dtype), v.requiresGrad);
              p.grad = v.grad ? v.grad.to(dtype) : null;
              converted.set(v, p);
            }
            rec[k] = p;
          } else if (m.bufferNames.has(k) && v instanceof Tensor && isFloat(v.dtype)) {
            rec[k] = v.to(dtype);
          }
        }
      }
    });
    return this;
  }

  private toDevice(device: Device): this {
    const moved = new Map<Parameter, Parameter>();
    noGrad(() => {
      for (const m of this.modules()) {
        const rec = m as unknown as Record<string, unknown>;
        for (const [k, v] of m.ownEntries()) {
          if (v instanceof Parameter && v.device !== device) {
            let p = moved.get(v);
            if (!p) {
              p = new Parameter(v.detach().to(device), v.requiresGrad);
              p.grad = v.grad ? v.grad.to(device) : null;
              p.name = v.name;
              moved.set(v, p);
            }
            rec[k] = p;
          } else if (m.bufferNames.has(k) && v instanceof Tensor && v.device !== device) {
            rec[k] = v.to(device);
          }
        }
      }
    });
    return this;
  }

  double(): this {
    return this.to('float64');
  }

  float(): this {
    return this.to('float32');
  }

  // ---- state ---------------------------------------------------------------------------

  /** Parameters and persistent buffers by dotted name (not deduplicated, as PyTorch). */
  private stateEntries(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const visit = (prefix: string, m: AnyModule, stack: Set<AnyModule>) => {
      if (stack.has(m)) return;
      stack.add(m);
      for (const [k, v] of m.ownEntries()) {
        if (v instanceof Parameter || (m.bufferNames.get(k) === true && v instanceof Tensor)) out.set(prefix + k, v);
      }
      for (const [n, c] of m.childEntries()) visit(`${prefix}${n}.`, c, stack);
      stack.delete(m);
    };
    visit('', this, new Set());
    return out;
  }

  /** Name → tensor for every parameter and persistent buffer; the tensors share the module's data. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, v] of this.stateEntries()) out[k] = v.detach();
    return out;
  }

  /**
   * Copy values into this module's parameters and buffers. Any shape mismatch is an error;
   * with `strict` (the default) so are missing and unexpected keys. The error lists them all.
   */
  loadStateDict(sd: Record<string, Tensor> | Map<string, Tensor>, opts: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    if (sd === null || typeof sd !== 'object' || Array.isArray(sd) || sd instanceof Tensor) {
      const got = sd === null ? 'null' : Array.isArray(sd) ? 'an array' : sd instanceof Tensor ? 'a Tensor' : typeof sd;
      throw new StateDictError(`loadStateDict: expected a state dict (an object or Map of name to Tensor) for ${this.constructor.name}, got ${got}`, [], [], []);
    }
    const given = this.withCurrentKeys(sd instanceof Map ? sd : new Map(Object.entries(sd)));
    const notTensors = [...given].filter(([, v]) => !(v instanceof Tensor)).map(([k, v]) => `"${k}" (${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v})`);
    if (notTensors.length) {
      throw new StateDictError(`loadStateDict: entries of the state dict for ${this.constructor.name} that are not tensors: ${notTensors.join(', ')}`, [], [], []);
    }
    const own = this.stateEntries();
    const missingKeys = [...own.keys()].filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !own.has(k));
    const shapeMismatches: string[] = [];
    for (const [k, t] of own) {
      const src = given.get(k);
      if (src && (src.ndim !== t.ndim || src.shape.some((s, i) => s !== t.shape[i]))) {
        shapeMismatches.push(`"${k}": the state dict has shape ${fmtShape(src.shape)}, the model ${fmtShape(t.shape)}`);
      }
    }
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.map((k) => `"${k}"`).join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}`);
    for (const s of shapeMismatches) problems.push(`shape mismatch for ${s}`);
    if (problems.length) {
      throw new StateDictError(
        `loadStateDict: cannot load the state dict into ${this.constructor.name}:\n  ${problems.join('\n  ')}`,
        missingKeys,
        unexpectedKeys,
        shapeMismatches,
      );
    }
    noGrad(() => {
      for (const [k, t] of own) {
        const src = given.get(k);
        if (src) t.copy_(src.detach().to(t.dtype));
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Old state-dict key → current key, for state a class once saved under another name (e.g.
   * BatchNorm's `runningMean` before it took PyTorch's `running_mean`), so that what was saved
   * then still loads.
   */
  protected legacyStateKeys(): Record<string, string> {
    return NO_LEGACY_KEYS;
  }

  /** The given state with each legacy key renamed to its current name (where that is not given too). */
  private withCurrentKeys(given: Map<string, Tensor>): Map<string, Tensor> {
    let out = given;
    for (const [path, m] of this.namedModules()) {
      const legacy = m.legacyStateKeys();
      for (const old in legacy) {
        const prefix = path === '' ? '' : `${path}.`;
        const from = prefix + old;
        const to = prefix + legacy[old]!;
        if (!out.has(from) || out.has(to)) continue;
        if (out === given) out = new Map(given);
        out.set(to, out.get(from)!);
        out.delete(from);
      }
    }
    return out;
  }

  // ---- printing ------------------------------------------------------------------------

  /** The constructor arguments to print, e.g. `inFeatures=2, outFeatures=3, bias=true`. */
  extraRepr(): string {
    return '';
  }

  /** The module tree, in PyTorch's layout. */
  toString(): string {
    const lines = this.extraRepr() ? this.extraRepr().split('\n') : [];
    for (const [name, c] of this.childEntries()) {
      lines.push(`(${name}): ${c.toString().split('\n').join('\n  ')}`);
    }
    const name = this.constructor.name;
    if (lines.length === 0) return `${name}()`;
    if (this.childEntries().length === 0 && lines.length === 1) return `${name}(${lines[0]})`;
    return `${name}(\n  ${lines.join('\n  ')}\n)`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** The Proxy's check on every field write: links submodules to their parent and guards parameters. */
function checkAssignment(self: AnyModule, obj: AnyModule, key: string, value: unknown): void {
  const rec = obj as unknown as Record<string, unknown>;
  const old = rec[key];
  if (old instanceof Parameter && value instanceof Tensor && !(value instanceof Parameter)) {
    throw new ValueError(
      `${self.label()}: cannot assign a Tensor to parameter "${key}"; wrap it in nn.Parameter, or assign null to remove it`,
    );
  }
  if (old instanceof Module && old !== value) {
    const link = parentLinks.get(old);
    if (link && link.parent === self && link.name === key) parentLinks.delete(old);
  }
  if (value instanceof Module && value !== self) parentLinks.set(value, { parent: self, name: key });
}

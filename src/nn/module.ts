import { noGrad } from '../autograd/grad-mode.js';
import { ChainruleError, ValueError, fmtShape } from '../errors.js';
import { isFloat, type DType } from '../tensor/dtype.js';
import { isDeviceName, type Device } from '../tensor/device.js';
import { Tensor } from '../tensor/tensor.js';
import { Parameter } from './parameter.js';

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
    const proxy: this = new Proxy(this, {
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
    return proxy;
  }

  /** The computation. Subclasses override it; call it as `m.forward(x)` or `m.call(x)`. */
  forward(...args: In): Out {
    void args;
    throw new ChainruleError(`${this.label()}: forward() is not implemented`);
  }

  /** Same as forward: the counterpart of calling a PyTorch module. */
  call(...args: In): Out {
    return this.forward(...args);
  }

  /** The dotted path from the outermost module that holds this one ('' for a root). */
  get path(): string {
    const names: string[] = [];
    const seen = new Set<AnyModule>();
    let m: AnyModule = this;
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
    const given = sd instanceof Map ? sd : new Map(Object.entries(sd));
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

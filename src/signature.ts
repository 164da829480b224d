import { ValueError } from './errors.js';

/**
 * PyTorch's call signatures in one place: a constructor or function declares its parameters in
 * PyTorch's positional order (camelCase names), and `parse` maps what it was called with —
 * positional arguments, an options object last, or both — onto one options object by name:
 *
 *     const LINEAR = signature('Linear', 'inFeatures:int outFeatures:int bias?:bool device=null dtype?:dtype');
 *     new nn.Linear(4, 3, false)  ≡  new nn.Linear(4, 3, { bias: false })
 *
 * A parameter is `name:kind` (required), `name?:kind` (optional; kinds joined by `|`, `null`
 * allowed as a kind), or `name=json` (PyTorch has it, chainrule only at PyTorch's default: any
 * other value is an error naming it). `keywords` are the names only the options object may give.
 * An argument of the wrong kind, one past the last parameter, a name given twice, an unknown
 * option (with the camelCase name when it was snake_case) and a missing required one are each a
 * ValueError naming the parameter: nothing is ignored. Parsing builds no tensors and imports
 * nothing but the errors, so a module may declare its signature while it loads.
 */

export type Kind =
  | 'int' | 'num' | 'bool' | 'str' | 'size' | 'outsize' | 'ints' | 'nums' | 'tensor' | 'fn'
  | 'dtype' | 'module' | 'iter' | 'inst' | 'null' | 'any';

interface Param {
  name: string;
  required: boolean;
  kinds: Kind[];
  /** Set for a parameter only PyTorch's default is accepted for. */
  fixed?: { value: unknown };
}

/** A plain object: an options object (not an array, a tensor, a module, a typed array). */
export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

// The kinds check what JavaScript type an argument is; its value (a fractional size, an unknown
// dtype name, a negative count) is left to the checks each constructor already runs, which
// raise the more specific ShapeError / DTypeError with the valid range.
const isNum = (v: unknown): boolean => typeof v === 'number';
const CHECK: Record<Kind, [(v: unknown) => boolean, string]> = {
  int: [isNum, 'an integer'],
  num: [isNum, 'a number'],
  bool: [(v) => typeof v === 'boolean', 'a boolean'],
  str: [(v) => typeof v === 'string', 'a string'],
  size: [(v) => isNum(v) || Array.isArray(v), 'an integer or an array of integers'],
  outsize: [(v) => isNum(v) || Array.isArray(v), 'an integer or an array of integers (or nulls)'],
  ints: [(v) => Array.isArray(v), 'an array of integers'],
  nums: [(v) => Array.isArray(v), 'an array of numbers'],
  tensor: [(v) => typeof v === 'object' && v !== null && typeof (v as { dtype?: unknown }).dtype === 'string' && Array.isArray((v as { shape?: unknown }).shape), 'a Tensor'],
  fn: [(v) => typeof v === 'function', 'a function'],
  dtype: [(v) => typeof v === 'string', "a dtype ('float32', 'float64', 'int32' or 'bool')"],
  module: [(v) => typeof v === 'function' && typeof (v as { forward?: unknown }).forward === 'function', 'an nn.Module'],
  iter: [(v) => typeof v === 'object' && v !== null && !isPlainObject(v) && Symbol.iterator in v, 'an iterable (an array)'],
  inst: [(v) => typeof v === 'object' && v !== null && !isPlainObject(v), 'an object of its class'],
  null: [(v) => v === null, 'null'],
  any: [() => true, 'anything'],
};

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length <= 8 ? `[${v.map(show).join(', ')}]` : `an array of length ${v.length}`;
  if (typeof v === 'function') return typeof (v as { forward?: unknown }).forward === 'function' ? `a module (${v.constructor.name})` : 'a function';
  if (isPlainObject(v)) return 'an options object';
  return `a ${(v as object).constructor?.name ?? 'object'}`;
}

const camel = (s: string): string => s.replace(/_+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());

/** The error for an option key that is not one of known, with the camelCase name when key was PyTorch's snake_case. */
export function unknownOption(who: string, key: string, known: readonly string[]): ValueError {
  const c = camel(key);
  const near = known.find((k) => k === c) ?? known.find((k) => k.toLowerCase() === key.toLowerCase().replace(/_/g, ''));
  return new ValueError(`${who}: unknown option '${key}'${near ? ` (did you mean ${near}?)` : ''}; ${known.length ? `its options are ${known.join(', ')}` : 'it takes no options'}`);
}

export class Signature {
  private parsed: { params: Param[]; byName: Map<string, Param>; keywords: Set<string> } | null = null;

  constructor(
    /** Who is called, for messages: 'Linear', 'optim.SGD', 'arange'. */
    readonly who: string,
    private readonly spec: string,
    private readonly keywordList: readonly string[],
  ) {}

  /** The positional parameters, in order (what the signature test compares with PyTorch's). */
  get params(): readonly { name: string; required: boolean; fixed: boolean; kinds: readonly Kind[] }[] {
    return this.compiled().params.map((p) => ({ name: p.name, required: p.required, fixed: p.fixed !== undefined, kinds: p.kinds }));
  }

  /** The names only the options object gives. */
  get keywords(): readonly string[] {
    return [...this.keywordList];
  }

  private compiled(): { params: Param[]; byName: Map<string, Param>; keywords: Set<string> } {
    if (this.parsed !== null) return this.parsed;
    const params: Param[] = this.spec.split(/\s+/).filter(Boolean).map((tok) => {
      const eq = tok.indexOf('=');
      if (eq > 0) return { name: tok.slice(0, eq), required: false, kinds: [], fixed: { value: JSON.parse(tok.slice(eq + 1)) as unknown } };
      const [head, kinds] = tok.split(':') as [string, string];
      const optional = head.endsWith('?');
      return { name: optional ? head.slice(0, -1) : head, required: !optional, kinds: kinds.split('|') as Kind[] };
    });
    for (const p of params) for (const k of p.kinds) if (!(k in CHECK)) throw new Error(`signature ${this.who}: unknown kind ${k}`);
    this.parsed = { params, byName: new Map(params.map((p) => [p.name, p])), keywords: new Set(this.keywordList) };
    return this.parsed;
  }

  private check(p: Param, v: unknown, where: string): void {
    if (p.fixed !== undefined) {
      if (v === undefined || v === null || JSON.stringify(v) === JSON.stringify(p.fixed.value)) return;
      throw new ValueError(`${this.who}: ${p.name} ${show(v)}${where} is not supported; chainrule takes only PyTorch's default ${show(p.fixed.value)}`);
    }
    if (v === undefined && !p.required) return;
    if (p.kinds.some((k) => CHECK[k][0](v))) return;
    const want = p.kinds.map((k) => CHECK[k][1]).join(' or ');
    throw new ValueError(`${this.who}: ${p.name}${where} must be ${want}, got ${show(v)}`);
  }

  /**
   * The arguments by name: each positional argument under its parameter's name, then the
   * options object's entries. Only what was given is set (defaults stay with the caller);
   * PyTorch-only parameters at their default are left out.
   */
  parse<T = Record<string, unknown>>(args: readonly unknown[]): T {
    const { params, byName, keywords } = this.compiled();
    let n = args.length;
    let options: Record<string, unknown> | null = null;
    // A plain object last is the options object, unless that position's parameter takes one.
    if (n > 0 && isPlainObject(args[n - 1]) && !(params[n - 1]?.kinds.includes('any'))) {
      options = args[n - 1] as Record<string, unknown>;
      n--;
    }
    const names = params.map((p) => p.name).join(', ');
    if (n > params.length) {
      const extra = args[params.length];
      throw new ValueError(
        `${this.who}: takes ${params.length === 0 ? 'no' : `at most ${params.length}`} positional arguments${params.length ? ` (${names})` : ''}` +
          `${this.keywordList.length || params.length ? ' and an options object last' : ''}, got ${show(extra)} as argument ${params.length + 1}` +
          (isPlainObject(extra) ? ' (the options object must be the last argument)' : ''),
      );
    }
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const p = params[i]!;
      const v = args[i];
      if (isPlainObject(v) && !p.kinds.includes('any')) {
        throw new ValueError(`${this.who}: got an options object as argument ${i + 1} (${p.name}); the options object must be the last argument`);
      }
      this.check(p, v, ` (argument ${i + 1})`);
      if (v !== undefined && p.fixed === undefined) out[p.name] = v;
    }
    if (options !== null) {
      for (const key of Object.keys(options)) {
        const v = options[key];
        const p = byName.get(key);
        if (p !== undefined) {
          if (params.indexOf(p) < n && args[params.indexOf(p)] !== undefined && v !== undefined) {
            throw new ValueError(`${this.who}: ${key} given twice, as argument ${params.indexOf(p) + 1} and in the options`);
          }
          this.check(p, v, ' (option)');
          if (v !== undefined && p.fixed === undefined) out[key] = v;
        } else if (keywords.has(key)) {
          out[key] = v;
        } else {
          throw unknownOption(this.who, key, [...byName.keys(), ...keywords].filter((k) => byName.get(k)?.fixed === undefined));
        }
      }
    }
    for (const p of params) {
      if (p.required && out[p.name] === undefined) {
        throw new ValueError(`${this.who}: missing ${p.name} (argument ${params.indexOf(p) + 1} of ${names})`);
      }
    }
    return out as T;
  }
}

/** A signature (parsed on first use). */
export function signature(who: string, spec: string, keywords: readonly string[] = []): Signature {
  return new Signature(who, spec, keywords);
}

/** The signature each class or function declared with `declare` (for the signature test). */
const declared = new Map<string, Signature>();

/** Record sig as the signature of the export `name` ('nn.Linear', 'optim.SGD', 'arange'). */
export function declareSignature(name: string, sig: Signature): Signature {
  declared.set(name, sig);
  return sig;
}

/** @internal Every declared signature by export name. */
export function declaredSignatures(): ReadonlyMap<string, Signature> {
  return declared;
}

// ---- types --------------------------------------------------------------------------------

type Prefixes<T extends readonly unknown[]> = T extends readonly [infer H, ...infer R] ? [] | [H, ...Prefixes<R>] : [];

/**
 * A constructor's or function's arguments: the required ones R, then any leading part of the
 * optional ones P, then optionally an options object O (which may also give any of P by name).
 */
export type Args<R extends readonly unknown[], P extends readonly unknown[], O> = [...R, ...Prefixes<P>] | [...R, ...Prefixes<P>, O];

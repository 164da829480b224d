/**
 * One definition per op gives its function, its Tensor method(s) and its export:
 *
 *   /** e^x, elementwise. *\/
 *   export const exp = defineOp((input: Tensor): Tensor => apply('exp', [asFloat('exp', input)], {}), { exp: SELF });
 *
 * `export const` is the function (index.ts re-exports the op modules with `export *`);
 * `{ exp: SELF }` makes `x.exp()` call it with the tensor as its first argument, and the
 * method's type is derived from the function's (TensorMethods below, merged into Tensor), so
 * the compiler checks both from the one signature. A method that is not `fn(this, ...)` (an
 * extra argument, varargs, the tensor in another place) is written in the same entry as a
 * `this`-function: `{ add(this: Tensor, other: TensorLike, alpha = 1): Tensor { ... } }`.
 * Methods without a function (backward, the in-place ops) use defineMethods (ops/methods.ts).
 *
 * This module imports nothing at run time, so it is evaluated before any module that imports
 * it, whatever the import order: methods defined before the Tensor class exists are kept and
 * attached when tensor.ts calls bindTensorClass, and later ones go straight onto the prototype.
 */

/** A method that is the op's function with the tensor as its first argument. */
export const SELF = 'self';

declare const METHODS: unique symbol;
/** Type-only: the methods an op definition attaches to Tensor (never present at run time). */
export interface Methods<M> {
  readonly [METHODS]?: M;
}

// `any` for `this` so that in-place methods can declare `<T extends Tensor>(this: T, ...): T`.
type ThisFn = (this: any, ...args: any[]) => unknown;
type MethodSpec = typeof SELF | ThisFn;

/** The method form of fn: the same signature without its first parameter. */
export type MethodOf<F> = F extends (input: any, ...rest: infer R) => infer Ret ? (...rest: R) => Ret : never;

type Resolve<F, M> = { [K in keyof M]: M[K] extends typeof SELF ? MethodOf<F> : M[K] };

const methods = new Map<string, ThisFn>();
let proto: Record<string, unknown> | null = null;

function addMethod(name: string, impl: ThisFn): void {
  // Two definitions of one name would silently replace each other's method.
  if (methods.has(name)) throw new Error(`defineOp: Tensor method '${name}' is defined twice`);
  methods.set(name, impl);
  if (proto !== null) proto[name] = impl;
}

/**
 * The method calling fn with the tensor first. The five parameters cover every op's
 * arguments (the widest, slice, takes four after the tensor); undefined ones take fn's defaults.
 */
function selfMethod(fn: (...args: any[]) => unknown): ThisFn {
  return function (this: unknown, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown) {
    return fn(this, a, b, c, d, e);
  };
}

/**
 * Define an op: returns fn itself (so the function costs nothing extra) and attaches the
 * listed Tensor methods. `Function` rather than a call signature as the bound, so that a
 * default-valued parameter keeps the type of its default instead of taking `any`.
 */
// eslint-disable-next-line @typescript-eslint/ban-types
export function defineOp<F extends Function, const M extends Record<string, MethodSpec> = {}>(
  fn: F,
  methodSpecs?: M,
): F & Methods<Resolve<F, M>> {
  for (const [name, spec] of Object.entries(methodSpecs ?? {})) {
    addMethod(name, spec === SELF ? selfMethod(fn as unknown as (...args: any[]) => unknown) : spec);
  }
  return fn as F & Methods<Resolve<F, M>>;
}

/** Tensor methods with no function of their own (backward, in-place updates). */
export function defineMethods<const M extends Record<string, ThisFn>>(specs: M): Methods<M> {
  for (const [name, impl] of Object.entries(specs)) addMethod(name, impl);
  return {};
}

/** Called once by tensor.ts after the class: attaches every method defined so far, and all later ones. */
export function bindTensorClass(cls: { prototype: object }): void {
  proto = cls.prototype as Record<string, unknown>;
  for (const [name, impl] of methods) proto[name] = impl;
}

// ---- the method types, merged into Tensor by tensor.ts ---------------------------------------

type MethodsIn<V> = V extends Methods<infer M> ? (M extends object ? M : {}) : {};
type MethodNames<NS> = { [K in keyof NS]: keyof MethodsIn<NS[K]> }[keyof NS] & string;
/** Every method that the definitions exported by the modules NS attach, with its type. */
export type MethodsOf<NS> = {
  [P in MethodNames<NS>]: { [K in keyof NS]: P extends keyof MethodsIn<NS[K]> ? MethodsIn<NS[K]>[P] : never }[keyof NS];
};

/** The op methods of Tensor: from every module that defines ops (add a new op module here). */
export type TensorMethods = MethodsOf<typeof import('./functional.js') & typeof import('./methods.js')>;

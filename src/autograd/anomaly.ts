/**
 * Anomaly mode (PyTorch's torch.autograd.detect_anomaly): the first op whose forward, or whose
 * backward, makes a NaN or an infinity that its inputs did not hold raises an AnomalyError naming
 * the op, its input shapes and the line of the caller's code that ran (or recorded) it.
 *
 * Off, it costs one boolean test per op (`anomalyOn`, read by ops/registry.ts apply() and by the
 * engine's walk). On, every host output is scanned, and each recorded node keeps the stack of the
 * call that recorded it (in a WeakMap, so nodes carry no field for it), for its backward's error.
 * Tensors on a device other than the host are not scanned (their values cannot be read synchronously).
 */
import { AnomalyError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Node } from './node.js';

/** @internal Read directly by the op dispatcher and the engine; change it with setDetectAnomaly. */
export let anomalyOn = false;
/** Inside a node's backward the forward checks stand down: the node's own check names the op. */
let inBackward = 0;

/** Whether anomaly mode is on. */
export function isAnomalyEnabled(): boolean {
  return anomalyOn;
}

/** Turns anomaly mode on or off for everything that runs from now; returns the previous mode. */
export function setDetectAnomaly(mode: boolean): boolean {
  const previous = anomalyOn;
  anomalyOn = mode === true;
  return previous;
}

/**
 * Runs fn with anomaly mode on and restores the previous mode when it returns or throws; an
 * async fn (one returning a promise) keeps the mode until its promise settles. The mode is
 * global, as grad mode is: other work interleaved with an awaited fn runs in it too.
 */
export function detectAnomaly<T>(fn: () => T): T {
  const previous = setDetectAnomaly(true);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    setDetectAnomaly(previous);
    throw err;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).finally(() => setDetectAnomaly(previous)) as T;
  }
  setDetectAnomaly(previous);
  return result;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

interface Recorded {
  op: string;
  inputShapes: (readonly number[])[];
  stack: string | undefined;
}

const recorded = new WeakMap<Node, Recorded>();

/** @internal At record time (anomaly mode only): the op, its input shapes and the caller's stack. */
export function noteRecorded(node: Node, op: string, inputs: readonly Tensor[]): void {
  recorded.set(node, { op, inputShapes: inputs.map((t) => t.shape), stack: captureStack() });
}

/** @internal After a forward (anomaly mode only): throws if `out` holds a NaN or infinity that no input held. */
export function checkForward(op: string, inputs: readonly Tensor[], out: Tensor): void {
  if (inBackward > 0) return;
  const found = nonFinite(out);
  if (found === null) return;
  const held = heldKinds(inputs);
  if (!isNew(found.kinds, held)) return;
  const shapes = inputs.map((t) => fmtShape(t.shape)).join(', ');
  const source = userFrames(captureStack());
  throw new AnomalyError(
    `${op}: produced ${describe(found.first)} in its output of shape ${fmtShape(out.shape)} (at index ${fmtShape(unravel(found.index, out.shape))}) ` +
      `from inputs of shapes ${shapes || '(none)'} that held ${held === 0 ? 'only finite values' : `no ${kindName(found.kinds & ~held)}`}` +
      `${source.length > 0 ? `; called at ${source[0]}` : ''} (anomaly mode)${tail(source)}`,
    { op, phase: 'forward', inputShapes: inputs.map((t) => t.shape), source: source[0] ?? null },
  );
}

/** @internal The engine's call of a node's backward in anomaly mode: run it, then check what it returned. */
export function applyChecked(node: Node, grads: (Tensor | null)[]): (Tensor | null)[] {
  inBackward++;
  let out: (Tensor | null)[];
  try {
    out = node.apply(grads);
  } finally {
    inBackward--;
  }
  for (let i = 0; i < out.length; i++) {
    const g = out[i];
    if (!g) continue;
    const found = nonFinite(g);
    if (found === null) continue;
    const held = heldKinds(grads);
    if (!isNew(found.kinds, held)) continue;
    const rec = recorded.get(node);
    const op = rec?.op ?? node.name;
    const source = userFrames(rec?.stack);
    const shapes = rec ? ` (inputs of shapes ${rec.inputShapes.map(fmtShape).join(', ')})` : '';
    throw new AnomalyError(
      `${op}: in the backward of \`${op}\`${shapes}, the gradient for input ${i} (shape ${fmtShape(g.shape)}) holds ${describe(found.first)} ` +
        `at index ${fmtShape(unravel(found.index, g.shape))}, though the gradient coming in held ${held === 0 ? 'only finite values' : `no ${kindName(found.kinds & ~held)}`}` +
        `${source.length > 0 ? `; the op was recorded at ${source[0]}` : rec ? '' : ' (recorded before anomaly mode was on, so where is unknown)'} (anomaly mode)${tail(source)}`,
      { op, phase: 'backward', inputShapes: rec?.inputShapes ?? [], source: source[0] ?? null },
    );
  }
  return out;
}

const NAN = 1;
const INF = 2;

/** The first non-finite element of a host float tensor and the kinds (NaN, ±∞) it holds; null when all are finite. */
function nonFinite(t: Tensor): { first: number; index: number; kinds: number } | null {
  if ((t.dtype !== 'float32' && t.dtype !== 'float64') || t.deviceResident) return null;
  const a = t.rowMajor(false);
  let kinds = 0;
  let index = -1;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v - v !== 0) {
      if (index < 0) index = i;
      kinds |= v !== v ? NAN : INF;
      if (kinds === (NAN | INF)) break;
    }
  }
  return index < 0 ? null : { first: a[index]!, index, kinds };
}

function heldKinds(ts: readonly (Tensor | null)[]): number {
  let held = 0;
  for (const t of ts) if (t) held |= nonFinite(t)?.kinds ?? 0;
  return held;
}

function isNew(kinds: number, held: number): boolean {
  return (kinds & ~held) !== 0;
}

function kindName(kinds: number): string {
  return kinds === NAN ? 'NaN' : kinds === INF ? 'infinity' : 'NaN or infinity';
}

function describe(v: number): string {
  return v !== v ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

function unravel(index: number, shape: readonly number[]): number[] {
  const at = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    at[d] = index % shape[d]!;
    index = Math.floor(index / shape[d]!);
  }
  return at;
}

function tail(frames: string[]): string {
  return frames.length > 1 ? `\n${frames.slice(1, 6).map((f) => `    at ${f}`).join('\n')}` : '';
}

function captureStack(): string | undefined {
  const E = Error as { stackTraceLimit?: number };
  const limit = E.stackTraceLimit;
  E.stackTraceLimit = 64;
  const stack = new Error().stack;
  E.stackTraceLimit = limit;
  return stack;
}

/**
 * This file's package root (…/src/autograd/anomaly.ts or …/dist/autograd/anomaly.js, two levels
 * up), as a URL and as a path: stack frames show one or the other.
 */
const ROOT_URL = packageRoot();
function packageRoot(): string | null {
  try {
    return new URL('../../', import.meta.url).href;
  } catch {
    return null; // a bundle without module URLs: no frame is recognised as chainrule's
  }
}
const ROOT_PATH = ROOT_URL !== null && ROOT_URL.startsWith('file://') ? decodeURIComponent(ROOT_URL.slice('file://'.length)) : null;
const OWN = ['src/', 'dist/'];
const CORE = ['autograd/', 'ops/', 'tensor/', 'backend/', 'memory/'];

function ownFile(location: string, dirs: readonly string[]): boolean {
  for (const root of [ROOT_URL, ROOT_PATH]) {
    if (root === null) continue;
    const at = location.indexOf(root);
    if (at < 0) continue;
    const rest = location.slice(at + root.length);
    if (OWN.some((d) => rest.startsWith(d) && (dirs.length === 0 || dirs.some((c) => rest.startsWith(d + c))))) return true;
  }
  return false;
}

/**
 * The frames of a captured stack that are not chainrule's own (src/ or dist/), as "file:line:col"
 * (with the function name where the frame has one). Where every frame is chainrule's (its CLI
 * training a model), the frames outside its core (e.g. the nn layer that called the op) instead.
 */
export function userFrames(stack: string | undefined): string[] {
  if (stack === undefined) return [];
  const frames: string[] = [];
  for (const line of stack.split('\n')) {
    const l = line.trim();
    const v8 = /^at (?:(.*?) \()?(.*?)\)?$/.exec(l);
    const gecko = v8 === null ? /^(.*?)@(.*)$/.exec(l) : null;
    const m = v8 ?? gecko;
    if (m === null || m[2] === undefined || m[2] === '') continue;
    frames.push(m[1] && m[1] !== '<anonymous>' ? `${m[2]} (${m[1]})` : m[2]);
  }
  const isRuntime = (f: string) => f.startsWith('node:') || f.startsWith('<anonymous>');
  const user = frames.filter((f) => !ownFile(f, []) && !isRuntime(f));
  if (user.length > 0) return user;
  return frames.filter((f) => !ownFile(f, CORE) && !isRuntime(f));
}

import type { TypedArray } from '../backend/types.js';
import type { Tensor } from './tensor.js';

/** What printing reads: the values row-major (a strided view's gathered), shape and dtype. */
interface Printed {
  data: TypedArray;
  shape: readonly number[];
  dtype: Tensor['dtype'];
}

/**
 * Printing as PyTorch does (torch/_tensor_str.py): one number format for the whole tensor
 * (integers as `1.`, 4 decimals, or scientific when the nonzero magnitudes span more than
 * 1000×, exceed 1e8 or go below 1e-4), columns right-aligned to the widest nonzero finite
 * value, rows wrapped at 80 characters and indented under `tensor(`, and tensors of more
 * than 1000 elements summarised with `...` (3 items at each edge).
 */
const EDGE = 3;
const THRESHOLD = 1000;
const LINEWIDTH = 80;
const PRECISION = 4;
const PREFIX = 'tensor(';

export function formatTensor(tensor: Tensor): string {
  const t: Printed = { data: tensor.dataSync(), shape: tensor.shape, dtype: tensor.dtype };
  const summarize = t.data.length > THRESHOLD;
  const fmt = chooseFormat(t, collectShown(t, summarize));
  let body: string;
  if (t.data.length === 0) body = '[]';
  else if (t.shape.length === 0) body = fmt.format(t.data[0]!);
  else body = formatDim(t, 0, 0, fmt, summarize, PREFIX.length);
  const extras: string[] = [];
  if (t.data.length === 0 && t.shape.length !== 1) extras.push(`size=[${t.shape.join(', ')}]`);
  // chainrule's int32 is its only integer type but still shown, so ints never pass for floats;
  // an empty tensor has no digits to tell its dtype by, so it always names it.
  const empty = t.data.length === 0;
  if (t.dtype === 'float64' || t.dtype === 'int32' || (empty && t.dtype !== 'float32')) extras.push(`dtype=${t.dtype}`);
  if (tensor.gradFn) extras.push(`gradFn=<${tensor.gradFn.name}>`);
  else if (tensor.requiresGrad) extras.push('requiresGrad=true');
  return `${PREFIX}${body}${extras.map((e) => `, ${e}`).join('')})`;
}

/** The values printing shows: all of them, or the edges of each dim when summarising. */
function collectShown(t: Printed, summarize: boolean): number[] {
  if (!summarize) return Array.from(t.data as ArrayLike<number>);
  const out: number[] = [];
  const walk = (dim: number, offset: number, stride: number) => {
    const n = t.shape[dim]!;
    const inner = stride / n;
    for (const i of edgeIndices(n, true)) {
      if (dim === t.shape.length - 1) out.push(t.data[offset + i]!);
      else walk(dim + 1, offset + i * inner, inner);
    }
  };
  if (t.shape.length > 0) walk(0, 0, t.data.length);
  return out;
}

/** Indices to print along a dim of size n; -1 marks the `...`. */
function edgeIndices(n: number, summarize: boolean, withGap = false): number[] {
  if (!summarize || n <= 2 * EDGE) return range(0, n);
  return [...range(0, EDGE), ...(withGap ? [-1] : []), ...range(n - EDGE, n)];
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}

interface Format {
  /** The value padded to the common width. */
  format(v: number): string;
  width: number;
}

function chooseFormat(t: Printed, values: number[]): Format {
  if (t.dtype === 'bool' || t.dtype === 'int32') {
    const str = t.dtype === 'bool' ? (v: number) => (v ? 'True' : 'False') : (v: number) => String(v);
    const width = values.reduce((w, v) => Math.max(w, str(v).length), 1);
    return { format: (v) => str(v).padStart(width), width };
  }
  // As PyTorch: the mode and the width come from the nonzero finite values only.
  const nonzero = values.filter((v) => Number.isFinite(v) && v !== 0).map(Math.abs);
  const maxAbs = nonzero.length ? Math.max(...nonzero) : 0;
  const minAbs = nonzero.length ? Math.min(...nonzero) : 0;
  const intMode = values.every((v) => !Number.isFinite(v) || Number.isInteger(v));
  const sciMode = nonzero.length > 0 && (maxAbs / minAbs > 1000 || maxAbs > 1e8 || (!intMode && minAbs < 1e-4));
  let str: (v: number) => string;
  if (sciMode) str = (v) => pyExponential(v, PRECISION);
  else if (intMode) str = (v) => `${pyFixed(v, 0)}.`;
  else str = (v) => pyFixed(v, PRECISION);
  const width = values.filter((v) => Number.isFinite(v) && v !== 0).reduce((w, v) => Math.max(w, str(v).length), 1);
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  return { format: (v) => (Number.isFinite(v) ? str(v) : special(v)).padStart(width), width };
}

/**
 * Python's `{:.Nf}`: like toFixed, but exact ties round to even (toFixed rounds them up)
 * and -0 keeps its sign.
 */
function pyFixed(v: number, digits: number): string {
  let s = v.toFixed(digits);
  if (isExactTie(v.toFixed(digits + 1), v.toFixed(digits + 25))) {
    const down = roundTowardZero(v.toFixed(digits + 1));
    if (lastDigitOdd(s)) s = down;
  }
  return Object.is(v, -0) || (v < 0 && !s.startsWith('-')) ? `-${s}` : s;
}

/** Python's `{:.Ne}`: two-digit exponent at least, ties to even, -0 signed. */
function pyExponential(v: number, digits: number): string {
  let s = v.toExponential(digits);
  const longer = v.toExponential(digits + 1);
  if (isExactTie(longer.split('e')[0]!, v.toExponential(digits + 25).split('e')[0]!) && lastDigitOdd(s.split('e')[0]!)) {
    const [m, e] = longer.split('e') as [string, string];
    const down = roundTowardZero(m);
    // Truncating keeps the exponent: the mantissa only rounds up to 10 on the way up.
    s = `${down}e${e}`;
  }
  const [m, e] = s.split('e') as [string, string];
  const exp = Number(e);
  const sign = Object.is(v, -0) ? '-' : '';
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** Whether the value lies exactly halfway at the shorter precision: digits …5 then zeros. */
function isExactTie(oneMore: string, many: string): boolean {
  if (!oneMore.endsWith('5')) return false;
  const extra = many.slice(oneMore.length);
  return many.startsWith(oneMore) && /^0*$/.test(extra);
}

/** Drop the last digit (the 5 of an exact tie), and a dangling '.'. */
function roundTowardZero(s: string): string {
  const cut = s.slice(0, -1);
  return cut.endsWith('.') ? cut.slice(0, -1) : cut;
}

function lastDigitOdd(s: string): boolean {
  const d = s.replace(/\.$/, '').slice(-1);
  return '13579'.includes(d);
}

function formatDim(t: Printed, dim: number, offset: number, fmt: Format, summarize: boolean, indent: number): string {
  const n = t.shape[dim]!;
  let inner = 1;
  for (let d = dim + 1; d < t.shape.length; d++) inner *= t.shape[d]!;
  const idx = edgeIndices(n, summarize, true);
  if (dim === t.shape.length - 1) {
    const items = idx.map((i) => (i < 0 ? ' ...' : fmt.format(t.data[offset + i]!)));
    const perLine = Math.max(1, Math.floor((LINEWIDTH - indent) / (fmt.width + 2)));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
  }
  const sep = `,${'\n'.repeat(t.shape.length - dim - 1)}${' '.repeat(indent + 1)}`;
  const parts = idx.map((i) => (i < 0 ? '...' : formatDim(t, dim + 1, offset + i * inner, fmt, summarize, indent + 1)));
  return `[${parts.join(sep)}]`;
}

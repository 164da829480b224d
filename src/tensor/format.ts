import type { Tensor } from './tensor.js';

/**
 * Printing as PyTorch does: one number format for the whole tensor (integers as `1.`,
 * fixed 4 decimals, or scientific when the magnitudes span too far), right-aligned columns,
 * rows indented under `tensor(`, and long tensors summarised with `...`.
 */
const EDGE = 3;
const THRESHOLD = 1000;

export function formatTensor(t: Tensor): string {
  const summarize = t.data.length > THRESHOLD;
  const values = collectShown(t, summarize);
  const fmt = chooseFormat(t, values);
  const width = values.reduce((w, v) => Math.max(w, fmt(v).length), 1);
  const cell = (v: number) => fmt(v).padStart(width);
  const prefix = 'tensor(';
  let body: string;
  if (t.shape.length === 0) body = fmt(t.data[0]!);
  else body = formatDim(t, 0, 0, cell, summarize, prefix.length);
  const extras: string[] = [];
  if (t.data.length === 0) extras.push(`size=[${t.shape.join(', ')}]`);
  if (t.dtype !== 'float32' && t.dtype !== 'bool' && !(t.dtype === 'int32' && t.data.length > 0)) extras.push(`dtype=${t.dtype}`);
  if (t.dtype === 'int32' && t.data.length > 0) extras.push('dtype=int32');
  if (t.gradFn) extras.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push('requiresGrad=true');
  return `${prefix}${body}${extras.map((e) => `, ${e}`).join('')})`;
}

function collectShown(t: Tensor, summarize: boolean): number[] {
  if (!summarize) return Array.from(t.data as ArrayLike<number>);
  const out: number[] = [];
  const walk = (dim: number, offset: number, stride: number) => {
    const n = t.shape[dim]!;
    const inner = stride / n;
    const idx = n > 2 * EDGE ? [...range(0, EDGE), ...range(n - EDGE, n)] : range(0, n);
    for (const i of idx) {
      if (dim === t.shape.length - 1) out.push(t.data[offset + i]!);
      else walk(dim + 1, offset + i * inner, inner);
    }
  };
  if (t.shape.length > 0) walk(0, 0, t.data.length);
  return out;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}

function chooseFormat(t: Tensor, values: number[]): (v: number) => string {
  if (t.dtype === 'bool') return (v) => (v ? 'True' : 'False');
  if (t.dtype === 'int32') return (v) => String(v);
  const finite = values.filter((v) => Number.isFinite(v));
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  if (finite.every((v) => Number.isInteger(v))) {
    const maxAbs = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    if (maxAbs < 1e8) return (v) => (Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v));
    return (v) => (Number.isFinite(v) ? sci(v) : special(v));
  }
  const nonzero = finite.map(Math.abs).filter((v) => v !== 0);
  const maxAbs = Math.max(...nonzero);
  const minAbs = Math.min(...nonzero);
  if (maxAbs / minAbs > 1000 || maxAbs > 1e8 || minAbs < 1e-4) return (v) => (Number.isFinite(v) ? sci(v) : special(v));
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
}

function sci(v: number): string {
  const [m, e] = v.toExponential(4).split('e');
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function formatDim(
  t: Tensor,
  dim: number,
  offset: number,
  cell: (v: number) => string,
  summarize: boolean,
  indent: number,
): string {
  const n = t.shape[dim]!;
  let inner = 1;
  for (let d = dim + 1; d < t.shape.length; d++) inner *= t.shape[d]!;
  const idx = summarize && n > 2 * EDGE ? [...range(0, EDGE), -1, ...range(n - EDGE, n)] : range(0, n);
  if (dim === t.shape.length - 1) {
    return `[${idx.map((i) => (i < 0 ? '...' : cell(t.data[offset + i]!))).join(', ')}]`;
  }
  const pad = ' '.repeat(indent + dim + 1);
  const sep = `,${'\n'.repeat(t.shape.length - dim - 1)}${pad}`;
  const parts = idx.map((i) => (i < 0 ? '...' : formatDim(t, dim + 1, offset + i * inner, cell, summarize, indent)));
  return `[${parts.join(sep)}]`;
}

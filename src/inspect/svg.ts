/**
 * The small kit the charts are drawn with: escaping, number formatting, log-scale ticks,
 * a colour-blind-safe palette and a sequential colour map. Plain strings, no DOM, so the
 * charts render the same in Node and in a browser.
 */

/** Okabe & Ito's palette: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = {
  blue: '#0072B2',
  orange: '#E69F00',
  vermillion: '#D55E00',
  green: '#009E73',
  sky: '#56B4E9',
  purple: '#CC79A7',
  grey: '#6b6b6b',
  ink: '#222222',
  grid: '#e3e3e3',
} as const;

export const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

type Attrs = Record<string, string | number | undefined>;

function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${esc(String(v))}"`)
    .join('');
}

/** An element; `body` is raw markup (already escaped) or omitted for a self-closing tag. */
export function el(tag: string, a: Attrs, body?: string): string {
  return body === undefined ? `<${tag}${attrs(a)}/>` : `<${tag}${attrs(a)}>${body}</${tag}>`;
}

export function text(x: number, y: number, s: string, a: Attrs = {}): string {
  return el('text', { x: r(x), y: r(y), ...a }, esc(s));
}

/** Rounds a coordinate so the markup stays short. */
export function r(v: number): number {
  return Math.round(v * 100) / 100;
}

export function svgDocument(width: number, height: number, body: string, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${r(width)}" height="${r(height)}" viewBox="0 0 ${r(width)} ${r(height)}" ` +
    `font-family="${esc(FONT)}" font-size="12" fill="${PALETTE.ink}">` +
    `<title>${esc(title)}</title>` +
    el('rect', { x: 0, y: 0, width: r(width), height: r(height), fill: '#ffffff' }) +
    body +
    '</svg>\n'
  );
}

const SUPERSCRIPT: Record<string, string> = {
  '-': '⁻', '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹',
};

/** 10 raised to an integer, written as people write it on an axis: 10⁻³. */
export function powerOfTen(exp: number): string {
  if (exp === 0) return '1';
  if (exp === 1) return '10';
  return `10${String(exp).split('').map((c) => SUPERSCRIPT[c] ?? c).join('')}`;
}

/** A short label for a value: 3 significant digits, exponent form when tiny or huge. */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(2).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

/** Decade ticks covering [lo, hi] (both > 0), thinned so that at most ~7 are labelled. */
export function logTicks(lo: number, hi: number): { min: number; max: number; ticks: number[] } {
  let eLo = Math.floor(Math.log10(lo));
  let eHi = Math.ceil(Math.log10(hi));
  if (eHi === eLo) eHi += 1;
  const step = Math.max(1, Math.ceil((eHi - eLo) / 7));
  eLo = Math.floor(eLo / step) * step;
  eHi = Math.ceil(eHi / step) * step;
  const ticks: number[] = [];
  for (let e = eLo; e <= eHi; e += step) ticks.push(e);
  return { min: eLo, max: eHi, ticks };
}

/** Round linear ticks (1, 2, 5 × 10ⁿ steps) covering [lo, hi]. */
export function linearTicks(lo: number, hi: number, count = 5): { min: number; max: number; ticks: number[] } {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let v = min; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return { min, max, ticks };
}

/** Viridis, sampled: perceptually uniform and readable in grey; dark = small. */
const VIRIDIS = ['#440154', '#472c7a', '#3b518b', '#2c718e', '#21908d', '#27ad81', '#5cc863', '#aadc32', '#fde725'];

export function viridis(t: number): string {
  const u = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const a = hex(VIRIDIS[i]!);
  const b = hex(VIRIDIS[i + 1]!);
  const c = a.map((v, k) => Math.round(v + (b[k]! - v) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** Black or white, whichever reads better on `bg`. */
export function inkOn(bg: string): string {
  const [R, G, B] = hex(bg);
  return 0.299 * R + 0.587 * G + 0.114 * B > 140 ? '#000000' : '#ffffff';
}

function hex(c: string): number[] {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}

/** A rough text width for layout (no font metrics without a DOM): ~0.6 em per character. */
export function textWidth(s: string, size = 12): number {
  return [...s].length * size * 0.6;
}

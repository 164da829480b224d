/**
 * Three hand-written SVG charts: bars on a log axis, a heatmap, and line curves. Each returns
 * a Panel (size + markup) so that callers can stack panels into one document. Every drawn
 * datum carries data-* attributes, which the tests read instead of comparing snapshots.
 */
import {
  PALETTE, el, esc, fmtNum, inkOn, linearTicks, logTicks, powerOfTen, r, text, textWidth, viridis,
} from './svg.js';

export interface Panel {
  width: number;
  height: number;
  body: string;
}

/** Panels stacked top to bottom, left-aligned. */
export function stack(panels: Panel[], gap = 10): Panel {
  let y = 0;
  let body = '';
  let width = 0;
  for (const p of panels) {
    body += el('g', { transform: `translate(0,${r(y)})` }, p.body);
    y += p.height + gap;
    width = Math.max(width, p.width);
  }
  return { width, height: Math.max(0, y - gap), body };
}

/** A one-line legend starting at x, baseline y; returns the markup and its width. */
function legend(items: { name: string; colour: string; dashed?: boolean }[], x0: number, y: number): { body: string; width: number } {
  let x = x0;
  let body = '';
  for (const it of items) {
    body += el('g', { class: 'legend-item' },
      el('rect', { x: r(x), y: r(y - 9), width: 14, height: 10, fill: it.colour, rx: 2 }) +
      (it.dashed ? el('line', { x1: r(x), x2: r(x + 14), y1: r(y - 4), y2: r(y - 4), stroke: '#ffffff', 'stroke-width': 2, 'stroke-dasharray': '3 2' }) : '') +
      text(x + 18, y, it.name));
    x += textWidth(it.name) + 36;
  }
  return { body, width: x - x0 - 16 };
}

const legendWidth = (names: string[]): number => names.reduce((w, n) => w + textWidth(n) + 36, 0);

function title(s: string, x: number): string {
  return text(x, 20, s, { 'font-size': 14, 'font-weight': 600 });
}

function yAxisLabel(s: string, x: number, midY: number): string {
  return text(x, midY, s, { transform: `rotate(-90 ${r(x)} ${r(midY)})`, 'text-anchor': 'middle' });
}

/** Two significant digits: labels over neighbouring bars must not run into each other. */
function barLabel(v: number): string {
  return v >= 1e-2 && v < 1e3 ? String(Number(v.toPrecision(2))) : v.toExponential(1).replace('e+', 'e');
}

export interface BarSeries {
  name: string;
  values: number[];
  colour: string;
}

export interface LogBarChartSpec {
  title: string;
  categories: string[];
  series: BarSeries[];
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

/** Grouped bars on a log₁₀ y axis. Zero or non-finite values cannot sit on a log axis: they are marked "0" in red at the base instead of vanishing. */
export function logBarChart(spec: LogBarChartSpec): Panel {
  const { categories, series } = spec;
  const longest = Math.max(0, ...categories.map((c) => textWidth(c, 11)));
  const rotate = categories.length > 0 && longest > Math.max(40, 520 / Math.max(1, categories.length)) - 6;
  const m = { left: 78, right: 24, top: 60, bottom: 46 + (rotate ? Math.min(longest, 120) * 0.72 : 0) };
  const width = Math.max(spec.width ?? Math.max(460, m.left + m.right + categories.length * Math.max(56, series.length * 26 + 18)),
    m.left + m.right + legendWidth(series.map((s) => s.name)), m.left + textWidth(spec.title, 14) + m.right);
  const height = spec.height ?? 332 + (m.bottom - 46);
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const positive = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && v > 0);
  const { min, max, ticks } = positive.length
    ? logTicks(Math.min(...positive), Math.max(...positive))
    : { min: -3, max: 0, ticks: [-3, -2, -1, 0] };
  const yOf = (v: number): number => m.top + ph - ((Math.log10(v) - min) / (max - min)) * ph;
  let body = title(spec.title, m.left);
  body += legend(series.map((s) => ({ name: s.name, colour: s.colour })), m.left, 42).body;
  for (const e of ticks) {
    const y = yOf(10 ** e);
    body += el('line', { x1: m.left, x2: width - m.right, y1: r(y), y2: r(y), stroke: PALETTE.grid });
    body += text(m.left - 8, y + 4, powerOfTen(e), { 'text-anchor': 'end', class: 'tick' });
  }
  const slot = pw / Math.max(1, categories.length);
  const barW = Math.min(34, (slot - 14) / Math.max(1, series.length));
  categories.forEach((cat, i) => {
    const x0 = m.left + i * slot + (slot - barW * series.length) / 2;
    series.forEach((s, k) => {
      const v = s.values[i]!;
      const x = x0 + k * barW;
      const common = { class: 'bar', 'data-series': s.name, 'data-category': cat, 'data-value': String(v) };
      if (Number.isFinite(v) && v > 0) {
        const y = yOf(v);
        body += el('rect', { ...common, x: r(x + 1), y: r(y), width: r(barW - 2), height: r(m.top + ph - y), fill: s.colour },
          el('title', {}, esc(`${s.name}, ${cat}: ${v.toExponential(3)}`)));
        if (barW >= 24) body += text(x + barW / 2, y - 4, barLabel(v), { 'text-anchor': 'middle', 'font-size': 9, fill: PALETTE.grey });
      } else {
        // A zero norm is news (a dead layer), so it is drawn, in the series' colour, not left out.
        body += el('g', common, text(x + barW / 2, m.top + ph - 5, Number.isNaN(v) ? 'n/a' : '0', {
          'text-anchor': 'middle', 'font-size': 12, 'font-weight': 700, fill: s.colour,
        }) + el('title', {}, esc(`${s.name}, ${cat}: ${Number.isNaN(v) ? 'not recorded' : 'exactly 0'}`)));
      }
    });
    const cx = m.left + i * slot + slot / 2;
    const ly = m.top + ph + 16;
    body += rotate
      ? text(cx, ly, cat, { 'text-anchor': 'end', 'font-size': 11, transform: `rotate(-40 ${r(cx)} ${r(ly)})`, class: 'category' })
      : text(cx, ly, cat, { 'text-anchor': 'middle', 'font-size': 11, class: 'category' });
  });
  body += el('line', { x1: m.left, x2: m.left, y1: m.top, y2: m.top + ph, stroke: PALETTE.ink });
  body += el('line', { x1: m.left, x2: width - m.right, y1: m.top + ph, y2: m.top + ph, stroke: PALETTE.ink });
  body += yAxisLabel(spec.yLabel, 18, m.top + ph / 2);
  body += text(m.left + pw / 2, height - 8, spec.xLabel, { 'text-anchor': 'middle' });
  return { width, height, body };
}

export interface HeatmapSpec {
  title: string;
  rows: string[];
  /** Column keys (e.g. step numbers), left to right. */
  cols: number[];
  /** values[row][col]; coloured by log₁₀. */
  values: number[][];
  xLabel: string;
  yLabel: string;
  scaleLabel: string;
  width?: number;
}

/** Rows × columns of log-coloured cells with a colour-scale legend; long runs are averaged into at most ~80 columns. */
export function heatmap(spec: HeatmapSpec): Panel {
  const labelW = Math.max(40, ...spec.rows.map((s) => textWidth(s, 11))) + 10;
  const m = { left: 30 + labelW, right: 110, top: 36, bottom: 48 };
  const width = spec.width ?? 760;
  const pw = width - m.left - m.right;
  const bins = Math.min(spec.cols.length, 80);
  const per = spec.cols.length / Math.max(1, bins);
  const cellH = Math.max(16, Math.min(28, 240 / Math.max(1, spec.rows.length)));
  const ph = cellH * spec.rows.length;
  const height = m.top + ph + m.bottom;
  const binned = spec.values.map((row) =>
    Array.from({ length: bins }, (_, b) => {
      const part = row.slice(Math.floor(b * per), Math.max(Math.floor(b * per) + 1, Math.floor((b + 1) * per)));
      return part.reduce((a, v) => a + v, 0) / part.length;
    }),
  );
  const positive = binned.flat().filter((v) => Number.isFinite(v) && v > 0);
  const { min, max, ticks } = positive.length ? logTicks(Math.min(...positive), Math.max(...positive)) : { min: -3, max: 0, ticks: [-3, -2, -1, 0] };
  const t = (v: number): number => (Math.log10(v) - min) / (max - min);
  const cellW = pw / Math.max(1, bins);
  let body = title(spec.title, m.left);
  binned.forEach((row, i) => {
    const y = m.top + i * cellH;
    body += text(m.left - 8, y + cellH / 2 + 4, spec.rows[i]!, { 'text-anchor': 'end', 'font-size': 11 });
    row.forEach((v, j) => {
      const fill = Number.isFinite(v) && v > 0 ? viridis(t(v)) : '#d9d9d9';
      const step = spec.cols[Math.floor(j * per)]!;
      body += el('rect', { class: 'cell', x: r(m.left + j * cellW), y: r(y), width: r(cellW + (j + 1 < bins ? 1 : 0)), height: r(cellH - 1), fill, 'shape-rendering': 'crispEdges', 'data-row': spec.rows[i], 'data-col': step, 'data-value': String(v) },
        el('title', {}, esc(`${spec.rows[i]}, ${spec.xLabel} ${step}: ${v.toExponential(3)}`)));
      if (bins <= 12 && cellW > 54) body += text(m.left + (j + 0.5) * cellW, y + cellH / 2 + 3, fmtNum(v), { 'text-anchor': 'middle', 'font-size': 10, fill: inkOn(fill) });
    });
  });
  // x ticks: about 6 step numbers under the cells they name.
  const nTicks = Math.min(bins, 6);
  for (let k = 0; k < nTicks; k++) {
    const j = nTicks === 1 ? 0 : Math.round((k * (bins - 1)) / (nTicks - 1));
    const x = m.left + (j + 0.5) * cellW;
    body += el('line', { x1: r(x), x2: r(x), y1: m.top + ph, y2: m.top + ph + 4, stroke: PALETTE.ink });
    body += text(x, m.top + ph + 16, String(spec.cols[Math.floor(j * per)]), { 'text-anchor': 'middle', 'font-size': 11 });
  }
  body += text(m.left + pw / 2, height - 10, spec.xLabel + (per > 1 ? ` (each column averages ${per.toFixed(per % 1 ? 1 : 0)} steps)` : ''), { 'text-anchor': 'middle' });
  body += yAxisLabel(spec.yLabel, 14, m.top + ph / 2);
  // Colour scale: a vertical gradient with decade ticks.
  const lx = width - m.right + 18;
  const lh = Math.max(ph, 80);
  const stops = Array.from({ length: 9 }, (_, k) => el('stop', { offset: `${k * 12.5}%`, 'stop-color': viridis(1 - k / 8) })).join('');
  body += el('defs', {}, el('linearGradient', { id: 'heat-scale', x1: 0, y1: 0, x2: 0, y2: 1 }, stops));
  body += el('rect', { x: lx, y: m.top, width: 14, height: r(lh), fill: 'url(#heat-scale)', stroke: PALETTE.grey, 'stroke-width': 0.5 });
  for (const e of ticks) {
    const y = m.top + lh - ((e - min) / (max - min)) * lh;
    body += el('line', { x1: lx + 14, x2: lx + 18, y1: r(y), y2: r(y), stroke: PALETTE.ink });
    body += text(lx + 21, y + 4, powerOfTen(e), { 'font-size': 11 });
  }
  body += text(lx - 4, m.top - 8, spec.scaleLabel, { 'font-size': 11 });
  return { width, height: Math.max(height, m.top + lh + 20), body };
}

export interface LineSeries {
  name: string;
  points: [number, number][];
  colour: string;
  dashed?: boolean;
}

export interface LineChartSpec {
  title: string;
  series: LineSeries[];
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
  /** Formats a y tick (e.g. as a percentage). */
  yFormat?: (v: number) => string;
  /** Whole-number x ticks only (epochs). */
  integerX?: boolean;
}

/** Curves over a shared x axis with gridlines, ticks and a legend above the plot area (so it never covers data). */
export function lineChart(spec: LineChartSpec): Panel {
  const m = { left: 70, right: 24, top: 60, bottom: 48 };
  const width = Math.max(spec.width ?? 560, m.left + m.right + legendWidth(spec.series.map((s) => s.name)));
  const height = spec.height ?? 350;
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const pts = spec.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!spec.logY || y > 0));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let xt = linearTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, 6);
  if (spec.integerX) {
    const lo = Math.floor(xs.length ? Math.min(...xs) : 0);
    const hi = Math.max(lo + 1, Math.ceil(xs.length ? Math.max(...xs) : 1));
    const step = Math.max(1, Math.ceil((hi - lo) / 8));
    // Multiples of the step (2, 4, ..., 12), so that the last epoch usually gets its tick.
    const first = Math.ceil(lo / step) * step;
    const ticks = Array.from({ length: Math.floor((hi - first) / step) + 1 }, (_, k) => first + k * step);
    xt = { min: lo, max: hi, ticks };
    // A single epoch sits in the middle, not on the axis.
    if (xs.length && Math.min(...xs) === Math.max(...xs)) xt = { min: xs[0]! - 0.5, max: xs[0]! + 0.5, ticks: [xs[0]!] };
  }
  const yt = spec.logY
    ? logTicks(ys.length ? Math.min(...ys) : 1e-3, ys.length ? Math.max(...ys) : 1)
    : linearTicks(spec.yMin ?? (ys.length ? Math.min(...ys) : 0), spec.yMax ?? (ys.length ? Math.max(...ys) : 1), 5);
  const yv = (v: number): number => (spec.logY ? Math.log10(v) : v);
  const X = (v: number): number => m.left + ((v - xt.min) / (xt.max - xt.min || 1)) * pw;
  const Y = (v: number): number => m.top + ph - ((yv(v) - yt.min) / (yt.max - yt.min || 1)) * ph;
  let body = title(spec.title, m.left);
  body += legend(spec.series.map((s) => ({ name: s.name, colour: s.colour, dashed: s.dashed })), m.left, 42).body;
  for (const tk of yt.ticks) {
    const v = spec.logY ? 10 ** tk : tk;
    const y = Y(v);
    body += el('line', { x1: m.left, x2: width - m.right, y1: r(y), y2: r(y), stroke: PALETTE.grid });
    const label = spec.logY ? powerOfTen(tk) : spec.yFormat ? spec.yFormat(v) : fmtNum(v);
    body += text(m.left - 8, y + 4, label, { 'text-anchor': 'end', class: 'tick' });
  }
  for (const v of xt.ticks) {
    const x = X(v);
    body += el('line', { x1: r(x), x2: r(x), y1: m.top + ph, y2: m.top + ph + 4, stroke: PALETTE.ink });
    body += text(x, m.top + ph + 17, fmtNum(v), { 'text-anchor': 'middle', class: 'tick' });
  }
  for (const s of spec.series) {
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!spec.logY || y > 0));
    if (ok.length === 0) continue;
    const d = ok.map(([x, y], i) => `${i ? 'L' : 'M'}${r(X(x))},${r(Y(y))}`).join('');
    body += el('path', { class: 'series', 'data-series': s.name, 'data-points': JSON.stringify(ok), d, fill: 'none', stroke: s.colour, 'stroke-width': 2, 'stroke-dasharray': s.dashed ? '6 4' : undefined, 'stroke-linejoin': 'round' });
    if (ok.length <= 40) for (const [x, y] of ok) body += el('circle', { cx: r(X(x)), cy: r(Y(y)), r: 3, fill: s.colour });
  }
  body += el('line', { x1: m.left, x2: m.left, y1: m.top, y2: m.top + ph, stroke: PALETTE.ink });
  body += el('line', { x1: m.left, x2: width - m.right, y1: m.top + ph, y2: m.top + ph, stroke: PALETTE.ink });
  body += yAxisLabel(spec.yLabel, 16, m.top + ph / 2);
  body += text(m.left + pw / 2, height - 10, spec.xLabel, { 'text-anchor': 'middle' });
  return { width, height, body };
}

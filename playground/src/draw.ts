/** Canvas drawing: the decision boundary, the unit maps, the curves and the gradient bars. */
import { EXTENT, GRID, UNIT_GRID } from './grid.js';
import type { GradientBars, UnitMaps } from './trainer.js';

export const COLOURS = { zero: [230, 159, 0], one: [0, 114, 178], delta: '#0072B2', weight: '#E69F00', warn: '#D55E00', grid: '#e3e6ea', ink: '#333' } as const;

/** Sizes the canvas's backing store to its CSS size × devicePixelRatio and returns a context in CSS pixels. */
export function context(canvas: HTMLCanvasElement): { g: CanvasRenderingContext2D; w: number; h: number } {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width;
  const h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { g, w, h };
}

/** p ∈ [0, 1] → orange (class 0) … white … blue (class 1), softened so points stay readable. */
function probColour(p: number, out: Uint8ClampedArray, i: number): void {
  const t = Math.abs(p - 0.5) * 2;
  const c = p < 0.5 ? COLOURS.zero : COLOURS.one;
  const k = 0.75 * t;
  out[i] = 255 + (c[0] - 255) * k;
  out[i + 1] = 255 + (c[1] - 255) * k;
  out[i + 2] = 255 + (c[2] - 255) * k;
  out[i + 3] = 255;
}

function imageOf(values: Float32Array, n: number, offset: number, colour: (v: number, out: Uint8ClampedArray, i: number) => void): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = n;
  c.height = n;
  const g = c.getContext('2d')!;
  const img = g.createImageData(n, n);
  for (let k = 0; k < n * n; k++) colour(values[offset + k]!, img.data, k * 4);
  g.putImageData(img, 0, 0);
  return c;
}

export interface PointSet {
  xy: Float32Array;
  label: Uint8Array;
}

export function drawBoundary(canvas: HTMLCanvasElement, boundary: Float32Array, train: PointSet | null, test: PointSet | null, showTest: boolean): void {
  const { g, w, h } = context(canvas);
  const img = imageOf(boundary, GRID, 0, probColour);
  g.imageSmoothingEnabled = true;
  g.clearRect(0, 0, w, h);
  g.drawImage(img, 0, 0, w, h);
  contour(g, boundary, w / GRID, h / GRID);
  const toPx = (x: number, y: number): [number, number] => [((x + EXTENT) / (2 * EXTENT)) * w, ((EXTENT - y) / (2 * EXTENT)) * h];
  const rad = Math.max(2.5, Math.min(4, w / 110));
  const dots = (s: PointSet, hollow: boolean) => {
    for (let i = 0; i < s.label.length; i++) {
      const [px, py] = toPx(s.xy[2 * i]!, s.xy[2 * i + 1]!);
      const c = s.label[i] ? COLOURS.one : COLOURS.zero;
      g.beginPath();
      g.arc(px, py, rad, 0, 2 * Math.PI);
      if (hollow) {
        g.fillStyle = 'rgba(255,255,255,0.9)';
        g.fill();
        g.lineWidth = 2;
        g.strokeStyle = `rgb(${c.join(',')})`;
      } else {
        g.fillStyle = `rgb(${c.join(',')})`;
        g.fill();
        g.lineWidth = 1;
        g.strokeStyle = 'white';
      }
      g.stroke();
    }
  };
  if (train) dots(train, false);
  if (test && showTest) dots(test, true);
}

/**
 * The p = 0.5 line by marching squares on the cell centres, each crossing placed by linear
 * interpolation along the cell's edge, so the boundary is drawn smooth instead of as steps.
 */
function contour(g: CanvasRenderingContext2D, p: Float32Array, cw: number, ch: number): void {
  const v = (r: number, c: number) => p[r * GRID + c]! - 0.5;
  g.strokeStyle = 'rgba(30,30,30,0.7)';
  g.lineWidth = 1.4;
  g.beginPath();
  for (let r = 0; r + 1 < GRID; r++) {
    for (let c = 0; c + 1 < GRID; c++) {
      const a = v(r, c), b = v(r, c + 1), d = v(r + 1, c), e = v(r + 1, c + 1);
      const pts: [number, number][] = [];
      const x = (cc: number) => (cc + 0.5) * cw;
      const y = (rr: number) => (rr + 0.5) * ch;
      if (a > 0 !== b > 0) pts.push([x(c + a / (a - b)), y(r)]);
      if (b > 0 !== e > 0) pts.push([x(c + 1), y(r + b / (b - e))]);
      if (d > 0 !== e > 0) pts.push([x(c + d / (d - e)), y(r + 1)]);
      if (a > 0 !== d > 0) pts.push([x(c), y(r + a / (a - d))]);
      for (let k = 0; k + 1 < pts.length; k += 2) {
        g.moveTo(pts[k]![0], pts[k]![1]);
        g.lineTo(pts[k + 1]![0], pts[k + 1]![1]);
      }
    }
  }
  g.stroke();
}

/** One small canvas per hidden unit, filled with its activation over the plane. */
export function drawUnits(host: HTMLElement, maps: UnitMaps[]): void {
  const want = maps.map((m) => `${m.layer}:${m.units}`).join(',');
  if (host.dataset.layout !== want) {
    host.replaceChildren();
    for (const m of maps) {
      const row = document.createElement('div');
      row.className = 'unit-row';
      const label = document.createElement('div');
      label.className = 'unit-label';
      label.textContent = `layer ${m.layer}`;
      row.append(label);
      const cells = document.createElement('div');
      cells.className = 'unit-cells';
      for (let u = 0; u < m.units; u++) {
        const c = document.createElement('canvas');
        c.width = UNIT_GRID;
        c.height = UNIT_GRID;
        c.title = `layer ${m.layer}, unit ${u + 1}: its activation aˡⱼ over the plane`;
        cells.append(c);
      }
      row.append(cells);
      host.append(row);
    }
    host.dataset.layout = want;
  }
  maps.forEach((m, k) => {
    const canvases = host.children[k]!.querySelectorAll('canvas');
    const span = m.hi - m.lo || 1;
    const colour = (v: number, out: Uint8ClampedArray, i: number) => probColour((v - m.lo) / span, out, i);
    canvases.forEach((c, u) => {
      const g = c.getContext('2d')!;
      const img = g.createImageData(UNIT_GRID, UNIT_GRID);
      for (let p = 0; p < UNIT_GRID * UNIT_GRID; p++) colour(m.values[u * UNIT_GRID * UNIT_GRID + p]!, img.data, p * 4);
      g.putImageData(img, 0, 0);
    });
  });
}

export interface Series {
  name: string;
  colour: string;
  dashed?: boolean;
  xs: number[];
  ys: number[];
}

const fmtTick = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 1000 ? `${Math.round(v / 100) / 10}k` : Math.abs(v) < 0.01 ? v.toExponential(0) : String(Number(v.toPrecision(2))));

export function drawCurves(canvas: HTMLCanvasElement, title: string, series: Series[], yRange: [number, number] | null): void {
  const { g, w, h } = context(canvas);
  g.clearRect(0, 0, w, h);
  const L = 40, R = 10, T = 22, B = 22;
  const xs = series.flatMap((s) => s.xs);
  const ys = series.flatMap((s) => s.ys).filter(Number.isFinite);
  g.font = '12px system-ui, sans-serif';
  g.fillStyle = COLOURS.ink;
  g.fillText(title, L, 14);
  let lx = w - R;
  for (const s of [...series].reverse()) {
    const tw = g.measureText(s.name).width;
    lx -= tw;
    g.fillStyle = s.colour;
    g.fillText(s.name, lx, 14);
    g.strokeStyle = s.colour;
    g.lineWidth = 2;
    g.setLineDash(s.dashed ? [4, 3] : []);
    g.beginPath();
    g.moveTo(lx - 20, 10);
    g.lineTo(lx - 4, 10);
    g.stroke();
    lx -= 30;
  }
  g.setLineDash([]);
  if (!xs.length || !ys.length) return;
  const x0 = Math.min(...xs), x1 = Math.max(x0 + 1, ...xs);
  let [y0, y1] = yRange ?? [Math.min(0, ...ys), Math.max(...ys) * 1.05 || 1];
  if (y1 <= y0) y1 = y0 + 1;
  const px = (x: number) => L + ((x - x0) / (x1 - x0)) * (w - L - R);
  const py = (y: number) => T + (1 - (y - y0) / (y1 - y0)) * (h - T - B);
  g.strokeStyle = COLOURS.grid;
  g.lineWidth = 1;
  g.fillStyle = '#666';
  g.font = '10px system-ui, sans-serif';
  for (let k = 0; k <= 4; k++) {
    const y = y0 + ((y1 - y0) * k) / 4;
    g.beginPath();
    g.moveTo(L, py(y));
    g.lineTo(w - R, py(y));
    g.stroke();
    g.fillText(fmtTick(y), 4, py(y) + 3);
  }
  g.fillText(`step ${fmtTick(x0)}`, L, h - 6);
  const end = `${fmtTick(x1)}`;
  g.fillText(end, w - R - g.measureText(end).width, h - 6);
  for (const s of series) {
    g.strokeStyle = s.colour;
    g.lineWidth = 1.8;
    g.setLineDash(s.dashed ? [4, 3] : []);
    g.beginPath();
    let pen = false;
    s.xs.forEach((x, i) => {
      const y = s.ys[i]!;
      if (!Number.isFinite(y)) {
        pen = false;
        return;
      }
      const Y = py(Math.min(y1, Math.max(y0, y)));
      if (pen) g.lineTo(px(x), Y);
      else g.moveTo(px(x), Y);
      pen = true;
    });
    g.stroke();
  }
  g.setLineDash([]);
}

/** ‖δˡ‖ and ‖∂L/∂Wˡ‖ per layer on a log axis, as the GradientMonitor records them. */
export function drawGradientBars(canvas: HTMLCanvasElement, bars: GradientBars): void {
  const { g, w, h } = context(canvas);
  g.clearRect(0, 0, w, h);
  const L = 44, R = 8, T = 24, B = 34;
  g.font = '12px system-ui, sans-serif';
  g.fillStyle = COLOURS.ink;
  g.fillText('gradient norm per layer (log scale)', L, 14);
  const vals = [...bars.delta, ...bars.weight].filter((v) => Number.isFinite(v) && v > 0);
  if (!vals.length) {
    g.fillStyle = '#888';
    g.fillText('no gradient recorded yet: press play or step', L, h / 2);
    return;
  }
  const lo = Math.floor(Math.log10(Math.min(...vals))) - 0.2;
  const hi = Math.ceil(Math.log10(Math.max(...vals)));
  const py = (v: number) => T + (1 - (Math.log10(v) - lo) / (hi - lo)) * (h - T - B);
  g.font = '10px system-ui, sans-serif';
  for (let e = Math.ceil(lo); e <= hi; e++) {
    g.strokeStyle = COLOURS.grid;
    g.beginPath();
    g.moveTo(L, py(10 ** e));
    g.lineTo(w - R, py(10 ** e));
    g.stroke();
    g.fillStyle = '#666';
    g.fillText(`1e${e}`, 6, py(10 ** e) + 3);
  }
  const n = bars.labels.length;
  const slot = (w - L - R) / n;
  const bw = Math.min(26, slot / 3);
  const warned = new Set(bars.warnings.map((x) => x.layer));
  bars.labels.forEach((label, i) => {
    const cx = L + slot * (i + 0.5);
    const one = (v: number, x: number, colour: string) => {
      if (!(v > 0)) return;
      g.fillStyle = colour;
      g.fillRect(x, py(v), bw, h - B - py(v));
    };
    one(bars.delta[i]!, cx - bw - 1, COLOURS.delta);
    one(bars.weight[i]!, cx + 1, COLOURS.weight);
    g.fillStyle = warned.has(i + 1) ? COLOURS.warn : COLOURS.ink;
    g.font = warned.has(i + 1) ? 'bold 11px system-ui, sans-serif' : '11px system-ui, sans-serif';
    const d = bars.dead[i];
    const text = d === null || d === undefined ? label : `${label} · ${Math.round(d * 100)}% off`;
    g.fillText(text, cx - g.measureText(text).width / 2, h - B + 14);
  });
  g.font = '10px system-ui, sans-serif';
  g.fillStyle = COLOURS.delta;
  g.fillRect(L, h - 11, 9, 9);
  g.fillText('‖δ‖ = ‖∂L/∂z‖', L + 12, h - 3);
  g.fillStyle = COLOURS.weight;
  g.fillRect(L + 100, h - 11, 9, 9);
  g.fillText('‖∂L/∂W‖', L + 112, h - 3);
}

/**
 * The 2-D toy datasets, made from a seed: points in [-1, 1]², labels 0 and 1, shuffled and
 * split into a training and a test set.
 */
import type { Dataset } from './settings.js';

export interface Points {
  /** x₁, x₂ of each point, interleaved. */
  xy: Float32Array;
  /** 0 or 1 per point. */
  label: Uint8Array;
}

export interface Split {
  train: Points;
  test: Points;
}

/** mulberry32: small, fast, good enough for toy data, the same stream everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

type Gen = (i: number, n: number, r: () => number) => [number, number, number];

const GENERATORS: Record<Dataset, Gen> = {
  // Quadrants, kept a little off the axes so that the clean data has a margin.
  xor: (_i, _n, r) => {
    const pad = 0.05;
    const sx = r() < 0.5 ? -1 : 1;
    const sy = r() < 0.5 ? -1 : 1;
    const x = sx * (pad + r() * (0.95 - pad));
    const y = sy * (pad + r() * (0.95 - pad));
    return [x, y, x * y > 0 ? 1 : 0];
  },
  // Two arms winding 1.75 turns around the origin.
  spirals: (i, n, r) => {
    const c = i % 2;
    const t = (Math.floor(i / 2) / Math.ceil(n / 2)) * 1.75 * 2 * Math.PI;
    const rad = 0.9 * (0.08 + t / (1.75 * 2 * Math.PI));
    const a = t + c * Math.PI;
    void r;
    return [rad * Math.cos(a), rad * Math.sin(a), c];
  },
  moons: (_i, _n, r) => {
    const c = r() < 0.5 ? 0 : 1;
    const t = r() * Math.PI;
    const x = c === 0 ? Math.cos(t) : 1 - Math.cos(t);
    const y = c === 0 ? Math.sin(t) : 0.5 - Math.sin(t);
    return [(x - 0.5) * 0.62, (y - 0.25) * 0.95, c];
  },
  circles: (_i, _n, r) => {
    const c = r() < 0.5 ? 0 : 1;
    const rad = c === 1 ? r() * 0.4 : 0.6 + r() * 0.3;
    const a = r() * 2 * Math.PI;
    return [rad * Math.cos(a), rad * Math.sin(a), c];
  },
  blobs: (_i, _n, r) => {
    const c = r() < 0.5 ? 0 : 1;
    const m = c === 1 ? 0.45 : -0.45;
    return [m + 0.18 * gaussian(r), m + 0.18 * gaussian(r), c];
  },
};

/** `n` points of `kind`, jittered by `noise` (a standard deviation in plot units), shuffled, split. */
export function makeDataset(kind: Dataset, n: number, noise: number, trainShare: number, seed: number): Split {
  const r = rng(seed * 7919 + 17);
  const pts: [number, number, number][] = [];
  for (let i = 0; i < n; i++) {
    const [x, y, c] = GENERATORS[kind](i, n, r);
    pts.push([x + noise * gaussian(r), y + noise * gaussian(r), c]);
  }
  for (let i = pts.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [pts[i], pts[j]] = [pts[j]!, pts[i]!];
  }
  const nTrain = Math.max(1, Math.min(n - 1, Math.round(n * trainShare)));
  const pack = (a: [number, number, number][]): Points => ({
    xy: Float32Array.from(a.flatMap(([x, y]) => [x, y])),
    label: Uint8Array.from(a.map(([, , c]) => c)),
  });
  return { train: pack(pts.slice(0, nTrain)), test: pack(pts.slice(nTrain)) };
}

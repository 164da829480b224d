import { ValueError } from '../errors.js';
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Two-class (or k-class) point sets in the plane, in the spirit of TensorFlow Playground:
 * a quick way to see a network bend its decision boundary. Each returns features x [n, 2]
 * (float32) and labels y [n] (int32), seeded, with Gaussian noise of the given level.
 */
export interface SyntheticOptions {
  n?: number;
  noise?: number;
  seed?: number;
}

export interface Synthetic {
  x: Tensor;
  y: Tensor;
}

function build(n: number, seed: number, point: (i: number, g: Generator) => [number, number, number], noise: number): Synthetic {
  if (!Number.isInteger(n) || n <= 0) throw new ValueError(`synthetic data: n must be a positive integer, got ${n}`);
  if (!(noise >= 0)) throw new ValueError(`synthetic data: noise must be ≥ 0, got ${noise}`);
  const g = new Generator(seed);
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const [a, b, label] = point(i, g);
    x[2 * i] = a + noise * g.normal();
    x[2 * i + 1] = b + noise * g.normal();
    y[i] = label;
  }
  return { x: new Tensor(x, [n, 2], 'float32'), y: new Tensor(y, [n], 'int32') };
}

/** Label = whether x and y have the same sign (the quadrants of XOR), on [−1, 1]². */
export function xor({ n = 200, noise = 0, seed = 0 }: SyntheticOptions = {}): Synthetic {
  return build(n, seed, (_, g) => {
    const pad = 0.05;
    const a = g.random() * 2 - 1;
    const b = g.random() * 2 - 1;
    const px = a + (a > 0 ? pad : -pad);
    const py = b + (b > 0 ? pad : -pad);
    return [px, py, px * py >= 0 ? 0 : 1];
  }, noise);
}

/** Two interleaved spirals, alternating classes. */
export function spirals({ n = 200, noise = 0, seed = 0 }: SyntheticOptions = {}): Synthetic {
  const half = Math.ceil(n / 2);
  return build(n, seed, (i) => {
    const label = i % 2;
    const k = Math.floor(i / 2);
    const r = k / half;
    const t = 1.75 * r * 2 * Math.PI + label * Math.PI;
    return [r * Math.sin(t), r * Math.cos(t), label];
  }, noise);
}

/** Two interleaving half circles (scikit-learn's make_moons shape). */
export function moons({ n = 200, noise = 0, seed = 0 }: SyntheticOptions = {}): Synthetic {
  const outer = Math.ceil(n / 2);
  return build(n, seed, (i) => {
    if (i < outer) {
      const t = (Math.PI * i) / Math.max(1, outer - 1);
      return [Math.cos(t), Math.sin(t), 0];
    }
    const j = i - outer;
    const t = (Math.PI * j) / Math.max(1, n - outer - 1);
    return [1 - Math.cos(t), 0.5 - Math.sin(t), 1];
  }, noise);
}

/** A disc (class 0) inside a ring (class 1). */
export function circles({ n = 200, noise = 0, seed = 0 }: SyntheticOptions = {}): Synthetic {
  return build(n, seed, (i, g) => {
    const label = i % 2;
    const r = label === 0 ? g.random() * 0.5 : 0.7 + g.random() * 0.3;
    const t = g.random() * 2 * Math.PI;
    return [r * Math.cos(t), r * Math.sin(t), label];
  }, noise);
}

/** Gaussian blobs around `centers` (default two, at (±0.5, ±0.5)), one class each. */
export function blobs({ n = 200, noise = 0.15, seed = 0, centers = [[0.5, 0.5], [-0.5, -0.5]] as [number, number][] }: SyntheticOptions & { centers?: [number, number][] } = {}): Synthetic {
  return build(n, seed, (i) => {
    const label = i % centers.length;
    const [cx, cy] = centers[label]!;
    return [cx, cy, label];
  }, noise);
}

/**
 * Everything a user can choose, and its round trip through the URL's query string, so that a
 * view can be shared by its address. Unknown or out-of-range values fall back to the defaults.
 */

export const DATASETS = ['xor', 'spirals', 'moons', 'circles', 'blobs'] as const;
export const ACTIVATIONS = ['tanh', 'relu', 'sigmoid', 'leakyRelu'] as const;
export const LOSSES = ['bce', 'ce', 'mse'] as const;
export const OPTIMIZERS = ['sgd', 'momentum', 'adam'] as const;

export type Dataset = (typeof DATASETS)[number];
export type Activation = (typeof ACTIVATIONS)[number];
export type Loss = (typeof LOSSES)[number];
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface Settings {
  dataset: Dataset;
  /** Standard deviation of the jitter, as a share of the plot's half-width (0 … 0.5). */
  noise: number;
  /** Share of the points used for training (the rest is the test set), 0.1 … 0.9. */
  trainShare: number;
  /** Points in the whole dataset. */
  points: number;
  seed: number;
  /** Hidden layer widths, input to output; [] is a linear model. */
  hidden: number[];
  activation: Activation;
  loss: Loss;
  optimizer: OptimizerName;
  lr: number;
  batchSize: number;
  /** L2 weight decay (the optimizer's weightDecay). */
  l2: number;
  /** Dropout probability after each hidden activation. */
  dropout: number;
}

export const DEFAULTS: Settings = {
  dataset: 'spirals',
  noise: 0,
  trainShare: 0.5,
  points: 500,
  seed: 1,
  hidden: [16, 16],
  activation: 'tanh',
  loss: 'bce',
  optimizer: 'adam',
  lr: 0.03,
  batchSize: 16,
  l2: 0,
  dropout: 0,
};

export const LOSS_LABELS: Record<Loss, string> = {
  bce: 'sigmoid, binary cross-entropy',
  ce: 'softmax (2 logits), cross-entropy',
  mse: 'sigmoid, squared error',
};

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

function pick<T extends string>(v: string | null, allowed: readonly T[], fallback: T): T {
  return v !== null && (allowed as readonly string[]).includes(v) ? (v as T) : fallback;
}

function num(v: string | null, fallback: number, lo: number, hi: number): number {
  if (v === null || v.trim() === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? clamp(n, lo, hi) : fallback;
}

/** "16,16" → [16, 16]; widths 1 … 64, at most 6 layers; "" or "0" → no hidden layer. */
export function parseHidden(v: string | null, fallback: number[]): number[] {
  if (v === null) return fallback;
  const t = v.trim();
  if (t === '' || t === '0' || t === 'none') return [];
  const parts = t.split(/[\s,-]+/).map(Number);
  if (parts.some((n) => !Number.isInteger(n) || n < 1)) return fallback;
  return parts.slice(0, 6).map((n) => Math.min(64, n));
}

export function fromQuery(query: string): Settings {
  const q = new URLSearchParams(query);
  const d = DEFAULTS;
  return {
    dataset: pick(q.get('dataset'), DATASETS, d.dataset),
    noise: num(q.get('noise'), d.noise, 0, 0.5),
    trainShare: num(q.get('train'), d.trainShare, 0.1, 0.9),
    points: Math.round(num(q.get('points'), d.points, 50, 2000)),
    seed: Math.round(num(q.get('seed'), d.seed, 0, 1e9)),
    hidden: parseHidden(q.get('hidden'), d.hidden),
    activation: pick(q.get('act'), ACTIVATIONS, d.activation),
    loss: pick(q.get('loss'), LOSSES, d.loss),
    optimizer: pick(q.get('opt'), OPTIMIZERS, d.optimizer),
    lr: num(q.get('lr'), d.lr, 1e-5, 10),
    batchSize: Math.round(num(q.get('batch'), d.batchSize, 1, 512)),
    l2: num(q.get('l2'), d.l2, 0, 1),
    dropout: num(q.get('dropout'), d.dropout, 0, 0.9),
  };
}

export function toQuery(s: Settings): string {
  const q = new URLSearchParams({
    dataset: s.dataset, noise: String(s.noise), train: String(s.trainShare), points: String(s.points), seed: String(s.seed),
    hidden: s.hidden.length ? s.hidden.join(',') : '0', act: s.activation, loss: s.loss, opt: s.optimizer,
    lr: String(s.lr), batch: String(s.batchSize), l2: String(s.l2), dropout: String(s.dropout),
  });
  return q.toString();
}

/** The layer sizes of the network, input to output: 2-16-16-1 (2 outputs for cross-entropy). */
export function layerSizes(s: Settings): number[] {
  return [2, ...s.hidden, s.loss === 'ce' ? 2 : 1];
}

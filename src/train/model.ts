/**
 * Classifiers built from a small JSON config, so a checkpoint can say which model its
 * weights belong to and `eval`/`predict` can rebuild it:
 *
 *   { "kind": "mlp", "layers": [784, 128, 10], "activation": "relu" }
 *   { "kind": "cnn", "imageShape": [1, 28, 28], "classes": 10, "channels": [8, 16], "hidden": 64 }
 *
 * Either way the model is `Classifier { layers: Sequential }`, so parameters are named
 * `layers.0.weight`, `layers.0.bias`, ... in the state dict, and the model maps flat
 * features [n, d] to logits [n, classes] (the CNN reshapes to [n, c, h, w] first).
 */
import { ValueError } from '../errors.js';
import {
  Conv2d, Dropout, Flatten, GELU, LeakyReLU, Linear, MaxPool2d, Module, ReLU, Sequential, Sigmoid, Tanh, type AnyModule,
} from '../nn/index.js';
import type { Tensor } from '../tensor/tensor.js';

export const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'gelu', 'leaky-relu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface MlpConfig {
  kind: 'mlp';
  /** Sizes from the input features to the number of classes: [784, 128, 10]. */
  layers: number[];
  activation: Activation;
  /** Dropout after each hidden activation; 0 or absent for none. */
  dropout?: number;
}

export interface CnnConfig {
  kind: 'cnn';
  imageShape: [number, number, number];
  classes: number;
  activation: Activation;
  /** Output channels of the two 3×3 convolutions (each followed by 2×2 max-pooling). */
  channels: [number, number];
  /** Width of the hidden fully connected layer. */
  hidden: number;
  dropout?: number;
}

export type ModelConfig = MlpConfig | CnnConfig;

function activation(name: Activation): AnyModule {
  switch (name) {
    case 'relu': return new ReLU();
    case 'tanh': return new Tanh();
    case 'sigmoid': return new Sigmoid();
    case 'gelu': return new GELU();
    case 'leaky-relu': return new LeakyReLU(0.01);
  }
}

/** [n, c·h·w] → [n, c, h, w]: lets every model take flat features. */
export class Unflatten extends Module {
  constructor(readonly shape: readonly number[]) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return x.reshape([x.shape[0]!, ...this.shape]);
  }

  override extraRepr(): string {
    return `shape=[${this.shape.join(', ')}]`;
  }
}

export class Classifier extends Module {
  layers: Sequential;

  constructor(modules: AnyModule[]) {
    super();
    this.layers = new Sequential(...modules);
  }

  override forward(x: Tensor): Tensor {
    return this.layers.call(x) as Tensor;
  }
}

/** Input features and number of classes of a config. */
export function modelShape(cfg: ModelConfig): { features: number; classes: number } {
  if (cfg.kind === 'mlp') return { features: cfg.layers[0]!, classes: cfg.layers[cfg.layers.length - 1]! };
  const [c, h, w] = cfg.imageShape;
  return { features: c * h * w, classes: cfg.classes };
}

/** Builds the model; its initial weights come from the default generator (seed it first). */
export function buildModel(cfg: ModelConfig): Classifier {
  const drop = cfg.dropout ?? 0;
  if (!(drop >= 0 && drop < 1)) throw new ValueError(`model: dropout must be in [0, 1), got ${drop}`);
  const mods: AnyModule[] = [];
  if (cfg.kind === 'mlp') {
    const sizes = cfg.layers;
    if (sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s > 0)) {
      throw new ValueError(`model: layers must be at least two positive integers (inputs, ..., classes), got [${sizes.join(', ')}]`);
    }
    for (let i = 0; i + 1 < sizes.length; i++) {
      mods.push(new Linear(sizes[i]!, sizes[i + 1]!));
      if (i + 2 < sizes.length) {
        mods.push(activation(cfg.activation));
        if (drop > 0) mods.push(new Dropout(drop));
      }
    }
    return new Classifier(mods);
  }
  const [c, h, w] = cfg.imageShape;
  const [c1, c2] = cfg.channels;
  if (h < 4 || w < 4) throw new ValueError(`model: the CNN needs images of at least 4×4, got ${h}×${w}`);
  const flat = c2 * Math.floor(Math.floor(h / 2) / 2) * Math.floor(Math.floor(w / 2) / 2);
  mods.push(
    new Unflatten([c, h, w]),
    new Conv2d(c, c1, 3, { padding: 1 }), activation(cfg.activation), new MaxPool2d(2),
    new Conv2d(c1, c2, 3, { padding: 1 }), activation(cfg.activation), new MaxPool2d(2),
    new Flatten(),
    new Linear(flat, cfg.hidden), activation(cfg.activation),
  );
  if (drop > 0) mods.push(new Dropout(drop));
  mods.push(new Linear(cfg.hidden, cfg.classes));
  return new Classifier(mods);
}

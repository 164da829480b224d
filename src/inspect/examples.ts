/**
 * The seeds' networks, built from nn modules: the 2-3-1 worked example (chapter 16.5) that
 * explain and graph show by default, and the 10-20-20-20-20-20-1 gradient-flow experiment.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { Sequential } from '../nn/modules/container.js';
import { Identity, Linear } from '../nn/modules/linear.js';
import { LeakyReLU, ReLU, Sigmoid, Tanh } from '../nn/modules/activation.js';
import { xavierNormal_ } from '../nn/init.js';
import type { AnyModule } from '../nn/module.js';
import { tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ActivationKind, ExplainLossKind } from './explain-math.js';
import { linearBlocks, watchForward } from './layers.js';
import { binaryCrossEntropy, crossEntropy, mseLoss } from '../nn/functional/loss.js';

export function activationModule(kind: ActivationKind, negativeSlope = 0.01): AnyModule {
  switch (kind) {
    case 'sigmoid':
      return new Sigmoid();
    case 'tanh':
      return new Tanh();
    case 'relu':
      return new ReLU();
    case 'leakyRelu':
      return new LeakyReLU(negativeSlope);
    case 'identity':
      return new Identity();
  }
}

export interface WorkedExample {
  model: Sequential;
  x: Tensor;
  y: Tensor;
  lr: number;
  loss: ExplainLossKind;
}

/**
 * The seeds' 2-3-1 example in float64: W¹ = [[0.15, 0.20], [0.25, 0.30], [0.35, 0.40]], b¹ = 0.35,
 * W² = [[0.40, 0.45, 0.50]], b² = 0.60, x = (0.05, 0.10), y = 0.01, η = 0.5, ½-MSE.
 * `hidden` swaps the hidden activation. For 'bce' the output stays a sigmoid; for 'ce' the
 * output layer gets a second unit (W² row [0.55, 0.60, 0.65]), no activation (softmax is in the
 * loss) and the target is class 0.
 */
export function workedExample(opts: { loss?: ExplainLossKind; hidden?: ActivationKind } = {}): WorkedExample {
  const loss = opts.loss ?? 'half-mse';
  const f64 = { dtype: 'float64' as const };
  const l1 = new Linear(2, 3, f64);
  const ce = loss === 'ce';
  const l2 = new Linear(3, ce ? 2 : 1, f64);
  noGrad(() => {
    l1.weight.copy_(tensor([[0.15, 0.2], [0.25, 0.3], [0.35, 0.4]], f64));
    l1.bias!.copy_(tensor([0.35, 0.35, 0.35], f64));
    l2.weight.copy_(tensor(ce ? [[0.4, 0.45, 0.5], [0.55, 0.6, 0.65]] : [[0.4, 0.45, 0.5]], f64));
    l2.bias!.copy_(tensor(ce ? [0.6, 0.6] : [0.6], f64));
  });
  const model = ce
    ? new Sequential(l1, activationModule(opts.hidden ?? 'sigmoid'), l2)
    : new Sequential(l1, activationModule(opts.hidden ?? 'sigmoid'), l2, new Sigmoid());
  const x = tensor([[0.05, 0.1]], f64);
  const y = ce ? tensor([0], { dtype: 'int32' }) : tensor([[0.01]], f64);
  return { model, x, y, lr: 0.5, loss };
}

export interface GradflowNetwork {
  model: Sequential;
  x: Tensor;
  y: Tensor;
}

/**
 * The seeds' vanishing-gradient experiment: 10-20-20-20-20-20-1, no biases, Xavier-normal
 * weights (std √(2/(in + out)), as the seeds' np.random.randn · √(2/(n_in + n_out))), one
 * random example, ½(a − y)². The seeds put the activation after every layer, the output
 * included; that is what killed their ReLU run. `outputActivation` chooses the output's.
 */
export function gradflowNetwork(opts: {
  activation: ActivationKind;
  outputActivation?: ActivationKind;
  seed?: number;
  batch?: number;
  sizes?: number[];
}): GradflowNetwork {
  const sizes = opts.sizes ?? [10, 20, 20, 20, 20, 20, 1];
  const gen = new Generator(opts.seed ?? 0);
  const mods: AnyModule[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const lin = new Linear(sizes[i]!, sizes[i + 1]!, { bias: false, dtype: 'float64' });
    noGrad(() => xavierNormal_(lin.weight, 1, gen));
    mods.push(lin);
    const last = i + 2 === sizes.length;
    const act = last ? (opts.outputActivation ?? opts.activation) : opts.activation;
    if (act !== 'identity') mods.push(activationModule(act));
  }
  const batch = opts.batch ?? 1;
  const x = tensor(Array.from({ length: batch }, () => Array.from({ length: sizes[0]! }, () => gen.normal())), { dtype: 'float64' });
  const y = tensor(Array.from({ length: batch }, () => Array.from({ length: sizes[sizes.length - 1]! }, () => gen.normal())), { dtype: 'float64' });
  return { model: new Sequential(...mods), x, y };
}

const SUPERSCRIPT = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
const sup = (n: number): string => [...String(n)].map((c) => SUPERSCRIPT[Number(c)]!).join('');

export interface TracedLoss {
  loss: Tensor;
  model: AnyModule;
  /** x, y and every zˡ and aˡ, with their gradients retained: the names a graph drawing shows. */
  tensors: Record<string, Tensor>;
}

/**
 * Runs `model` on (x, y) with `loss`, keeps every zˡ and aˡ with its gradient, and runs backward
 * (keeping the graph, so that it can still be drawn with the tensors its ops saved).
 */
export function traceLoss(model: AnyModule, x: Tensor, y: Tensor, loss: ExplainLossKind): TracedLoss {
  const tensors: Record<string, Tensor> = { x, y };
  const blocks = linearBlocks(model, 'traceLoss');
  const unwatch = blocks.flatMap((b) => [
    watchForward(b.linear, (z) => void (tensors[`z${sup(b.index)}`] = z.retainGrad())),
    ...(b.activationModule ? [watchForward(b.activationModule, (a) => void (tensors[`a${sup(b.index)}`] = a.retainGrad()))] : []),
  ]);
  let out: Tensor;
  try {
    out = model.call(x) as Tensor;
  } finally {
    for (const u of unwatch) u();
  }
  const L =
    loss === 'half-mse' ? mseLoss(out, y, { reduction: 'sum' }).mul(0.5 / out.shape[0]!)
      : loss === 'mse' ? mseLoss(out, y)
        : loss === 'bce' ? binaryCrossEntropy(out, y)
          : crossEntropy(out, y);
  tensors.loss = L;
  L.backward(undefined, { retainGraph: true });
  return { loss: L, model, tensors };
}

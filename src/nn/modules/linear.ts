import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { checkLayerSizes } from '../../tensor/checks.js';
import type { DType } from '../../tensor/dtype.js';
import { defaultGenerator, type Generator } from '../../tensor/random.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { dropout, fusedLinear, linear } from '../functional/basic.js';
import { kaimingUniform_, uniform_ } from '../init.js';
import { Module, type AnyModule } from '../module.js';
import { Parameter } from '../parameter.js';
import { declareSignature, signature, type Args } from '../../signature.js';

export interface FactoryOptions {
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

/**
 * y = x·Wᵀ + b, W of shape [outFeatures, inFeatures]. PyTorch's default initialisation:
 * W from kaiming_uniform(a = √5), i.e. U(−1/√in, 1/√in), and b from U(−1/√in, 1/√in).
 */
/** The device of a layer made in PyTorch's positional order: layers are made on the CPU (move them with .to(device)). */
type Cpu = 'cpu' | null;

const LINEAR = declareSignature('nn.Linear', signature('Linear', 'inFeatures:int outFeatures:int bias?:bool device="cpu" dtype?:dtype'));

export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(...args: Args<[inFeatures: number, outFeatures: number], [bias: boolean, device: Cpu, dtype: DType], FactoryOptions & { bias?: boolean }>) {
    super();
    const opts = LINEAR.parse<{ inFeatures: number; outFeatures: number; bias?: boolean; dtype?: DType }>(args);
    const { inFeatures, outFeatures } = opts;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const dtype = checkLayerSizes('Linear', { inFeatures, outFeatures }, [outFeatures, inFeatures], opts.dtype);
    this.weight = new Parameter(zeros([outFeatures, inFeatures], { dtype }));
    this.bias = opts.bias ?? true ? new Parameter(zeros([outFeatures], { dtype })) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  override forward(x: Tensor): Tensor {
    this.checkInput(x);
    return linear(x, this.weight, this.bias, () => this.label());
  }

  /** This forward and a following activation module as one linear op (see Module.fuseWith). */
  override fuseWith(next: AnyModule): ((x: Tensor) => Tensor) | null {
    const act = next.fusedActivation();
    if (act === null || !this.runsOwnForward(Linear)) return null;
    return (x) => {
      this.checkInput(x);
      return fusedLinear(x, this.weight, this.bias, act, () => this.label());
    };
  }

  private checkInput(x: Tensor): void {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new ShapeError(
        `${this.label()}: input has ${x.ndim === 0 ? 0 : x.shape[x.ndim - 1]} features (shape ${fmtShape(x.shape)}) but inFeatures is ${this.inFeatures}`,
      );
    }
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Returns its input. */
const IDENTITY = declareSignature('nn.Identity', signature('Identity', '', []));

/** Takes no arguments (PyTorch's Identity ignores any it is given; chainrule refuses them). */
export class Identity extends Module {
  constructor(...args: []) {
    super();
    IDENTITY.parse(args);
  }

  override forward(x: Tensor): Tensor {
    return x;
  }
}

const FLATTEN = declareSignature('nn.Flatten', signature('Flatten', 'startDim?:int endDim?:int'));

/** Flattens dims startDim..endDim into one (by default all but the batch dim). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(...args: Args<[], [startDim: number, endDim: number], { startDim?: number; endDim?: number }>) {
    super();
    const o = FLATTEN.parse<{ startDim?: number; endDim?: number }>(args);
    this.startDim = o.startDim ?? 1;
    this.endDim = o.endDim ?? -1;
  }

  override forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/**
 * Zeroes each element with probability p in training mode and scales the rest by 1/(1−p);
 * the identity in eval mode. The mask comes from `generator` (default: the seeded default).
 */
const DROPOUT = declareSignature('nn.Dropout', signature('Dropout', 'p?:num inplace=false', ['generator']));

export class Dropout extends Module {
  readonly p: number;
  readonly generator: Generator;

  constructor(...args: Args<[], [p: number, inplace: false], { p?: number; generator?: Generator }>) {
    super();
    const o = DROPOUT.parse<{ p?: number; generator?: Generator }>(args);
    const p = (this.p = o.p ?? 0.5);
    this.generator = o.generator ?? defaultGenerator;
    if (!(p >= 0 && p <= 1)) throw new ValueError(`Dropout: probability has to be between 0 and 1, but got ${p}`);
  }

  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.generator);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

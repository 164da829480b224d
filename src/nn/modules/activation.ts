import type { Tensor } from '../../tensor/tensor.js';
import type { Activation } from '../../ops/rules/epilogue.js';
import { Module } from '../module.js';
import { declareSignature, signature, type Args } from '../../signature.js';

const sig = (name: string, spec: string) => declareSignature(`nn.${name}`, signature(name, spec));
const RELU = sig('ReLU', 'inplace=false');
const LEAKY = sig('LeakyReLU', 'negativeSlope?:num inplace=false');
const NONE = { Sigmoid: sig('Sigmoid', ''), Tanh: sig('Tanh', '') };
const GELU_SIG = sig('GELU', 'approximate?:str');
const ELU_SIG = sig('ELU', 'alpha?:num inplace=false');
const SOFTPLUS = sig('Softplus', 'beta?:num threshold?:num');
const SOFTMAX = sig('Softmax', 'dim:int');
const LOG_SOFTMAX = sig('LogSoftmax', 'dim:int');

/** Elementwise activations as modules, for Sequential. */

// ReLU, Sigmoid, Tanh and exact GELU name themselves for a Linear or Conv2d before them to fuse
// (Module.fuseWith), as long as they run their own forward.

export class ReLU extends Module {
  constructor(...args: Args<[], [inplace: false], Record<string, never>>) {
    super();
    RELU.parse(args);
  }

  override forward(x: Tensor): Tensor {
    return x.relu();
  }

  override fusedActivation(): Activation | null {
    return this.runsOwnForward(ReLU) ? 'relu' : null;
  }
}

export class LeakyReLU extends Module {
  readonly negativeSlope: number;

  constructor(...args: Args<[], [negativeSlope: number, inplace: false], { negativeSlope?: number }>) {
    super();
    this.negativeSlope = LEAKY.parse<{ negativeSlope?: number }>(args).negativeSlope ?? 0.01;
  }

  override forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }

  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

export class Sigmoid extends Module {
  constructor(...args: []) {
    super();
    NONE.Sigmoid.parse(args);
  }

  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }

  override fusedActivation(): Activation | null {
    return this.runsOwnForward(Sigmoid) ? 'sigmoid' : null;
  }
}

export class Tanh extends Module {
  constructor(...args: []) {
    super();
    NONE.Tanh.parse(args);
  }

  override forward(x: Tensor): Tensor {
    return x.tanh();
  }

  override fusedActivation(): Activation | null {
    return this.runsOwnForward(Tanh) ? 'tanh' : null;
  }
}

export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(...args: Args<[], [approximate: 'none' | 'tanh'], { approximate?: 'none' | 'tanh' }>) {
    super();
    this.approximate = GELU_SIG.parse<{ approximate?: 'none' | 'tanh' }>(args).approximate ?? 'none';
  }

  override forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }

  /** The exact (erf) form fuses; the tanh approximation runs as its own ops. */
  override fusedActivation(): Activation | null {
    return this.approximate === 'none' && this.runsOwnForward(GELU) ? 'gelu' : null;
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class ELU extends Module {
  readonly alpha: number;

  constructor(...args: Args<[], [alpha: number, inplace: false], { alpha?: number }>) {
    super();
    this.alpha = ELU_SIG.parse<{ alpha?: number }>(args).alpha ?? 1;
  }

  override forward(x: Tensor): Tensor {
    return x.elu(this.alpha);
  }

  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;

  constructor(...args: Args<[], [beta: number, threshold: number], { beta?: number; threshold?: number }>) {
    super();
    const o = SOFTPLUS.parse<{ beta?: number; threshold?: number }>(args);
    this.beta = o.beta ?? 1;
    this.threshold = o.threshold ?? 20;
  }

  override forward(x: Tensor): Tensor {
    return x.softplus(this.beta, this.threshold);
  }

  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

export class Softmax extends Module {
  readonly dim: number;

  constructor(...args: Args<[dim: number], [], { dim: number }> | [{ dim: number }]) {
    super();
    this.dim = SOFTMAX.parse<{ dim: number }>(args).dim;
  }

  override forward(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

export class LogSoftmax extends Module {
  readonly dim: number;

  constructor(...args: Args<[dim: number], [], { dim: number }> | [{ dim: number }]) {
    super();
    this.dim = LOG_SOFTMAX.parse<{ dim: number }>(args).dim;
  }

  override forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

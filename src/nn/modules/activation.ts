import type { Tensor } from '../../tensor/tensor.js';
import type { Activation } from '../../ops/rules/epilogue.js';
import { Module } from '../module.js';

/** Elementwise activations as modules, for Sequential. */

// ReLU, Sigmoid, Tanh and exact GELU name themselves for a Linear or Conv2d before them to fuse
// (Module.fuseWith), as long as they run their own forward.

export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return x.relu();
  }

  override fusedActivation(): Activation | null {
    return this.runsOwnForward(ReLU) ? 'relu' : null;
  }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }

  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }

  override fusedActivation(): Activation | null {
    return this.runsOwnForward(Sigmoid) ? 'sigmoid' : null;
  }
}

export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }

  override fusedActivation(): Activation | null {
    return this.runsOwnForward(Tanh) ? 'tanh' : null;
  }
}

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
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
  constructor(readonly alpha = 1) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return x.elu(this.alpha);
  }

  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

export class Softplus extends Module {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return x.softplus(this.beta, this.threshold);
  }

  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

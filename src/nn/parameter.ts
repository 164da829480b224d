import { Tensor } from '../tensor/tensor.js';

/**
 * A tensor that is a module's learnable state: a leaf that requires grad by default, and
 * that Module registers when it is assigned to a field.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    super(data.data, data.shape, data.dtype);
    if (requiresGrad) this.requiresGrad_(true);
  }
}

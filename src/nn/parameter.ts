import { Tensor } from '../tensor/tensor.js';

/**
 * A tensor that is a module's learnable state: a leaf that requires grad by default, and
 * that Module registers when it is assigned to a field.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    // A parameter shares its tensor's storage (and version counter), as PyTorch's does; a strided
    // view becomes a contiguous copy first, since optimizers update parameters row-major.
    const c = data.rowMajorTensor();
    super(c.storage, c.shape, c.dtype, undefined, c.offset);
    if (requiresGrad) this.requiresGrad_(true);
  }
}

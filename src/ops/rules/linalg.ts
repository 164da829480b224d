import { matmulK } from '../kernels.js';
import type { OpAttrs, OpRule } from '../registry.js';
import { unbroadcast } from '../unbroadcast.js';
import { broadcastShapes } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { matmulT } from '../functional.js';

/**
 * C = op(A)·op(B) on matrices (≥ 2-D, batch dims broadcast). The transpose flags let the
 * backward pass use Aᵀ and Bᵀ without materialising them:
 *   C = A B    → dA = G Bᵀ,   dB = Aᵀ G
 *   C = A Bᵀ   → dA = G B,    dB = Gᵀ A
 *   C = Aᵀ B   → dA = B Gᵀ,   dB = A G
 *   C = Aᵀ Bᵀ  → dA = Bᵀ Gᵀ,  dB = Gᵀ Aᵀ
 */
export const linalgRules: { matmul: OpRule<OpAttrs['matmul']> } = {
  matmul: {
    forward: (c, [a, b], { transA, transB }) => {
      c.save(a!, b!);
      const batch = broadcastShapes('matmul', a!.shape.slice(0, -2), b!.shape.slice(0, -2));
      return matmulK(a!, b!, transA, transB, batch);
    },
    backward: (c, g, { transA, transB }) => {
      const [a, b] = c.saved as [Tensor, Tensor];
      let ga: Tensor | null = null;
      let gb: Tensor | null = null;
      if (c.needsInputGrad[0]) {
        ga = !transA ? matmulT(g, b, false, !transB) : matmulT(b, g, transB, true);
        ga = unbroadcast(ga, c.inputShapes[0]!);
      }
      if (c.needsInputGrad[1]) {
        gb = !transB ? matmulT(a, g, !transA, false) : matmulT(g, a, true, transA);
        gb = unbroadcast(gb, c.inputShapes[1]!);
      }
      return [ga, gb];
    },
  },
};

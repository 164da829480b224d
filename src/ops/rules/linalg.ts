import { matmulK, matrixLayout } from '../kernels.js';
import type { OpAttrs, OpRule } from '../registry.js';
import { unbroadcast } from '../unbroadcast.js';
import { broadcastShapes } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { matmulT } from '../internal.js';

/**
 * C = op(A)·op(B) on matrices (≥ 2-D, batch dims broadcast). The transpose flags let the
 * backward pass use Aᵀ and Bᵀ without materialising them:
 *   C = A B    → dA = G Bᵀ,   dB = Aᵀ G
 *   C = A Bᵀ   → dA = G B,    dB = Gᵀ A
 *   C = Aᵀ B   → dA = B Gᵀ,   dB = A G
 *   C = Aᵀ Bᵀ  → dA = Bᵀ Gᵀ,  dB = Gᵀ Aᵀ
 */
const NO_BATCH: readonly number[] = [];

export const linalgRules: { matmul: OpRule<OpAttrs['matmul']> } = {
  matmul: {
    // Transposed views go to gemm as transpose flags (see matmulK), so x.t() costs no copy.
    strided: true,
    forward: (c, [a, b], { transA, transB }) => {
      c.save(a!, b!);
      const batch = a!.ndim === 2 && b!.ndim === 2 ? NO_BATCH : broadcastShapes('matmul', a!.shape.slice(0, -2), b!.shape.slice(0, -2));
      return matmulK(a!, b!, transA, transB, batch);
    },
    backward: (c, g, { transA, transB }) => {
      const [a, b] = c.saved as [Tensor, Tensor];
      // An input that is a transposed view (w.t()) gets its gradient as a transposed view of a
      // row-major product, (X·Y)ᵀ = Yᵀ·Xᵀ: the view op's backward then transposes it back for
      // free, so neither direction copies a transpose.
      const like = (t: Tensor, x: Tensor, y: Tensor, tx: boolean, ty: boolean): Tensor =>
        matrixLayout(t) === 'cols' ? matmulT(y, x, !ty, !tx).transpose(-1, -2) : matmulT(x, y, tx, ty);
      let ga: Tensor | null = null;
      let gb: Tensor | null = null;
      if (c.needsInputGrad[0]) {
        ga = !transA ? like(a, g, b, false, !transB) : like(a, b, g, transB, true);
        ga = unbroadcast(ga, c.inputShapes[0]!);
      }
      if (c.needsInputGrad[1]) {
        gb = !transB ? like(b, a, g, !transA, false) : like(b, g, a, true, transA);
        gb = unbroadcast(gb, c.inputShapes[1]!);
      }
      return [ga, gb];
    },
  },
};

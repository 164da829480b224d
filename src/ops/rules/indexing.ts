import { gatherK, indexAddK, indexSelectK, scatterAddK, zerosK } from '../kernels.js';
import type { OpAttrs, OpRule } from '../registry.js';
import type { Tensor } from '../../tensor/tensor.js';
import { gather, indexAdd, indexSelect, scatterAdd } from '../functional.js';
import { sliceScatter } from '../internal.js';

type Rules<K extends keyof OpAttrs> = { [P in K]: OpRule<OpAttrs[P]> };

/**
 * Gather/scatterAdd and indexSelect/indexAdd are each other's adjoints, so their backward
 * rules are written with one another. Index tensors never get gradients.
 */
export const indexingRules: Rules<'indexSelect' | 'indexAdd' | 'gather' | 'scatterAdd'> = {
  indexSelect: {
    forward: (c, [x, index], { dim }) => {
      c.save(index!);
      return indexSelectK(x!, dim, index!);
    },
    backward: (c, g, { dim }) => {
      const index = c.saved[0]!;
      return [indexAdd(zerosK(c.inputShapes[0]!, g.dtype, g), dim, index, g), null];
    },
  },
  indexAdd: {
    forward: (c, [self, index, src], { dim }) => {
      c.save(index!);
      return indexAddK(self!, dim, index!, src!);
    },
    backward: (c, g, { dim }) => [g, null, c.needsInputGrad[2] ? indexSelect(g, dim, c.saved[0]!) : null],
  },
  gather: {
    forward: (c, [x, index], { dim }) => {
      c.save(index!);
      return gatherK(x!, dim, index!);
    },
    backward: (c, g, { dim }) => [scatterAdd(zerosK(c.inputShapes[0]!, g.dtype, g), dim, c.saved[0]!, g), null],
  },
  scatterAdd: {
    forward: (c, [self, index, src], { dim }) => {
      c.save(index!);
      return scatterAddK(self!, dim, index!, src!);
    },
    backward: (c, g, { dim }) => {
      const index = c.saved[0]! as Tensor;
      const srcShape = c.inputShapes[2]!;
      let gs: Tensor | null = null;
      if (c.needsInputGrad[2]) {
        gs = gather(g, dim, index);
        // src may be larger than index; the positions index does not cover get no gradient.
        if (srcShape.some((s, i) => s !== index.shape[i])) {
          let padded = gs;
          srcShape.forEach((s, i) => {
            if (s !== index.shape[i]) padded = sliceScatter(padded, padded.shape.map((d, j) => (j === i ? s : d)), i, 0, 1);
          });
          gs = padded;
        }
      }
      return [g, null, gs];
    },
  },
};

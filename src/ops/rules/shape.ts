import { catK, expandK, permuteK, sliceK, sliceScatterK } from '../kernels.js';
import type { OpAttrs, OpRule } from '../registry.js';
import { unbroadcast } from '../unbroadcast.js';
import { Tensor } from '../../tensor/tensor.js';
import { sliceScatter } from '../internal.js';

type Rules<K extends keyof OpAttrs> = { [P in K]: OpRule<OpAttrs[P]> };

export const shapeRules: Rules<'reshape' | 'permute' | 'expand' | 'cat' | 'slice' | 'sliceScatter'> = {
  reshape: {
    // Same elements in the same order: the result shares the input's data.
    forward: (_c, [x], { shape }) => new Tensor(x!.data, shape, x!.dtype),
    backward: (c, g) => [g.reshape([...c.inputShapes[0]!])],
  },
  permute: {
    forward: (_c, [x], { perm }) => permuteK(x!, perm),
    backward: (_c, g, { perm }) => {
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => (inverse[p] = i));
      return [g.permute(inverse)];
    },
  },
  expand: {
    forward: (_c, [x], { shape }) => expandK(x!, shape),
    backward: (c, g) => [unbroadcast(g, c.inputShapes[0]!)],
  },
  cat: {
    forward: (_c, xs, { dim }) => catK(xs, dim),
    backward: (c, g, { dim }) => {
      let start = 0;
      return c.inputShapes.map((s, i) => {
        const len = s[dim]!;
        const piece = c.needsInputGrad[i] ? g.narrow(dim, start, len) : null;
        start += len;
        return piece;
      });
    },
  },
  slice: {
    forward: (_c, [x], { dim, start, end, step }) => sliceK(x!, dim, start, end, step),
    backward: (c, g, { dim, start, step }) => [sliceScatter(g, [...c.inputShapes[0]!], dim, start, step)],
  },
  sliceScatter: {
    forward: (_c, [g], { shape, dim, start, step }) => sliceScatterK(g!, shape, dim, start, step),
    backward: (c, g, { dim, start, step }) => {
      const len = c.inputShapes[0]![dim]!;
      return [g.slice(dim, start, start + len * step, step)];
    },
  },
};

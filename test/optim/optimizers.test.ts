import { describe, expect, it } from 'vitest';
import { expectClose, fixture, makeOptimizer, makeProblem, train } from './helpers.js';

// Each optimizer's parameters after 20 steps on the fixture problem, against PyTorch 1.13
// (float64, single-tensor implementation). Differences can only come from rounding order
// (PyTorch's vectorised CPU kernels use fused multiply-adds), hence 1e-9 relative, not equality.
const RTOL = 1e-9;

describe('optimizers match PyTorch 1.13 after 20 steps', () => {
  for (const c of fixture.optimizers) {
    it(`${c.name}: ${c.cls} ${JSON.stringify(c.options)}${c.groups ? ` groups ${JSON.stringify(c.groups)}` : ''}`, () => {
      const { params, loss } = makeProblem();
      const opt = makeOptimizer(c, params);
      const losses = train(opt, loss, fixture.steps);
      expectClose(losses, c.losses, RTOL, 'losses');
      params.forEach((p, i) => expectClose(p.typedData, c.params[i]!, RTOL, `P${i + 1}`));
    });
  }

  it('the fixture covers every configuration the brief asks for', () => {
    const names = fixture.optimizers.map((c) => c.name);
    for (const n of ['sgd_plain', 'sgd_momentum', 'sgd_dampening', 'sgd_nesterov', 'sgd_weight_decay', 'adam_plain',
      'adam_weight_decay', 'adam_amsgrad', 'adamw', 'rmsprop_plain', 'rmsprop_centered', 'rmsprop_momentum',
      'adagrad_plain', 'sgd_two_groups']) {
      expect(names).toContain(n);
    }
  });
});

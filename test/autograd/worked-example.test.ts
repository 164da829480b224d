import { describe, expect, it } from 'vitest';
import { workedExample } from '../../examples/worked-example.js';

// The seeds' chapter 16.5 numbers, to the precision the text prints them.
describe("the seeds' worked example (2-3-1 sigmoid, ½-MSE, float64)", () => {
  const r = workedExample(0.5);
  const close = (a: number, b: number, places: number) => expect(Math.abs(a - b)).toBeLessThan(0.5 * 10 ** -places);

  it('forward loss', () => close(r.loss, 0.31455, 6));
  it('output error δ²', () => close(r.delta2.item(), 0.125394, 6));
  it('dL/dW²', () => [0.074393, 0.074846, 0.075298].forEach((v, i) => close(r.grads.W2.typedData[i]!, v, 6)));
  it('dL/db¹ = δ¹', () => {
    [0.012103, 0.013577, 0.015041].forEach((v, i) => close(r.grads.b1.typedData[i]!, v, 6));
    expect(r.delta1.tolist()).toEqual(r.grads.b1.tolist());
  });
  it('dL/dW¹ first row', () => {
    close(r.grads.W1.typedData[0]!, 0.00060516, 8);
    close(r.grads.W1.typedData[1]!, 0.00121031, 8);
  });
  it('one SGD step with η = 0.5 lowers the loss to 0.297599', () => close(r.lossAfter, 0.297599, 6));
});

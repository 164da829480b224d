import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { compareWithPyTorch } from '../../examples/pytorch-weights/load_in_chainrule.js';

// The examples/pytorch-weights pair: files written by save_from_pytorch.py (PyTorch 1.13, committed
// in test/fixtures/pytorch-weights) load by name into chainrule and give PyTorch's outputs.
describe('examples/pytorch-weights', () => {
  it("PyTorch's trained state dict loads strictly and matches PyTorch's eval outputs", async () => {
    const dir = fileURLToPath(new URL('../fixtures/pytorch-weights', import.meta.url));
    expect(await compareWithPyTorch(dir)).toBeLessThan(1e-5);
  });
});

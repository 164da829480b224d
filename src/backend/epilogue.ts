import type { FloatArray, GemmArgs } from './types.js';

/**
 * GemmArgs' linear-layer epilogue for a backend whose kernel knows only `accumulate`: C is filled
 * with the bias, the product accumulated into it, then `relu` runs on C. The native backend does
 * the same inside each thread's block of C instead (no separate passes over it).
 * Returns false, before relu, when `gemm` declined the product: the caller then declines too, and
 * the dispatcher's reference gemm starts over from the untouched args (C is fully rewritten).
 */
export function gemmWithEpilogue(args: GemmArgs, gemm: (args: GemmArgs) => boolean | void, relu: (x: FloatArray) => void): boolean {
  const { bias, m, n, c, cOffset } = args;
  if (bias && args.accumulate) throw new Error('gemm: a bias is never combined with accumulate');
  if (bias && m > 0 && n > 0) {
    const end = cOffset + m * n;
    c.set(bias.subarray(0, n), cOffset);
    // Doubling copies fill the remaining rows (memcpy speed).
    for (let filled = n; filled < m * n; filled *= 2) c.copyWithin(cOffset + filled, cOffset, Math.min(cOffset + filled, end - filled));
  }
  if (gemm({ ...args, accumulate: args.accumulate || !!bias, bias: null, relu: false }) === false) return false;
  if (args.relu && m > 0 && n > 0) relu(c.subarray(cOffset, cOffset + m * n));
  return true;
}

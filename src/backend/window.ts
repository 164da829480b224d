import type { WindowArgs } from './types.js';

/** Output size of a sliding window along one axis (floor mode), as PyTorch's conv and pooling. */
export function windowCount(size: number, k: number, stride: number, pad: number, dilation: number): number {
  return Math.floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

/** A window geometry's numbers, and the output size it gives over an h×w plane. */
export function windowNumbers(h: number, w: number, g: WindowArgs) {
  const [kh, kw] = g.kernel as [number, number];
  const [sh, sw] = g.stride as [number, number];
  const [ph, pw] = g.padding as [number, number];
  const [dh, dw] = g.dilation as [number, number];
  return { kh, kw, sh, sw, ph, pw, dh, dw, oh: windowCount(h, kh, sh, ph, dh), ow: windowCount(w, kw, sw, pw, dw) };
}

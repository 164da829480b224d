/** Output size of a sliding window along one axis (floor mode), as PyTorch's conv and pooling. */
export function windowCount(size: number, k: number, stride: number, pad: number, dilation: number): number {
  return Math.floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

import type { BinaryKernel, CompareKernel, UnaryKernel } from '../types.js';

/**
 * Op codes of the wasm kernels; they mirror the constants at the top of assembly/elementwise.as.
 * The native backend has its own table (native/index.ts): neither reads the other's.
 */
export const UNARY_CODES: Partial<Record<UnaryKernel, number>> = {
  neg: 0, exp: 1, sqrt: 2, abs: 3, tanh: 4, sigmoid: 5, relu: 6, square: 7, expm1: 8, reciprocal: 9,
};

export const BINARY_CODES: Partial<Record<BinaryKernel, number>> = {
  add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, reluGrad: 6, sigmoidGrad: 7, tanhGrad: 8,
};

/** Comparison codes of the wasm compare kernel (assembly/elementwise.as). */
export const COMPARE_CODES: Record<CompareKernel, number> = { gt: 0, ge: 1, lt: 2, le: 3, eq: 4, ne: 5 };

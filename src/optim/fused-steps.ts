import type { AdamArgs, SgdArgs } from '../backend/types.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Fused optimizer updates a device module gives (one kernel per parameter instead of a chain of
 * tensor ops): registered by the device (chainrule/webgpu in initWebGPU()), looked up by Adam,
 * AdamW and SGD for a parameter on that device. Each writes the parameter and its state in
 * place, as the host's adamStep / sgdStep kernels, and returns false where it cannot take the
 * call (then the optimizer runs its tensor-op update).
 */
export interface FusedSteps {
  adamStep?(p: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, maxExpAvgSq: Tensor | null, a: Omit<AdamArgs, 'param' | 'grad' | 'expAvg' | 'expAvgSq' | 'maxExpAvgSq'>): boolean;
  sgdStep?(p: Tensor, grad: Tensor, momentumBuffer: Tensor | null, a: Omit<SgdArgs, 'param' | 'grad' | 'momentumBuffer'>): boolean;
}

const fused = new Map<string, FusedSteps>();

/** Registers (or replaces) a device's fused updates. */
export function registerFusedSteps(device: string, steps: FusedSteps): void {
  fused.set(device, steps);
}

/** The fused updates of a device, if it registered any. */
export function fusedSteps(device: string): FusedSteps | undefined {
  return fused.get(device);
}

/**
 * chainrule: tensors with reverse-mode automatic differentiation.
 *
 *   import { tensor } from 'chainrule';
 *   const x = tensor([1, 2, 3], { requiresGrad: true });
 *   x.pow(2).sum().backward();
 *   x.grad!.toArray(); // [2, 4, 6]
 *
 * This entry point is the browser-safe core: no Node built-ins are imported from here.
 */
export { Tensor, type NestedArray, type Hook, type RemovableHandle } from './tensor/tensor.js';
export type { DType } from './tensor/dtype.js';
export { promoteTypes } from './tensor/dtype.js';
export * from './tensor/creation.js';
export { Generator, manualSeed, defaultGenerator } from './tensor/random.js';
// Every op's function (add, matmul, sum, reshape, softmax, ...): see ops/define.ts.
export * from './ops/functional.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd/grad-mode.js';
export type { BackwardOptions } from './autograd/engine.js';
export { Function, FunctionCtx } from './autograd/function.js';
export { grad, vjp, hvp, jacobian, autogradGrad, type GradOptions } from './autograd/functional.js';
export { gradcheck, GradcheckError, type GradcheckOptions, type GradcheckResult } from './autograd/gradcheck.js';
export { Node, AccumulateGrad } from './autograd/node.js';
export { detectAnomaly, setDetectAnomaly, isAnomalyEnabled } from './autograd/anomaly.js';
export { backend, setBackend, referenceBackend, ready, backendName, type BackendChoice } from './backend/index.js';
export type { Backend } from './backend/types.js';
export * as nn from './nn/index.js';
export * as F from './nn/functional.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
// Safetensors bytes in memory (browser-safe); files on disk are save / load in chainrule/io.
export { saveToBytes, loadFromBytes, metadataFromBytes, type NamedTensors } from './io/tensors.js';
export { FormatError } from './io/errors.js';
export { ChainruleError, ShapeError, DTypeError, IndexError, AutogradError, ValueError, OpError, AllocationError, DeviceError, AnomalyError, type AnomalyInfo } from './errors.js';
export { setDefaultDevice, getDefaultDevice, type Device } from './tensor/device.js';

import { autogradGrad } from './autograd/functional.js';
import { runBackward } from './autograd/engine.js';
import { Function as AutogradFunction } from './autograd/function.js';
/** PyTorch's torch.autograd namespace. */
export const autograd = {
  grad: autogradGrad,
  backward: runBackward,
  Function: AutogradFunction,
};

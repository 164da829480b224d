/**
 * torch.optim in camelCase: optimizers that update parameters from their `.grad`, and
 * learning-rate schedulers. Browser-safe (no Node built-ins).
 *
 *     const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
 *     const sched = new optim.CosineAnnealingLR(opt, 100);
 *     for (...) { opt.zeroGrad(); loss().backward(); opt.step(); }  sched.step();
 */
export {
  Optimizer,
  type OptimizerOptions,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type ParamsInput,
  type ParamState,
  type Closure,
} from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { Adagrad, type AdagradOptions } from './adagrad.js';
export { LBFGS, type LBFGSOptions } from './lbfgs.js';
export { Adadelta, Adamax, NAdam, RAdam, type AdadeltaOptions, type AdamaxOptions, type NAdamOptions, type RAdamOptions } from './more.js';
export {
  LRScheduler,
  StepLR,
  MultiStepLR,
  ExponentialLR,
  CosineAnnealingLR,
  LinearLR,
  ReduceLROnPlateau,
  type ReduceLROnPlateauOptions,
  type SchedulerStateDict,
} from './lr-scheduler.js';
export { LambdaLR, OneCycleLR, CosineAnnealingWarmRestarts, SequentialLR, type OneCycleLROptions } from './schedulers-more.js';

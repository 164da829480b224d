import { ShapeError, fmtShape } from '../../errors.js';
import { checkFinite, checkLayerSizes, checkShape } from '../../tensor/checks.js';
import { full, ones, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { batchNorm, layerNorm } from '../functional/norm.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import type { FactoryOptions } from './linear.js';
import type { DType } from '../../tensor/dtype.js';
import { declareSignature, signature, type Args } from '../../signature.js';

const BN_SPEC = 'numFeatures:int eps?:num momentum?:num|null affine?:bool trackRunningStats?:bool device="cpu" dtype?:dtype';
const BATCHNORM = {
  BatchNorm1d: declareSignature('nn.BatchNorm1d', signature('BatchNorm1d', BN_SPEC)),
  BatchNorm2d: declareSignature('nn.BatchNorm2d', signature('BatchNorm2d', BN_SPEC)),
};
const LAYERNORM = declareSignature('nn.LayerNorm', signature('LayerNorm', 'normalizedShape:size eps?:num elementwiseAffine?:bool device="cpu" dtype?:dtype', ['bias']));

type BatchNormArgs = Args<
  [numFeatures: number],
  [eps: number, momentum: number | null, affine: boolean, trackRunningStats: boolean, device: 'cpu' | null, dtype: DType],
  BatchNormModuleOptions
>;

export interface BatchNormModuleOptions extends FactoryOptions {
  eps?: number;
  /** Weight of each new batch in the running averages; null for a cumulative average. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over the channel dim. Training mode normalises with the batch's mean
 * and biased variance and updates runningMean/runningVar (with the unbiased variance) and
 * numBatchesTracked; eval mode normalises with the running statistics.
 *
 * The buffers are registered under PyTorch's names (`running_mean`, `running_var`,
 * `num_batches_tracked`), so a PyTorch state dict loads by name; `runningMean`, `runningVar`
 * and `numBatchesTracked` are camelCase accessors for the same tensors. A state dict saved
 * with the camelCase keys (chainrule before 0.2) still loads (see Module.legacyStateKeys).
 */
abstract class BatchNormBase extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly numFeatures: number;

  constructor(...args: BatchNormArgs) {
    super();
    const opts = BATCHNORM[new.target.name as keyof typeof BATCHNORM].parse<BatchNormModuleOptions & { numFeatures: number }>(args);
    const numFeatures = (this.numFeatures = opts.numFeatures);
    const dtype = checkLayerSizes(new.target.name, { numFeatures }, [numFeatures], opts.dtype);
    this.eps = checkFinite(new.target.name, 'eps', opts.eps ?? 1e-5, { min: 0, minExclusive: true });
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (this.momentum !== null) checkFinite(new.target.name, 'momentum', this.momentum, { min: 0, max: 1 });
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    this.weight = this.affine ? new Parameter(ones([numFeatures], { dtype })) : null;
    this.bias = this.affine ? new Parameter(zeros([numFeatures], { dtype })) : null;
    this.registerBuffer('running_mean', this.trackRunningStats ? zeros([numFeatures], { dtype }) : null);
    this.registerBuffer('running_var', this.trackRunningStats ? ones([numFeatures], { dtype }) : null);
    this.registerBuffer('num_batches_tracked', this.trackRunningStats ? full([], 0, { dtype: 'int32' }) : null);
  }

  get runningMean(): Tensor | null {
    return this.running_mean;
  }
  set runningMean(t: Tensor | null) {
    this.running_mean = t;
  }
  get runningVar(): Tensor | null {
    return this.running_var;
  }
  set runningVar(t: Tensor | null) {
    this.running_var = t;
  }
  get numBatchesTracked(): Tensor | null {
    return this.num_batches_tracked;
  }
  set numBatchesTracked(t: Tensor | null) {
    this.num_batches_tracked = t;
  }

  protected override legacyStateKeys(): Record<string, string> {
    return { runningMean: 'running_mean', runningVar: 'running_var', numBatchesTracked: 'num_batches_tracked' };
  }

  protected abstract checkInput(x: Tensor): void;

  override forward(x: Tensor): Tensor {
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) {
      throw new ShapeError(`${this.label()}: input has ${x.shape[1]} channels (shape ${fmtShape(x.shape)}) but numFeatures is ${this.numFeatures}`);
    }
    const useBatchStats = this.training || !this.trackRunningStats;
    const updating = this.training && this.trackRunningStats && this.numBatchesTracked !== null;
    const tracked = updating ? this.numBatchesTracked!.item() : 0;
    const y = batchNorm(
      x,
      {
        runningMean: this.runningMean,
        runningVar: this.runningVar,
        weight: this.weight,
        bias: this.bias,
        training: useBatchStats,
        momentum: this.momentum,
        eps: this.eps,
        numBatchesTracked: tracked,
      },
      this.label(),
    );
    if (updating) this.numBatchesTracked!.fill_(tracked + 1);
    return y;
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** BatchNorm over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new ShapeError(`${this.label()}: expected 2-D [N,C] or 3-D [N,C,L] input, got shape ${fmtShape(x.shape)}`);
  }
}

/** BatchNorm over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new ShapeError(`${this.label()}: expected 4-D [N,C,H,W] input, got shape ${fmtShape(x.shape)}`);
  }
}

export interface LayerNormModuleOptions extends FactoryOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  bias?: boolean;
}

/** Normalises over the trailing normalizedShape dims of each sample, with a per-element affine. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  weight: Parameter | null;
  bias: Parameter | null;
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(...args: Args<[normalizedShape: number | readonly number[]], [eps: number, elementwiseAffine: boolean, device: 'cpu' | null, dtype: DType], LayerNormModuleOptions>) {
    super();
    const opts = LAYERNORM.parse<LayerNormModuleOptions & { normalizedShape: number | readonly number[] }>(args);
    const { normalizedShape } = opts;
    this.normalizedShape = checkShape('LayerNorm', normalizedShape, 'float32', 'normalizedShape');
    const dtype = checkLayerSizes('LayerNorm', {}, this.normalizedShape, opts.dtype);
    this.eps = checkFinite('LayerNorm', 'eps', opts.eps ?? 1e-5, { min: 0, minExclusive: true });
    this.elementwiseAffine = opts.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine ? new Parameter(ones(this.normalizedShape, { dtype })) : null;
    this.bias = this.elementwiseAffine && (opts.bias ?? true) ? new Parameter(zeros(this.normalizedShape, { dtype })) : null;
  }

  override forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps }, this.label());
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}

import { kernel } from '../../backend/dispatch.js';
import { ValueError } from '../../errors.js';
import { checkLayerSizes } from '../../tensor/checks.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { embedding } from '../functional/basic.js';
import { normal_ } from '../init.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import type { FactoryOptions } from './linear.js';
import { noGrad } from '../../autograd/grad-mode.js';
import type { DType } from '../../tensor/dtype.js';
import { declareSignature, signature, type Args } from '../../signature.js';

const EMBEDDING = declareSignature(
  'nn.Embedding',
  signature('Embedding', 'numEmbeddings:int embeddingDim:int paddingIdx?:int|null maxNorm=null normType=2 scaleGradByFreq=false sparse=false _weight=null device="cpu" dtype?:dtype'),
);
type EmbeddingOptions = FactoryOptions & { paddingIdx?: number | null };

/**
 * A lookup table [numEmbeddings, embeddingDim], initialised N(0, 1) as PyTorch. Indices are
 * int32 of any shape; an index out of range is an error naming it. The row at paddingIdx
 * starts at zero and gets no gradient.
 */
export class Embedding extends Module {
  weight: Parameter;
  readonly paddingIdx: number | null;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(
    ...args: Args<
      [numEmbeddings: number, embeddingDim: number],
      [paddingIdx: number | null, maxNorm: null, normType: 2, scaleGradByFreq: false, sparse: false, _weight: null, device: 'cpu' | null, dtype: DType],
      EmbeddingOptions
    >
  ) {
    super();
    const opts = EMBEDDING.parse<EmbeddingOptions & { numEmbeddings: number; embeddingDim: number }>(args);
    const { numEmbeddings, embeddingDim } = opts;
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const dtype = checkLayerSizes('Embedding', { numEmbeddings, embeddingDim }, [numEmbeddings, embeddingDim], opts.dtype);
    const p = opts.paddingIdx ?? null;
    if (p !== null && (!Number.isInteger(p) || p < -numEmbeddings || p >= numEmbeddings)) {
      throw new ValueError(`Embedding: paddingIdx ${p} must be within [${-numEmbeddings}, ${numEmbeddings - 1}]`);
    }
    this.paddingIdx = p === null ? null : p < 0 ? p + numEmbeddings : p;
    this.weight = new Parameter(zeros([numEmbeddings, embeddingDim], { dtype }));
    this.resetParameters();
  }

  resetParameters(): void {
    normal_(this.weight);
    if (this.paddingIdx !== null) {
      const row = this.paddingIdx * this.embeddingDim;
      noGrad(() => kernel('fill', this.embeddingDim, this.weight.dtype)(this.weight.typedData, 0, row, row + this.embeddingDim));
    }
  }

  override forward(index: Tensor): Tensor {
    return embedding(index, this.weight, this.paddingIdx, this.label());
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, paddingIdx=${this.paddingIdx}` : ''}`;
  }
}

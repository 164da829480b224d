/**
 * PyTorch's torch.nn.functional, in camelCase: stateless layers and losses on tensors. The
 * modules in nn are thin wrappers that own the parameters and call these.
 *
 *   import { F, tensor } from 'chainrule';
 *   const loss = F.crossEntropy(logits, labels, { labelSmoothing: 0.1 });
 */
export { linear, dropout, embedding, oneHot } from './functional/basic.js';
export { conv1d, convTranspose1d, convTranspose2d, type Conv1dOptions, type ConvTransposeOptions, type ConvTranspose1dOptions } from './functional/conv-transpose.js';
export {
  normalize, cosineSimilarity, groupNorm, adaptiveAvgPool2d, interpolate, klDiv, cosineEmbeddingLoss, marginRankingLoss, multiMarginLoss,
  type InterpolateOptions,
} from './functional/extra.js';
export { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from './functional/attention.js';
export { pad, type PadMode } from '../ops/rearrange.js';
export {
  conv2d, maxPool2d, avgPool2d, unfold, fold,
  type Size2, type WindowOptions, type Conv2dOptions, type PoolOptions, type AvgPoolOptions,
} from './functional/conv.js';
export { batchNorm, layerNorm, type BatchNormOptions, type LayerNormOptions } from './functional/norm.js';
export {
  mseLoss, l1Loss, huberLoss, smoothL1Loss, binaryCrossEntropy, binaryCrossEntropyWithLogits, nllLoss, crossEntropy,
  type Reduction, type LossOptions, type BceOptions, type BceWithLogitsOptions, type NllOptions, type CrossEntropyOptions,
} from './functional/loss.js';
export { relu, sigmoid, tanh, leakyRelu, elu, gelu, softplus, softmax, logSoftmax } from '../ops/functional.js';

/**
 * Neural-network building blocks, PyTorch's torch.nn in camelCase: the Module base class,
 * containers, layers, losses as modules, `init` and `functional`. Browser-safe (no Node
 * built-ins).
 */

export { Module, StateDictError, type AnyModule, type LoadStateDictResult } from './module.js';
export { Parameter } from './parameter.js';
export { Sequential, ModuleList } from './modules/container.js';
export { Linear, Identity, Flatten, Dropout, type FactoryOptions } from './modules/linear.js';
export { ReLU, LeakyReLU, Sigmoid, Tanh, GELU, ELU, Softplus, Softmax, LogSoftmax } from './modules/activation.js';
export { BatchNorm1d, BatchNorm2d, LayerNorm, type BatchNormModuleOptions, type LayerNormModuleOptions } from './modules/norm.js';
export { Conv2d, MaxPool2d, AvgPool2d, type Conv2dModuleOptions, type PoolModuleOptions } from './modules/conv.js';
export { Embedding } from './modules/embedding.js';
export {
  MultiheadAttention, TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder,
  type MultiheadAttentionOptions, type AttentionCallOptions, type TransformerLayerOptions, type EncoderCallOptions, type DecoderCallOptions,
} from './modules/transformer.js';
export {
  ModuleDict, ParameterList, GroupNorm, AdaptiveAvgPool2d, Upsample, CosineSimilarity,
  KLDivLoss, CosineEmbeddingLoss, MarginRankingLoss, MultiMarginLoss,
} from './modules/extra.js';
export { Conv1d, ConvTranspose1d, ConvTranspose2d, type Conv1dModuleOptions, type ConvTranspose1dModuleOptions, type ConvTranspose2dModuleOptions } from './modules/conv-transpose.js';
export { RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell, type RNNOptions, type RNNCellOptions } from './modules/rnn.js';
export { MSELoss, L1Loss, HuberLoss, SmoothL1Loss, BCELoss, BCEWithLogitsLoss, NLLLoss, CrossEntropyLoss } from './modules/loss.js';
export * as init from './init.js';
export * as functional from './functional.js';

import { markBuiltinForward } from './module.js';
import * as containers from './modules/container.js';
import * as linearModules from './modules/linear.js';
import * as activations from './modules/activation.js';
import * as norms from './modules/norm.js';
import * as convs from './modules/conv.js';
import * as embeddings from './modules/embedding.js';
import * as losses from './modules/loss.js';
import * as recurrent from './modules/rnn.js';
import * as transformers from './modules/transformer.js';
import * as convTransposes from './modules/conv-transpose.js';
import * as extras from './modules/extra.js';
import { Module as ModuleClass } from './module.js';

// The library's layers read their fields only in forward: Module.call runs them off the proxy.
markBuiltinForward(
  ...[containers, linearModules, activations, norms, convs, embeddings, losses, recurrent, transformers, convTransposes, extras].flatMap((m) =>
    Object.values(m).filter((v): v is typeof ModuleClass => typeof v === 'function' && v.prototype instanceof ModuleClass),
  ),
);

export { clipGradNorm_, clipGradValue_, type ClipGradNormOptions } from './clip.js';
import { clipGradNorm_, clipGradValue_ } from './clip.js';
import { parametersToVector, vectorToParameters } from './modules/extra.js';
/** PyTorch's torch.nn.utils. */
export const utils = { clipGradNorm_, clipGradValue_, parametersToVector, vectorToParameters };

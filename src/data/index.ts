/**
 * Datasets and batching, as torch.utils.data (browser-safe: file readers live in the Node entry
 * points). `chainrule.data.DataLoader`, `chainrule.data.TensorDataset`, ...
 */
export { TensorDataset, Subset, randomSplit, type Dataset } from './dataset.js';
export { DataLoader, defaultCollate, type DataLoaderOptions } from './dataloader.js';
export { gatherBytes, type GatherBytesOptions } from './bytes.js';
export * as synthetic from './synthetic.js';

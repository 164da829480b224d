/**
 * Tensors ↔ safetensors bytes, in memory: a state dict (or any name → tensor map) saved as
 * PyTorch's `safetensors.torch.save` would, and read back. Browser-safe (no Node built-ins):
 * the core exports these; the files on disk are `save` / `load` in `chainrule/io`.
 */
import { ValueError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import type { RawTensor, RawTensorLike } from './raw.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

/** What `saveToBytes` accepts: name → tensor (a `stateDict()`), or a Map of them. */
export type NamedTensors = Record<string, Tensor> | Map<string, Tensor>;

function entriesOf(op: string, tensors: NamedTensors): [string, Tensor][] {
  if (tensors === null || typeof tensors !== 'object') {
    throw new ValueError(`${op}: expected a name → tensor object (e.g. model.stateDict()), got ${tensors === null ? 'null' : typeof tensors}`);
  }
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) {
      throw new ValueError(`${op}: "${name}" is not a tensor (${t === null ? 'null' : typeof t}); pass model.stateDict() or a name → tensor object`);
    }
  }
  return entries;
}

/** The tensor's elements, row-major, as the file formats take them (a strided view is copied). */
export function rawOf(t: Tensor): RawTensorLike {
  return { dtype: t.dtype, shape: t.shape, data: t.isContiguous() ? t.dataSync() : t.contiguous().dataSync() } as RawTensorLike;
}

/** A tensor read from a file: its own copy of the elements (uint8 becomes int32, the integer dtype tensors hold). */
export function tensorOf(t: RawTensor): Tensor {
  if (t.dtype === 'uint8') return new Tensor(Int32Array.from(t.data), t.shape, 'int32');
  return new Tensor(t.data, t.shape, t.dtype);
}

/**
 * Serialise tensors (e.g. `model.stateDict()`) to safetensors bytes, with optional string
 * metadata. PyTorch reads them with `safetensors.torch.load` (or any safetensors reader).
 */
export function saveToBytes(tensors: NamedTensors, metadata?: Record<string, string>): Uint8Array {
  const out: Record<string, RawTensorLike> = {};
  for (const [name, t] of entriesOf('saveToBytes', tensors)) out[name] = rawOf(t);
  return encodeSafetensors(out, metadata);
}

/**
 * Read safetensors bytes (written by chainrule, PyTorch or any safetensors writer) as name →
 * tensor, ready for `model.loadStateDict(...)`. dtypes chainrule has no array for are widened
 * (float16/bfloat16 → float32) or, for 64-bit integers, narrowed to int32 with a FormatError
 * for any value int32 cannot hold. `source` names the bytes in error messages.
 */
export function loadFromBytes(bytes: Uint8Array, source = '<bytes>'): Record<string, Tensor> {
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`loadFromBytes: expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  const { tensors } = decodeSafetensors(bytes, source);
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = tensorOf(t);
  return out;
}

/** The `__metadata__` of safetensors bytes ({} when there is none). */
export function metadataFromBytes(bytes: Uint8Array, source = '<bytes>'): Record<string, string> {
  return decodeSafetensors(bytes, source).metadata;
}

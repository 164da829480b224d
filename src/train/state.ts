/**
 * Optimizer state dicts hold tensors (Adam's moments) among plain JSON (step counts, group
 * options). A checkpoint keeps the tensors in safetensors and the rest in JSON: `splitTensors`
 * replaces each tensor by {"$tensor": key} and collects it under that key; `joinTensors`
 * puts them back. Keys are the JSON path (`state.0.expAvg`), readable in any safetensors tool.
 */
import { ValueError } from '../errors.js';
import type { RawTensor } from '../io/raw.js';
import { Tensor } from '../tensor/tensor.js';

export function splitTensors(value: unknown): { json: unknown; tensors: Record<string, Tensor> } {
  const tensors: Record<string, Tensor> = {};
  const walk = (v: unknown, path: string[]): unknown => {
    if (v instanceof Tensor) {
      const key = path.join('.');
      tensors[key] = v;
      return { $tensor: key };
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, String(i)]));
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...path, k])]));
    }
    return v;
  };
  return { json: walk(value, []), tensors };
}

export function joinTensors(json: unknown, tensors: Record<string, RawTensor>, source: string): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const ref = (v as { $tensor?: unknown }).$tensor;
      if (typeof ref === 'string' && Object.keys(v).length === 1) {
        const t = tensors[ref];
        if (t === undefined) throw new ValueError(`${source}: tensor ${JSON.stringify(ref)} is referenced but missing`);
        return toTensor(t);
      }
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item)]));
    }
    return v;
  };
  return walk(json);
}

/** A RawTensor read from a file as a Tensor (uint8 becomes int32, the integer dtype tensors hold). */
export function toTensor(t: RawTensor): Tensor {
  if (t.dtype === 'uint8') return new Tensor(Int32Array.from(t.data), t.shape, 'int32');
  return new Tensor(t.data, t.shape, t.dtype);
}

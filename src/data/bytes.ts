import { kernel } from '../backend/dispatch.js';
import { IndexError, ValueError } from '../errors.js';
import { allocateUninit } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

export interface GatherBytesOptions {
  /** Multiplies each byte (default 1; 1/255 maps pixels to [0, 1] as torchvision's ToTensor). */
  scale?: number;
  /** Added after scaling (default 0). */
  shift?: number;
}

/**
 * Rows of a byte array as a float32 batch [rows.length, rowLength]:
 *   out[i, j] = source[rows[i]·rowLength + j] · scale + shift   (computed in double, rounded once)
 * Datasets of uint8 pixels stay a quarter of their float32 size in memory and become float
 * batches as they are drawn (for Fashion-MNIST, 47 MB instead of 188 MB). The gatherRowsU8
 * kernel (the native addon's where it is loaded).
 */
export function gatherBytes(source: Uint8Array, rowLength: number, rows: Int32Array | readonly number[], opts: GatherBytesOptions = {}): Tensor {
  if (!Number.isInteger(rowLength) || rowLength <= 0) throw new ValueError(`gatherBytes: rowLength must be a positive integer, got ${rowLength}`);
  const nRows = Math.floor(source.length / rowLength);
  const idx = rows instanceof Int32Array ? rows : Int32Array.from(rows);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    if (!(r >= 0 && r < nRows)) throw new IndexError(`gatherBytes: row ${r} is out of range for ${nRows} rows of ${rowLength} bytes (valid 0 to ${nRows - 1})`);
  }
  const scale = opts.scale ?? 1;
  const shift = opts.shift ?? 0;
  const out = allocateUninit('float32', idx.length * rowLength) as Float32Array;
  kernel('gatherRowsU8', out.length, 'uint8')(source, rowLength, idx, scale, shift, out);
  return new Tensor(out, [idx.length, rowLength], 'float32');
}

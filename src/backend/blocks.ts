/**
 * How a broadcast elementwise op is cut into rows × cols blocks, the addressing both fast
 * backends' binary and compare kernels take (each backend keeps its own op codes).
 */

export interface Collapsed {
  shape: number[];
  aStrides: number[];
  bStrides: number[];
}

/**
 * Drops size-1 dims and merges neighbours that both operands walk contiguously relative to each
 * other (stride[d] = stride[d+1]·shape[d+1], which also holds for two broadcast dims), so a
 * same-shape op becomes 1-D and a bias add becomes [rows, cols] with a row-vector operand.
 */
export function collapseDims(outShape: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): Collapsed {
  const shape: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  for (let d = 0; d < outShape.length; d++) {
    const size = outShape[d]!;
    if (size === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && sa[last] === aStrides[d]! * size && sb[last] === bStrides[d]! * size) {
      shape[last]! *= size;
      sa[last] = aStrides[d]!;
      sb[last] = bStrides[d]!;
    } else {
      shape.push(size);
      sa.push(aStrides[d]!);
      sb.push(bStrides[d]!);
    }
  }
  return { shape, aStrides: sa, bStrides: sb };
}

/**
 * How a broadcast binary op runs as rows × cols blocks (the kernels' addressing): each operand
 * steps sa / sb ∈ {0, 1} along a row and ra / rb from row to row; the leading dims are walked by
 * forEachOuterBlock(c, …). Null when an operand is not contiguous along the last dim.
 */
export interface RowBlocks {
  c: Collapsed;
  rows: number;
  cols: number;
  ra: number;
  sa: number;
  rb: number;
  sb: number;
}

export function rowBlocks(outShape: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): RowBlocks | null {
  const c = collapseDims(outShape, aStrides, bStrides);
  const nd = c.shape.length;
  const sa = nd ? c.aStrides[nd - 1]! : 0;
  const sb = nd ? c.bStrides[nd - 1]! : 0;
  if ((sa !== 0 && sa !== 1) || (sb !== 0 && sb !== 1)) return null;
  return {
    c,
    rows: nd >= 2 ? c.shape[nd - 2]! : 1,
    cols: nd >= 1 ? c.shape[nd - 1]! : 1,
    ra: nd >= 2 ? c.aStrides[nd - 2]! : 0,
    sa,
    rb: nd >= 2 ? c.bStrides[nd - 2]! : 0,
    sb,
  };
}

/**
 * Calls fn(aOffset, bOffset, outOffset) for every index of the leading dims (all but the last
 * two) of a collapsed shape; the last two dims are the kernel's rows × cols block.
 */
export function forEachOuterBlock(c: Collapsed, fn: (ao: number, bo: number, oo: number) => void): void {
  const nd = c.shape.length;
  const outer = c.shape.slice(0, Math.max(0, nd - 2));
  let block = 1;
  for (let d = Math.max(0, nd - 2); d < nd; d++) block *= c.shape[d]!;
  const idx = new Array<number>(outer.length).fill(0);
  let ao = 0;
  let bo = 0;
  for (let oo = 0; ; oo += block) {
    fn(ao, bo, oo);
    let d = outer.length - 1;
    for (; d >= 0; d--) {
      idx[d]!++;
      ao += c.aStrides[d]!;
      bo += c.bStrides[d]!;
      if (idx[d]! < outer[d]!) break;
      ao -= c.aStrides[d]! * outer[d]!;
      bo -= c.bStrides[d]! * outer[d]!;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

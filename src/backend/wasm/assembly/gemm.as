// AssemblyScript source (compiled by scripts/build-wasm.mjs; the .as extension keeps it out of
// the TypeScript project). fp32 GEMM with packed panels and an MR×8 f32x4 register tile:
// 6×8 with relaxed-SIMD fused multiply-add, 5×8 with mul+add (which needs a temporary register;
// at 6×8 V8 then spills accumulators and runs at half speed).
//
//   C[m×n] (+)= op(A)·op(B) on the sub-block rows [i0,i1) × columns [j0,j1),
//   A stored m×k (or k×m when transA), B stored k×n (or n×k when transB), C m×n.
//
// Both operands are packed into zero-padded panels, so op(A)/op(B) are never materialised and
// the micro-kernel reads each panel with unit stride: A as MR-row slivers (k-major), B as
// 8-column slivers. Threads call `gemm` on disjoint blocks of C, each with its own `work` area.
//
// The tile's accumulators start from C (or zero) and are stored straight back to C, so every
// element is summed in order p = 0..k-1 whatever KC, the tile edges or the thread split.
// Tried without gain: unrolling the k loop by 2 or 4 (V8 hoists the loads and spills: half
// speed); adding C to the accumulators after the loop instead of before (spills likewise);
// packing A (transposed) or B (not transposed) row by row across slivers (3–4× slower packing:
// the stores land 16 KB apart); MC = 24·MR, KC = 384 or 768 (within noise).

const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 5;
const NR: i32 = 8;
// KC = 512: a 512×8 B sliver (16 KB) still fits L1 next to the A sliver, and half as many k
// blocks halve the C tile loads/stores and packing passes (n = 1024: 92–93 vs 80–91 GFLOP/s with 256).
// Packing A (not transposed) and B (transposed) transposes 4×4 blocks in registers: ~3× faster
// than the scalar loops they replace (which took ~5% of a 1024³ product).
const KC: i32 = 512;
const MC: i32 = MR * 12;
const NC: i32 = 512;

/** Bytes of scratch one caller of `gemm` needs at `work`. */
export function gemmWorkBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

export function heapBase(): usize {
  return __heap_base;
}

// @ts-ignore: decorator
@inline function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Pack op(A)[ic..ic+mc, pc..pc+kc] into ceil(mc/MR) slivers of MR×kc, k-major, rows zero-padded. */
function packA(transA: i32, a: usize, m: i32, k: i32, ic: i32, mc: i32, pc: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const sliver = dst + <usize>(ir * kc) * 4;
    if (!transA && rows == MR) {
      // 4 k steps at a time: a 4×4 transpose of rows 0–3 (unpack lo/hi, then 64-bit halves)
      // and rows 4–5 interleaved, stored as MR floats per k step.
      const lda = <usize>k * 4;
      const s0 = a + (<usize>(ic + ir) * <usize>k + <usize>pc) * 4;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const s = s0 + <usize>p * 4;
        const d = sliver + <usize>(p * MR) * 4;
        const r0 = v128.load(s), r1 = v128.load(s + lda);
        const r2 = v128.load(s + 2 * lda), r3 = v128.load(s + 3 * lda);
        const r4 = v128.load(s + 4 * lda);
        const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
        const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
        v128.store(d, i64x2.shuffle(t0, t2, 0, 2));
        v128.store(d, i64x2.shuffle(t0, t2, 1, 3), MR * 4);
        v128.store(d, i64x2.shuffle(t1, t3, 0, 2), MR * 8);
        v128.store(d, i64x2.shuffle(t1, t3, 1, 3), MR * 12);
        if (MR == 6) {
          const r5 = v128.load(s + 5 * lda);
          const t4 = i32x4.shuffle(r4, r5, 0, 4, 1, 5), t5 = i32x4.shuffle(r4, r5, 2, 6, 3, 7);
          v128.store64_lane(d, t4, 0, 16);
          v128.store64_lane(d, t4, 1, MR * 4 + 16);
          v128.store64_lane(d, t5, 0, MR * 8 + 16);
          v128.store64_lane(d, t5, 1, MR * 12 + 16);
        } else {
          v128.store32_lane(d, r4, 0, 16);
          v128.store32_lane(d, r4, 1, MR * 4 + 16);
          v128.store32_lane(d, r4, 2, MR * 8 + 16);
          v128.store32_lane(d, r4, 3, MR * 12 + 16);
        }
      }
      for (; p < kc; p++) {
        const s = s0 + <usize>p * 4;
        const d = sliver + <usize>(p * MR) * 4;
        for (let r = 0; r < MR; r++) store<f32>(d + <usize>r * 4, load<f32>(s + <usize>r * lda));
      }
    } else if (!transA) {
      for (let r = 0; r < MR; r++) {
        if (r < rows) {
          let src = a + (<usize>(ic + ir + r) * <usize>k + <usize>pc) * 4;
          let d = sliver + <usize>r * 4;
          for (let p = 0; p < kc; p++) {
            store<f32>(d, load<f32>(src));
            src += 4;
            d += MR * 4;
          }
        } else {
          let d = sliver + <usize>r * 4;
          for (let p = 0; p < kc; p++) {
            store<f32>(d, 0);
            d += MR * 4;
          }
        }
      }
    } else {
      // A stored k×m: each k step holds the MR rows of the sliver contiguously.
      for (let p = 0; p < kc; p++) {
        const src = a + (<usize>(pc + p) * <usize>m + <usize>(ic + ir)) * 4;
        const d = sliver + <usize>(p * MR) * 4;
        if (rows == MR) {
          v128.store(d, v128.load(src));
          if (MR == 6) store<u64>(d, load<u64>(src, 16), 16);
          else if (MR == 5) store<f32>(d, load<f32>(src, 16), 16);
        } else {
          for (let r = 0; r < MR; r++) store<f32>(d + <usize>r * 4, r < rows ? load<f32>(src + <usize>r * 4) : 0);
        }
      }
    }
  }
}

/** Pack op(B)[pc..pc+kc, jc..jc+nc] into ceil(nc/8) slivers of kc×8, columns zero-padded. */
function packB(transB: i32, b: usize, n: i32, k: i32, pc: i32, kc: i32, jc: i32, nc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const sliver = dst + <usize>(jr * kc) * 4;
    if (!transB) {
      for (let p = 0; p < kc; p++) {
        const src = b + (<usize>(pc + p) * <usize>n + <usize>(jc + jr)) * 4;
        const d = sliver + <usize>(p * NR) * 4;
        if (cols == NR) {
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
        } else {
          for (let c = 0; c < NR; c++) store<f32>(d + <usize>c * 4, c < cols ? load<f32>(src + <usize>c * 4) : 0);
        }
      }
    } else if (cols == NR) {
      // B stored n×k: column j of op(B) is row j of B. Two 4×4 transposes per 4 k steps.
      const ldb = <usize>k * 4;
      const s0 = b + (<usize>(jc + jr) * <usize>k + <usize>pc) * 4;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const d = sliver + <usize>(p * NR) * 4;
        for (let h = 0; h < 2; h++) {
          const s = s0 + <usize>p * 4 + <usize>(h * 4) * ldb;
          const r0 = v128.load(s), r1 = v128.load(s + ldb);
          const r2 = v128.load(s + 2 * ldb), r3 = v128.load(s + 3 * ldb);
          const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
          const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
          const dh = d + <usize>h * 16;
          v128.store(dh, i64x2.shuffle(t0, t2, 0, 2));
          v128.store(dh, i64x2.shuffle(t0, t2, 1, 3), NR * 4);
          v128.store(dh, i64x2.shuffle(t1, t3, 0, 2), NR * 8);
          v128.store(dh, i64x2.shuffle(t1, t3, 1, 3), NR * 12);
        }
      }
      for (; p < kc; p++) {
        const s = s0 + <usize>p * 4;
        const d = sliver + <usize>(p * NR) * 4;
        for (let c = 0; c < NR; c++) store<f32>(d + <usize>c * 4, load<f32>(s + <usize>c * ldb));
      }
    } else {
      // B stored n×k, a partial sliver: column j of op(B) is row j of B, contiguous in k.
      for (let c = 0; c < NR; c++) {
        let d = sliver + <usize>c * 4;
        if (c < cols) {
          let src = b + (<usize>(jc + jr + c) * <usize>k + <usize>pc) * 4;
          for (let p = 0; p < kc; p++) {
            store<f32>(d, load<f32>(src));
            src += 4;
            d += NR * 4;
          }
        } else {
          for (let p = 0; p < kc; p++) {
            store<f32>(d, 0);
            d += NR * 4;
          }
        }
      }
    }
  }
}

/**
 * The register tile: MR×8 floats in 2·MR f32x4 accumulators over kc steps, started from zero
 * or (with `add`) from the MR rows of 8 at `dst`, `ldd` bytes apart, and stored back there:
 * C itself for a full tile.
 */
function kernel(kc: i32, ap: usize, bp: usize, dst: usize, ldd: usize, add: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  if (add) {
    let d = dst;
    c00 = v128.load(d); c01 = v128.load(d, 16); d += ldd;
    c10 = v128.load(d); c11 = v128.load(d, 16); d += ldd;
    c20 = v128.load(d); c21 = v128.load(d, 16); d += ldd;
    c30 = v128.load(d); c31 = v128.load(d, 16); d += ldd;
    c40 = v128.load(d); c41 = v128.load(d, 16);
    if (MR == 6) {
      d += ldd;
      c50 = v128.load(d); c51 = v128.load(d, 16);
    }
  }
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = fma(a, b0, c00);
    c01 = fma(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = fma(a, b0, c10);
    c11 = fma(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = fma(a, b0, c20);
    c21 = fma(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = fma(a, b0, c30);
    c31 = fma(a, b1, c31);
    a = v128.load32_splat(ap, 16);
    c40 = fma(a, b0, c40);
    c41 = fma(a, b1, c41);
    if (MR == 6) {
      a = v128.load32_splat(ap, 20);
      c50 = fma(a, b0, c50);
      c51 = fma(a, b1, c51);
    }
    ap += MR * 4;
    bp += NR * 4;
  }
  v128.store(dst, c00); v128.store(dst, c01, 16); dst += ldd;
  v128.store(dst, c10); v128.store(dst, c11, 16); dst += ldd;
  v128.store(dst, c20); v128.store(dst, c21, 16); dst += ldd;
  v128.store(dst, c30); v128.store(dst, c31, 16); dst += ldd;
  v128.store(dst, c40); v128.store(dst, c41, 16);
  if (MR == 6) {
    dst += ldd;
    v128.store(dst, c50); v128.store(dst, c51, 16);
  }
}

/**
 * A partial tile (rows < MR or cols < 8) through `tmp`: the valid part of C copied in (with
 * `add`), the kernel run on it, and copied back, so each element is summed in the same order
 * as in a full tile (results do not depend on where a thread's block of C starts).
 */
function edgeTile(kc: i32, ap: usize, bp: usize, c: usize, ldc: usize, rows: i32, cols: i32, add: i32, tmp: usize): void {
  if (add) {
    for (let r = 0; r < rows; r++) {
      const cr = c + <usize>r * ldc;
      const tr = tmp + <usize>(r * NR) * 4;
      for (let j = 0; j < cols; j++) store<f32>(tr + <usize>j * 4, load<f32>(cr + <usize>j * 4));
    }
  }
  kernel(kc, ap, bp, tmp, NR * 4, add);
  for (let r = 0; r < rows; r++) {
    const cr = c + <usize>r * ldc;
    const tr = tmp + <usize>(r * NR) * 4;
    for (let j = 0; j < cols; j++) store<f32>(cr + <usize>j * 4, load<f32>(tr + <usize>j * 4));
  }
}

export function gemm(
  transA: i32, transB: i32, m: i32, n: i32, k: i32,
  a: usize, b: usize, c: usize, accumulate: i32,
  i0: i32, i1: i32, j0: i32, j1: i32, work: usize,
): void {
  const ldc = <usize>n * 4;
  if (k == 0) {
    if (!accumulate) {
      for (let i = i0; i < i1; i++) memory.fill(c + <usize>i * ldc + <usize>j0 * 4, 0, <usize>(j1 - j0) * 4);
    }
    return;
  }
  const ap = work;
  const bp = work + <usize>(MC * KC) * 4;
  const tmp = bp + <usize>(KC * NC) * 4;
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const add = accumulate || pc > 0 ? 1 : 0;
      packB(transB, b, n, k, pc, kc, jc, nc, bp);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        packA(transA, a, m, k, ic, mc, pc, kc, ap);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const bs = bp + <usize>(jr * kc) * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const as = ap + <usize>(ir * kc) * 4;
            const cp = c + <usize>(ic + ir) * ldc + <usize>(jc + jr) * 4;
            if (rows == MR && cols == NR) {
              kernel(kc, as, bs, cp, ldc, add);
            } else {
              edgeTile(kc, as, bs, cp, ldc, rows, cols, add, tmp);
            }
          }
        }
      }
    }
  }
}

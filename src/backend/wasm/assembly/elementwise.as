// AssemblyScript source: fp32 elementwise kernels and the sum reduction, f32x4 with scalar tails.
// Op codes are shared with ../ops.ts (UNARY_CODES / BINARY_CODES); keep the two in step.

const U_NEG = 0, U_EXP = 1, U_SQRT = 2, U_ABS = 3, U_TANH = 4, U_SIGMOID = 5, U_RELU = 6, U_SQUARE = 7;
const U_EXPM1 = 8, U_RECIPROCAL = 9;
const B_ADD = 0, B_SUB = 1, B_MUL = 2, B_DIV = 3, B_MAX = 4, B_MIN = 5, B_RELU_GRAD = 6, B_SIGMOID_GRAD = 7, B_TANH_GRAD = 8;

// Constants live in a data segment and are splatted with one load each: V8 rebuilds every
// v128.const inside the loop (several instructions apiece), which made exp 4× slower.
const K = memory.data<f32>([
  88.8, -104.0, 1.44269504, 0.693145751953125, 1.428606765330187e-6,
  1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 2.0, -2.0, Infinity,
  12582912.0,
]);
const KI = memory.data<i32>([127, 100, 0x80000000, 0x4b400000]);

// @ts-ignore: decorator
@inline function kf(i: i32): v128 {
  return v128.load32_splat(K + <usize>i * 4);
}

// @ts-ignore: decorator
@inline function ki(i: i32): v128 {
  return v128.load32_splat(KI + <usize>i * 4);
}

// exp(x) = 2^n · e^r with n = round(x·log2 e), |r| ≤ ln2/2; e^r − 1 by its Taylor series to r^7
// (truncation < 1e-8). 2^n is built as 2^(n>>1)·2^(n−(n>>1)) so n can span the subnormal range.
// The clamps use pmin/pmax (one instruction each) in the order that passes NaN through.
// @ts-ignore: decorator
@inline function expParts(x: v128, wantM1: bool): v128 {
  const xc = f32x4.pmin(f32x4.pmax(x, kf(1)), kf(0));
  // Round to nearest by adding 1.5·2^23: the sum's low mantissa bits are then n itself.
  const t = f32x4.add(f32x4.mul(xc, kf(2)), kf(15));
  const n = f32x4.sub(t, kf(15));
  let r = f32x4.sub(xc, f32x4.mul(n, kf(3)));
  r = f32x4.sub(r, f32x4.mul(n, kf(4)));
  let p = kf(5);
  p = f32x4.add(f32x4.mul(p, r), kf(6));
  p = f32x4.add(f32x4.mul(p, r), kf(7));
  p = f32x4.add(f32x4.mul(p, r), kf(8));
  p = f32x4.add(f32x4.mul(p, r), kf(9));
  p = f32x4.add(f32x4.mul(p, r), kf(10));
  p = f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r); // e^r − 1
  const ni = i32x4.sub(t, ki(3));
  const h = i32x4.shr_s(ni, 1);
  const s1 = i32x4.shl(i32x4.add(h, ki(0)), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(ni, h), ki(0)), 23);
  // In this order: 2^128 (n = 128 just below the overflow threshold) alone is not a float.
  let res = f32x4.mul(f32x4.mul(f32x4.add(p, kf(11)), s1), s2);
  if (wantM1) {
    const scale = f32x4.mul(s1, s2);
    const small = f32x4.add(f32x4.mul(scale, p), f32x4.sub(scale, kf(11)));
    res = v128.bitselect(f32x4.sub(res, kf(11)), small, i32x4.gt_s(ni, ki(1)));
  }
  // Above the clamp the true result overflows; NaN stays NaN through the clamps and polynomial.
  return v128.bitselect(kf(14), res, f32x4.gt(x, kf(0)));
}

// @ts-ignore: decorator
@inline function unaryVec(op: i32, x: v128): v128 {
  switch (op) {
    case U_NEG: return f32x4.neg(x);
    case U_EXP: return expParts(x, false);
    case U_SQRT: return f32x4.sqrt(x);
    case U_ABS: return f32x4.abs(x);
    case U_TANH: {
      // tanh|x| = −expm1(−2|x|) / (2 + expm1(−2|x|)): no cancellation near 0.
      const e = expParts(f32x4.mul(f32x4.abs(x), kf(13)), true);
      const t = f32x4.div(f32x4.neg(e), f32x4.add(e, kf(12)));
      return v128.or(t, v128.and(x, ki(2)));
    }
    case U_SIGMOID: {
      const e = expParts(f32x4.neg(x), false);
      return f32x4.div(kf(11), f32x4.add(kf(11), e));
    }
    case U_RELU: return f32x4.max(x, f32x4.splat(0));
    case U_SQUARE: return f32x4.mul(x, x);
    case U_EXPM1: return expParts(x, true);
    case U_RECIPROCAL: return f32x4.div(f32x4.splat(1), x);
  }
  return x;
}

/** out[i] = op(x[i]) for n floats; x and out may be the same address. */
export function unary(op: i32, x: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  // One loop per op so the switch folds away inside each loop body.
  switch (op) {
    case U_NEG: for (let i = 0; i < n4; i += 4) v128.store(out + <usize>i * 4, unaryVec(U_NEG, v128.load(x + <usize>i * 4))); break;
    case U_EXP: for (let i = 0; i < n4; i += 4) v128.store(out + <usize>i * 4, unaryVec(U_EXP, v128.load(x + <usize>i * 4))); break;
    case U_SQRT: for (let i = 0; i < n4; i += 4) v128.store(out + <usize>i * 4, unaryVec(U_SQRT, v128.load(x + <usize>i * 4))); break;
    case U_ABS: for (let i = 0; i < n4; i += 4) v128.store(out + <usize>i * 4, unaryVec(U_ABS, v128.load(x + <usize>i * 4))); break;
    case U_TANH: for (let i = 0; i < n4; i += 4) v128.store(out + <usize>i * 4, unaryVec(U_TANH, v128.load(x + <usize>i * 4))); break;
    case U_SIGMOID: for (let i = 0; i < n4; i += 4) v128.store(out + <usize>i * 4, unaryVec(U_SIGMOID, v128.load(x + <usize>i * 4))); break;
    case U_RELU: for (let i = 0; i < n4; i += 4) v128.store(out + <usize>i * 4, unaryVec(U_RELU, v128.load(x + <usize>i * 4))); break;
    case U_SQUARE: for (let i = 0; i < n4; i += 4) v128.store(out + <usize>i * 4, unaryVec(U_SQUARE, v128.load(x + <usize>i * 4))); break;
    case U_EXPM1: for (let i = 0; i < n4; i += 4) v128.store(out + <usize>i * 4, unaryVec(U_EXPM1, v128.load(x + <usize>i * 4))); break;
    case U_RECIPROCAL: for (let i = 0; i < n4; i += 4) v128.store(out + <usize>i * 4, unaryVec(U_RECIPROCAL, v128.load(x + <usize>i * 4))); break;
  }
  // Tail through the vector path via a 16-byte scratch at __heap_base (only the thread that owns
  // the elementwise calls uses it), so results match the body bit for bit.
  if (n4 < n) {
    const tail = <usize>(n - n4) * 4;
    memory.copy(__heap_base, x + <usize>n4 * 4, tail);
    v128.store(__heap_base, unaryVec(op, v128.load(__heap_base)));
    memory.copy(out + <usize>n4 * 4, __heap_base, tail);
  }
}

// @ts-ignore: decorator
@inline function binVec(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case B_ADD: return f32x4.add(a, b);
    case B_SUB: return f32x4.sub(a, b);
    case B_MUL: return f32x4.mul(a, b);
    case B_DIV: return f32x4.div(a, b);
    case B_MAX: return f32x4.max(a, b);
    case B_MIN: return f32x4.min(a, b);
    // Activation backward from (g, y): y > 0 ? g : 0, g·(y·(1 − y)), g·(1 − y·y).
    case B_RELU_GRAD: return v128.and(a, f32x4.gt(b, f32x4.splat(0)));
    case B_SIGMOID_GRAD: return f32x4.mul(a, f32x4.mul(b, f32x4.sub(f32x4.splat(1), b)));
    case B_TANH_GRAD: return f32x4.mul(a, f32x4.sub(f32x4.splat(1), f32x4.mul(b, b)));
  }
  return a;
}

// @ts-ignore: decorator
@inline function binScalar(op: i32, a: f32, b: f32): f32 {
  return f32x4.extract_lane(binVec(op, f32x4.splat(a), f32x4.splat(b)), 0);
}

/** One row: a and b each either contiguous (step 1) or a repeated scalar (step 0). */
// @ts-ignore: decorator
@inline function binRow(op: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, n: i32): void {
  const n4 = n & ~3;
  if (sa && sb) {
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i * 4;
      v128.store(out + o, binVec(op, v128.load(a + o), v128.load(b + o)));
    }
  } else if (sa) {
    const vb = v128.load32_splat(b);
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i * 4;
      v128.store(out + o, binVec(op, v128.load(a + o), vb));
    }
  } else if (sb) {
    const va = v128.load32_splat(a);
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i * 4;
      v128.store(out + o, binVec(op, va, v128.load(b + o)));
    }
  } else {
    const v = binVec(op, v128.load32_splat(a), v128.load32_splat(b));
    for (let i = 0; i < n4; i += 4) v128.store(out + <usize>i * 4, v);
  }
  for (let i = n4; i < n; i++) {
    const va = load<f32>(a + <usize>(i * sa) * 4);
    const vb = load<f32>(b + <usize>(i * sb) * 4);
    store<f32>(out + <usize>i * 4, binScalar(op, va, vb));
  }
}

// @ts-ignore: decorator
@inline function binRows(op: i32, a: usize, ra: i32, sa: i32, b: usize, rb: i32, sb: i32, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    binRow(op, a + <usize>(r * ra) * 4, sa, b + <usize>(r * rb) * 4, sb, out + <usize>(r * cols) * 4, cols);
  }
}

/**
 * out[r, c] = op(a[r·ra + c·sa], b[r·rb + c·sb]) for a rows×cols block; sa, sb ∈ {0, 1}
 * and strides in elements. Covers same-shape, scalar, row- and column-vector broadcasting.
 */
export function binary(op: i32, a: usize, ra: i32, sa: i32, b: usize, rb: i32, sb: i32, out: usize, rows: i32, cols: i32): void {
  switch (op) {
    case B_ADD: binRows(B_ADD, a, ra, sa, b, rb, sb, out, rows, cols); break;
    case B_SUB: binRows(B_SUB, a, ra, sa, b, rb, sb, out, rows, cols); break;
    case B_MUL: binRows(B_MUL, a, ra, sa, b, rb, sb, out, rows, cols); break;
    case B_DIV: binRows(B_DIV, a, ra, sa, b, rb, sb, out, rows, cols); break;
    case B_MAX: binRows(B_MAX, a, ra, sa, b, rb, sb, out, rows, cols); break;
    case B_MIN: binRows(B_MIN, a, ra, sa, b, rb, sb, out, rows, cols); break;
    case B_RELU_GRAD: binRows(B_RELU_GRAD, a, ra, sa, b, rb, sb, out, rows, cols); break;
    case B_SIGMOID_GRAD: binRows(B_SIGMOID_GRAD, a, ra, sa, b, rb, sb, out, rows, cols); break;
    case B_TANH_GRAD: binRows(B_TANH_GRAD, a, ra, sa, b, rb, sb, out, rows, cols); break;
  }
}

// @ts-ignore: decorator
@inline function addPromoted(acc: v128, v: v128): v128 {
  return f64x2.add(acc, v128.promote_low<f32>(v));
}

/**
 * Sum the middle axis of x viewed as [outer, size, inner] into out (outer×inner floats).
 * Accumulates in f64 (as the reference does) so long sums keep their precision. `acc` is
 * scratch for `inner` f64 values.
 */
export function reduceSum(x: usize, outer: i32, size: i32, inner: i32, out: usize, acc: usize): void {
  for (let o = 0; o < outer; o++) {
    const base = x + <usize>(o * size) * <usize>inner * 4;
    if (inner == 1) {
      let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
      const n4 = size & ~3;
      for (let i = 0; i < n4; i += 4) {
        const v = v128.load(base + <usize>i * 4);
        s0 = addPromoted(s0, v);
        s1 = addPromoted(s1, v128.shuffle<i32>(v, v, 2, 3, 0, 1));
      }
      s0 = f64x2.add(s0, s1);
      let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
      for (let i = n4; i < size; i++) s += <f64>load<f32>(base + <usize>i * 4);
      store<f32>(out + <usize>o * 4, <f32>s);
      continue;
    }
    memory.fill(acc, 0, <usize>inner * 8);
    const in4 = inner & ~3;
    for (let r = 0; r < size; r++) {
      const row = base + <usize>(r * inner) * 4;
      for (let j = 0; j < in4; j += 4) {
        const v = v128.load(row + <usize>j * 4);
        const d = acc + <usize>j * 8;
        v128.store(d, addPromoted(v128.load(d), v));
        v128.store(d, addPromoted(v128.load(d, 16), v128.shuffle<i32>(v, v, 2, 3, 0, 1)), 16);
      }
      for (let j = in4; j < inner; j++) {
        const d = acc + <usize>j * 8;
        store<f64>(d, load<f64>(d) + <f64>load<f32>(row + <usize>j * 4));
      }
    }
    const ob = out + <usize>(o * inner) * 4;
    for (let j = 0; j < inner; j++) store<f32>(ob + <usize>j * 4, <f32>load<f64>(acc + <usize>j * 8));
  }
}

// Comparison codes, as COMPARE_CODES in ../ops.ts (and the native addon's CompareOp).
const C_GT = 0, C_GE = 1, C_LT = 2, C_LE = 3, C_EQ = 4;

// @ts-ignore: decorator
@inline function cmp(op: i32, x: f32, y: f32): bool {
  if (op == C_GT) return x > y;
  if (op == C_GE) return x >= y;
  if (op == C_LT) return x < y;
  if (op == C_LE) return x <= y;
  if (op == C_EQ) return x == y;
  return x != y;
}

/** out[r·cols + j] = a[r·ra + j·sa] op b[r·rb + j·sb] ? 1 : 0, one byte each (binary's addressing). */
export function compare(op: i32, a: usize, ra: i32, sa: i32, b: usize, rb: i32, sb: i32, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const ar = a + <usize>(r * ra) * 4;
    const br = b + <usize>(r * rb) * 4;
    const o = out + <usize>(r * cols);
    for (let j = 0; j < cols; j++) {
      const x = load<f32>(ar + <usize>(j * sa) * 4);
      const y = load<f32>(br + <usize>(j * sb) * 4);
      store<u8>(o + <usize>j, cmp(op, x, y) ? 1 : 0);
    }
  }
}

/**
 * Max (isMax = 1) or min of the middle axis of x viewed as [outer, size ≥ 1, inner], as the
 * reference: a NaN anywhere gives NaN, otherwise the first extreme value is kept.
 */
export function reduceMinMax(isMax: i32, x: usize, outer: i32, size: i32, inner: i32, out: usize): void {
  for (let o = 0; o < outer; o++) {
    const base = x + <usize>(o * size) * <usize>inner * 4;
    const ob = out + <usize>(o * inner) * 4;
    memory.copy(ob, base, <usize>inner * 4);
    for (let r = 1; r < size; r++) {
      const row = base + <usize>(r * inner) * 4;
      for (let j = 0; j < inner; j++) {
        const d = ob + <usize>j * 4;
        const m = load<f32>(d);
        const v = load<f32>(row + <usize>j * 4);
        const better = isMax ? v > m : v < m;
        if (m == m && (v != v || better)) store<f32>(d, v);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function ceilDiv(a: i32, b: i32): i32 {
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

// @ts-ignore: decorator
@inline function floorDiv(a: i32, b: i32): i32 {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/**
 * One plane's windows in the order of walkWindows in ../../../ops/rules/conv.ts (kernel row,
 * kernel column, output row): for each output row, the columns [lo, hi) that read pixels
 * (y·w + x0 + ox·sw); the others (and rows with y outside the image) fall on the padding.
 * im2col (toCols = 1) writes the columns, padValue on the padding; col2im adds them back.
 * The caller checked that the window fits the padded image (oh, ow ≥ 1).
 */
function windows(toCols: i32, img: usize, cols: usize, planes: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32,
                 ph: i32, pw: i32, dh: i32, dw: i32, padValue: f32): void {
  const oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
  const ow = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
  const l = oh * ow;
  for (let p = 0; p < planes; p++) {
    const plane = img + <usize>(p * h * w) * 4;
    const block = cols + <usize>(p * kh * kw * l) * 4;
    if (!toCols) memory.fill(plane, 0, <usize>(h * w) * 4);
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const x0 = kj * dw - pw;
        const lo = min(ow, max(0, ceilDiv(-x0, sw)));
        const hi = max(lo, min(ow, floorDiv(w - 1 - x0, sw) + 1));
        for (let oy = 0; oy < oh; oy++) {
          const y = oy * sh - ph + ki * dh;
          const c = block + <usize>((ki * kw + kj) * l + oy * ow) * 4;
          if (y < 0 || y >= h) {
            if (toCols) for (let ox = 0; ox < ow; ox++) store<f32>(c + <usize>ox * 4, padValue);
            continue;
          }
          const pix = y * w + x0;
          if (toCols) {
            for (let ox = 0; ox < lo; ox++) store<f32>(c + <usize>ox * 4, padValue);
            for (let ox = lo; ox < hi; ox++) store<f32>(c + <usize>ox * 4, load<f32>(plane + <usize>(pix + ox * sw) * 4));
            for (let ox = hi; ox < ow; ox++) store<f32>(c + <usize>ox * 4, padValue);
          } else {
            for (let ox = lo; ox < hi; ox++) {
              const d = plane + <usize>(pix + ox * sw) * 4;
              store<f32>(d, load<f32>(d) + load<f32>(c + <usize>ox * 4));
            }
          }
        }
      }
    }
  }
}

/** Each of `planes` h×w planes at x to its [kh·kw, oh·ow] window columns at out. */
export function im2col(x: usize, planes: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32,
                       dw: i32, padValue: f32, out: usize): void {
  windows(1, x, out, planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, padValue);
}

/** im2col's adjoint: the columns at cols summed into `planes` zeroed h×w planes at out. */
export function col2im(cols: usize, planes: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32,
                       dw: i32, out: usize): void {
  windows(0, out, cols, planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, 0);
}

/**
 * Max pooling of `planes` h×w planes at x with the scan of ../../../ops/rules/conv.ts: out[p, k]
 * the largest value of window k, picks[p, k] the plane offset of the element whose gradient it
 * is (the first largest in row-major window order, a NaN over any number (the last NaN), the
 * first real element when all are −∞). The caller checked the padding is at most half the kernel.
 */
export function maxPool(x: usize, planes: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32,
                        dw: i32, out: usize, picks: usize): void {
  const oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
  const ow = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
  let o: usize = 0;
  for (let p = 0; p < planes; p++) {
    const plane = x + <usize>(p * h * w) * 4;
    for (let oy = 0; oy < oh; oy++) {
      let y0 = oy * sh - ph;
      const y1 = min(y0 + (kh - 1) * dh + 1, h);
      while (y0 < 0) y0 += dh;
      for (let ox = 0; ox < ow; ox++, o++) {
        let x0 = ox * sw - pw;
        const x1 = min(x0 + (kw - 1) * dw + 1, w);
        while (x0 < 0) x0 += dw;
        let best: f32 = -Infinity;
        let pick = y0 * w + x0;
        for (let yy = y0; yy < y1; yy += dh) {
          for (let i = yy * w + x0, end = yy * w + x1; i < end; i += dw) {
            const v = load<f32>(plane + <usize>i * 4);
            // Selects, not a branch (nor a short-circuit ||): which element wins is data-dependent.
            const take = (v > best) | (v != v);
            best = select<f32>(v, best, take);
            pick = select<i32>(i, pick, take);
          }
        }
        store<f32>(out + o * 4, best);
        store<i32>(picks + o * 4, pick);
      }
    }
  }
}

/** Its backward: each plane of `size` floats zeroed, then grad[p, k] added at picks[p, k], k in order. */
export function maxPoolBackward(grad: usize, picks: usize, planes: i32, size: i32, l: i32, out: usize): void {
  for (let p = 0; p < planes; p++) {
    const plane = out + <usize>(p * size) * 4;
    memory.fill(plane, 0, <usize>size * 4);
    for (let k = 0; k < l; k++) {
      const at = <usize>(p * l + k) * 4;
      const d = plane + <usize>load<i32>(picks + at) * 4;
      store<f32>(d, load<f32>(d) + load<f32>(grad + at));
    }
  }
}

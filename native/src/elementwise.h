// fp32 elementwise kernels and the sum reduction. Op codes match NATIVE_*_CODES in src/backend/native/index.ts.
#pragma once

namespace chainrule {

enum UnaryOp { kNeg = 0, kExp, kSqrt, kAbs, kTanh, kSigmoid, kRelu, kSquare, kExpm1, kReciprocal, kUnaryCount };
// kReluGrad, kSigmoidGrad, kTanhGrad: activation backward from (g, y): y > 0 ? g : 0,
// g·(y·(1 − y)), g·(1 − y·y).
enum BinaryOp { kAdd = 0, kSub, kMul, kDiv, kMax, kMin, kReluGrad, kSigmoidGrad, kTanhGrad, kBinaryCount };

/** y[i] = op(x[i]) for i in [0, n); x and y may alias. */
void unary(int op, const float* x, float* y, long n, int threads);

/** The relu kernel in place on a rows×cols block of a row-major matrix with row stride ld. */
void reluRows(float* c, long ld, long rows, long cols);

/** out[r·cols + c] = op(a[r·ra + c·sa], b[r·rb + c·sb]) with sa, sb ∈ {0, 1}. */
void binary(int op, const float* a, long ra, int sa, const float* b, long rb, int sb, float* out, long rows, long cols,
            int threads);

/**
 * out[i·rowLen + j] = float(src[rows[i]·rowLen + j]·scale + shift), the arithmetic in double
 * (as the JavaScript fallback does, so both give the same floats). Rows must be in range.
 */
void gatherRowsU8(const unsigned char* src, long rowLen, const int* rows, long count, double scale, double shift, float* out,
                  int threads);

/** out[i·rowLen + j] = src[rows[i]·rowLen + j]: rows of a float array. Rows must be in range. */
void gatherRowsF32(const float* src, long rowLen, const int* rows, long count, float* out, int threads);

enum CompareOp { kCmpGt = 0, kCmpGe, kCmpLt, kCmpLe, kCmpEq, kCmpNe, kCompareCount };

/** out[r·cols + j] = a[r·ra + j·sa] op b[r·rb + j·sb] ? 1 : 0 (sa, sb ∈ {0, 1}). */
void compare(int op, const float* a, long ra, int sa, const float* b, long rb, int sb, unsigned char* out, long rows, long cols);

/** Max (or min) over the middle axis of [outer, size ≥ 1, inner]; a NaN anywhere gives NaN. */
void reduceMinMax(bool max, const float* x, long outer, long size, long inner, float* out);

/** A sliding window over one H×W plane, with its output size oh×ow (floor mode). */
struct WindowGeometry {
  long h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
};

/** Each of `planes` H×W planes to [kh·kw, oh·ow] window columns (PyTorch's unfold); padding reads padValue. */
void im2col(const float* x, long planes, const WindowGeometry& g, float padValue, float* out, int threads);

/** im2col's adjoint: columns summed back into zeroed H×W planes, in the same order as the TypeScript loop. */
void col2im(const float* cols, long planes, const WindowGeometry& g, float* out, int threads);

/**
 * Max pooling of `planes` H×W planes: out[p, k] the largest value of window k, picks[p, k] the
 * plane offset of the element it takes (the scan of src/ops/rules/conv.ts, whose gradient goes
 * there). The padding never wins.
 */
void maxPool(const float* x, long planes, const WindowGeometry& g, float* out, int* picks, int threads);

/** Its backward: out[p] (size floats, zeroed first) gets grad[p, k] added at picks[p, k]. Picks must be in range. */
void maxPoolBackward(const float* grad, const int* picks, long planes, long size, long l, float* out, int threads,
                     const WindowGeometry* g = nullptr);

/** Sum over the middle axis of [outer, size, inner], accumulated in double. */
void reduceSum(const float* x, long outer, long size, long inner, float* out);


}  // namespace chainrule

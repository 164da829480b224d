// N-API glue: argument checking and zero-copy access to the Float32Arrays' memory. Plain
// node_api.h (no node-addon-api), so a consumer build needs only node-gyp and a compiler.
#define NAPI_VERSION 8
#include <node_api.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "conv.h"
#include "elementwise.h"
#include "gemm.h"
#include "optim.h"
#include "thread_pool.h"

namespace {

using chainrule::Isa;

struct F32 {
  float* data = nullptr;
  size_t length = 0;
};

bool fail(napi_env env, const char* msg) {
  napi_throw_type_error(env, nullptr, msg);
  return false;
}

bool getF32(napi_env env, napi_value v, F32* out) {
  napi_typedarray_type type;
  void* data = nullptr;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, &out->length, &data, &ab, &offset) != napi_ok || type != napi_float32_array)
    return fail(env, "chainrule native: expected a Float32Array");
  out->data = static_cast<float*>(data);
  return true;
}

bool getI32(napi_env env, napi_value v, int32_t** data, size_t* length) {
  napi_typedarray_type type;
  void* p = nullptr;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, length, &p, &ab, &offset) != napi_ok || type != napi_int32_array)
    return fail(env, "chainrule native: expected an Int32Array");
  *data = static_cast<int32_t*>(p);
  return true;
}

bool getInt(napi_env env, napi_value v, int64_t* out) {
  if (napi_get_value_int64(env, v, out) != napi_ok) return fail(env, "chainrule native: expected a number");
  return true;
}

bool getBool(napi_env env, napi_value v, bool* out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) return fail(env, "chainrule native: expected a boolean");
  return true;
}

template <size_t N>
bool getArgs(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < N)
    return fail(env, "chainrule native: too few arguments");
  return true;
}

bool fits(napi_env env, const F32& a, int64_t offset, int64_t count) {
  if (offset < 0 || count < 0 || static_cast<uint64_t>(offset + count) > a.length)
    return fail(env, "chainrule native: range outside the array");
  return true;
}

// An optional argument: null or undefined (data stays nullptr), or a Float32Array of at least `length` floats.
bool getOptionalF32(napi_env env, napi_value v, int64_t length, const float** data) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  *data = nullptr;
  if (type == napi_null || type == napi_undefined) return true;
  F32 a;
  if (!getF32(env, v, &a) || !fits(env, a, 0, length)) return false;
  *data = a.data;
  return true;
}

bool gemmSizes(napi_env env, int64_t m, int64_t n, int64_t k) {
  if (m < 0 || n < 0 || k < 0 || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return fail(env, "chainrule native: bad gemm sizes");
  return true;
}

// The arguments gemm and gemmFused share: transA, transB, m, n, k, a, aOffset, b, bOffset, c, cOffset.
bool getGemm(napi_env env, napi_value* argv, chainrule::GemmProblem* p) {
  bool ta, tb;
  int64_t m, n, k, ao, bo, co;
  F32 a, b, c;
  if (!getBool(env, argv[0], &ta) || !getBool(env, argv[1], &tb) || !getInt(env, argv[2], &m) ||
      !getInt(env, argv[3], &n) || !getInt(env, argv[4], &k) || !getF32(env, argv[5], &a) || !getInt(env, argv[6], &ao) ||
      !getF32(env, argv[7], &b) || !getInt(env, argv[8], &bo) || !getF32(env, argv[9], &c) || !getInt(env, argv[10], &co))
    return false;
  if (!gemmSizes(env, m, n, k)) return false;
  if (!fits(env, a, ao, m * k) || !fits(env, b, bo, k * n) || !fits(env, c, co, m * n)) return false;
  *p = chainrule::GemmProblem{ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), a.data + ao, b.data + bo, c.data + co, false};
  return true;
}

// gemm(transA, transB, m, n, k, a, aOffset, b, bOffset, c, cOffset, accumulate, threads)
napi_value Gemm(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  if (!getArgs(env, info, argv)) return nullptr;
  chainrule::GemmProblem p;
  int64_t threads;
  if (!getGemm(env, argv, &p) || !getBool(env, argv[11], &p.accumulate) || !getInt(env, argv[12], &threads)) return nullptr;
  chainrule::gemm(p, static_cast<int>(threads));
  return nullptr;
}

// gemmFused(transA, transB, m, n, k, a, aOffset, b, bOffset, c, cOffset, bias | null, relu, threads): a linear
// layer's C = [relu](bias + op(A)·op(B)), the bias (n floats) in every row.
napi_value GemmFused(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  if (!getArgs(env, info, argv)) return nullptr;
  chainrule::GemmProblem p;
  int64_t threads;
  if (!getGemm(env, argv, &p) || !getBool(env, argv[12], &p.relu) || !getInt(env, argv[13], &threads) ||
      !getOptionalF32(env, argv[11], p.n, &p.bias))
    return nullptr;
  chainrule::gemm(p, static_cast<int>(threads));
  return nullptr;
}

// gemmBatched(transA, transB, m, n, k, a, aOffsets, b, bOffsets, c, cOffset, accumulate, threads): item i of
// aOffsets.length is C[cOffset + i·m·n ..] (+)= op(A at aOffsets[i])·op(B at bOffsets[i]).
napi_value GemmBatched(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  if (!getArgs(env, info, argv)) return nullptr;
  bool ta, tb, acc;
  int64_t m, n, k, co, threads;
  F32 a, b, c;
  int32_t *aOffsets, *bOffsets;
  size_t count, bCount;
  if (!getBool(env, argv[0], &ta) || !getBool(env, argv[1], &tb) || !getInt(env, argv[2], &m) || !getInt(env, argv[3], &n) ||
      !getInt(env, argv[4], &k) || !getF32(env, argv[5], &a) || !getI32(env, argv[6], &aOffsets, &count) || !getF32(env, argv[7], &b) ||
      !getI32(env, argv[8], &bOffsets, &bCount) || !getF32(env, argv[9], &c) || !getInt(env, argv[10], &co) || !getBool(env, argv[11], &acc) ||
      !getInt(env, argv[12], &threads))
    return nullptr;
  if (!gemmSizes(env, m, n, k)) return nullptr;
  if (count != bCount || count > INT32_MAX) {
    fail(env, "chainrule native: gemmBatched needs one A and one B offset per item");
    return nullptr;
  }
  if (!fits(env, c, co, static_cast<int64_t>(count) * m * n)) return nullptr;
  for (size_t i = 0; i < count; ++i)
    if (!fits(env, a, aOffsets[i], m * k) || !fits(env, b, bOffsets[i], k * n)) return nullptr;
  chainrule::GemmProblem p{ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), a.data, b.data, c.data + co, acc};
  chainrule::gemmBatched(p, aOffsets, bOffsets, static_cast<int>(count), static_cast<int>(threads));
  return nullptr;
}

// unary(op, x, out, threads)
napi_value Unary(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!getArgs(env, info, argv)) return nullptr;
  int64_t op, threads;
  F32 x, y;
  if (!getInt(env, argv[0], &op) || !getF32(env, argv[1], &x) || !getF32(env, argv[2], &y) || !getInt(env, argv[3], &threads))
    return nullptr;
  if (op < 0 || op >= chainrule::kUnaryCount || y.length < x.length) {
    fail(env, "chainrule native: bad unary call");
    return nullptr;
  }
  chainrule::unary(static_cast<int>(op), x.data, y.data, static_cast<long>(x.length), static_cast<int>(threads));
  return nullptr;
}

// binary(op, a, aOff, ra, sa, b, bOff, rb, sb, out, outOff, rows, cols, threads)
napi_value Binary(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  if (!getArgs(env, info, argv)) return nullptr;
  int64_t op, ao, ra, sa, bo, rb, sb, oo, rows, cols, threads;
  F32 a, b, o;
  if (!getInt(env, argv[0], &op) || !getF32(env, argv[1], &a) || !getInt(env, argv[2], &ao) || !getInt(env, argv[3], &ra) ||
      !getInt(env, argv[4], &sa) || !getF32(env, argv[5], &b) || !getInt(env, argv[6], &bo) || !getInt(env, argv[7], &rb) ||
      !getInt(env, argv[8], &sb) || !getF32(env, argv[9], &o) || !getInt(env, argv[10], &oo) ||
      !getInt(env, argv[11], &rows) || !getInt(env, argv[12], &cols) || !getInt(env, argv[13], &threads))
    return nullptr;
  if (op < 0 || op >= chainrule::kBinaryCount || (sa != 0 && sa != 1) || (sb != 0 && sb != 1) || rows < 1 || cols < 1 ||
      ra < 0 || rb < 0) {
    fail(env, "chainrule native: bad binary call");
    return nullptr;
  }
  // Last element each operand reads, to keep a wrong stride from reading outside the array.
  if (!fits(env, a, ao, (rows - 1) * ra + (cols - 1) * sa + 1) || !fits(env, b, bo, (rows - 1) * rb + (cols - 1) * sb + 1) ||
      !fits(env, o, oo, rows * cols))
    return nullptr;
  chainrule::binary(static_cast<int>(op), a.data + ao, ra, static_cast<int>(sa), b.data + bo, rb, static_cast<int>(sb),
                    o.data + oo, rows, cols, static_cast<int>(threads));
  return nullptr;
}

// reduceSum(x, outer, size, inner, out)
napi_value ReduceSum(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!getArgs(env, info, argv)) return nullptr;
  int64_t outer, size, inner;
  F32 x, o;
  if (!getF32(env, argv[0], &x) || !getInt(env, argv[1], &outer) || !getInt(env, argv[2], &size) ||
      !getInt(env, argv[3], &inner) || !getF32(env, argv[4], &o))
    return nullptr;
  if (outer < 0 || size < 0 || inner < 0 || !fits(env, x, 0, outer * size * inner) || !fits(env, o, 0, outer * inner))
    return nullptr;
  chainrule::reduceSum(x.data, outer, size, inner, o.data);
  return nullptr;
}

// compare(op, a, ao, ra, sa, b, bo, rb, sb, out: Uint8Array, oo, rows, cols): binary's addressing.
napi_value Compare(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  if (!getArgs(env, info, argv)) return nullptr;
  int64_t op, ao, ra, sa, bo, rb, sb, oo, rows, cols;
  F32 a, b;
  if (!getInt(env, argv[0], &op) || !getF32(env, argv[1], &a) || !getInt(env, argv[2], &ao) || !getInt(env, argv[3], &ra) ||
      !getInt(env, argv[4], &sa) || !getF32(env, argv[5], &b) || !getInt(env, argv[6], &bo) || !getInt(env, argv[7], &rb) ||
      !getInt(env, argv[8], &sb))
    return nullptr;
  napi_typedarray_type type;
  size_t outLen = 0;
  void* outData = nullptr;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, argv[9], &type, &outLen, &outData, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    fail(env, "chainrule native: expected a Uint8Array");
    return nullptr;
  }
  if (!getInt(env, argv[10], &oo) || !getInt(env, argv[11], &rows) || !getInt(env, argv[12], &cols)) return nullptr;
  if (op < 0 || op >= chainrule::kCompareCount || (sa != 0 && sa != 1) || (sb != 0 && sb != 1) || rows < 1 || cols < 1 ||
      ra < 0 || rb < 0 || oo < 0 || static_cast<uint64_t>(oo + rows * cols) > outLen) {
    fail(env, "chainrule native: bad compare call");
    return nullptr;
  }
  if (!fits(env, a, ao, (rows - 1) * ra + (cols - 1) * sa + 1) || !fits(env, b, bo, (rows - 1) * rb + (cols - 1) * sb + 1))
    return nullptr;
  chainrule::compare(static_cast<int>(op), a.data + ao, ra, static_cast<int>(sa), b.data + bo, rb, static_cast<int>(sb),
                     static_cast<unsigned char*>(outData) + oo, rows, cols);
  return nullptr;
}

// reduceMinMax(max: boolean, x, outer, size, inner, out)
napi_value ReduceMinMax(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!getArgs(env, info, argv)) return nullptr;
  bool max;
  int64_t outer, size, inner;
  F32 x, o;
  if (!getBool(env, argv[0], &max) || !getF32(env, argv[1], &x) || !getInt(env, argv[2], &outer) ||
      !getInt(env, argv[3], &size) || !getInt(env, argv[4], &inner) || !getF32(env, argv[5], &o))
    return nullptr;
  if (outer < 0 || size < 1 || inner < 0) {
    fail(env, "chainrule native: bad reduceMinMax call");
    return nullptr;
  }
  if (!fits(env, x, 0, outer * size * inner) || !fits(env, o, 0, outer * inner)) return nullptr;
  chainrule::reduceMinMax(max, x.data, outer, size, inner, o.data);
  return nullptr;
}

bool getFloat(napi_env env, napi_value v, float* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return fail(env, "chainrule native: expected a number");
  *out = static_cast<float>(d);
  return true;
}

// The window geometry arguments planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw at argv[1..11] of the
// array passed; false after throwing.
bool getWindowGeometry(napi_env env, napi_value* argv, int64_t* planes, chainrule::WindowGeometry* g) {
  int64_t v[11];
  for (int i = 0; i < 11; ++i)
    if (!getInt(env, argv[1 + i], &v[i])) return false;
  *planes = v[0];
  g->h = v[1], g->w = v[2], g->kh = v[3], g->kw = v[4], g->sh = v[5], g->sw = v[6], g->ph = v[7], g->pw = v[8], g->dh = v[9],
  g->dw = v[10];
  if (*planes < 0 || g->h < 0 || g->w < 0 || g->kh < 1 || g->kw < 1 || g->sh < 1 || g->sw < 1 || g->ph < 0 || g->pw < 0 ||
      g->dh < 1 || g->dw < 1)
    return fail(env, "chainrule native: bad window geometry");
  const int64_t spanH = g->h + 2 * g->ph - g->dh * (g->kh - 1) - 1;
  const int64_t spanW = g->w + 2 * g->pw - g->dw * (g->kw - 1) - 1;
  if (spanH < 0 || spanW < 0) return fail(env, "chainrule native: the window is larger than the padded image");
  g->oh = spanH / g->sh + 1;
  g->ow = spanW / g->sw + 1;
  return true;
}

// windows(toCols, src, planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, padValue, out): im2col of the
// image planes at src (toCols) or col2im of the columns at src; only im2col reads padValue.
napi_value Windows(napi_env env, napi_callback_info info) {
  napi_value argv[15];
  if (!getArgs(env, info, argv)) return nullptr;
  bool toCols;
  F32 src, o;
  int64_t planes;
  chainrule::WindowGeometry g;
  float padValue;
  if (!getBool(env, argv[0], &toCols) || !getF32(env, argv[1], &src) || !getWindowGeometry(env, argv + 1, &planes, &g) ||
      !getFloat(env, argv[13], &padValue) || !getF32(env, argv[14], &o))
    return nullptr;
  const int64_t imageLen = planes * g.h * g.w;
  const int64_t colsLen = planes * g.kh * g.kw * g.oh * g.ow;
  if (!fits(env, src, 0, toCols ? imageLen : colsLen) || !fits(env, o, 0, toCols ? colsLen : imageLen)) return nullptr;
  const int threads = chainrule::ThreadPool::instance().threads();
  if (toCols) chainrule::im2col(src.data, planes, g, padValue, o.data, threads);
  else chainrule::col2im(src.data, planes, g, o.data, threads);
  return nullptr;
}

// conv2d(kind, n, h, w, kh, kw, sh, sw, ph, pw, dh, dw, c, o, a, b, bias | null, out, relu): one group
// of a 2-D convolution over n samples of c planes (conv.h). kind 0: a = x, b = weight, out = y (bias
// or null, then relu if asked); 1: a = gy, b = weight, out = gx; 2: a = x, b = gy, out = the
// per-sample weight grads.
napi_value Conv2d(napi_env env, napi_callback_info info) {
  napi_value argv[19];
  if (!getArgs(env, info, argv)) return nullptr;
  int64_t kind, n, c, o;
  chainrule::WindowGeometry g;
  F32 a, b, out;
  bool relu;
  if (!getInt(env, argv[0], &kind) || !getWindowGeometry(env, argv, &n, &g) || !getInt(env, argv[12], &c) ||
      !getInt(env, argv[13], &o) || !getF32(env, argv[14], &a) || !getF32(env, argv[15], &b) || !getF32(env, argv[17], &out) ||
      !getBool(env, argv[18], &relu))
    return nullptr;
  if (kind < 0 || kind > 2 || c < 1 || o < 1) {
    fail(env, "chainrule native: bad conv2d arguments");
    return nullptr;
  }
  const int64_t image = n * c * g.h * g.w, k = c * g.kh * g.kw, outputs = n * o * g.oh * g.ow;
  const float* bias = nullptr;
  if (kind == 0 && !getOptionalF32(env, argv[16], o, &bias)) return nullptr;
  const int threads = chainrule::ThreadPool::instance().threads();
  if (kind == 0) {
    if (!fits(env, a, 0, image) || !fits(env, b, 0, o * k) || !fits(env, out, 0, outputs)) return nullptr;
    chainrule::conv2dForward(a.data, n, c, g, b.data, o, bias, relu, out.data, threads);
  } else if (kind == 1) {
    if (!fits(env, a, 0, outputs) || !fits(env, b, 0, o * k) || !fits(env, out, 0, image)) return nullptr;
    chainrule::conv2dInputGrad(a.data, n, c, g, b.data, o, out.data, threads);
  } else {
    if (!fits(env, a, 0, image) || !fits(env, b, 0, outputs) || !fits(env, out, 0, n * o * k)) return nullptr;
    chainrule::conv2dWeightGrad(a.data, b.data, n, c, g, o, out.data, threads);
  }
  return nullptr;
}

// maxPool(x, planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, out, picks: Int32Array)
napi_value MaxPool(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  if (!getArgs(env, info, argv)) return nullptr;
  F32 x, o;
  int64_t planes;
  chainrule::WindowGeometry g;
  int32_t* picks;
  size_t picksLen;
  if (!getF32(env, argv[0], &x) || !getWindowGeometry(env, argv, &planes, &g) || !getF32(env, argv[12], &o) ||
      !getI32(env, argv[13], &picks, &picksLen))
    return nullptr;
  if (2 * g.ph > g.kh || 2 * g.pw > g.kw) {
    fail(env, "chainrule native: maxPool padding over half the kernel");  // a window could lie wholly in the padding
    return nullptr;
  }
  const int64_t outLen = planes * g.oh * g.ow;
  if (!fits(env, x, 0, planes * g.h * g.w) || !fits(env, o, 0, outLen)) return nullptr;
  if (static_cast<int64_t>(picksLen) < outLen) {
    fail(env, "chainrule native: range outside the array");
    return nullptr;
  }
  chainrule::maxPool(x.data, planes, g, o.data, picks, chainrule::ThreadPool::instance().threads());
  return nullptr;
}

// maxPoolBackward(grad, picks: Int32Array, planes, size, l, out)
napi_value MaxPoolBackward(napi_env env, napi_callback_info info) {
  // The window geometry may follow (h, w, kh, kw, sh, sw, ph, pw, dh, dw), for the kernels that
  // know the window's shape; without it the scatter alone.
  napi_value argv[16];
  size_t argc = 16;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 6) {
    fail(env, "chainrule native: too few arguments");
    return nullptr;
  }
  F32 g, o;
  int32_t* picks;
  size_t picksLen;
  int64_t planes, size, l;
  if (!getF32(env, argv[0], &g) || !getI32(env, argv[1], &picks, &picksLen) || !getInt(env, argv[2], &planes) ||
      !getInt(env, argv[3], &size) || !getInt(env, argv[4], &l) || !getF32(env, argv[5], &o))
    return nullptr;
  if (planes < 0 || size < 0 || l < 0 || !fits(env, g, 0, planes * l) || !fits(env, o, 0, planes * size) ||
      static_cast<int64_t>(picksLen) < planes * l)
    return nullptr;
  for (int64_t i = 0; i < planes * l; ++i)
    if (picks[i] < 0 || picks[i] >= size) {
      fail(env, "chainrule native: maxPoolBackward pick outside the plane");
      return nullptr;
    }
  chainrule::WindowGeometry geom;
  int64_t geomPlanes;
  const bool withGeometry = argc >= 16;
  if (withGeometry) {
    // getWindowGeometry reads a count then h, w, kh, ... from its argv[1..11]: l stands in for the count.
    napi_value slots[12];
    slots[1] = argv[4];
    for (int i = 0; i < 10; ++i) slots[2 + i] = argv[6 + i];
    if (!getWindowGeometry(env, slots, &geomPlanes, &geom)) return nullptr;
  }
  chainrule::maxPoolBackward(g.data, picks, planes, size, l, o.data, chainrule::ThreadPool::instance().threads(),
                             withGeometry ? &geom : nullptr);
  return nullptr;
}

// adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq | null,
//          beta1, beta2, eps, negStepSize, bias2Sqrt, l2, shrink, sign)
napi_value AdamStepFn(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  if (!getArgs(env, info, argv)) return nullptr;
  F32 x, g, m, v, vmax;
  napi_valuetype t4;
  napi_typeof(env, argv[4], &t4);
  const bool ams = t4 != napi_null && t4 != napi_undefined;
  chainrule::AdamStep s{};
  if (!getF32(env, argv[0], &x) || !getF32(env, argv[1], &g) || !getF32(env, argv[2], &m) || !getF32(env, argv[3], &v) ||
      (ams && !getF32(env, argv[4], &vmax)) || !getFloat(env, argv[5], &s.beta1) || !getFloat(env, argv[6], &s.beta2) ||
      !getFloat(env, argv[7], &s.eps) || !getFloat(env, argv[8], &s.negStepSize) || !getFloat(env, argv[9], &s.invBias2) ||
      !getFloat(env, argv[10], &s.l2) || !getFloat(env, argv[11], &s.shrink) || !getFloat(env, argv[12], &s.sign))
    return nullptr;
  if (g.length != x.length || m.length != x.length || v.length != x.length || (ams && vmax.length != x.length)) {
    fail(env, "chainrule native: adamStep arrays differ in length");
    return nullptr;
  }
  // The complements and the reciprocal in double, then rounded once.
  double b1, b2, bias2;
  napi_get_value_double(env, argv[5], &b1);
  napi_get_value_double(env, argv[6], &b2);
  napi_get_value_double(env, argv[9], &bias2);
  s.keep1 = static_cast<float>(1.0 - b1);
  s.keep2 = static_cast<float>(1.0 - b2);
  s.invBias2 = static_cast<float>(1.0 / bias2);
  s.param = x.data;
  s.grad = g.data;
  s.expAvg = m.data;
  s.expAvgSq = v.data;
  s.maxExpAvgSq = ams ? vmax.data : nullptr;
  s.n = static_cast<long>(x.length);
  chainrule::adamStep(s);
  return nullptr;
}

// The row indices of a gather (an Int32Array), each checked against the source's row count;
// nullptr after throwing.
const int* getRows(napi_env env, napi_value v, size_t srcLen, int64_t rowLen, size_t* count, const char* who) {
  int32_t* r;
  if (!getI32(env, v, &r, count)) return nullptr;
  const int64_t srcRows = rowLen == 0 ? 0 : static_cast<int64_t>(srcLen) / rowLen;
  for (size_t i = 0; i < *count; ++i)
    if (r[i] < 0 || r[i] >= srcRows) {
      fail(env, (std::string("chainrule native: ") + who + " row out of range").c_str());
      return nullptr;
    }
  return r;
}

// gatherRowsU8(src: Uint8Array, rowLen, rows: Int32Array, scale, shift, out: Float32Array)
// out row i = src row rows[i] · scale + shift. Every row index is checked here.
napi_value GatherRowsU8(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!getArgs(env, info, argv)) return nullptr;
  napi_typedarray_type type;
  size_t srcLen = 0, rowsLen = 0;
  void* src = nullptr;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, argv[0], &type, &srcLen, &src, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    fail(env, "chainrule native: expected a Uint8Array");
    return nullptr;
  }
  int64_t rowLen;
  if (!getInt(env, argv[1], &rowLen)) return nullptr;
  if (rowLen < 0) {
    fail(env, "chainrule native: bad gatherRowsU8 sizes");
    return nullptr;
  }
  const int* r = getRows(env, argv[2], srcLen, rowLen, &rowsLen, "gatherRowsU8");
  if (r == nullptr) return nullptr;
  double scale, shift;
  if (napi_get_value_double(env, argv[3], &scale) != napi_ok || napi_get_value_double(env, argv[4], &shift) != napi_ok) {
    fail(env, "chainrule native: expected a number");
    return nullptr;
  }
  F32 out;
  if (!getF32(env, argv[5], &out)) return nullptr;
  if (out.length < rowsLen * static_cast<size_t>(rowLen)) {
    fail(env, "chainrule native: bad gatherRowsU8 sizes");
    return nullptr;
  }
  chainrule::gatherRowsU8(static_cast<const unsigned char*>(src), static_cast<long>(rowLen), r, static_cast<long>(rowsLen), scale,
                          shift, out.data, chainrule::ThreadPool::instance().threads());
  return nullptr;
}

// gatherRowsF32(src: Float32Array, rowLen, rows: Int32Array, out: Float32Array): out row i = src
// row rows[i]. Every row index is checked here.
napi_value GatherRowsF32(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!getArgs(env, info, argv)) return nullptr;
  F32 src, out;
  int64_t rowLen;
  if (!getF32(env, argv[0], &src) || !getInt(env, argv[1], &rowLen)) return nullptr;
  if (rowLen < 0) {
    fail(env, "chainrule native: bad gatherRowsF32 sizes");
    return nullptr;
  }
  size_t rowsLen = 0;
  const int* r = getRows(env, argv[2], src.length, rowLen, &rowsLen, "gatherRowsF32");
  if (r == nullptr || !getF32(env, argv[3], &out)) return nullptr;
  if (out.length < rowsLen * static_cast<size_t>(rowLen)) {
    fail(env, "chainrule native: bad gatherRowsF32 sizes");
    return nullptr;
  }
  chainrule::gatherRowsF32(src.data, static_cast<long>(rowLen), r, static_cast<long>(rowsLen), out.data,
                           chainrule::ThreadPool::instance().threads());
  return nullptr;
}

napi_value MakeString(napi_env env, const char* s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

// info() -> { isa, bestIsa, threads }
napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, threads;
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "isa", MakeString(env, chainrule::isaName(chainrule::currentIsa())));
  napi_set_named_property(env, obj, "bestIsa", MakeString(env, chainrule::isaName(chainrule::detectIsa())));
  napi_create_int32(env, chainrule::ThreadPool::instance().threads(), &threads);
  napi_set_named_property(env, obj, "threads", threads);
  return obj;
}

// setIsa('avx512' | 'avx2' | 'generic') -> the ISA now in use (clamped to what the CPU has)
napi_value SetIsa(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!getArgs(env, info, argv)) return nullptr;
  char name[16] = {0};
  size_t len = 0;
  napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len);
  Isa want = std::strcmp(name, "avx512") == 0 ? Isa::Avx512 : std::strcmp(name, "avx2") == 0 ? Isa::Avx2 : Isa::Generic;
  return MakeString(env, chainrule::isaName(chainrule::setIsa(want)));
}

// setThreads(n): size of the pool a parallel call may use (caller included)
napi_value SetThreads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!getArgs(env, info, argv)) return nullptr;
  int64_t n;
  if (!getInt(env, argv[0], &n)) return nullptr;
  chainrule::ThreadPool::instance().setThreads(static_cast<int>(n));
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmFused", nullptr, GemmFused, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmBatched", nullptr, GemmBatched, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceSum", nullptr, ReduceSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamStep", nullptr, AdamStepFn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gatherRowsU8", nullptr, GatherRowsU8, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gatherRowsF32", nullptr, GatherRowsF32, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"compare", nullptr, Compare, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceMinMax", nullptr, ReduceMinMax, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"windows", nullptr, Windows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool", nullptr, MaxPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolBackward", nullptr, MaxPoolBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setIsa", nullptr, SetIsa, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  chainrule::ThreadPool::instance().warmUp();
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)

#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "gemm.h"
#include "thread_pool.h"

// Each entry point is compiled three times (AVX-512, AVX2+FMA, baseline) and picked by the
// loader at first call (GCC/Clang function multiversioning on x86 ELF targets).
#if (defined(__x86_64__)) && defined(__GNUC__) && defined(__ELF__)
#define CR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CR_CLONES
#endif

namespace chainrule {

namespace {

inline float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// exp(x) = 2^n·e^r, n = round(x·log2 e), |r| ≤ ln2/2, e^r − 1 by Taylor to r^7; 2^n as two
// factors so n spans the subnormal range. Branch-free so loops over it vectorise.
// wantM1 gives expm1 without cancellation near 0.
template <bool wantM1>
inline float expCore(float x) {
  float xc = x < -104.f ? -104.f : x;  // NaN fails both tests and stays NaN
  xc = xc > 88.8f ? 88.8f : xc;
  const float n = (xc * 1.44269504f + 12582912.f) - 12582912.f;  // round to nearest
  float r = xc - n * 0.693145751953125f;
  r = r - n * 1.428606765330187e-6f;
  float p = 1.f / 5040.f;
  p = p * r + 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r * r + r;
  const int32_t ni = static_cast<int32_t>(n == n ? n : 0.f);
  const int32_t h = ni >> 1;
  const float s1 = bitsToFloat(static_cast<uint32_t>(h + 127) << 23);
  const float s2 = bitsToFloat(static_cast<uint32_t>(ni - h + 127) << 23);
  const float e = ((p + 1.f) * s1) * s2;  // in this order: 2^128 alone would overflow
  float res = e;
  if (wantM1) {
    const float s = s1 * s2;
    res = ni > 100 ? e - 1.f : s * p + (s - 1.f);
  }
  return x > 88.8f ? INFINITY : res;
}

inline float tanhCore(float x) {
  const float e = expCore<true>(-2.f * std::fabs(x));
  const float t = -e / (e + 2.f);
  return std::copysign(t, x);
}

template <int OP>
inline float unaryOne(float x) {
  switch (OP) {
    case kNeg: return -x;
    case kExp: return expCore<false>(x);
    case kSqrt: return std::sqrt(x);
    case kAbs: return std::fabs(x);
    case kTanh: return tanhCore(x);
    case kSigmoid: return 1.f / (1.f + expCore<false>(-x));
    case kRelu: return x > 0.f ? x : (x == x ? 0.f : x);
    case kSquare: return x * x;
    case kExpm1: return expCore<true>(x);
    case kReciprocal: return 1.f / x;
  }
  return x;
}

template <int OP>
inline void unaryLoop(const float* x, float* y, long n) {
  for (long i = 0; i < n; ++i) y[i] = unaryOne<OP>(x[i]);
}

CR_CLONES void unaryChunk(int op, const float* x, float* y, long n) {
  switch (op) {
    case kNeg: unaryLoop<kNeg>(x, y, n); break;
    case kExp: unaryLoop<kExp>(x, y, n); break;
    case kSqrt: unaryLoop<kSqrt>(x, y, n); break;
    case kAbs: unaryLoop<kAbs>(x, y, n); break;
    case kTanh: unaryLoop<kTanh>(x, y, n); break;
    case kSigmoid: unaryLoop<kSigmoid>(x, y, n); break;
    case kRelu: unaryLoop<kRelu>(x, y, n); break;
    case kSquare: unaryLoop<kSquare>(x, y, n); break;
    case kExpm1: unaryLoop<kExpm1>(x, y, n); break;
    case kReciprocal: unaryLoop<kReciprocal>(x, y, n); break;
  }
}

template <int OP>
inline float binaryOne(float a, float b) {
  switch (OP) {
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMul: return a * b;
    case kDiv: return a / b;
    case kMax: return (a != a || b != b) ? a + b : (a > b ? a : b);
    case kMin: return (a != a || b != b) ? a + b : (a < b ? a : b);
    case kReluGrad: return b > 0.f ? a : 0.f;
    case kSigmoidGrad: return a * (b * (1.f - b));
    case kTanhGrad: return a * (1.f - b * b);
  }
  return a;
}

template <int OP>
inline void binaryRows(const float* a, long ra, int sa, const float* b, long rb, int sb, float* out, long rows, long cols) {
  for (long r = 0; r < rows; ++r) {
    const float* ar = a + r * ra;
    const float* br = b + r * rb;
    float* o = out + r * cols;
    // Separate loops per broadcast pattern keep each one a plain vectorisable stream.
    if (sa && sb) {
      for (long i = 0; i < cols; ++i) o[i] = binaryOne<OP>(ar[i], br[i]);
    } else if (sa) {
      const float s = br[0];
      for (long i = 0; i < cols; ++i) o[i] = binaryOne<OP>(ar[i], s);
    } else if (sb) {
      const float s = ar[0];
      for (long i = 0; i < cols; ++i) o[i] = binaryOne<OP>(s, br[i]);
    } else {
      const float v = binaryOne<OP>(ar[0], br[0]);
      for (long i = 0; i < cols; ++i) o[i] = v;
    }
  }
}

CR_CLONES void binaryChunk(int op, const float* a, long ra, int sa, const float* b, long rb, int sb, float* out, long rows,
                           long cols) {
  switch (op) {
    case kAdd: binaryRows<kAdd>(a, ra, sa, b, rb, sb, out, rows, cols); break;
    case kSub: binaryRows<kSub>(a, ra, sa, b, rb, sb, out, rows, cols); break;
    case kMul: binaryRows<kMul>(a, ra, sa, b, rb, sb, out, rows, cols); break;
    case kDiv: binaryRows<kDiv>(a, ra, sa, b, rb, sb, out, rows, cols); break;
    case kMax: binaryRows<kMax>(a, ra, sa, b, rb, sb, out, rows, cols); break;
    case kMin: binaryRows<kMin>(a, ra, sa, b, rb, sb, out, rows, cols); break;
    case kReluGrad: binaryRows<kReluGrad>(a, ra, sa, b, rb, sb, out, rows, cols); break;
    case kSigmoidGrad: binaryRows<kSigmoidGrad>(a, ra, sa, b, rb, sb, out, rows, cols); break;
    case kTanhGrad: binaryRows<kTanhGrad>(a, ra, sa, b, rb, sb, out, rows, cols); break;
  }
}

bool transcendental(int op) { return op == kExp || op == kTanh || op == kSigmoid || op == kExpm1; }

// Work per thread below which a second thread does not pay for its wake-up. With the worker
// polling between the kernels of a training step, 32K-element relu and reluGrad passes take
// 2.2-2.8 µs on two threads against 3.0-4.0 µs on one (65K: 3-4.5 against 5.3-8).
constexpr long kParallelCheap = 1L << 14;
constexpr long kParallelTranscendental = 1L << 14;

}  // namespace

void reluRows(float* c, long ld, long rows, long cols) {
  for (long r = 0; r < rows; ++r) unaryChunk(kRelu, c + r * ld, c + r * ld, cols);
}

void unary(int op, const float* x, float* y, long n, int threads) {
  const long minPer = transcendental(op) ? kParallelTranscendental : kParallelCheap;
  const int parts = static_cast<int>(std::max(1L, std::min<long>(threads, n / minPer)));
  if (parts <= 1) return unaryChunk(op, x, y, n);
  const long step = ((n + parts - 1) / parts + 15) & ~15L;
  ThreadPool::instance().run(parts, [&](int t, int nt) {
    for (long s = t * step; s < n; s += nt * step) unaryChunk(op, x + s, y + s, std::min(step, n - s));
  });
}

void binary(int op, const float* a, long ra, int sa, const float* b, long rb, int sb, float* out, long rows, long cols,
            int threads) {
  const long total = rows * cols;
  const int parts = static_cast<int>(std::max(1L, std::min<long>(threads, total / kParallelCheap)));
  if (parts <= 1 || (rows < parts && cols < parts * 1024)) return binaryChunk(op, a, ra, sa, b, rb, sb, out, rows, cols);
  ThreadPool::instance().run(parts, [&](int t, int nt) {
    if (rows >= nt) {
      const long r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
      binaryChunk(op, a + r0 * ra, ra, sa, b + r0 * rb, rb, sb, out + r0 * cols, r1 - r0, cols);
    } else {
      // Few long rows: split every row by columns.
      const long c0 = cols * t / nt, c1 = cols * (t + 1) / nt;
      for (long r = 0; r < rows; ++r)
        binaryChunk(op, a + r * ra + c0 * sa, 0, sa, b + r * rb + c0 * sb, 0, sb, out + r * cols + c0, 1, c1 - c0);
    }
  });
}

namespace {
CR_CLONES void bytesToFloat(const unsigned char* src, long n, double scale, double shift, float* out) {
  for (long j = 0; j < n; ++j) out[j] = static_cast<float>(static_cast<double>(src[j]) * scale + shift);
}
}  // namespace

namespace {
// Random rows of a large array: bound by memory latency, so a second thread (more misses in
// flight) pays from a few tens of kilobytes, and each row is read while the next kAhead rows
// are prefetched, so their cache misses overlap instead of each row waiting for its own.
// copyRow(i, srcRow) writes output row i.
template <typename T, typename CopyRow>
void gatherRows(const T* src, long rowLen, const int* rows, long count, int threads, CopyRow copyRow) {
  const long bytes = count * rowLen * static_cast<long>(sizeof(T));
  const int parts = static_cast<int>(std::max(1L, std::min<long>(threads, bytes / (1L << 15))));
  constexpr long kAhead = 4;
  ThreadPool::instance().run(parts, [&](int t, int nt) {
    const long i0 = count * t / nt, i1 = count * (t + 1) / nt;
    auto prefetch = [&](long i) {
      const char* row = reinterpret_cast<const char*>(src + static_cast<long>(rows[i]) * rowLen);
      for (long b = 0; b < rowLen * static_cast<long>(sizeof(T)); b += 64) __builtin_prefetch(row + b);
    };
    for (long i = i0; i < std::min(i1, i0 + kAhead); ++i) prefetch(i);
    for (long i = i0; i < i1; ++i) {
      if (i + kAhead < i1) prefetch(i + kAhead);
      copyRow(i, src + static_cast<long>(rows[i]) * rowLen);
    }
  });
}
}  // namespace

void gatherRowsU8(const unsigned char* src, long rowLen, const int* rows, long count, double scale, double shift, float* out,
                  int threads) {
  gatherRows(src, rowLen, rows, count, threads,
             [&](long i, const unsigned char* row) { bytesToFloat(row, rowLen, scale, shift, out + i * rowLen); });
}

void gatherRowsF32(const float* src, long rowLen, const int* rows, long count, float* out, int threads) {
  gatherRows(src, rowLen, rows, count, threads,
             [&](long i, const float* row) { std::memcpy(out + i * rowLen, row, static_cast<size_t>(rowLen) * sizeof(float)); });
}

namespace {
template <typename Cmp>
void compareRows(const float* a, long ra, int sa, const float* b, long rb, int sb, unsigned char* out, long rows,
                             long cols, Cmp cmp) {
  for (long r = 0; r < rows; ++r) {
    const float* ar = a + r * ra;
    const float* br = b + r * rb;
    unsigned char* o = out + r * cols;
    for (long j = 0; j < cols; ++j) o[j] = cmp(ar[j * sa], br[j * sb]) ? 1 : 0;
  }
}
}  // namespace

void compare(int op, const float* a, long ra, int sa, const float* b, long rb, int sb, unsigned char* out, long rows, long cols) {
  // IEEE comparisons, as JavaScript's: every one but ne is false when an operand is NaN.
  switch (op) {
    case kCmpGt: return compareRows(a, ra, sa, b, rb, sb, out, rows, cols, [](float x, float y) { return x > y; });
    case kCmpGe: return compareRows(a, ra, sa, b, rb, sb, out, rows, cols, [](float x, float y) { return x >= y; });
    case kCmpLt: return compareRows(a, ra, sa, b, rb, sb, out, rows, cols, [](float x, float y) { return x < y; });
    case kCmpLe: return compareRows(a, ra, sa, b, rb, sb, out, rows, cols, [](float x, float y) { return x <= y; });
    case kCmpEq: return compareRows(a, ra, sa, b, rb, sb, out, rows, cols, [](float x, float y) { return x == y; });
    default: return compareRows(a, ra, sa, b, rb, sb, out, rows, cols, [](float x, float y) { return x != y; });
  }
}

CR_CLONES void reduceMinMax(bool max, const float* x, long outer, long size, long inner, float* out) {
  // As the reference: the first NaN met is the result; otherwise the first extreme value.
  for (long o = 0; o < outer; ++o) {
    const float* base = x + o * size * inner;
    float* ob = out + o * inner;
    for (long j = 0; j < inner; ++j) ob[j] = base[j];
    for (long r = 1; r < size; ++r) {
      const float* row = base + r * inner;
      for (long j = 0; j < inner; ++j) {
        const float m = ob[j];
        const float v = row[j];
        const bool better = max ? v > m : v < m;
        ob[j] = (m != m) ? m : ((v != v || better) ? v : m);
      }
    }
  }
}

void reduceSum(const float* x, long outer, long size, long inner, float* out) {
  for (long o = 0; o < outer; ++o) {
    const float* base = x + o * size * inner;
    if (inner == 1) {
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      long i = 0;
      for (; i + 8 <= size; i += 8)
        for (int j = 0; j < 8; ++j) acc[j] += base[i + j];
      double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      for (; i < size; ++i) s += base[i];
      out[o] = static_cast<float>(s);
      continue;
    }
    thread_local double* acc = nullptr;
    thread_local long cap = 0;
    if (cap < inner) {
      delete[] acc;
      acc = new double[inner];
      cap = inner;
    }
    std::fill(acc, acc + inner, 0.0);
    for (long r = 0; r < size; ++r) {
      const float* row = base + r * inner;
      for (long j = 0; j < inner; ++j) acc[j] += row[j];
    }
    for (long j = 0; j < inner; ++j) out[o * inner + j] = static_cast<float>(acc[j]);
  }
}

}  // namespace chainrule

namespace chainrule {

namespace {
long ceilDiv(long a, long b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
long floorDiv(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// One image plane's windows, in the order of walkWindows in src/ops/rules/conv.ts (kernel row,
// kernel column, output row): row(rowStart, pixelStart, lo, hi) for an output row whose columns
// [lo, hi) read pixels pixelStart + ox·sw, or pad(rowStart) when it lies wholly in the padding.
template <typename Row, typename Pad>
void walkWindows(const WindowGeometry& g, Row row, Pad pad) {
  const long l = g.oh * g.ow;
  for (long ki = 0; ki < g.kh; ++ki) {
    for (long kj = 0; kj < g.kw; ++kj) {
      const long x0 = kj * g.dw - g.pw;
      const long lo = std::min(g.ow, std::max(0L, ceilDiv(-x0, g.sw)));
      const long hi = std::max(lo, std::min(g.ow, floorDiv(g.w - 1 - x0, g.sw) + 1));
      const long block = (ki * g.kw + kj) * l;
      for (long oy = 0; oy < g.oh; ++oy) {
        const long y = oy * g.sh - g.ph + ki * g.dh;
        if (y < 0 || y >= g.h) pad(block + oy * g.ow);
        else row(block + oy * g.ow, y * g.w + x0, lo, hi);
      }
    }
  }
}

// Planes are independent (each writes its own block of the output): split them over threads.
template <typename PlaneFn>
void forPlanes(long planes, long work, int threads, PlaneFn fn) {
  const int parts = static_cast<int>(std::max(1L, std::min<long>({static_cast<long>(threads), planes, work / (1L << 15)})));
  ThreadPool::instance().run(parts, [&](int t, int nt) {
    for (long p = planes * t / nt; p < planes * (t + 1) / nt; ++p) fn(p);
  });
}
}  // namespace

void im2col(const float* x, long planes, const WindowGeometry& g, float padValue, float* out, int threads) {
  const long l = g.oh * g.ow;
  forPlanes(planes, planes * g.kh * g.kw * l, threads, [&](long p) {
    const float* in = x + p * g.h * g.w;
    float* o = out + p * g.kh * g.kw * l;
    walkWindows(
        g,
        [&](long r, long pix, long lo, long hi) {
          float* dst = o + r;
          const float* src = in + pix;
          for (long ox = 0; ox < lo; ++ox) dst[ox] = padValue;
          for (long ox = lo; ox < hi; ++ox) dst[ox] = src[ox * g.sw];
          for (long ox = hi; ox < g.ow; ++ox) dst[ox] = padValue;
        },
        [&](long r) { std::fill(o + r, o + r + g.ow, padValue); });
  });
}

namespace {
// ops/rules/conv.ts's scan, one step: the first largest, a NaN over any number (the last NaN).
// Selects rather than a branch: which element wins is data-dependent.
inline void maxStep(float v, long i, float& best, long& pick) {
  const bool take = (v > best) | (v != v);
  best = take ? v : best;
  pick = take ? i : pick;
}

#if defined(__x86_64__) && defined(__GNUC__)
// 2×2 windows, stride 2, no dilation: 16 windows of an output row at a time. Each row pair is
// loaded contiguously and split into its even and odd columns, which are the windows' four
// elements; the scan is maxStep's, lane by lane, in the same order.
/**
 * Up to 16 windows of an output row (the rest of the row, `left`): `windows` masks their lanes,
 * lo and hi the 2·count floats of each input row they cover (within the row: 2·ow ≤ w), as two vectors.
 */
struct Block16 {
  __mmask16 windows, lo, hi;
  explicit Block16(long left) {
    const long count = std::min<long>(16, left), pair = 2 * count;
    windows = static_cast<__mmask16>((1u << count) - 1);
    lo = static_cast<__mmask16>(pair >= 16 ? 0xFFFF : (1u << pair) - 1);
    hi = static_cast<__mmask16>(pair <= 16 ? 0 : (1u << (pair - 16)) - 1);
  }
};

__attribute__((target("avx512f"))) inline void maxStep16(__m512 v, __m512i at, __m512& best, __m512i& pick) {
  const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  best = _mm512_mask_mov_ps(best, take, v);
  pick = _mm512_mask_mov_epi32(pick, take, at);
}

__attribute__((target("avx512f"))) void maxPool2x2Avx512(const float* in, const WindowGeometry& g, float* o, int* pk) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i twice = _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
  for (long oy = 0; oy < g.oh; ++oy) {
    const float* r0 = in + 2 * oy * g.w;
    const float* r1 = r0 + g.w;
    for (long ox = 0; ox < g.ow; ox += 16) {
      const Block16 blk(g.ow - ox);
      const __mmask16 m = blk.windows, lo = blk.lo, hi = blk.hi;
      const __m512 a0 = _mm512_maskz_loadu_ps(lo, r0 + 2 * ox), a1 = _mm512_maskz_loadu_ps(hi, r0 + 2 * ox + 16);
      const __m512 b0 = _mm512_maskz_loadu_ps(lo, r1 + 2 * ox), b1 = _mm512_maskz_loadu_ps(hi, r1 + 2 * ox + 16);
      const __m512i at = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(2 * oy * g.w + 2 * ox)), twice);
      __m512 best = _mm512_permutex2var_ps(a0, even, a1);
      __m512i pick = at;
      maxStep16(_mm512_permutex2var_ps(a0, odd, a1), _mm512_add_epi32(at, _mm512_set1_epi32(1)), best, pick);
      maxStep16(_mm512_permutex2var_ps(b0, even, b1), _mm512_add_epi32(at, _mm512_set1_epi32(static_cast<int>(g.w))), best, pick);
      maxStep16(_mm512_permutex2var_ps(b0, odd, b1), _mm512_add_epi32(at, _mm512_set1_epi32(static_cast<int>(g.w + 1))), best, pick);
      _mm512_mask_storeu_ps(o + oy * g.ow + ox, m, best);
      _mm512_mask_storeu_epi32(pk + oy * g.ow + ox, m, pick);
    }
  }
}
#endif

// Windows that lie wholly inside the plane (no padding): no bounds to clip. The first element
// starts the scan (the same as starting from −∞ with the first element's index picked).
void maxPoolInside(const float* in, const WindowGeometry& g, float* o, int* pk) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.dh == 1 && g.dw == 1 && currentIsa() == Isa::Avx512)
    return maxPool2x2Avx512(in, g, o, pk);
#endif
  const long rowStep = g.dh * g.w;
  for (long oy = 0; oy < g.oh; ++oy) {
    for (long ox = 0; ox < g.ow; ++ox) {
      const long base = oy * g.sh * g.w + ox * g.sw;
      float best = in[base];
      long pick = base;
      if (g.kh == 2 && g.kw == 2) {
        maxStep(in[base + g.dw], base + g.dw, best, pick);
        maxStep(in[base + rowStep], base + rowStep, best, pick);
        maxStep(in[base + rowStep + g.dw], base + rowStep + g.dw, best, pick);
      } else {
        for (long ky = 0; ky < g.kh; ++ky)
          for (long kx = ky == 0 ? 1 : 0; kx < g.kw; ++kx) maxStep(in[base + ky * rowStep + kx * g.dw], base + ky * rowStep + kx * g.dw, best, pick);
      }
      o[oy * g.ow + ox] = best;
      pk[oy * g.ow + ox] = static_cast<int>(pick);
    }
  }
}
}  // namespace

void maxPool(const float* x, long planes, const WindowGeometry& g, float* out, int* picks, int threads) {
  const long l = g.oh * g.ow;
  forPlanes(planes, planes * g.kh * g.kw * l, threads, [&](long p) {
    const float* in = x + p * g.h * g.w;
    float* o = out + p * l;
    int* pk = picks + p * l;
    if (g.ph == 0 && g.pw == 0) return maxPoolInside(in, g, o, pk);
    for (long oy = 0; oy < g.oh; ++oy) {
      long y0 = oy * g.sh - g.ph;
      const long y1 = std::min(y0 + (g.kh - 1) * g.dh + 1, g.h);
      while (y0 < 0) y0 += g.dh;
      for (long ox = 0; ox < g.ow; ++ox) {
        long x0 = ox * g.sw - g.pw;
        const long x1 = std::min(x0 + (g.kw - 1) * g.dw + 1, g.w);
        while (x0 < 0) x0 += g.dw;
        // ops/rules/conv.ts's scan: the first largest, a NaN over any number (the last NaN), the
        // first real element when all are −∞.
        float best = -std::numeric_limits<float>::infinity();
        long pick = y0 * g.w + x0;
        for (long yy = y0; yy < y1; yy += g.dh)
          for (long i = yy * g.w + x0, end = yy * g.w + x1; i < end; i += g.dw) maxStep(in[i], i, best, pick);
        o[oy * g.ow + ox] = best;
        pk[oy * g.ow + ox] = static_cast<int>(pick);
      }
    }
  });
}

#if defined(__x86_64__) && defined(__GNUC__)
namespace {
// The backward of maxPool2x2Avx512's windows, which tile the plane without overlapping: every
// element is written once, the gradient where its window picked it and 0 elsewhere (the rows
// and columns no window covers too), with no separate zero fill and no scatter.
/** The gradient in the lanes whose window picked the element at `at + off`, else 0. */
__attribute__((target("avx512f"))) inline __m512 pickedAt(__m512i picks, __m512i at, int off, __m512 grad) {
  return _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(picks, _mm512_add_epi32(at, _mm512_set1_epi32(off))), grad);
}

__attribute__((target("avx512f"))) void maxPool2x2BackwardAvx512(const float* grad, const int* pk, const WindowGeometry& g, float* o) {
  const __m512i twice = _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
  // Lanes of (even, odd) interleaved: element 2j of a row from lane j of `even`, 2j+1 from `odd`.
  const __m512i lower = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i upper = _mm512_add_epi32(lower, _mm512_set1_epi32(8));
  const long covered = 2 * g.ow;
  for (long oy = 0; oy < g.oh; ++oy) {
    float* r0 = o + 2 * oy * g.w;
    float* r1 = r0 + g.w;
    for (long ox = 0; ox < g.ow; ox += 16) {
      const Block16 blk(g.ow - ox);
      const __mmask16 m = blk.windows, lo = blk.lo, hi = blk.hi;
      const __m512 gv = _mm512_maskz_loadu_ps(m, grad + oy * g.ow + ox);
      const __m512i pv = _mm512_maskz_loadu_epi32(m, pk + oy * g.ow + ox);
      const __m512i at = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(2 * oy * g.w + 2 * ox)), twice);
      const __m512 e0 = pickedAt(pv, at, 0, gv), o0 = pickedAt(pv, at, 1, gv);
      const __m512 e1 = pickedAt(pv, at, static_cast<int>(g.w), gv), o1 = pickedAt(pv, at, static_cast<int>(g.w + 1), gv);
      _mm512_mask_storeu_ps(r0 + 2 * ox, lo, _mm512_permutex2var_ps(e0, lower, o0));
      _mm512_mask_storeu_ps(r0 + 2 * ox + 16, hi, _mm512_permutex2var_ps(e0, upper, o0));
      _mm512_mask_storeu_ps(r1 + 2 * ox, lo, _mm512_permutex2var_ps(e1, lower, o1));
      _mm512_mask_storeu_ps(r1 + 2 * ox + 16, hi, _mm512_permutex2var_ps(e1, upper, o1));
    }
    std::fill(r0 + covered, r0 + g.w, 0.0f);
    std::fill(r1 + covered, r1 + g.w, 0.0f);
  }
  std::fill(o + 2 * g.oh * g.w, o + g.h * g.w, 0.0f);
}
}  // namespace
#endif

void maxPoolBackward(const float* grad, const int* picks, long planes, long size, long l, float* out, int threads,
                     const WindowGeometry* g) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (g && g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0 && g->dh == 1 && g->dw == 1 &&
      size == g->h * g->w && l == g->oh * g->ow && currentIsa() == Isa::Avx512) {
    forPlanes(planes, planes * (size + l), threads,
              [&](long p) { maxPool2x2BackwardAvx512(grad + p * l, picks + p * l, *g, out + p * size); });
    return;
  }
#endif
  forPlanes(planes, planes * (size + l), threads, [&](long p) {
    float* o = out + p * size;
    std::fill(o, o + size, 0.0f);
    const float* gp = grad + p * l;
    const int* pk = picks + p * l;
    for (long k = 0; k < l; ++k) o[pk[k]] += gp[k];
  });
}

void col2im(const float* cols, long planes, const WindowGeometry& g, float* out, int threads) {
  const long l = g.oh * g.ow;
  forPlanes(planes, planes * g.kh * g.kw * l, threads, [&](long p) {
    float* img = out + p * g.h * g.w;
    const float* c = cols + p * g.kh * g.kw * l;
    std::fill(img, img + g.h * g.w, 0.0f);
    walkWindows(
        g,
        [&](long r, long pix, long lo, long hi) {
          for (long ox = lo; ox < hi; ++ox) img[pix + ox * g.sw] += c[r + ox];
        },
        [](long) {});
  });
}

}  // namespace chainrule

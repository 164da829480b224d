#include "gemm.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "elementwise.h"
#include "thread_pool.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define CR_X86 1
#include <immintrin.h>
#define CR_TARGET(s) __attribute__((target(s)))
#else
#define CR_X86 0
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define CR_UNROLL _Pragma("GCC unroll 32")
#elif defined(__clang__)
#define CR_UNROLL _Pragma("unroll")
#else
#define CR_UNROLL
#endif

// Summation order, the same on every path and for any number of threads: k is cut into blocks
// of equal length (kBlock(): a function of k and the kernel family only); within a block each
// C element is one sequential chain of multiply-adds starting from zero, and the block's sum is
// then added to C (or stored, for the first block when not accumulating). Which tile, thread or
// packing produced an element never changes its value.

namespace chainrule {

namespace {

// A micro-kernel: C[rows×cols] (ldc floats apart) = (add ? C : bias ? bias : 0) + A·B over kc
// steps, then relu(C) when asked (the epilogue of a linear layer, on the tile still in registers),
// where element (r, q) of A is a[q·lda + r] (acol) or a[r·lda + q], element (q, j) of B is
// b[q·ldb + j], and bias[j] is the same for every row. rows ≤ mr, cols ≤ nr.
using Kernel = void (*)(int kc, const float* a, long lda, const float* b, long ldb, float* c, long ldc, int add,
                        int rows, int cols, const float* bias, bool relu);

/** The relu kernel's element function: NaN kept, everything not above 0 (−0 included) to +0. */
inline float reluOne(float x) { return x > 0.f ? x : (x == x ? 0.f : x); }

/** The start a tile's sum is added to: C, the bias, or nothing. */
inline float startOf(const float* c, int add, const float* bias, int j, float sum) {
  return add ? *c + sum : bias ? bias[j] + sum : sum;
}

struct Family {
  int mr, nr;  // register tile
  int kcMax;   // longest k block
  int mc, nc;  // rows of packed A, columns of packed B per block
  // Kernels that read A in either layout without packing, B at any row stride, and handle
  // partial tiles in place (masks). Otherwise A and B are always packed (zero-padded tiles of
  // mr rows, nr columns), kernel[1] only, and partial tiles go through a temporary.
  bool direct;
  Kernel kernel[2];  // [acol]
};

// ---- generic and AVX2 kernels: packed, full tiles ----

template <int MR, int NR>
void kernelGeneric(int kc, const float* ap, long, const float* bp, long, float* c, long ldc, int add, int rows, int cols,
                   const float* bias, bool relu) {
  float acc[MR][NR] = {};
  for (int q = 0; q < kc; ++q) {
    for (int r = 0; r < MR; ++r) {
      const float a = ap[r];
      for (int j = 0; j < NR; ++j) acc[r][j] += a * bp[j];
    }
    ap += MR;
    bp += NR;
  }
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < cols; ++j) {
      float* cp = c + r * ldc + j;
      const float v = startOf(cp, add, bias, j, acc[r][j]);
      *cp = relu ? reluOne(v) : v;
    }
}

#if CR_X86
template <int MR, int NV>
CR_TARGET("avx2,fma")
void tileAvx2(int kc, const float* ap, const float* bp, float* c, long ldc, int add, const float* bias, bool relu) {
  __m256 acc[MR][NV];
  CR_UNROLL for (int r = 0; r < MR; ++r) CR_UNROLL for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  for (int q = 0; q < kc; ++q) {
    __m256 b[NV];
    CR_UNROLL for (int v = 0; v < NV; ++v) b[v] = _mm256_loadu_ps(bp + 8 * v);
    CR_UNROLL for (int r = 0; r < MR; ++r) {
      const __m256 a = _mm256_broadcast_ss(ap + r);
      CR_UNROLL for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(a, b[v], acc[r][v]);
    }
    ap += MR;
    bp += 8 * NV;
  }
  const __m256 zero = _mm256_setzero_ps();
  CR_UNROLL for (int r = 0; r < MR; ++r) CR_UNROLL for (int v = 0; v < NV; ++v) {
    float* cp = c + r * ldc + 8 * v;
    __m256 x = add ? _mm256_add_ps(acc[r][v], _mm256_loadu_ps(cp)) : bias ? _mm256_add_ps(acc[r][v], _mm256_loadu_ps(bias + 8 * v)) : acc[r][v];
    if (relu) x = _mm256_and_ps(x, _mm256_or_ps(_mm256_cmp_ps(x, zero, _CMP_GT_OQ), _mm256_cmp_ps(x, x, _CMP_UNORD_Q)));
    _mm256_storeu_ps(cp, x);
  }
}

template <int MR, int NV>
void kernelAvx2(int kc, const float* ap, long, const float* bp, long, float* c, long ldc, int add, int rows, int cols,
                const float* bias, bool relu) {
  if (rows == MR && cols == 8 * NV) return tileAvx2<MR, NV>(kc, ap, bp, c, ldc, add, bias, relu);
  alignas(32) float tmp[MR * 8 * NV];
  tileAvx2<MR, NV>(kc, ap, bp, tmp, 8 * NV, 0, nullptr, false);
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < cols; ++j) {
      float* cp = c + r * ldc + j;
      const float v = startOf(cp, add, bias, j, tmp[r * 8 * NV + j]);
      *cp = relu ? reluOne(v) : v;
    }
}

// ---- AVX-512: R×(16·NV) tiles for every R ≤ MR, the last vector of a row masked ----

constexpr int kMr512 = 12;
constexpr int kNv512 = 2;

template <int R, int NV, bool ACOL>
CR_TARGET("avx512f,fma")
void tile512(int kc, const float* a, long lda, const float* b, long ldb, float* c, long ldc, int add, __mmask16 last,
             const float* bias, bool relu) {
  __m512 acc[R][NV];
  CR_UNROLL for (int r = 0; r < R; ++r) CR_UNROLL for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int q = 0; q < kc; ++q) {
    __m512 bv[NV];
    CR_UNROLL for (int v = 0; v < NV; ++v) bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(last, b + 16 * v) : _mm512_loadu_ps(b + 16 * v);
    CR_UNROLL for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(ACOL ? a[r] : a[r * lda]);
      CR_UNROLL for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
    a += ACOL ? lda : 1;
    b += ldb;
  }
  __m512 bv[NV];
  if (!add && bias) CR_UNROLL for (int v = 0; v < NV; ++v) bv[v] = _mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xFFFF, bias + 16 * v);
  CR_UNROLL for (int r = 0; r < R; ++r) CR_UNROLL for (int v = 0; v < NV; ++v) {
    float* cp = c + r * ldc + 16 * v;
    const __mmask16 m = v == NV - 1 ? last : 0xFFFF;
    __m512 x = add ? _mm512_add_ps(acc[r][v], _mm512_maskz_loadu_ps(m, cp)) : bias ? _mm512_add_ps(acc[r][v], bv[v]) : acc[r][v];
    if (relu) {
      // Kept where above zero or NaN, +0 elsewhere: the relu kernel's element function.
      const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ) | _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
      x = _mm512_maskz_mov_ps(keep, x);
    }
    _mm512_mask_storeu_ps(cp, m, x);
  }
}

using Tile512 = void (*)(int, const float*, long, const float*, long, float*, long, int, __mmask16, const float*, bool);

template <bool ACOL, int... R>
constexpr auto tableFor(std::integer_sequence<int, R...>) {
  struct T {
    Tile512 t[sizeof...(R)][kNv512];
  };
  return T{{{tile512<R + 1, 1, ACOL>, tile512<R + 1, 2, ACOL>}...}};
}

template <bool ACOL>
void kernel512(int kc, const float* a, long lda, const float* b, long ldb, float* c, long ldc, int add, int rows, int cols,
               const float* bias, bool relu) {
  static constexpr auto table = tableFor<ACOL>(std::make_integer_sequence<int, kMr512>{});
  const int nv = (cols + 15) >> 4;
  const int tail = cols - 16 * (nv - 1);
  const __mmask16 last = static_cast<__mmask16>(tail == 16 ? 0xFFFF : (1u << tail) - 1);
  table.t[rows - 1][nv - 1](kc, a, lda, b, ldb, c, ldc, add, last, bias, relu);
}
#endif

// Tile shapes and cache blocking per family.
const Family kGeneric{4, 16, 256, 128, 1024, false, {kernelGeneric<4, 16>, kernelGeneric<4, 16>}};
#if CR_X86
const Family kAvx2{6, 16, 256, 96, 1024, false, {kernelAvx2<6, 2>, kernelAvx2<6, 2>}};
const Family kAvx512{kMr512, 16 * kNv512, 256, 144, 2048, true, {kernel512<false>, kernel512<true>}};
#endif

Isa g_isa = detectIsa();

const Family& family() {
#if CR_X86
  if (g_isa == Isa::Avx512) return kAvx512;
  if (g_isa == Isa::Avx2) return kAvx2;
#endif
  return kGeneric;
}

/** The length of every k block but the last: k cut into equal blocks of at most kcMax. */
int kBlock(int k, int kcMax) {
  const int blocks = (k + kcMax - 1) / kcMax;
  return (k + blocks - 1) / blocks;
}

// ---- packing ----

/** Rows [i0, i0+rows) of op(A), k steps [pc, pc+kc), as tiles of mr rows (k-major, zero-padded). */
void packA(const GemmProblem& p, int mr, int i0, int rows, int pc, int kc, float* dst) {
  for (int ir = 0; ir < rows; ir += mr) {
    const int rr = std::min(mr, rows - ir);
    float* s = dst + static_cast<long>(ir) * kc;
    if (!p.transA) {
      for (int r = 0; r < mr; ++r) {
        if (r < rr) {
          const float* src = p.a + static_cast<long>(i0 + ir + r) * p.k + pc;
          for (int q = 0; q < kc; ++q) s[q * mr + r] = src[q];
        } else {
          for (int q = 0; q < kc; ++q) s[q * mr + r] = 0.f;
        }
      }
    } else {
      for (int q = 0; q < kc; ++q) {
        const float* src = p.a + static_cast<long>(pc + q) * p.m + i0 + ir;
        float* d = s + q * mr;
        int r = 0;
        for (; r < rr; ++r) d[r] = src[r];
        for (; r < mr; ++r) d[r] = 0.f;
      }
    }
  }
}

/** One kc×nr sliver of op(B): k steps pc.., columns j0..j0+cols, zero-padded to nr columns. */
void packBSliver(const GemmProblem& p, int nr, int pc, int kc, int j0, int cols, float* s) {
  if (!p.transB) {
    for (int q = 0; q < kc; ++q) {
      const float* src = p.b + static_cast<long>(pc + q) * p.n + j0;
      float* d = s + q * nr;
      int c = 0;
      for (; c < cols; ++c) d[c] = src[c];
      for (; c < nr; ++c) d[c] = 0.f;
    }
  } else {
    // B stored n×k: gather the sliver's columns (rows of B) four k steps at a time, so the
    // writes stay contiguous and each row of B is read as a sequential stream.
    const float* rows[64];
    int c = 0;
    for (; c < cols; ++c) rows[c] = p.b + static_cast<long>(j0 + c) * p.k + pc;
    int q = 0;
    for (; q + 4 <= kc; q += 4) {
      float* d = s + q * nr;
      for (c = 0; c < cols; ++c) {
        const float* r = rows[c] + q;
        d[c] = r[0];
        d[nr + c] = r[1];
        d[2 * nr + c] = r[2];
        d[3 * nr + c] = r[3];
      }
      for (; c < nr; ++c) d[c] = d[nr + c] = d[2 * nr + c] = d[3 * nr + c] = 0.f;
    }
    for (; q < kc; ++q) {
      float* d = s + q * nr;
      for (c = 0; c < cols; ++c) d[c] = rows[c][q];
      for (; c < nr; ++c) d[c] = 0.f;
    }
  }
}

#if CR_X86
/** transB: 16 rows of B (columns of op(B)) × 16 k steps at a time, transposed in registers. */
CR_TARGET("avx512f")
void packBSliverT512(const GemmProblem& p, int nr, int pc, int kc, int j0, int cols, float* s) {
  for (int c0 = 0; c0 < nr; c0 += 16) {
    const int cc = std::max(0, std::min(16, cols - c0));
    const float* src[16];
    for (int r = 0; r < 16; ++r) src[r] = p.b + static_cast<long>(j0 + std::min(c0 + r, cols - 1)) * p.k + pc;
    for (int q0 = 0; q0 < kc; q0 += 16) {
      const int qq = std::min(16, kc - q0);
      const __mmask16 qm = static_cast<__mmask16>(qq == 16 ? 0xFFFF : (1u << qq) - 1);
      __m512 r[16];
      CR_UNROLL for (int i = 0; i < 16; ++i) r[i] = i < cc ? _mm512_maskz_loadu_ps(qm, src[i] + q0) : _mm512_setzero_ps();
      // 16×16 transpose: r[i][q] -> t[q][i]
      __m512 t[16];
      CR_UNROLL for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
      }
      CR_UNROLL for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
      }
      // r[4g + u] holds, in each 128-bit lane L, rows 4g..4g+3 at k step 4L + u.
      CR_UNROLL for (int g = 0; g < 4; g += 2) CR_UNROLL for (int u = 0; u < 4; ++u) {
        t[4 * g + u] = _mm512_shuffle_f32x4(r[4 * g + u], r[4 * g + 4 + u], 0x88);      // lanes 0,2 of each
        t[4 * g + 4 + u] = _mm512_shuffle_f32x4(r[4 * g + u], r[4 * g + 4 + u], 0xDD);  // lanes 1,3 of each
      }
      // t[u] (g=0): lanes = (rows0-3,k u), (rows0-3,k 8+u), (rows4-7,k u), (rows4-7,k 8+u);
      // t[4+u]: same with k 4+u and 12+u; t[8+u], t[12+u]: rows 8-15.
      CR_UNROLL for (int u = 0; u < 4; ++u) {
        const __m512 lo0 = t[u], hi0 = t[4 + u], lo1 = t[8 + u], hi1 = t[12 + u];
        const __m512 k0 = _mm512_shuffle_f32x4(lo0, lo1, 0x88);   // rows 0-3,4-7,8-11,12-15 at k u
        const __m512 k8 = _mm512_shuffle_f32x4(lo0, lo1, 0xDD);   // ... at k 8+u
        const __m512 k4 = _mm512_shuffle_f32x4(hi0, hi1, 0x88);   // k 4+u
        const __m512 k12 = _mm512_shuffle_f32x4(hi0, hi1, 0xDD);  // k 12+u
        if (u < qq) _mm512_storeu_ps(s + static_cast<long>(q0 + u) * nr + c0, k0);
        if (4 + u < qq) _mm512_storeu_ps(s + static_cast<long>(q0 + 4 + u) * nr + c0, k4);
        if (8 + u < qq) _mm512_storeu_ps(s + static_cast<long>(q0 + 8 + u) * nr + c0, k8);
        if (12 + u < qq) _mm512_storeu_ps(s + static_cast<long>(q0 + 12 + u) * nr + c0, k12);
      }
    }
  }
}

CR_TARGET("avx512f")
void packBSliverN512(const GemmProblem& p, int nr, int pc, int kc, int j0, int cols, float* s) {
  for (int q = 0; q < kc; ++q) {
    const float* src = p.b + static_cast<long>(pc + q) * p.n + j0;
    float* d = s + static_cast<long>(q) * nr;
    for (int c0 = 0; c0 < nr; c0 += 16) {
      const int cc = std::max(0, std::min(16, cols - c0));
      const __mmask16 m = static_cast<__mmask16>(cc == 16 ? 0xFFFF : (1u << cc) - 1);
      _mm512_storeu_ps(d + c0, _mm512_maskz_loadu_ps(m, src + c0));
    }
  }
}
#endif

void packB(const GemmProblem& p, int nr, int pc, int kc, int jc, int nc, float* dst) {
  for (int jr = 0; jr < nc; jr += nr) {
    const int cols = std::min(nr, nc - jr);
    float* s = dst + static_cast<long>(jr) * kc;
#if CR_X86
    if (g_isa == Isa::Avx512 && nr % 16 == 0) {
      if (p.transB) packBSliverT512(p, nr, pc, kc, jc + jr, cols, s);
      else packBSliverN512(p, nr, pc, kc, jc + jr, cols, s);
      continue;
    }
#endif
    packBSliver(p, nr, pc, kc, jc + jr, cols, s);
  }
}

float* workBuffer(size_t floats) {
  // One buffer per thread, kept between calls; 64-byte aligned for the packed slivers.
  thread_local float* buf = nullptr;
  thread_local size_t cap = 0;
  if (cap < floats) {
    std::free(buf);
    size_t bytes = ((floats * sizeof(float)) + 63) & ~static_cast<size_t>(63);
    buf = static_cast<float*>(std::aligned_alloc(64, bytes));
    cap = floats;
  }
  return buf;
}

/** The product restricted to C rows [i0,i1) × columns [j0,j1), on one thread. */
/** C rows [i0, i1) × columns [j0, j1) from the bias, before the first k block adds to them. */
void fillBias(const GemmProblem& p, int i0, int i1, int j0, int j1) {
  for (int i = i0; i < i1; ++i) std::memcpy(p.c + static_cast<long>(i) * p.n + j0, p.bias + j0, sizeof(float) * (j1 - j0));
}

void gemmBlock(const GemmProblem& p, const Family& f, int i0, int i1, int j0, int j1) {
  if (p.k == 0) {
    if (p.bias) fillBias(p, i0, i1, j0, j1);
    else if (!p.accumulate)
      for (int i = i0; i < i1; ++i) std::memset(p.c + static_cast<long>(i) * p.n + j0, 0, sizeof(float) * (j1 - j0));
    if (p.relu) reluRows(p.c + static_cast<long>(i0) * p.n + j0, p.n, i1 - i0, j1 - j0);
    return;
  }
  const int rows = i1 - i0, cols = j1 - j0;
  // op(B) is packed only when it must be (transposed, or a kernel without strides): read in
  // place, its rows stream well enough. op(A) is read in place too (no packing, the win for
  // narrow C), unless many column slivers reuse each row tile: then a packed, contiguous copy
  // pays for itself (a stored-row-major A with a power-of-two k aliases in L1, for one).
  const bool doPackB = !f.direct || p.transB;
  const bool doPackA = !f.direct || (cols >= 384 && (!p.transA || p.m >= 512));
  const int kcStd = kBlock(p.k, f.kcMax);
  const int mcMax = doPackA ? f.mc : std::min(rows, 2 * f.mc);
  const int ncMax = std::min(cols, f.nc);
  float* ap = nullptr;
  float* bp = nullptr;
  if (doPackA || doPackB) {
    ap = workBuffer((doPackA ? static_cast<size_t>(mcMax) * kcStd : 0) + (doPackB ? static_cast<size_t>(kcStd) * (ncMax + f.nr) : 0));
    bp = ap + (doPackA ? static_cast<size_t>(mcMax) * kcStd : 0);
  }
  for (int jc = j0; jc < j1; jc += ncMax) {
    const int nc = std::min(ncMax, j1 - jc);
    for (int pc = 0; pc < p.k; pc += kcStd) {
      const int kc = std::min(kcStd, p.k - pc);
      const int add = (p.accumulate || pc > 0) ? 1 : 0;
      const float* bias = pc == 0 ? p.bias : nullptr;  // the start of C's sums, with the first block
      const bool relu = p.relu && pc + kc >= p.k;       // on the sums complete, with the last
      const float* bsrc;
      long ldb, bstep;  // row stride of a sliver, distance between slivers
      if (doPackB) {
        packB(p, f.nr, pc, kc, jc, nc, bp);
        bsrc = bp, ldb = f.nr, bstep = static_cast<long>(f.nr) * kc;
      } else {
        bsrc = p.b + static_cast<long>(pc) * p.n + jc, ldb = p.n, bstep = f.nr;
      }
      for (int ic = i0; ic < i1; ic += mcMax) {
        const int mc = std::min(mcMax, i1 - ic);
        const float* asrc;
        long lda, astep;
        int acol;
        if (doPackA) {
          packA(p, f.mr, ic, mc, pc, kc, ap);
          asrc = ap, lda = f.mr, astep = static_cast<long>(f.mr) * kc, acol = 1;
        } else if (p.transA) {
          asrc = p.a + static_cast<long>(pc) * p.m + ic, lda = p.m, astep = f.mr, acol = 1;
        } else {
          asrc = p.a + static_cast<long>(ic) * p.k + pc, lda = p.k, astep = static_cast<long>(f.mr) * p.k, acol = 0;
        }
        const Kernel kern = f.kernel[acol];
        for (int jr = 0, s = 0; jr < nc; jr += f.nr, ++s) {
          const int cw = std::min(f.nr, nc - jr);
          const float* bs = bsrc + s * bstep;
          for (int ir = 0, t = 0; ir < mc; ir += f.mr, ++t) {
            const int rh = std::min(f.mr, mc - ir);
            kern(kc, asrc + t * astep, lda, bs, ldb, p.c + static_cast<long>(ic + ir) * p.n + jc + jr, p.n, add, rh, cw,
                 bias ? bias + jc + jr : nullptr, relu);
          }
        }
      }
    }
  }
}

}  // namespace

Isa detectIsa() {
#if CR_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Generic;
}

Isa currentIsa() { return g_isa; }

Isa setIsa(Isa isa) {
  g_isa = static_cast<Isa>(std::min(static_cast<int>(isa), static_cast<int>(detectIsa())));
  return g_isa;
}

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "generic";
  }
}

void gemm(const GemmProblem& p, int threads) {
  if (p.m == 0 || p.n == 0) return;
  const Family& f = family();
  // Below ~0.25 MFLOP a second thread costs more than it saves (even a spinning one).
  const double flops = 2.0 * p.m * p.n * p.k;
  const int parts = flops < 2.5e5 ? 1 : std::min(threads, ThreadPool::instance().threads());
  if (parts <= 1 || p.k == 0) return gemmBlock(p, f, 0, p.m, 0, p.n);
  // C is cut into blocks that each thread computes whole, packing what it needs itself (no
  // shared buffer, no barrier). By columns when op(B) is transposed (each block then packs only
  // its own columns) or C has few rows; by rows otherwise (op(B) is then read in place, and A
  // blocks are disjoint). Column cuts fall on whole vectors (16 floats), row cuts anywhere: an
  // element's value does not depend on the tile that computes it.
  const int vecs = (p.n + 15) / 16;
  const bool byCols = p.m < parts || (vecs >= 2 * parts && (p.transB || p.m < 2 * f.mr * parts));
  // Twice as many blocks as threads (each still ≥ 0.15 MFLOP), claimed one at a time, so that
  // a thread the OS runs late takes a smaller share instead of holding the caller up.
  int chunks = std::max(parts, std::min(2 * parts, static_cast<int>(flops / 1.5e5)));
  chunks = std::min(chunks, byCols ? vecs : p.m);
  ThreadPool::instance().run(chunks, [&](int t, int n) {
    if (byCols) {
      const int j0 = std::min(p.n, static_cast<int>(static_cast<long>(vecs) * t / n) * 16);
      const int j1 = std::min(p.n, static_cast<int>(static_cast<long>(vecs) * (t + 1) / n) * 16);
      if (j0 < j1) gemmBlock(p, f, 0, p.m, j0, j1);
    } else {
      const int i0 = static_cast<int>(static_cast<long>(p.m) * t / n);
      const int i1 = static_cast<int>(static_cast<long>(p.m) * (t + 1) / n);
      if (i0 < i1) gemmBlock(p, f, i0, i1, 0, p.n);
    }
  });
}

void gemmBatched(const GemmProblem& p, const int* aOffsets, const int* bOffsets, int count, int threads) {
  if (count <= 0 || p.m == 0 || p.n == 0) return;
  const long cStep = static_cast<long>(p.m) * p.n;
  auto item = [&](int i) {
    GemmProblem q = p;
    q.a = p.a + aOffsets[i];
    q.b = p.b + bOffsets[i];
    q.c = p.c + i * cStep;
    return q;
  };
  const double flops = 2.0 * p.m * p.n * p.k;
  const int parts = std::min(threads, ThreadPool::instance().threads());
  // Whole items per thread, unless there are too few of them to share out evenly and each is
  // big enough to be split well by gemm() itself (or all together are too small for a second thread).
  if (parts <= 1 || flops * count < 2.5e5 || (count < 4 * parts && flops >= 4e6)) {
    for (int i = 0; i < count; ++i) gemm(item(i), threads);
    return;
  }
  const Family& f = family();
  const int chunks = std::min(count, 4 * parts);
  ThreadPool::instance().run(chunks, [&](int t, int n) {
    for (int i = static_cast<int>(static_cast<long>(count) * t / n), end = static_cast<int>(static_cast<long>(count) * (t + 1) / n); i < end; ++i)
      gemmBlock(item(i), f, 0, p.m, 0, p.n);
  });
}

}  // namespace chainrule

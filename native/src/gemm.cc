#include "gemm.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <atomic>
#include <vector>

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

// AVX-512 tile: MR rows × 16·NV columns (MR·NV zmm accumulators of the 32), blocking kc × mc.
#ifndef CR_AVX512_MR
#define CR_AVX512_MR 12
#endif
#ifndef CR_AVX512_NV
#define CR_AVX512_NV 2
#endif
#ifndef CR_AVX512_KC
#define CR_AVX512_KC 256
#endif
#ifndef CR_AVX512_MC
#define CR_AVX512_MC 144
#endif

namespace chainrule {

namespace {

// A micro-kernel: C[MR×NR] (ldc floats apart) = (add ? C : 0) + Ap·Bp over kc steps, where Ap is
// an MR-row sliver (k-major) and Bp an NR-column sliver, both packed and zero-padded.
using Kernel = void (*)(int kc, const float* ap, const float* bp, float* c, long ldc, int add);

struct Family {
  int mr, nr, kc, mc, nc;
  Kernel kernel;
};

// ---- packing (plain C++; O(size of the operand), negligible next to the product) ----

void packA(const GemmProblem& p, int mr, int ic, int mc, int pc, int kc, float* dst) {
  for (int ir = 0; ir < mc; ir += mr) {
    const int rows = std::min(mr, mc - ir);
    float* s = dst + static_cast<long>(ir) * kc;
    if (!p.transA) {
      for (int r = 0; r < mr; ++r) {
        if (r < rows) {
          const float* src = p.a + static_cast<long>(ic + ir + r) * p.k + pc;
          for (int q = 0; q < kc; ++q) s[q * mr + r] = src[q];
        } else {
          for (int q = 0; q < kc; ++q) s[q * mr + r] = 0.f;
        }
      }
    } else {
      for (int q = 0; q < kc; ++q) {
        const float* src = p.a + static_cast<long>(pc + q) * p.m + ic + ir;
        float* d = s + q * mr;
        int r = 0;
        for (; r < rows; ++r) d[r] = src[r];
        for (; r < mr; ++r) d[r] = 0.f;
      }
    }
  }
}

/** One kc×nr sliver of op(B): rows pc.., columns j0..j0+cols, zero-padded to nr columns. */
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

void packB(const GemmProblem& p, int nr, int pc, int kc, int jc, int nc, float* dst) {
  for (int jr = 0; jr < nc; jr += nr) packBSliver(p, nr, pc, kc, jc + jr, std::min(nr, nc - jr), dst + static_cast<long>(jr) * kc);
}

// ---- micro-kernels ----

template <int MR, int NR>
void kernelGeneric(int kc, const float* ap, const float* bp, float* c, long ldc, int add) {
  float acc[MR][NR] = {};
  for (int q = 0; q < kc; ++q) {
    for (int r = 0; r < MR; ++r) {
      const float a = ap[r];
      for (int j = 0; j < NR; ++j) acc[r][j] += a * bp[j];
    }
    ap += MR;
    bp += NR;
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j) c[r * ldc + j] = add ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

#if CR_X86
template <int MR, int NV>
CR_TARGET("avx512f,fma")
void kernelAvx512(int kc, const float* ap, const float* bp, float* c, long ldc, int add) {
  __m512 acc[MR][NV];
  CR_UNROLL for (int r = 0; r < MR; ++r) CR_UNROLL for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int q = 0; q < kc; ++q) {
    __m512 b[NV];
    CR_UNROLL for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(bp + 16 * v);
    CR_UNROLL for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(ap[r]);
      CR_UNROLL for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
    }
    ap += MR;
    bp += 16 * NV;
  }
  CR_UNROLL for (int r = 0; r < MR; ++r) CR_UNROLL for (int v = 0; v < NV; ++v) {
    float* cp = c + r * ldc + 16 * v;
    _mm512_storeu_ps(cp, add ? _mm512_add_ps(acc[r][v], _mm512_loadu_ps(cp)) : acc[r][v]);
  }
}

template <int MR, int NV>
CR_TARGET("avx2,fma")
void kernelAvx2(int kc, const float* ap, const float* bp, float* c, long ldc, int add) {
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
  CR_UNROLL for (int r = 0; r < MR; ++r) CR_UNROLL for (int v = 0; v < NV; ++v) {
    float* cp = c + r * ldc + 8 * v;
    _mm256_storeu_ps(cp, add ? _mm256_add_ps(acc[r][v], _mm256_loadu_ps(cp)) : acc[r][v]);
  }
}
#endif

// Tile shapes and cache blocking per family (kc·nr B sliver in L1, mc·kc A block in L2).
const Family kGeneric{4, 16, 256, 128, 1024, kernelGeneric<4, 16>};
#if CR_X86
const Family kAvx2{6, 16, 256, 96, 1024, kernelAvx2<6, 2>};
const Family kAvx512{CR_AVX512_MR, 16 * CR_AVX512_NV, CR_AVX512_KC, CR_AVX512_MC, 2048, kernelAvx512<CR_AVX512_MR, CR_AVX512_NV>};
#endif

Isa g_isa = detectIsa();

const Family& family() {
#if CR_X86
  if (g_isa == Isa::Avx512) return kAvx512;
  if (g_isa == Isa::Avx2) return kAvx2;
#endif
  return kGeneric;
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

/** C rows [i0,i1) × columns [jc,jc+nc) += A rows · the packed kc×nc block bp (add: keep C). */
void macroBlock(const GemmProblem& p, const Family& f, int i0, int i1, int jc, int nc, int pc, int kc, int add,
                const float* bp, float* ap, float* tmp) {
  const long ldc = p.n;
  for (int ic = i0; ic < i1; ic += f.mc) {
    const int mc = std::min(f.mc, i1 - ic);
    packA(p, f.mr, ic, mc, pc, kc, ap);
    for (int jr = 0; jr < nc; jr += f.nr) {
      const int cols = std::min(f.nr, nc - jr);
      const float* bs = bp + static_cast<long>(jr) * kc;
      for (int ir = 0; ir < mc; ir += f.mr) {
        const int rows = std::min(f.mr, mc - ir);
        const float* as = ap + static_cast<long>(ir) * kc;
        float* cp = p.c + (ic + ir) * ldc + jc + jr;
        if (rows == f.mr && cols == f.nr) {
          f.kernel(kc, as, bs, cp, ldc, add);
        } else {
          f.kernel(kc, as, bs, tmp, f.nr, 0);
          for (int r = 0; r < rows; ++r)
            for (int j = 0; j < cols; ++j) cp[r * ldc + j] = add ? cp[r * ldc + j] + tmp[r * f.nr + j] : tmp[r * f.nr + j];
        }
      }
    }
  }
}

void zeroIfEmptyK(const GemmProblem& p, int i0, int i1, int j0, int j1) {
  if (p.k == 0 && !p.accumulate)
    for (int i = i0; i < i1; ++i) std::memset(p.c + static_cast<long>(i) * p.n + j0, 0, sizeof(float) * (j1 - j0));
}

/** The blocked product restricted to C rows [i0,i1) × columns [j0,j1), on one thread. */
void gemmBlock(const GemmProblem& p, const Family& f, int i0, int i1, int j0, int j1) {
  if (p.k == 0) return zeroIfEmptyK(p, i0, i1, j0, j1);
  float* ap = workBuffer(static_cast<size_t>(f.mc) * f.kc + static_cast<size_t>(f.kc) * f.nc + f.mr * f.nr);
  float* bp = ap + static_cast<size_t>(f.mc) * f.kc;
  float* tmp = bp + static_cast<size_t>(f.kc) * f.nc;
  for (int jc = j0; jc < j1; jc += f.nc) {
    const int nc = std::min(f.nc, j1 - jc);
    for (int pc = 0; pc < p.k; pc += f.kc) {
      const int kc = std::min(f.kc, p.k - pc);
      packB(p, f.nr, pc, kc, jc, nc, bp);
      macroBlock(p, f, i0, i1, jc, nc, pc, kc, (p.accumulate || pc > 0) ? 1 : 0, bp, ap, tmp);
    }
  }
}

// Packed op(B) shared by the threads of one product, kept between calls (16 MiB at most).
constexpr long kSharedBFloats = 4L << 20;
std::mutex g_sharedBLock;
float* g_sharedB = nullptr;

void pauseBriefly() {
#if CR_X86
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

/**
 * Rows split across threads, with op(B) packed once for all of them. Per column block, threads
 * first claim B slivers to pack, then (once every sliver is packed) claim row chunks to
 * multiply; the work is claimed from counters, so a thread that the OS has not scheduled yet
 * holds nobody up, and each thread only ever waits for work another has already claimed.
 */
void gemmSharedB(const GemmProblem& p, const Family& f, int nt, float* sharedB) {
  const int nPad = (p.n + f.nr - 1) / f.nr * f.nr;
  const int ncMax = std::max(f.nr, static_cast<int>(kSharedBFloats / std::max(1, p.k)) / f.nr * f.nr);
  const int NC = std::min(nPad, ncMax);
  const int blocks = (p.n + NC - 1) / NC;
  const int tiles = (p.m + f.mr - 1) / f.mr;
  const int tilesPerChunk = std::max(1, (tiles + 4 * nt - 1) / (4 * nt));  // ~4 chunks per thread
  const int rowChunks = (tiles + tilesPerChunk - 1) / tilesPerChunk;
  // Per column block: next sliver to pack, slivers packed, next row chunk, row chunks done.
  std::vector<std::atomic<int>> packNext(blocks), packDone(blocks), rowNext(blocks), rowDone(blocks);
  ThreadPool::instance().run(nt, [&](int, int) {
    float* ap = workBuffer(static_cast<size_t>(f.mc) * f.kc + static_cast<size_t>(f.kc) * f.nc + f.mr * f.nr);
    float* tmp = ap + static_cast<size_t>(f.mc) * f.kc + static_cast<size_t>(f.kc) * f.nc;
    for (int blk = 0; blk < blocks; ++blk) {
      const int jc = blk * NC;
      const int nc = std::min(NC, p.n - jc);
      const int ncPad = (nc + f.nr - 1) / f.nr * f.nr;
      const int slivers = ncPad / f.nr;
      if (blk > 0) {  // the previous block's products must be done before its B is overwritten
        while (rowDone[blk - 1].load() < rowChunks) pauseBriefly();
      }
      for (int sl; (sl = packNext[blk].fetch_add(1)) < slivers;) {
        for (int pc = 0; pc < p.k; pc += f.kc) {
          const int kc = std::min(f.kc, p.k - pc);
          packBSliver(p, f.nr, pc, kc, jc + sl * f.nr, std::min(f.nr, nc - sl * f.nr),
                      sharedB + static_cast<long>(pc) * ncPad + static_cast<long>(sl) * f.nr * kc);
        }
        packDone[blk].fetch_add(1);
      }
      while (packDone[blk].load() < slivers) pauseBriefly();
      for (int rc; (rc = rowNext[blk].fetch_add(1)) < rowChunks;) {
        const int i0 = rc * tilesPerChunk * f.mr;
        const int i1 = std::min(p.m, i0 + tilesPerChunk * f.mr);
        for (int pc = 0; pc < p.k; pc += f.kc) {
          const int kc = std::min(f.kc, p.k - pc);
          macroBlock(p, f, i0, i1, jc, nc, pc, kc, (p.accumulate || pc > 0) ? 1 : 0, sharedB + static_cast<long>(pc) * ncPad,
                     ap, tmp);
        }
        rowDone[blk].fetch_add(1);
      }
    }
  });
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
  // Below ~1 MFLOP the wake-up of a second thread costs more than it saves.
  const double flops = 2.0 * p.m * p.n * p.k;
  const int parts = flops < 1.5e6 ? 1 : std::min(threads, ThreadPool::instance().threads());
  if (parts > 1 && p.k > 0 && p.m >= 4 * f.mr * parts && static_cast<long>(p.k) * f.nr <= kSharedBFloats) {
    std::unique_lock<std::mutex> lock(g_sharedBLock, std::try_to_lock);
    if (lock.owns_lock()) {
      if (!g_sharedB) g_sharedB = static_cast<float*>(std::aligned_alloc(64, (kSharedBFloats + 64L * 1024) * sizeof(float)));
      if (g_sharedB) return gemmSharedB(p, f, parts, g_sharedB);
    }
  }
  if (parts > 1 && p.n >= parts * 2 * f.nr) {
    const int step = (p.n / parts + f.nr - 1) / f.nr * f.nr;
    ThreadPool::instance().run(parts, [&](int t, int) {
      const int j0 = std::min(p.n, t * step);
      const int j1 = t == parts - 1 ? p.n : std::min(p.n, j0 + step);
      if (j0 < j1) gemmBlock(p, f, 0, p.m, j0, j1);
    });
  } else if (parts > 1 && p.m >= parts * f.mr) {
    const int step = (p.m / parts + f.mr - 1) / f.mr * f.mr;
    ThreadPool::instance().run(parts, [&](int t, int) {
      const int i0 = std::min(p.m, t * step);
      const int i1 = t == parts - 1 ? p.m : std::min(p.m, i0 + step);
      if (i0 < i1) gemmBlock(p, f, i0, i1, 0, p.n);
    });
  } else {
    gemmBlock(p, f, 0, p.m, 0, p.n);
  }
}

}  // namespace chainrule

// fp32 GEMM: C[m×n] (+)= op(A)·op(B) (optionally + bias, then relu), row-major, with op(A)/op(B) reached by packing, never by
// materialising a transpose. Register-tiled micro-kernels for AVX-512, AVX2+FMA and plain C++,
// chosen at run time from what the CPU supports.
#pragma once

namespace chainrule {

enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };

struct GemmProblem {
  bool transA;
  bool transB;
  int m, n, k;
  const float* a;  // m×k, or k×m when transA
  const float* b;  // k×n, or n×k when transB
  float* c;        // m×n
  bool accumulate;
  // The epilogue of a linear layer, done by each thread on its own block of C while it is in
  // cache: C starts from `bias` (n floats) in every row instead of from zero (never with
  // accumulate), and the relu kernel runs on the finished C. The sums are those of filling C
  // with the bias and accumulating, so the values do not change.
  const float* bias = nullptr;
  bool relu = false;
};

/** The best ISA this CPU (and this compiler) supports. */
Isa detectIsa();
Isa currentIsa();
/** Selects a kernel family (tests use it to cover every path); clamped to what the CPU has. */
Isa setIsa(Isa isa);
const char* isaName(Isa isa);

/** Runs the product on up to `threads` threads of the shared pool. */
void gemm(const GemmProblem& p, int threads);

/**
 * `count` products of p's shape and layout (no bias or relu): item i reads A at p.a + aOffsets[i],
 * B at p.b + bOffsets[i], and writes C at p.c + i·m·n. Small items are shared out whole among the
 * threads (one call, no per-item wake-up); each item's values are those gemm() gives it.
 */
void gemmBatched(const GemmProblem& p, const int* aOffsets, const int* bOffsets, int count, int threads);

}  // namespace chainrule

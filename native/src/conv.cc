#include "conv.h"

#include <algorithm>
#include <vector>

#include "gemm.h"
#include "thread_pool.h"

namespace chainrule {

namespace {

/** This thread's scratch for one sample's columns. */
float* scratch(size_t floats) {
  thread_local std::vector<float> buf;
  if (buf.size() < floats) buf.resize(floats);
  return buf.data();
}

// Samples are independent: with enough of them each thread takes whole samples (one thread per
// product and window walk, no wake-ups inside); with few, the samples go one after another and
// each product and walk is split across the threads instead.
template <typename SampleFn>
void forSamples(long n, int threads, SampleFn fn) {
  const int parts = std::min(threads, ThreadPool::instance().threads());
  if (parts <= 1 || n < 2 * parts) {
    for (long s = 0; s < n; ++s) fn(s, threads);
    return;
  }
  const int chunks = static_cast<int>(std::min<long>(n, 4L * parts));
  ThreadPool::instance().run(chunks, [&](int t, int nt) {
    for (long s = n * t / nt, end = n * (t + 1) / nt; s < end; ++s) fn(s, 1);
  });
}

}  // namespace

void conv2dForward(const float* x, long n, long c, const WindowGeometry& g, const float* w, long o, const float* bias, bool relu,
                   float* y, int threads) {
  const long k = c * g.kh * g.kw, l = g.oh * g.ow;
  forSamples(n, threads, [&](long s, int inner) {
    float* cols = scratch(static_cast<size_t>(k * l));
    im2col(x + s * c * g.h * g.w, c, g, 0.f, cols, inner);
    float* ys = y + s * o * l;
    if (bias)
      for (long r = 0; r < o; ++r) std::fill(ys + r * l, ys + (r + 1) * l, bias[r]);
    GemmProblem q{false, false, static_cast<int>(o), static_cast<int>(l), static_cast<int>(k), w, cols, ys, bias != nullptr};
    q.relu = relu;  // on the finished sums (bias included), as the relu kernel would
    gemm(q, inner);
  });
}

void conv2dInputGrad(const float* gy, long n, long c, const WindowGeometry& g, const float* w, long o, float* gx, int threads) {
  const long k = c * g.kh * g.kw, l = g.oh * g.ow;
  forSamples(n, threads, [&](long s, int inner) {
    float* dcols = scratch(static_cast<size_t>(k * l));
    gemm(GemmProblem{true, false, static_cast<int>(k), static_cast<int>(l), static_cast<int>(o), w, gy + s * o * l, dcols, false}, inner);
    col2im(dcols, c, g, gx + s * c * g.h * g.w, inner);
  });
}

void conv2dWeightGrad(const float* x, const float* gy, long n, long c, const WindowGeometry& g, long o, float* perSample,
                      int threads) {
  const long k = c * g.kh * g.kw, l = g.oh * g.ow;
  forSamples(n, threads, [&](long s, int inner) {
    float* cols = scratch(static_cast<size_t>(k * l));
    im2col(x + s * c * g.h * g.w, c, g, 0.f, cols, inner);
    gemm(GemmProblem{false, true, static_cast<int>(o), static_cast<int>(k), static_cast<int>(l), gy + s * o * l, cols, perSample + s * o * k, false},
         inner);
  });
}

}  // namespace chainrule

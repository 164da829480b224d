// One group of a 2-D convolution, sample by sample: each sample's im2col columns (or their
// gradient) live in a per-thread scratch buffer that stays in cache, instead of the whole
// batch's columns going through memory. The products and window walks are gemm(), im2col() and
// col2im() on one thread, so every value is the one the separate kernels give.
#pragma once

#include "elementwise.h"

namespace chainrule {

/**
 * x [n, c, h, w] (g: h, w, kernel, ...), weight [o, c·kh·kw] → y [n, o, oh·ow] = [bias +] W·cols(x[s]),
 * then relu (the relu kernel's values) when asked, as the product's epilogue.
 */
void conv2dForward(const float* x, long n, long c, const WindowGeometry& g, const float* w, long o, const float* bias, bool relu,
                   float* y, int threads);

/** gx[s] = col2im(Wᵀ·gy[s]): gy [n, o, oh·ow] → gx [n, c, h, w]. */
void conv2dInputGrad(const float* gy, long n, long c, const WindowGeometry& g, const float* w, long o, float* gx, int threads);

/** perSample[s] = gy[s]·cols(x[s])ᵀ, [n, o, c·kh·kw] (summed over s by the caller, in sample order). */
void conv2dWeightGrad(const float* x, const float* gy, long n, long c, const WindowGeometry& g, long o, float* perSample,
                      int threads);

}  // namespace chainrule

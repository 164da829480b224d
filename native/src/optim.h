// Fused optimizer updates: one pass over the parameter, its gradient and the moment buffers.
#pragma once

namespace chainrule {

struct AdamStep {
  float* param;
  const float* grad;
  float* expAvg;
  float* expAvgSq;
  float* maxExpAvgSq;  // null unless amsgrad
  long n;
  float beta1, beta2, eps;
  float keep1, keep2;  // 1 − beta1, 1 − beta2, taken in double (1 − 0.999f alone loses 4 digits)
  float negStepSize;  // −lr / (1 − beta1^step)
  float invBias2;     // 1 / sqrt(1 − beta2^step)
  float l2;           // weight decay added to the gradient (Adam), 0 for AdamW
  float shrink;       // 1 − lr·weightDecay (AdamW), 1 for Adam
  float sign;         // −1 when maximizing
};

/** PyTorch 1.13's Adam/AdamW update (torch.optim._functional.adam, single-tensor path). */
void adamStep(const AdamStep& s);

}  // namespace chainrule

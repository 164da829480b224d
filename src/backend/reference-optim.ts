import type { AdagradArgs, AdamArgs, RmspropArgs, SgdArgs } from './types.js';

/**
 * The optimizers' update loops (src/optim/ computes the step's scalars and owns the state), one
 * pass over a parameter's elements each, written as PyTorch 1.13's single-tensor implementations
 * order their operations. Any float dtype; the fast backends' Adam must match these.
 */

export function adamStep(s: AdamArgs): void {
  const { param: x, grad: dx, expAvg: m, expAvgSq: v, maxExpAvgSq: vMax, beta1, beta2, eps, negStepSize, bias2Sqrt, l2, shrink, sign } = s;
  const keep1 = 1 - beta1;
  const keep2 = 1 - beta2;
  for (let i = 0; i < x.length; i++) {
    let d = sign * dx[i]!;
    if (l2 !== 0) d += l2 * x[i]!;
    if (shrink !== 1) x[i]! *= shrink;
    m[i] = m[i]! * beta1 + keep1 * d;
    v[i] = v[i]! * beta2 + keep2 * d * d;
    let second = v[i]!;
    if (vMax !== null) {
      if (!(vMax[i]! >= second)) vMax[i] = second; // NaN propagates, as torch.maximum
      second = vMax[i]!;
    }
    const denom = Math.sqrt(second) / bias2Sqrt + eps;
    x[i]! += (negStepSize * m[i]!) / denom;
  }
}

export function sgdStep(s: SgdArgs): void {
  const { param: x, grad: dx, momentumBuffer: buf, first, lr, momentum, dampening, nesterov, weightDecay, sign } = s;
  const n = x.length;
  if (buf === null) {
    for (let i = 0; i < n; i++) {
      let d = sign * dx[i]!;
      if (weightDecay !== 0) d += weightDecay * x[i]!;
      x[i]! -= lr * d;
    }
    return;
  }
  const keep = 1 - dampening;
  for (let i = 0; i < n; i++) {
    let d = sign * dx[i]!;
    if (weightDecay !== 0) d += weightDecay * x[i]!;
    const v = first ? d : momentum * buf[i]! + keep * d;
    buf[i] = v;
    x[i]! -= lr * (nesterov ? d + momentum * buf[i]! : buf[i]!);
  }
}

export function adagradStep(s: AdagradArgs): void {
  const { param: x, grad: dx, sum, negClr, weightDecay, eps, sign } = s;
  for (let i = 0; i < x.length; i++) {
    let d = sign * dx[i]!;
    if (weightDecay !== 0) d += weightDecay * x[i]!;
    sum[i] = sum[i]! + d * d;
    x[i]! += (negClr * d) / (Math.sqrt(sum[i]!) + eps);
  }
}

export function rmspropStep(s: RmspropArgs): void {
  const { param: x, grad: dx, squareAvg: sq, gradAvg: ga, momentumBuffer: buf, lr, alpha, eps, weightDecay, momentum, sign } = s;
  const keep = 1 - alpha;
  const negLr = -lr;
  for (let i = 0; i < x.length; i++) {
    let d = sign * dx[i]!;
    if (weightDecay !== 0) d += weightDecay * x[i]!;
    sq[i] = sq[i]! * alpha + keep * d * d;
    let avg: number;
    if (ga !== null) {
      ga[i] = ga[i]! * alpha + keep * d;
      avg = Math.sqrt(sq[i]! - ga[i]! * ga[i]!) + eps;
    } else {
      avg = Math.sqrt(sq[i]!) + eps;
    }
    if (buf !== null) {
      buf[i] = buf[i]! * momentum + d / avg;
      x[i]! += negLr * buf[i]!;
    } else {
      x[i]! += (negLr * d) / avg;
    }
  }
}

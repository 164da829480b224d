/**
 * optim.LBFGS as PyTorch 1.13 computes it: limited-memory BFGS over all parameters as one flat
 * vector, with PyTorch's step-size rule, stopping tests and (optionally) its strong-Wolfe line
 * search. Each `step(closure)` runs up to `maxIter` iterations; the closure re-evaluates the loss
 * with gradients (zero them first), as in PyTorch:
 *
 *   opt.step(() => { opt.zeroGrad(); const l = loss(); l.backward(); return l; });
 *
 * The flat vectors are float64 on the host whatever the parameters' dtype; parameters are
 * written back in their own dtype. One parameter group, as PyTorch.
 */
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, optimizerArgs, optimizerSignature, type Closure, type OptimizerArgs, type OptimizerOptions } from './optimizer.js';
import { enableGrad } from '../autograd/grad-mode.js';

export interface LBFGSOptions extends OptimizerOptions {
  maxIter: number;
  /** Default maxIter·5/4 (rounded down). */
  maxEval: number;
  toleranceGrad: number;
  toleranceChange: number;
  historySize: number;
  lineSearchFn: 'strong_wolfe' | null;
}

type Vec = Float64Array;

const dot = (a: Vec, b: Vec): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const absMax = (a: Vec): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
};
const absSum = (a: Vec): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]!);
  return s;
};

/** Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to the bounds. */
function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos = x1 <= x2
      ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
      : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

type Evaluate = (t: number) => [number, Vec];

/** PyTorch's _strong_wolfe: returns the loss and gradient at the chosen step, the step and the evaluations used. */
function strongWolfe(evaluate: Evaluate, t0: number, d: Vec, f: number, g: Vec, gtd: number, toleranceChange: number): [number, Vec, number, number] {
  const c1 = 1e-4;
  const c2 = 0.9;
  const maxLs = 25;
  let t = t0;
  const dNorm = absMax(d);
  let [fNew, gNew] = evaluate(t);
  let evals = 1;
  let gtdNew = dot(gNew, d);
  let tPrev = 0;
  let fPrev = f;
  let gPrev = g;
  let gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: Vec[] = [];
  let bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      [bracket, bracketF, bracketG] = [[t], [fNew], [gNew]];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = tmp;
    fPrev = fNew;
    gPrev = gNew;
    gtdPrev = gtdNew;
    [fNew, gNew] = evaluate(t);
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
  }
  if (lsIter === maxLs) [bracket, bracketF, bracketG] = [[0, t], [f, fNew], [g, gNew]];

  // Zoom: shrink the bracket until a point satisfies the strong Wolfe conditions.
  let insufProgress = false;
  let [low, high] = bracketF[0]! <= bracketF[bracketF.length - 1]! ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1]! - bracket[0]!) * dNorm < toleranceChange) break;
    t = cubicInterpolate(bracket[0]!, bracketF[0]!, bracketGtd[0]!, bracket[1]!, bracketF[1]!, bracketGtd[1]!);
    const bMax = Math.max(bracket[0]!, bracket[1]!);
    const bMin = Math.min(bracket[0]!, bracket[1]!);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else {
        insufProgress = true;
      }
    } else {
      insufProgress = false;
    }
    [fNew, gNew] = evaluate(t);
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
    if (fNew > f + c1 * t * gtd || fNew >= bracketF[low]!) {
      bracket[high] = t;
      bracketF[high] = fNew;
      bracketG[high] = gNew;
      bracketGtd[high] = gtdNew;
      [low, high] = bracketF[0]! <= bracketF[1]! ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        done = true;
      } else if (gtdNew * (bracket[high]! - bracket[low]!) >= 0) {
        bracket[high] = bracket[low]!;
        bracketF[high] = bracketF[low]!;
        bracketG[high] = bracketG[low]!;
        bracketGtd[high] = bracketGtd[low]!;
      }
      bracket[low] = t;
      bracketF[low] = fNew;
      bracketG[low] = gNew;
      bracketGtd[low] = gtdNew;
    }
  }
  return [bracketF[low]!, bracketG[low]!, bracket[low]!, evals];
}

interface LbfgsState {
  funcEvals: number;
  nIter: number;
  d: Vec | null;
  t: number | null;
  oldDirs: Vec[];
  oldStps: Vec[];
  ro: number[];
  hDiag: number;
  prevFlatGrad: Vec | null;
  prevLoss: number | null;
}

const LBFGS_SIG = optimizerSignature(
  'LBFGS',
  'lr?:num maxIter?:int maxEval?:int|null toleranceGrad?:num toleranceChange?:num historySize?:int lineSearchFn?:str|null',
);

export class LBFGS extends Optimizer<LBFGSOptions> {
  private lbfgs: LbfgsState = {
    funcEvals: 0, nIter: 0, d: null, t: null, oldDirs: [], oldStps: [], ro: [], hDiag: 1, prevFlatGrad: null, prevLoss: null,
  };

  constructor(
    ...args: OptimizerArgs<
      LBFGSOptions,
      [lr: number, maxIter: number, maxEval: number | null, toleranceGrad: number, toleranceChange: number, historySize: number, lineSearchFn: 'strong_wolfe' | null]
    >
  ) {
    const [params, given] = optimizerArgs<LBFGSOptions>(LBFGS_SIG, args, {});
    const maxIter = given.maxIter ?? 20;
    super('LBFGS', params, {
      lr: 1, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100, lineSearchFn: null, ...given,
      maxIter, maxEval: given.maxEval ?? Math.floor((maxIter * 5) / 4),
    });
    if (this.paramGroups.length !== 1) throw new ValueError(`LBFGS: supports one parameter group only (as PyTorch), got ${this.paramGroups.length}`);
  }

  protected validate(g: LBFGSOptions): void {
    if (!(g.lr > 0)) throw new ValueError(`LBFGS: lr must be > 0, got ${g.lr}`);
    for (const k of ['maxIter', 'maxEval', 'historySize'] as const) {
      if (!Number.isInteger(g[k]) || g[k] < 1) throw new ValueError(`LBFGS: ${k} must be a positive integer, got ${g[k]}`);
    }
    for (const k of ['toleranceGrad', 'toleranceChange'] as const) {
      if (!(g[k] >= 0)) throw new ValueError(`LBFGS: ${k} must be ≥ 0, got ${g[k]}`);
    }
    if (g.lineSearchFn !== null && g.lineSearchFn !== 'strong_wolfe') {
      throw new ValueError(`LBFGS: lineSearchFn must be null or 'strong_wolfe', got ${JSON.stringify(g.lineSearchFn)}`);
    }
  }

  protected update(): void {
    throw new ValueError('LBFGS: step needs a closure that re-evaluates the loss: opt.step(() => { opt.zeroGrad(); const l = f(); l.backward(); return l; })');
  }

  private get params(): Tensor[] {
    return this.paramGroups[0]!.params;
  }

  private numel(): number {
    return this.params.reduce((n, p) => n + p.numel(), 0);
  }

  /** The gradients as one vector (zeros for a parameter without one). */
  private gatherFlatGrad(): Vec {
    const out = new Float64Array(this.numel());
    let off = 0;
    for (const p of this.params) {
      const g = p.peekGrad();
      if (g !== null) out.set(g.dataSync() as ArrayLike<number>, off);
      off += p.numel();
    }
    return out;
  }

  private flatParams(): Vec {
    const out = new Float64Array(this.numel());
    let off = 0;
    for (const p of this.params) {
      out.set(p.dataSync() as ArrayLike<number>, off);
      off += p.numel();
    }
    return out;
  }

  /** p ← p + step·update, parameter by parameter (PyTorch's _add_grad). */
  private addGrad(step: number, update: Vec): void {
    let off = 0;
    for (const p of this.params) {
      const cur = p.dataSync() as ArrayLike<number>;
      const next = new Float64Array(cur.length);
      for (let i = 0; i < cur.length; i++) next[i] = cur[i]! + step * update[off + i]!;
      p.writeRowMajor('LBFGS', next);
      off += cur.length;
    }
  }

  private setParams(x: Vec): void {
    let off = 0;
    for (const p of this.params) {
      const n = p.numel();
      p.writeRowMajor('LBFGS', x.subarray(off, off + n));
      off += n;
    }
  }

  override step(closure?: Closure): number | Tensor | undefined {
    if (closure === undefined) this.update();
    const evalLoss = (): number => {
      const l = enableGrad(closure!);
      return typeof l === 'number' ? l : l.item();
    };
    const g = this.paramGroups[0]!;
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize, lineSearchFn } = g;
    const st = this.lbfgs;

    const origLoss = enableGrad(closure!);
    let loss = typeof origLoss === 'number' ? origLoss : origLoss.item();
    let currentEvals = 1;
    st.funcEvals++;
    let flatGrad = this.gatherFlatGrad();
    let optCond = absMax(flatGrad) <= toleranceGrad;
    if (optCond) return origLoss;

    let { d, t, prevFlatGrad, prevLoss } = st;
    const { oldDirs, oldStps, ro } = st;
    let hDiag = st.hDiag;
    let nIter = 0;
    while (nIter < maxIter) {
      nIter++;
      st.nIter++;
      if (st.nIter === 1) {
        d = flatGrad.map((v) => -v);
        oldDirs.length = 0;
        oldStps.length = 0;
        ro.length = 0;
        hDiag = 1;
      } else {
        const y = flatGrad.map((v, i) => v - prevFlatGrad![i]!);
        const s = d!.map((v) => v * t!);
        const ys = dot(y, s);
        if (ys > 1e-10) {
          if (oldDirs.length === historySize) {
            oldDirs.shift();
            oldStps.shift();
            ro.shift();
          }
          oldDirs.push(y);
          oldStps.push(s);
          ro.push(1 / ys);
          hDiag = ys / dot(y, y);
        }
        // The two-loop recursion: d = −H·g with H the inverse-Hessian estimate.
        const al = new Array<number>(oldDirs.length);
        const q = flatGrad.map((v) => -v);
        for (let i = oldDirs.length - 1; i >= 0; i--) {
          al[i] = dot(oldStps[i]!, q) * ro[i]!;
          const yi = oldDirs[i]!;
          for (let j = 0; j < q.length; j++) q[j] = q[j]! + -al[i]! * yi[j]!;
        }
        const r = q.map((v) => v * hDiag);
        for (let i = 0; i < oldDirs.length; i++) {
          const be = dot(oldDirs[i]!, r) * ro[i]!;
          const si = oldStps[i]!;
          for (let j = 0; j < r.length; j++) r[j] = r[j]! + (al[i]! - be) * si[j]!;
        }
        d = r;
      }
      prevFlatGrad = Float64Array.from(flatGrad);
      prevLoss = loss;
      t = st.nIter === 1 ? Math.min(1, 1 / absSum(flatGrad)) * lr : lr;
      const gtd = dot(flatGrad, d!);
      if (gtd > -toleranceChange) break;

      let lsEvals = 0;
      if (lineSearchFn === 'strong_wolfe') {
        const xInit = this.flatParams();
        const dir = d!;
        const evaluate: Evaluate = (step) => {
          this.addGrad(step, dir);
          const f = evalLoss();
          const grad = this.gatherFlatGrad();
          this.setParams(xInit);
          return [f, grad];
        };
        [loss, flatGrad, t, lsEvals] = strongWolfe(evaluate, t, dir, loss, flatGrad, gtd, toleranceChange);
        this.addGrad(t, dir);
        optCond = absMax(flatGrad) <= toleranceGrad;
      } else {
        this.addGrad(t, d!);
        if (nIter !== maxIter) {
          loss = evalLoss();
          flatGrad = this.gatherFlatGrad();
          optCond = absMax(flatGrad) <= toleranceGrad;
          lsEvals = 1;
        }
      }
      currentEvals += lsEvals;
      st.funcEvals += lsEvals;

      if (nIter === maxIter) break;
      if (currentEvals >= maxEval) break;
      if (optCond) break;
      if (absMax(d!) * Math.abs(t) <= toleranceChange) break;
      if (Math.abs(loss - prevLoss) < toleranceChange) break;
    }
    Object.assign(st, { d, t, hDiag, prevFlatGrad, prevLoss });
    return origLoss;
  }

  /** Function evaluations and iterations so far (PyTorch's state['func_evals'], state['n_iter']). */
  get counts(): { funcEvals: number; nIter: number } {
    return { funcEvals: this.lbfgs.funcEvals, nIter: this.lbfgs.nIter };
  }
}

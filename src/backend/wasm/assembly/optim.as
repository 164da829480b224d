// AssemblyScript source: fused optimizer updates (compiled with the other kernels by
// scripts/build-wasm.mjs). The same formulas as native/src/optim.cc and src/optim/adam.ts.

/**
 * Adam/AdamW on n floats (no amsgrad), with k1 = 1 − b1 and k2 = 1 − b2 taken by the caller in
 * double (1 − 0.999f in f32 loses four digits): d = sign·g + l2·x; x ← x·shrink; m ← b1·m + (1−b1)·d;
 * v ← b2·v + (1−b2)·d²; x ← x + step·m / (√v·invBias2 + eps). All four arrays are updated in place.
 */
export function adamStep(
  x: usize, g: usize, m: usize, v: usize, n: i32,
  b1: f32, b2: f32, k1: f32, k2: f32, eps: f32, step: f32, invBias2: f32, l2: f32, shrink: f32, sign: f32,
): void {
  const vb1 = f32x4.splat(b1), vb2 = f32x4.splat(b2), vk1 = f32x4.splat(k1), vk2 = f32x4.splat(k2);
  const veps = f32x4.splat(eps), vstep = f32x4.splat(step), vinv = f32x4.splat(invBias2);
  const vl2 = f32x4.splat(l2), vshrink = f32x4.splat(shrink), vsign = f32x4.splat(sign);
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i * 4;
    const xi = v128.load(x + o);
    const d = f32x4.add(f32x4.mul(vsign, v128.load(g + o)), f32x4.mul(vl2, xi));
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), vb1), f32x4.mul(vk1, d));
    const vi = f32x4.add(f32x4.mul(v128.load(v + o), vb2), f32x4.mul(f32x4.mul(vk2, d), d));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vi), vinv), veps);
    v128.store(x + o, f32x4.add(f32x4.mul(xi, vshrink), f32x4.div(f32x4.mul(vstep, mi), denom)));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i * 4;
    const xi = load<f32>(x + o);
    const d = sign * load<f32>(g + o) + l2 * xi;
    const mi = load<f32>(m + o) * b1 + k1 * d;
    const vi = load<f32>(v + o) * b2 + k2 * d * d;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(x + o, xi * shrink + (step * mi) / (Mathf.sqrt(vi) * invBias2 + eps));
  }
}

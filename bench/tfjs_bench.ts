/**
 * TensorFlow.js side of `npm run bench`: the same work as chainrule's, on its cpu and wasm
 * backends, printed as one JSON line. Usage: tsx bench/tfjs_bench.ts mlp|cnn|xor|matmul cpu|wasm [batches]
 */
import type * as TF from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadFashionTrain, median, peakRssMb } from './common.js';

const [work = 'xor', backendName = 'cpu', batchesArg] = process.argv.slice(2);
// The CommonJS bundles: they register every kernel and gradient (the ESM build does not load in Node).
const req = createRequire(import.meta.url);
const tf = req('@tensorflow/tfjs') as typeof TF;
req('@tensorflow/tfjs-backend-cpu');
const { setWasmPaths } = req('@tensorflow/tfjs-backend-wasm') as { setWasmPaths: (p: string) => void };

async function init(): Promise<void> {
  if (backendName === 'wasm') {
    setWasmPaths(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
  }
  await tf.setBackend(backendName);
  await tf.ready();
}

/** Glorot-uniform weights and zero bias, as Keras' default Dense layer. */
function dense(inF: number, outF: number) {
  const lim = Math.sqrt(6 / (inF + outF));
  return { w: tf.variable(tf.randomUniform([inF, outF], -lim, lim, 'float32', 1)), b: tf.variable(tf.zeros([outF])) };
}

async function mlp(): Promise<void> {
  const { images, labels, n } = await loadFashionTrain();
  const layers = [dense(784, 256), dense(256, 128), dense(128, 10)];
  const vars = layers.flatMap((l) => [l.w, l.b]);
  const opt = tf.train.adam(1e-3);
  const batches = Number(batchesArg ?? 60);
  const batch = 128;
  const step = (b: number) =>
    tf.tidy(() => {
      const start = (b * batch) % (n - batch);
      const x = tf.tensor2d(Float32Array.from(images.subarray(start * 784, (start + batch) * 784), (v) => v / 255), [batch, 784]);
      const y = tf.oneHot(tf.tensor1d(labels.subarray(start, start + batch), 'int32'), 10);
      opt.minimize(() => {
        let h: TF.Tensor = x;
        layers.forEach((l, i) => {
          h = tf.add(tf.matMul(h, l.w), l.b);
          if (i < layers.length - 1) h = tf.relu(h);
        });
        return tf.losses.softmaxCrossEntropy(y, h) as TF.Scalar;
      }, false, vars);
    });
  for (let b = 0; b < 5; b++) step(b);
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) step(b);
  const dt = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ work: 'mlp', system: `tfjs-${backendName}`, samples_per_s: (batches * batch) / dt, peak_rss_mb: peakRssMb() }));
}

/** A 3×3 'same' convolution, Glorot-uniform filters (HWIO) and zero bias, as Keras' default Conv2D. */
function conv3x3(inC: number, outC: number) {
  const lim = Math.sqrt(6 / (9 * inC + 9 * outC));
  return { w: tf.variable(tf.randomUniform([3, 3, inC, outC], -lim, lim, 'float32', 1)), b: tf.variable(tf.zeros([outC])) };
}

/**
 * chainrule's `--model cnn` network, conv8-pool-conv16-pool-fc64-fc10, in TF.js' channels-last
 * layout (NHWC): the flatten order differs from chainrule's NCHW, the work does not.
 */
async function cnn(): Promise<void> {
  const { images, labels, n } = await loadFashionTrain();
  const convs = [conv3x3(1, 8), conv3x3(8, 16)];
  const fcs = [dense(16 * 7 * 7, 64), dense(64, 10)];
  const vars = [...convs, ...fcs].flatMap((l) => [l.w, l.b]);
  const opt = tf.train.adam(1e-3);
  const batches = Number(batchesArg ?? (backendName === 'wasm' ? 40 : 12));
  const batch = 128;
  // Each 3×3 convolution runs as a 3D one over a depth-1 volume (a 1×3×3 filter: the same
  // arithmetic). TF.js' wasm backend (4.22) has no Conv2DBackpropFilter kernel, so tf.conv2d
  // cannot be trained there at all, and the cpu backend's is 7× slower than its Conv3D gradients
  // (a step takes 6.1 s with tf.conv2d, 0.83 s this way; measured): the row gets TF.js' fast path.
  const conv = (h: TF.Tensor4D, w: TF.Tensor): TF.Tensor4D =>
    tf.squeeze(tf.conv3d(tf.expandDims(h, 1) as TF.Tensor5D, tf.expandDims(w, 0) as TF.Tensor5D, 1, 'same'), [1]);
  const step = (b: number) =>
    tf.tidy(() => {
      const start = (b * batch) % (n - batch);
      const x = tf.tensor4d(Float32Array.from(images.subarray(start * 784, (start + batch) * 784), (v) => v / 255), [batch, 28, 28, 1]);
      const y = tf.oneHot(tf.tensor1d(labels.subarray(start, start + batch), 'int32'), 10);
      opt.minimize(() => {
        let h: TF.Tensor4D = x;
        for (const c of convs) h = tf.maxPool(tf.relu(tf.add(conv(h, c.w), c.b)) as TF.Tensor4D, 2, 2, 'valid');
        const z = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tf.reshape(h, [batch, 16 * 7 * 7]), fcs[0]!.w), fcs[0]!.b)), fcs[1]!.w), fcs[1]!.b);
        return tf.losses.softmaxCrossEntropy(y, z) as TF.Scalar;
      }, false, vars);
    });
  // Fewer warm-up batches than the MLP's: each costs up to a second on the cpu backend.
  for (let b = 0; b < 3; b++) step(b);
  const stepMs: number[] = [];
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const ts = performance.now();
    step(b);
    stepMs.push(performance.now() - ts);
  }
  const dt = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({
    work: 'cnn', system: `tfjs-${backendName}`, samples_per_s: (batches * batch) / dt, peak_rss_mb: peakRssMb(), batches, median_step_ms: median(stepMs),
  }));
}

async function xor(): Promise<void> {
  const x = tf.tensor2d([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const y = tf.tensor2d([[0], [1], [1], [0]]);
  const l1 = dense(2, 4);
  const l2 = dense(4, 1);
  const opt = tf.train.sgd(0.5);
  const vars = [l1.w, l1.b, l2.w, l2.b];
  const step = () =>
    tf.tidy(() => {
      opt.minimize(() => {
        const h = tf.sigmoid(tf.add(tf.matMul(x, l1.w), l1.b));
        const o = tf.sigmoid(tf.add(tf.matMul(h, l2.w), l2.b));
        return tf.mean(tf.square(tf.sub(o, y))) as TF.Scalar;
      }, false, vars);
    });
  for (let i = 0; i < 500; i++) step();
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) step();
    runs.push(((performance.now() - t0) / 1000) * 1000);
  }
  console.log(JSON.stringify({ work: 'xor', system: `tfjs-${backendName}`, us_per_step: median(runs) }));
}

async function matmul(): Promise<void> {
  const out: Record<number, number> = {};
  for (const n of [128, 256, 512, 1024]) {
    if (backendName === 'cpu' && n > 512) continue;
    const a = tf.randomNormal([n, n]);
    const b = tf.randomNormal([n, n]);
    const reps = Math.max(2, Math.round(2e8 / (2 * n ** 3)) * (backendName === 'wasm' ? 10 : 1));
    // dataSync inside tf.tidy runs ~10× slower on the wasm backend (measured): dispose by hand.
    const product = () => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    };
    for (let i = 0; i < Math.min(reps, 3); i++) product();
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) product();
      runs.push((performance.now() - t0) / 1000 / reps);
    }
    out[n] = (2 * n ** 3) / median(runs) / 1e9;
  }
  console.log(JSON.stringify({ work: 'matmul', system: `tfjs-${backendName}`, gflops: out }));
}

await init();
await ({ mlp, cnn, xor, matmul } as Record<string, () => Promise<void>>)[work]!();

/**
 * The page of bench/browser_mlp.ts: trains the 784-256-128-10 Fashion-MNIST MLP (Adam, batch
 * 128, softmax cross-entropy) for a fixed number of batches with one system, on this page's
 * main thread, and returns samples/s. One system per page, so that backends never share a
 * page. chainrule is imported from the repository's sources, as the playground does.
 */
import { F, backendName, manualSeed, nn, optim, ready, tensor } from '../../src/index.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

const BATCH = 128;
const WARMUP = 5;

interface Data {
  images: Uint8Array;
  labels: Int32Array;
  n: number;
}

async function load(): Promise<Data> {
  const images = new Uint8Array(await (await fetch('/images.bin')).arrayBuffer());
  const labels = new Int32Array(new Uint8Array(await (await fetch('/labels.bin')).arrayBuffer()));
  return { images, labels, n: labels.length };
}

function batchOf(d: Data, b: number): { x: Float32Array; y: Int32Array } {
  const start = (b * BATCH) % (d.n - BATCH);
  const x = new Float32Array(BATCH * 784);
  for (let i = 0; i < x.length; i++) x[i] = d.images[start * 784 + i]! / 255;
  return { x, y: d.labels.slice(start, start + BATCH) };
}

async function chainrule(d: Data, batches: number): Promise<{ samplesPerSecond: number; backend: string }> {
  await ready('wasm');
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const step = (b: number) => {
    const { x, y } = batchOf(d, b);
    const loss = F.crossEntropy(model.call(tensor(x, { shape: [BATCH, 784] })) as ReturnType<typeof tensor>, tensor(y, { shape: [BATCH], dtype: 'int32' }));
    opt.zeroGrad();
    loss.backward();
    opt.step();
  };
  for (let b = 0; b < WARMUP; b++) step(b);
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) step(b);
  return { samplesPerSecond: (batches * BATCH) / ((performance.now() - t0) / 1000), backend: backendName() };
}

/** Glorot-uniform weights and zero bias, as Keras' default Dense layer (bench/tfjs_bench.ts). */
function dense(inF: number, outF: number) {
  const lim = Math.sqrt(6 / (inF + outF));
  return { w: tf.variable(tf.randomUniform([inF, outF], -lim, lim, 'float32', 1)), b: tf.variable(tf.zeros([outF])) };
}

async function tfjs(d: Data, batches: number, which: 'wasm' | 'cpu'): Promise<{ samplesPerSecond: number; backend: string }> {
  if (which === 'wasm') {
    setWasmPaths('/tfjs/');
    setThreadsCount(2);
  }
  await tf.setBackend(which);
  await tf.ready();
  const layers = [dense(784, 256), dense(256, 128), dense(128, 10)];
  const vars = layers.flatMap((l) => [l.w, l.b]);
  const opt = tf.train.adam(1e-3);
  const step = (b: number) =>
    tf.tidy(() => {
      const { x: xs, y: ys } = batchOf(d, b);
      const x = tf.tensor2d(xs, [BATCH, 784]);
      const y = tf.oneHot(tf.tensor1d(ys, 'int32'), 10);
      opt.minimize(() => {
        let h: tf.Tensor = x;
        layers.forEach((l, i) => {
          h = tf.add(tf.matMul(h, l.w), l.b);
          if (i < layers.length - 1) h = tf.relu(h);
        });
        return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
      }, false, vars);
    });
  for (let b = 0; b < WARMUP; b++) step(b);
  await tf.ready();
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) step(b);
  // cpu and wasm run synchronously, so the steps are done; read one value to be sure.
  await vars[0]!.data();
  const dt = (performance.now() - t0) / 1000;
  return { samplesPerSecond: (batches * BATCH) / dt, backend: which === 'wasm' ? `tfjs-wasm, setThreadsCount(2), getThreadsCount() = ${getThreadsCount()}` : 'tfjs-cpu' };
}

async function run(system: string, batches: number): Promise<{ samplesPerSecond: number; backend: string; isolated: boolean; tfjsMultithread: boolean | null }> {
  const d = await load();
  const r = system === 'chainrule-wasm' ? await chainrule(d, batches) : await tfjs(d, batches, system === 'tfjs-wasm' ? 'wasm' : 'cpu');
  // Whether TF.js took its threaded-SIMD build (it needs the same isolation as chainrule's helper).
  const tfjsMultithread = system === 'tfjs-wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) : null;
  return { ...r, isolated: crossOriginIsolated, tfjsMultithread };
}

(globalThis as unknown as { runBench: typeof run }).runBench = run;

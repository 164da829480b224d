/**
 * The training worker: the page never runs a training step itself, so it never freezes. It
 * loads chainrule's wasm backend (two threads where the page is cross-origin isolated), then
 * trains in chunks of ~30 ms, sending a frame of metrics and maps after each chunk and yielding
 * to its message queue between them, so that pause and step take effect at once.
 */
import { backendName, ready } from 'chainrule';
import { toSvg } from 'chainrule/inspect';
import type { FromWorker, ToWorker } from './protocol.js';
import { Trainer } from './trainer.js';

const CHUNK_MS = 30;

function post(m: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(m, { transfer });
}

let trainer: Trainer | null = null;
let playing = false;
let looping = false;

const started = ready('wasm').then(
  () => {
    const name = backendName();
    const threads = Number(/-(\d+)t$/.exec(name)?.[1] ?? 1);
    post({ type: 'backend', name, isolated: self.crossOriginIsolated === true, threads, sharedMemory: typeof SharedArrayBuffer === 'function' });
  },
  (e: unknown) => post({ type: 'error', message: `the wasm backend did not load: ${String(e)}` }),
);

function sendFrame(stepsPerSecond: number, batchLoss: number): void {
  if (!trainer) return;
  const m = trainer.metrics();
  const { boundary, units } = trainer.maps();
  post(
    { type: 'frame', ...m, boundary, units, grad: trainer.gradientBars(), stepsPerSecond, batchLoss },
    [boundary.buffer, ...units.map((u) => u.values.buffer)],
  );
}

function loop(): void {
  if (!playing || !trainer) {
    looping = false;
    return;
  }
  looping = true;
  const t0 = performance.now();
  let n = 0;
  let sum = 0;
  try {
    do {
      sum += trainer.trainStep();
      n++;
    } while (performance.now() - t0 < CHUNK_MS);
    sendFrame((n * 1000) / (performance.now() - t0), sum / n);
  } catch (e) {
    playing = false;
    looping = false;
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    return;
  }
  setTimeout(loop, 0);
}

async function inspect(): Promise<void> {
  if (!trainer) return;
  const s = trainer.inspectStep();
  let svg: string | null = null;
  let svgError: string | null = null;
  try {
    svg = await toSvg(s.dot);
  } catch (e) {
    svgError = e instanceof Error ? e.message : String(e);
  }
  post({ type: 'inspect', step: s.step, svg, svgError, explain: s.explain, explainError: s.explainError, notes: s.notes });
  sendFrame(0, Number.NaN);
}

self.onmessage = async (ev: MessageEvent<ToWorker>) => {
  await started;
  const msg = ev.data;
  try {
    switch (msg.type) {
      case 'reset': {
        playing = false;
        trainer = new Trainer(msg.settings);
        const { train, test } = trainer.data;
        post({ type: 'data', trainXY: train.xy, trainLabel: train.label, testXY: test.xy, testLabel: test.label });
        sendFrame(0, Number.NaN);
        break;
      }
      case 'play':
        playing = true;
        if (!looping) loop();
        break;
      case 'pause':
        playing = false;
        break;
      case 'step':
        playing = false;
        await inspect();
        break;
    }
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};

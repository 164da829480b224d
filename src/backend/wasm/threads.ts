import { env, nodeBuiltin } from '../env.js';

/**
 * Helper threads for the wasm GEMM: worker_threads in Node, Web Workers (made from a Blob, so
 * no file to serve) in a cross-origin-isolated browser page, each instantiating the same module
 * on the same shared memory and taking jobs through a control block of Int32 slots in that
 * memory. The caller runs its own share of the product meanwhile and then waits: Atomics.wait
 * where the thread may block (Node, a browser worker), a spin on a browser page's main thread,
 * where Atomics.wait is refused. Workers spin a little before sleeping, so back-to-back
 * products (a training step) do not pay a futex wake-up each.
 *
 * Control block layout, one per worker (CTRL_INTS slots):
 *   [0] job sequence number (written by the caller), [1] last finished sequence (worker),
 *   [2..15] gemm arguments, [16] 1 = quit, [17] 1 = the worker is listening,
 *   [18] how many products (a batch: 0 or 1 = one), [19..21] the byte steps from one product's
 *   A, B and C to the next's.
 *
 * Readiness is read from that shared slot, not from a message: a synchronous program (a
 * training loop that never yields to the event loop) still gets its helper thread.
 */

export const CTRL_INTS = 32;
const ARGS = 2;
const QUIT = 16;
const READY = 17;
const BATCH = 18;

/** The job loop shared by both kinds of worker; it starts once `module`, `memory`, `ctrl` and `spin` are set. */
const JOB_LOOP = `
const inst = new WebAssembly.Instance(module, { env: { memory, abort() {} } });
const gemm = inst.exports.gemm;
const I = new Int32Array(memory.buffer, ctrl, ${CTRL_INTS});
let seen = Atomics.load(I, 0);
Atomics.store(I, ${READY}, 1);
announce();
for (;;) {
  let tries = 0;
  while (Atomics.load(I, 0) === seen) {
    if (++tries > spin) { Atomics.wait(I, 0, seen); tries = 0; }
  }
  seen = Atomics.load(I, 0);
  if (I[${QUIT}] === 1) break;
  const a = ${ARGS};
  const count = Math.max(1, I[${BATCH}]);
  for (let i = 0; i < count; i++) {
    gemm(I[a], I[a + 1], I[a + 2], I[a + 3], I[a + 4], I[a + 5] + i * I[${BATCH} + 1], I[a + 6] + i * I[${BATCH} + 2],
         I[a + 7] + i * I[${BATCH} + 3], I[a + 8], I[a + 9], I[a + 10], I[a + 11], I[a + 12], I[a + 13]);
  }
  Atomics.store(I, 1, seen);
  Atomics.notify(I, 1);
}
`;

/** Node: evaluated as a CommonJS script, so it needs no file on disk and no loader. */
const NODE_WORKER_SOURCE = `
const { workerData, parentPort } = require('worker_threads');
const { module, memory, ctrl, spin } = workerData;
const announce = () => parentPort.postMessage('ready');
${JOB_LOOP}`;

/** Browsers: a module-less worker script that waits for its one message with the module and the memory. */
const BROWSER_WORKER_SOURCE = `
self.onmessage = (ev) => {
  self.onmessage = null;
  const { module, memory, ctrl, spin } = ev.data;
  const announce = () => self.postMessage('ready');
  ${JOB_LOOP}
};`;

/** Whether this thread may block in Atomics.wait (not a browser page's main thread). */
const canBlock = typeof window === 'undefined' || typeof document === 'undefined';

interface BrowserWorker {
  postMessage(m: unknown): void;
  terminate(): void;
  addEventListener(type: string, cb: (ev: unknown) => void, opts?: { once?: boolean }): void;
}

/** A Web Worker behind the small face of a Node Worker that launch() uses. */
function browserWorker(url: string, data: object): WorkerLike {
  const W = (globalThis as unknown as { Worker: new (url: string, opts?: object) => BrowserWorker }).Worker;
  const w = new W(url, { name: 'chainrule-gemm' });
  w.postMessage(data);
  return {
    unref() {},
    terminate: async () => {
      w.terminate();
      return 0;
    },
    once: (event, cb) => w.addEventListener(event, (ev) => cb(ev), { once: true }),
  };
}

/** Starts one worker with `data`: worker_threads in Node, a Web Worker elsewhere; null where neither exists. */
function workerFactory(): ((data: object) => WorkerLike) | null {
  const wt = nodeBuiltin<{ Worker: new (src: string, opts: object) => WorkerLike }>('node:worker_threads');
  if (wt) return (workerData) => new wt.Worker(NODE_WORKER_SOURCE, { eval: true, workerData });
  const g = globalThis as { Worker?: unknown; Blob?: typeof Blob; URL?: typeof URL; crossOriginIsolated?: boolean };
  if (typeof g.Worker !== 'function' || typeof g.Blob !== 'function' || g.crossOriginIsolated === false) return null;
  const url = URL.createObjectURL(new Blob([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }));
  return (data) => browserWorker(url, data);
}

interface WorkerLike {
  unref(): void;
  terminate(): Promise<number>;
  once(event: string, cb: (arg: unknown) => void): void;
}

const NO_BATCH = [1, 0, 0, 0];

export class GemmWorkers {
  private seq = 0;

  private constructor(
    private readonly ctrls: Int32Array[],
    private readonly workers: WorkerLike[],
  ) {}

  get count(): number {
    return this.ctrls.length;
  }

  /**
   * Starts one worker per control block, synchronously; they join as they come up (see
   * `ready`). Null where workers or shared memory are missing (a browser page that is not
   * cross-origin isolated, CHAINRULE_WASM_THREADS=1), so the caller stays single-threaded.
   * `started` settles when every worker has reported in (or failed).
   */
  static launch(module: WebAssembly.Module, memory: WebAssembly.Memory, ctrlOffsets: number[]): { workers: GemmWorkers; started: Promise<void> } | null {
    if (ctrlOffsets.length === 0 || typeof SharedArrayBuffer !== 'function' || !(memory.buffer instanceof SharedArrayBuffer)) return null;
    const start = workerFactory();
    if (!start) return null;
    const spin = env.wasmSpin;
    const ctrls = ctrlOffsets.map((off) => new Int32Array(memory.buffer, off, CTRL_INTS).fill(0));
    const workers: WorkerLike[] = [];
    const waits: Promise<void>[] = [];
    try {
      for (const ctrl of ctrlOffsets) {
        const w = start({ module, memory, ctrl, spin });
        w.unref();
        workers.push(w);
        waits.push(new Promise<void>((resolve) => {
          w.once('message', () => resolve());
          w.once('error', () => resolve()); // never ready: its share stays with the caller
        }));
      }
    } catch {
      for (const w of workers) void w.terminate();
      return null;
    }
    return { workers: new GemmWorkers(ctrls, workers), started: Promise.all(waits).then(() => {}) };
  }

  private allReady = false;

  /** Whether every worker is listening (checked through shared memory; true stays true). */
  ready(): boolean {
    if (!this.allReady) this.allReady = this.ctrls.every((I) => Atomics.load(I, READY) === 1);
    return this.allReady;
  }

  /**
   * Posts one gemm call (the same 14 arguments as the export) to worker `w`; with `batch`
   * ([count, aStep, bStep, cStep], steps in bytes) the worker makes count products, the i-th
   * with A, B and C i steps further on.
   */
  post(w: number, args: readonly number[], batch: readonly number[] = NO_BATCH): void {
    const I = this.ctrls[w]!;
    for (let i = 0; i < args.length; i++) I[ARGS + i] = args[i]!;
    for (let i = 0; i < 4; i++) I[BATCH + i] = batch[i]!;
    this.seq = (this.seq + 1) | 0;
    Atomics.store(I, 0, this.seq);
    Atomics.notify(I, 0);
  }

  /** Blocks until worker `w` has finished the job most recently posted to it. */
  wait(w: number): void {
    const I = this.ctrls[w]!;
    const want = Atomics.load(I, 0);
    let tries = 0;
    for (;;) {
      const done = Atomics.load(I, 1);
      if (done === want) return;
      if (++tries > 2000 && canBlock) Atomics.wait(I, 1, done, 1);
    }
  }

  /** Stops the workers (they are unref'd, so the process may also simply exit). */
  async stop(): Promise<void> {
    for (const I of this.ctrls) {
      I[QUIT] = 1;
      this.seq = (this.seq + 1) | 0;
      Atomics.store(I, 0, this.seq);
      Atomics.notify(I, 0);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

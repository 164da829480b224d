/// <reference types="@webgpu/types" />
import { DeviceError } from '../../errors.js';
import { registerDevice, setDefaultDevice } from '../../tensor/device.js';
import { registerFusedSteps } from '../../optim/fused-steps.js';
import { GpuContext, type MemoryStats } from './context.js';
import { WebGpuDevice } from './device.js';
import { randomFill } from './kernels.js';
import { Tensor } from '../../tensor/tensor.js';
import { defaultGenerator, type Generator } from '../../tensor/random.js';
import { checkShape } from '../../tensor/checks.js';

/**
 * chainrule/webgpu: tensors on the GPU through WebGPU, in browsers (`navigator.gpu`) and in Node
 * (the optional npm package `webgpu`, Dawn's binding, loaded only here and only when no GPU
 * object is given). The core never imports this module: `await initWebGPU()` registers the
 * 'webgpu' device, after which `x.to('webgpu')`, `{ device: 'webgpu' }` and `module.to('webgpu')`
 * work.
 *
 *     import { initWebGPU } from 'chainrule/webgpu';
 *     await initWebGPU();
 *     const x = randn([64, 784], { device: 'webgpu' });
 *
 * CHAINRULE_WEBGPU_TRACE=1 prints each op the first time it runs through the host for want of a
 * WebGPU kernel; `webgpuFallbacks()` counts them all.
 *
 * Random fills (rand, randn, dropout masks) are still drawn on the host from the seeded
 * generator (tensor/random.ts) and uploaded, so a seed gives the same numbers on every device.
 * Why no WGSL port gives the same stream: the generator is xoshiro128**, sequential (draw i
 * needs the state after i − 1 draws). Its integer steps are u32 arithmetic WGSL has, and a
 * thread's start state could be reached by jumping (the step is linear over GF(2): powers of the
 * 128×128 bit matrix, computed on the host per chunk), and rand's 53-bit uniform rounded to
 * float32, and dropout's u < p test, could be done exactly on two u32 words. randn cannot:
 * Box–Muller there is float64 log / sqrt / sin / cos (WGSL has no f64; float32 versions differ
 * in the last bits), and it redraws u = 0, so the number of draws before element i is not known
 * in advance. A device generator would thus have a stream of its own (e.g. a counter-based
 * hash of (seed, element)): `webgpuRand` / `webgpuRandn` below, a stream of its own.
 */

export interface WebGPUOptions {
  /** A GPU object (navigator.gpu, or `create([])` of the `webgpu` package); found by itself when omitted. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Also make 'webgpu' the default device of the creation functions. */
  setDefault?: boolean;
  /**
   * The checking mode, for testing the kernels: every op the GPU computes is computed on the host
   * too, its values kept as the result's host copy (so synchronous reads such as item() and
   * toArray() work, on the host's values) and compared with the GPU's by `await
   * webgpuCheckResults()`. Much slower; for test suites written with synchronous reads.
   */
  check?: boolean;
}

export interface WebGPUInfo {
  device: 'webgpu';
  /** The adapter's description, e.g. "SwiftShader Device (Subzero)". */
  adapter: string;
}

// The GPU and adapter objects are kept too: Dawn's Node binding tears its instance down when the
// GPU object is collected, under the device still in use.
let current: { device: WebGpuDevice; info: WebGPUInfo; gpu: GPU; adapter: GPUAdapter } | null = null;

async function findGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (!isNode) throw new DeviceError('initWebGPU: this browser has no WebGPU (navigator.gpu is undefined)');
  // The optional dependency, named through a variable so that bundlers leave it alone.
  const name = 'webgpu';
  let mod: { create(flags: string[]): GPU };
  try {
    mod = (await import(/* @vite-ignore */ name)) as { create(flags: string[]): GPU };
  } catch (e) {
    throw new DeviceError(
      `initWebGPU: WebGPU in Node needs the optional npm package 'webgpu' (npm install webgpu), which could not be loaded: ${(e as Error).message}`,
    );
  }
  return mod.create([]);
}

/**
 * Finds a GPU adapter, opens a device on it and registers the 'webgpu' device. Calling it again
 * returns the device already open. Without an adapter it is an error saying so (in Node without
 * a GPU, Dawn runs on SwiftShader when VK_ICD_FILENAMES points at its ICD: see CONTRIBUTING.md).
 */
export async function initWebGPU(options: WebGPUOptions = {}): Promise<WebGPUInfo> {
  if (current !== null && !current.device.ctx.lost && (options.check ?? false) === (current.device.checkAgainstHost !== undefined)) {
    if (options.setDefault) setDefaultDevice('webgpu');
    return current.info;
  }
  const gpu = options.gpu ?? (await findGpu());
  const adapter = await gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
  if (adapter === null) {
    throw new DeviceError(
      'initWebGPU: no WebGPU adapter was found (no GPU, or no driver WebGPU can use; in Node without a GPU set ' +
        'VK_ICD_FILENAMES to SwiftShader\'s ICD, e.g. /usr/lib/chromium/vk_swiftshader_icd.json, and XDG_RUNTIME_DIR)',
    );
  }
  const device = await adapter.requestDevice();
  const a = (adapter as { info?: { description?: string; vendor?: string; architecture?: string; device?: string } }).info;
  const name = a ? [a.description, a.vendor, a.architecture, a.device].filter((s) => s).join(' ') : '';
  const ctx = new GpuContext(device, name || 'unknown adapter');
  const trace = typeof process !== 'undefined' && process.env?.CHAINRULE_WEBGPU_TRACE === '1';
  const impl = new WebGpuDevice(ctx, trace, options.check ?? false);
  registerDevice(impl);
  registerFusedSteps('webgpu', { adamStep: (...a) => impl.adamStep(...a), sgdStep: (...a) => impl.sgdStep(...a) });
  current = { device: impl, info: { device: 'webgpu', adapter: ctx.adapterName }, gpu, adapter };
  if (options.setDefault) setDefaultDevice('webgpu');
  return current.info;
}

function opened(what: string): WebGpuDevice {
  if (current === null) throw new DeviceError(`${what}: WebGPU is not initialised; call await initWebGPU() first`);
  return current.device;
}

/** How many times each op ran through the host for want of a WebGPU kernel, since the start (or the last reset). */
export function webgpuFallbacks(): Record<string, number> {
  return opened('webgpuFallbacks').fallbacks();
}

export function resetWebGPUFallbacks(): void {
  opened('resetWebGPUFallbacks').resetFallbacks();
}

/** GPU memory held by tensors and by the buffer pool (bytes), and how many buffers were ever created. */
export function webgpuMemory(): MemoryStats {
  return { ...opened('webgpuMemory').ctx.stats };
}

/**
 * In the checking mode (initWebGPU({ check: true })): one line per op since the last call whose
 * GPU result differs from the host's beyond float32 rounding; empty when all agree.
 */
export async function webgpuCheckResults(): Promise<string[]> {
  return opened('webgpuCheckResults').checkResults();
}

/** Waits until the GPU has finished the work submitted so far. */
export async function webgpuSync(): Promise<void> {
  await opened('webgpuSync').ctx.device.queue.onSubmittedWorkDone();
}

export type { MemoryStats } from './context.js';

/**
 * A float32 tensor on the GPU filled there, uniform in [0, 1) (webgpuRand) or standard normal
 * (webgpuRandn), from the device's counter-based generator (kernels.ts randomFill): not the host
 * generator's stream (see above), but seeded from it (two 32-bit draws of `generator`, the
 * default one unless given), so manualSeed() repeats a run.
 */
export function webgpuRand(shape: readonly number[], generator: Generator = defaultGenerator): Tensor {
  return deviceRandom('webgpuRand', shape, generator, false);
}

export function webgpuRandn(shape: readonly number[], generator: Generator = defaultGenerator): Tensor {
  return deviceRandom('webgpuRandn', shape, generator, true);
}

function deviceRandom(what: string, shape: readonly number[], generator: Generator, normal: boolean): Tensor {
  const device = opened(what);
  const dims = checkShape(what, shape);
  let n = 1;
  for (const d of dims) n *= d;
  const s = randomFill(device.ctx, n, generator.nextUint32(), generator.nextUint32(), normal);
  return new Tensor(s, dims, 'float32');
}

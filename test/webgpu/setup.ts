import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Tensor } from '../../src/index.js';
import { initWebGPU } from '../../src/backend/webgpu/index.js';

/**
 * Opens the WebGPU device for a test file, or says why not. Without a GPU, Dawn (the `webgpu`
 * package) runs on SwiftShader, the CPU Vulkan driver of Debian's chromium package: its ICD is
 * used when VK_ICD_FILENAMES is unset and the file exists, and XDG_RUNTIME_DIR gets a private
 * directory if unset (Dawn's Vulkan setup asks for one).
 */
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (process.env.VK_ICD_FILENAMES === undefined && existsSync(ICD)) process.env.VK_ICD_FILENAMES = ICD;
if (process.env.XDG_RUNTIME_DIR === undefined) {
  const dir = join(tmpdir(), `chainrule-xdg-${process.pid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

export let adapter = '';
/** Null when WebGPU is usable, else the reason the suite is skipped. */
export const unavailable: string | null = await initWebGPU().then(
  (info) => {
    adapter = info.adapter;
    return null;
  },
  (e: Error) => `WebGPU suite skipped: ${e.message}`,
);
if (unavailable !== null) console.warn(unavailable);

/** The GPU tensor's values against the CPU one's, to float32 tolerances (as the other backends' suites). */
export async function expectClose(gpu: Tensor, cpu: Tensor, rtol = 1e-5, atol = 1e-6, label = ""): Promise<void> {
  expect(gpu.device).toBe('webgpu');
  expect(gpu.shape).toEqual(cpu.shape);
  expect(gpu.dtype).toBe(cpu.dtype);
  const got = await gpu.dataAsync();
  const want = cpu.dataSync();
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Number.isNaN(w)) {
      expect(g, `element ${i}`).toBeNaN();
      continue;
    }
    if (!Number.isFinite(w)) {
      expect(g, `element ${i}`).toBe(w);
      continue;
    }
    const tol = atol + rtol * Math.abs(w);
    if (!(Math.abs(g - w) <= tol)) expect.fail(`${label} element ${i} of shape [${cpu.shape.join(', ')}]: got ${g}, want ${w} (tolerance ${tol})`);
  }
}

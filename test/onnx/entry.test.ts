import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The files esbuild pulls in for an entry, relative to the repository root. */
async function inputsOf(entry: string): Promise<string[]> {
  const r = await build({
    stdin: { contents: entry, resolveDir: root, loader: 'ts' },
    bundle: true, platform: 'neutral', format: 'esm', write: false, metafile: true, logLevel: 'silent',
    mainFields: ['module', 'main'], external: ['node:*'],
  });
  return Object.keys(r.metafile.inputs);
}

describe('chainrule/onnx is an entry point of its own', () => {
  it('the core entry (src/index.ts) pulls in neither src/onnx nor protobufjs', async () => {
    const files = await inputsOf("export * from './src/index.ts';");
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => f.includes('src/onnx/') || f.includes('protobufjs') || f.includes('onnxruntime'))).toEqual([]);
  });

  it('the onnx entry brings protobufjs, and not onnxruntime (a dev dependency for the tests only)', async () => {
    const files = await inputsOf("export * from './src/onnx/index.ts';");
    expect(files.some((f) => f.includes('node_modules/protobufjs/'))).toBe(true);
    expect(files.some((f) => f.includes('onnxruntime'))).toBe(false);
  });
});

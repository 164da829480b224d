import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function bundle(contents: string, splitting: boolean) {
  return build({
    stdin: { contents, resolveDir: root, loader: 'ts' },
    bundle: true, platform: 'browser', format: 'esm', splitting, outdir: 'out', write: false, logLevel: 'silent',
  });
}

describe('inspect in the browser', () => {
  it('the inspect entry bundles for the browser without Node built-ins', async () => {
    const r = await bundle("export * from './src/inspect/index.ts';", false);
    for (const f of r.outputFiles) expect(f.text).not.toMatch(/require\(["']node:|from ["']node:/);
  });

  it('the WebAssembly Graphviz is a separate chunk, loaded only by toSvg()', async () => {
    const r = await bundle("export { toDot, toSvg } from './src/inspect/dot.ts';", true);
    const entry = r.outputFiles.find((f) => f.path.endsWith('stdin.js'))!;
    expect(entry.text).not.toContain('graphvizlib');
    expect(r.outputFiles.some((f) => f !== entry && f.text.includes('graphviz'))).toBe(true);
  });
});

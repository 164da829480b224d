import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const chromium = '/usr/bin/chromium';

/** Bundle the core for the browser: esbuild refuses Node built-ins under platform 'browser'. */
async function bundleCore(entry: string): Promise<string> {
  const result = await build({
    stdin: { contents: entry, resolveDir: root, loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

const workedExample = `
  import { tensor, noGrad } from './src/index.ts';
  const f64 = { dtype: 'float64', requiresGrad: true };
  const W1 = tensor([[0.15, 0.2], [0.25, 0.3], [0.35, 0.4]], f64), b1 = tensor([0.35, 0.35, 0.35], f64);
  const W2 = tensor([[0.4, 0.45, 0.5]], f64), b2 = tensor([0.6], f64);
  const x = tensor([0.05, 0.1], { dtype: 'float64' }), y = tensor([0.01], { dtype: 'float64' });
  const loss = W2.matmul(W1.matmul(x).add(b1).sigmoid()).add(b2).sigmoid().sub(y).pow(2).mul(0.5).sum();
  loss.backward();
  globalThis.result = { loss: loss.item(), dW2: W2.grad.tolist() };
`;

describe('the core runs in browsers', () => {
  it('bundles for the browser without any Node built-in', async () => {
    const code = await bundleCore(workedExample);
    expect(code).not.toMatch(/require\(["']node:|from ["']node:/);
    expect(code.length).toBeGreaterThan(10_000);
  });

  it.skipIf(!existsSync(chromium))('computes the worked example in headless Chromium', async () => {
    const { chromium: pw } = await import('playwright-core');
    const code = await bundleCore(workedExample);
    const browser = await pw.launch({
      executablePath: chromium,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      await page.addScriptTag({ content: code });
      const r = (await page.evaluate('globalThis.result')) as { loss: number; dW2: number[] };
      expect(r.loss).toBeCloseTo(0.31455, 6);
      expect(r.dW2[0]).toBeCloseTo(0.074393, 6);
    } finally {
      await browser.close();
    }
  });
});

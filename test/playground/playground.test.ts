/**
 * The playground, built as a static site and driven in Debian's headless Chromium (never a
 * downloaded browser): the bundle holds no Node built-in; on an isolated page a 2-16-16-1 tanh
 * network learns the spirals past 90 % test accuracy on the threaded wasm backend, and one
 * inspected step shows its graph and its BP1–BP4 numbers; without the isolation headers the
 * page still trains, single-threaded, and says so. Screenshots go to playground/test-results/.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { serve } from './serve.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(root, 'playground', 'dist');
const shots = join(root, 'playground', 'test-results');
const chromiumPath = '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

type Browser = import('playwright-core').Browser;
type Page = import('playwright-core').Page;

async function withPage(isolated: boolean, run: (page: Page, errors: string[]) => Promise<void>): Promise<void> {
  const { chromium } = await import('playwright-core');
  const server = await serve(dist, isolated);
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: chromiumPath, args: ARGS });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    // Start elsewhere (xor, a small ReLU net), so that the test's own choices are what it trains.
    await page.goto(`${server.url}?dataset=xor&hidden=4&act=relu`);
    await page.waitForSelector('#status[data-backend]', { timeout: 15_000 });
    await run(page, errors);
  } finally {
    await browser?.close();
    await server.close();
  }
}

const num = async (page: Page, sel: string): Promise<number> => Number.parseFloat((await page.textContent(sel)) ?? 'NaN');

/** Every module id the page's bundle asked for that is a Node built-in ('fs', 'node:path', ...). */
const builtinsImported: string[] = [];

describe('the playground', () => {
  beforeAll(async () => {
    const { build } = await import('vite');
    await build({
      configFile: join(root, 'playground', 'vite.config.ts'),
      logLevel: 'error',
      plugins: [{ name: 'record-node-builtins', enforce: 'pre', resolveId: (id: string) => void (isBuiltin(id) && builtinsImported.push(id)) }],
    });
  }, 120_000);

  it('bundles for the browser without any Node built-in', () => {
    expect(builtinsImported).toEqual([]);
    const assets = join(dist, 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThanOrEqual(2); // the page and its worker at least
    for (const f of js) {
      const code = readFileSync(join(assets, f), 'utf8');
      // Vite replaces a Node built-in that a browser build imports by this stub module.
      expect(code, f).not.toContain('__vite-browser-external');
      expect(code, f).not.toMatch(/\bfrom\s*["'](node:)?(fs|path|os|url|crypto|worker_threads|child_process|module|v8|util)["']/);
    }
  });

  it.skipIf(!hasChromium)('trains the spirals past 90 % test accuracy on the threaded wasm backend, and shows a step\'s graph and BP trace', async () => {
    await withPage(true, async (page, errors) => {
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      const backend = await page.getAttribute('#status', 'data-backend');
      expect(backend).toMatch(/^wasm-(relaxed-)?2t$/);
      // The GEMM's helper thread is a Web Worker of the training worker, made from a Blob.
      expect(page.workers().some((w) => w.url().startsWith('blob:'))).toBe(true);

      await page.click('button[data-dataset="spirals"]');
      await page.fill('#hidden', '16,16');
      await page.press('#hidden', 'Tab');
      await page.selectOption('#act', 'tanh');
      await expect.poll(() => page.textContent('#arch')).toBe('network 2-16-16-1, tanh');
      expect(page.url()).toContain('dataset=spirals');
      expect(page.url()).toContain('hidden=16%2C16');
      await page.waitForFunction(() => document.querySelector('#stepCount')?.textContent === '0' && document.querySelector('#testLoss')?.textContent !== '–');
      const lossBefore = await num(page, '#testLoss');

      await page.click('#play');
      await page.waitForFunction(() => Number.parseFloat(document.querySelector('#testAcc')?.textContent ?? '0') >= 90, undefined, { timeout: 25_000, polling: 100 });
      await page.click('#play'); // pause
      expect(await num(page, '#testLoss')).toBeLessThan(lossBefore * 0.6);
      expect(await num(page, '#stepCount')).toBeGreaterThan(100);

      // The boundary canvas holds a picture: both classes' colours and many shades between.
      const pixels = await page.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>('#boundary')!;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const shades = new Set<number>();
        let blue = 0;
        let orange = 0;
        for (let i = 0; i < d.length; i += 16) {
          shades.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
          if (d[i + 2]! > d[i]! + 60) blue++;
          if (d[i]! > d[i + 2]! + 60) orange++;
        }
        return { shades: shades.size, blue, orange };
      });
      expect(pixels.shades).toBeGreaterThan(50);
      expect(pixels.blue).toBeGreaterThan(1000);
      expect(pixels.orange).toBeGreaterThan(1000);
      expect(await page.locator('#units canvas').count()).toBe(32);

      await page.click('#step');
      await page.waitForSelector('#graph svg', { timeout: 15_000 });
      const graph = (await page.textContent('#graph')) ?? '';
      expect(graph).toMatch(/0\.weight/);
      expect(graph).toMatch(/grad \[[−\-]?\d/); // gradients printed on the nodes
      expect(graph).toMatch(/value \[[−\-]?\d/);
      await page.waitForSelector('#trace table');
      expect(await page.textContent('#trace')).toMatch(/BP1[\s\S]*δ = [−\-]?\d[\s\S]*BP3[\s\S]*BP4/);
      await page.selectOption('#traceLayer', '1');
      const trace = (await page.textContent('#trace')) ?? '';
      expect(trace).toMatch(/BP2, the error carried back/);
      expect(trace).toMatch(/\(Wᵀδ\) = [−\-]?\d/);
      expect(trace).toMatch(/✓ all \d+ numbers of the trace .* agree with chainrule's autograd/);

      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, 'playground-1440x900.png'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(shots, 'playground-390x844.png'), fullPage: true });
      expect(errors).toEqual([]);
    });
  }, 60_000);

  it.skipIf(!hasChromium)('without the isolation headers it still trains, on one thread, and says so', async () => {
    await withPage(false, async (page, errors) => {
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
      expect(await page.getAttribute('#status', 'data-backend')).toMatch(/^wasm-(relaxed-)?1t$/);
      expect(await page.textContent('#status')).toMatch(/not cross-origin isolated.*single-threaded/);
      await page.click('#play');
      await page.waitForFunction(() => Number(document.querySelector('#stepCount')?.textContent) > 50, undefined, { timeout: 15_000 });
      expect(errors).toEqual([]);
    });
  }, 60_000);
});

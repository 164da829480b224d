/**
 * In-browser MLP training, by hand (not part of npm test or npm run bench): opens headless
 * Chromium (Debian's /usr/bin/chromium, never a download) on a cross-origin-isolated page and
 * trains the 784-256-128-10 Fashion-MNIST MLP for a fixed number of batches of 128 with
 * chainrule's wasm backend (two threads) and with TensorFlow.js' wasm (two threads) and cpu
 * backends, each in a fresh page of the same browser; prints samples/s, best of `rounds`.
 *
 *   npx tsx bench/browser_mlp.ts [batches=40] [rounds=3]
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { loadFashionTrain } from './common.js';

const batches = Number(process.argv[2] ?? 40);
const rounds = Number(process.argv[3] ?? 3);
const here = path.dirname(fileURLToPath(import.meta.url));
const req = createRequire(import.meta.url);
const tfjsWasmDir = path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));

const bundle = await build({ entryPoints: [path.join(here, 'browser', 'page.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'error', target: 'es2022' });
const code = bundle.outputFiles[0]!.text;
// 4,096 training images (the first of the subset) are enough for the batches timed here.
const { images, labels } = await loadFashionTrain();
const keep = Math.min(4096, labels.length);
const imageBytes = Buffer.from(images.buffer, images.byteOffset, keep * 784);
const labelBytes = Buffer.from(Uint8Array.from(labels.subarray(0, keep)));

const server = createServer((q, res) => {
  const url = q.url ?? '/';
  if (process.env.BENCH_DEBUG) console.error('GET', url);
  const head = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  const send = (type: string, body: string | Buffer) => res.writeHead(200, { ...head, 'Content-Type': type }).end(body);
  if (url === '/') send('text/html', '<!doctype html><meta charset="utf-8"><title>bench</title><script type="module" src="/page.js"></script>');
  else if (url === '/page.js') send('text/javascript', code);
  else if (url === '/images.bin') send('application/octet-stream', imageBytes);
  else if (url === '/labels.bin') send('application/octet-stream', labelBytes);
  else if (url.startsWith('/tfjs/') && url.endsWith('.wasm')) send('application/wasm', readFileSync(path.join(tfjsWasmDir, path.basename(url))));
  else res.writeHead(404, head).end();
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const results: Record<string, { best: number; all: number[]; backend: string; isolated: boolean; tfjsMultithread: boolean | null }> = {};
try {
  for (let r = 0; r < rounds; r++) {
    for (const system of ['chainrule-wasm', 'tfjs-wasm', 'tfjs-cpu']) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.error(`${system}: ${e.message}`));
      await page.goto(base);
      await page.waitForFunction(() => 'runBench' in globalThis);
      const out = (await page.evaluate(([s, b]) => (globalThis as unknown as { runBench: (s: string, b: number) => Promise<unknown> }).runBench(s as string, b as number), [system, batches])) as { samplesPerSecond: number; backend: string; isolated: boolean; tfjsMultithread: boolean | null };
      const e = (results[system] ??= { best: 0, all: [], backend: out.backend, isolated: out.isolated, tfjsMultithread: out.tfjsMultithread });
      if (process.env.BENCH_DEBUG) console.error(system, JSON.stringify(out));
      e.all.push(Math.round(out.samplesPerSecond));
      e.best = Math.max(e.best, out.samplesPerSecond);
      await page.close();
    }
  }
} finally {
  await browser.close();
  server.close();
}
const version = (await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] }).then(async (b) => [b.version(), await b.close()][0])) as string;
console.log(`Chromium ${version}, ${batches} batches of 128 per run, best of ${rounds} rounds (samples/s):`);
for (const [system, r] of Object.entries(results)) console.log(`  ${system.padEnd(15)} ${Math.round(r.best).toString().padStart(7)}   runs ${r.all.join(', ')}   (${r.backend}${r.tfjsMultithread ? ', threaded-SIMD build' : ''}${r.isolated ? ', isolated page' : ''})`);
const c = results['chainrule-wasm'];
const t = results['tfjs-wasm'];
if (c && t) console.log(`  chainrule-wasm / tfjs-wasm = ${(c.best / t.best).toFixed(2)}×`);

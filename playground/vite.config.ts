/**
 * The playground's build. The page imports chainrule by its public names only ('chainrule',
 * 'chainrule/inspect'); here those two names resolve to the package's TypeScript sources, so
 * the dev server and the build always show the working tree (no `npm run build` first, no stale
 * dist/), and any deeper import fails to resolve, as it would for a user of the package.
 *
 * Both the dev server and `vite preview` send the two headers that make the page cross-origin
 * isolated (SharedArrayBuffer, so the wasm backend can run its helper thread).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const src = (p: string) => fileURLToPath(new URL(`../src/${p}`, import.meta.url));

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: {
    alias: [
      { find: /^chainrule$/, replacement: src('index.ts') },
      { find: /^chainrule\/inspect$/, replacement: src('inspect/index.ts') },
    ],
  },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  worker: { format: 'es' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
});

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/** The portal SPA: built once (`npm run build:portal`) into src/portal/dist, served by src/portal/serve.ts. */
const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: path.join(here, 'web'),
  base: '/portal/',
  plugins: [preact()],
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    // Strict CSP (script-src 'self'): no inline module-preload polyfill, no inline scripts at all.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});

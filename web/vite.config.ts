// Builds the web UI into web/dist (served by `cairn server` at /). Run from the
// repository root: `npm run build:web`; `npm run dev:web` serves it with hot
// reload and proxies the API to a server on 127.0.0.1:7480.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Everything ships inside the bundle: the UI must work offline, with no CDN.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:7480', ws: true },
    },
  },
});

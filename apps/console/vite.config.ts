import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The console is a static single-page app that the Gatehouse server serves at `/` (same origin
 * as the API, so the httpOnly session cookie and the CSRF double submit just work). `npm run dev`
 * serves it with hot reload and forwards the API's paths to a running server (GATEHOUSE_URL,
 * default http://127.0.0.1:3000).
 */
const api = process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:3000';
const apiPaths = ['/v1', '/.well-known', '/health', '/ready', '/metrics', '/docs', '/openapi.json'];

export default defineConfig({
  plugins: [react()],
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: api, changeOrigin: false }])),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
});

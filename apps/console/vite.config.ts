import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * Writes a .gz and a .br beside every script and stylesheet of the build, which the server sends
 * to browsers that accept them (@fastify/static `preCompressed`): no compression work per request.
 */
function precompress(): Plugin {
  return {
    name: 'gatehouse-precompress',
    apply: 'build',
    writeBundle() {
      const dir = path.resolve(import.meta.dirname, 'dist/assets');
      for (const name of fs.readdirSync(dir)) {
        if (!/\.(js|css)$/.test(name)) continue;
        const file = path.join(dir, name);
        const data = fs.readFileSync(file);
        fs.writeFileSync(`${file}.gz`, zlib.gzipSync(data, { level: 9 }));
        fs.writeFileSync(
          `${file}.br`,
          zlib.brotliCompressSync(data, {
            params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 },
          }),
        );
      }
    },
  };
}

/**
 * The console is a static single-page app that the Gatehouse server serves at `/` (same origin
 * as the API, so the httpOnly session cookie and the CSRF double submit just work). `npm run dev`
 * serves it with hot reload and forwards the API's paths to a running server (GATEHOUSE_URL,
 * default http://127.0.0.1:3000).
 */
const api = process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:3000';
const apiPaths = ['/v1', '/.well-known', '/health', '/ready', '/metrics', '/docs', '/openapi.json'];

export default defineConfig({
  plugins: [react(), precompress()],
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

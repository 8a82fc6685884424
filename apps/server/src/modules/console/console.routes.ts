import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { App } from '../../http/types';

/** Where `npm install` builds the console (apps/console/dist), relative to this file. */
export const CONSOLE_DIST = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../console/dist',
);

/**
 * Paths that belong to the API: an unknown one answers the API's problem+json 404, never the
 * console's HTML (a client that mistypes `/v1/...` must not get a 200 page back).
 */
const API_PREFIXES = [
  '/v1',
  '/docs',
  '/openapi.json',
  '/.well-known',
  '/health',
  '/ready',
  '/metrics',
];

export function isApiPath(url: string): boolean {
  const pathname = url.split('?')[0] ?? '';
  return API_PREFIXES.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
}

const notBuilt = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Gatehouse</title></head>
<body><h1>The console is not built</h1><p>Run <code>npm run build:console</code> (it runs by itself on
<code>npm install</code>), then reload. The API is at <a href="/docs">/docs</a>.</p></body></html>`;

/**
 * The web console (apps/console), served by the API server on the same origin so that the
 * browser's httpOnly session cookie and CSRF double submit work with nothing else to run.
 * Hashed assets are cached for a year; every other non-API GET answers the app's index.html
 * (the console's router takes it from there).
 */
export async function consoleRoutes(app: App, { dist = CONSOLE_DIST }: { dist?: string } = {}) {
  const indexFile = path.join(dist, 'index.html');
  const built = fs.existsSync(indexFile);
  if (built)
    await app.register(async (scope) => {
      // The assets are public and no part of the API's OpenAPI document.
      scope.addHook('onRoute', (route) => {
        route.config = { ...(route.config ?? {}), auth: 'public' };
        route.schema = { ...(route.schema ?? {}), hide: true };
      });
      await scope.register(fastifyStatic, {
        root: path.join(dist, 'assets'),
        prefix: '/assets/',
        index: false,
        // Vite's build writes .br and .gz beside each script (apps/console/vite.config.ts).
        preCompressed: true,
        immutable: true,
        maxAge: '365d',
      });
    });

  app.get('/*', { schema: { hide: true }, config: { auth: 'public' } }, async (req, reply) => {
    if (isApiPath(req.url)) return reply.callNotFound();
    // Read per request: a rebuilt console is served without restarting the server, and the
    // file is small and in the page cache.
    const html = built
      ? await fs.promises.readFile(indexFile, 'utf8').catch(() => notBuilt)
      : notBuilt;
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  });
}

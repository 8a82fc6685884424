import { Jwks } from '@gatehouse/contracts';
import { z } from 'zod';
import { AppError } from '../../http/errors';
import type { App } from '../../http/types';
import type { Runtime } from '../../runtime';

const tags = ['system'];
/**
 * The JWKS is what other services trust, so it is served as the database has it: another node
 * may have rotated keys. Re-read at most this often (clients cache the document anyway).
 */
const JWKS_RELOAD_MS = 10_000;

export function systemRoutes(app: App, { rt }: { rt: Runtime }) {
  let keysLoadedAt = rt.clock.now();
  app.get(
    '/health',
    {
      schema: {
        tags,
        summary: 'Liveness: the process answers',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
      config: { auth: 'public' },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags,
        summary: 'Readiness: the database answers',
        response: { 200: z.object({ status: z.literal('ready'), database: z.string() }) },
      },
      config: { auth: 'public' },
    },
    async () => {
      try {
        await rt.db.selectFrom('system_settings').select('key').limit(1).execute();
      } catch {
        throw new AppError('service_unavailable', 'The database is not reachable');
      }
      return { status: 'ready' as const, database: rt.dialect };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags,
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: {
          200: z
            .string()
            .describe(
              'requests and latencies by route, sign-ins, authentication failures, outbox deliveries',
            ),
        },
      },
      config: { auth: 'public' },
    },
    async (_req, reply) => {
      reply.type(rt.metrics.registry.contentType);
      return rt.metrics.registry.metrics();
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags,
        summary: 'Public keys that verify Gatehouse access tokens',
        response: { 200: Jwks },
      },
      config: { auth: 'public' },
    },
    async (req, reply) => {
      const now = rt.clock.now();
      if (now - keysLoadedAt >= JWKS_RELOAD_MS) {
        keysLoadedAt = now;
        // A database hiccup must not take the JWKS down: serve the keys already loaded.
        await rt.keys.reload().catch((err: Error) => {
          req.log.warn({ err: err.message }, 'could not reload signing keys');
        });
      }
      // Short cache: clients refetch soon after a rotation, and on an unknown kid anyway.
      reply.header('cache-control', 'public, max-age=300');
      return rt.keys.jwks();
    },
  );
}

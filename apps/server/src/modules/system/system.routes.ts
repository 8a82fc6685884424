import { Jwks } from '@gatehouse/contracts';
import { z } from 'zod';
import { AppError } from '../../http/errors';
import type { App } from '../../http/types';
import type { Runtime } from '../../runtime';

const tags = ['system'];

export function systemRoutes(app: App, { rt }: { rt: Runtime }) {
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
      schema: { tags, summary: 'Prometheus metrics (text exposition format)', hide: false },
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
    async (_req, reply) => {
      // Short cache: clients refetch soon after a rotation, and on an unknown kid anyway.
      reply.header('cache-control', 'public, max-age=300');
      return rt.keys.jwks();
    },
  );
}

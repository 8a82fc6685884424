import { z } from 'zod';
import type { App } from '../../http/types';
import { toIso, toIsoOrNull } from '../../lib/clock';
import type { Runtime } from '../../runtime';

const OutboxMessage = z.object({
  id: z.string(),
  channel: z.enum(['email', 'sms']),
  to: z.string(),
  subject: z.string().nullable(),
  body: z.string().nullable(),
  status: z.string(),
  attempts: z.number().int(),
  created_at: z.string(),
  sent_at: z.string().nullable(),
});

/**
 * Development only (GATEHOUSE_ENV=development, never registered otherwise): the messages
 * Gatehouse would have mailed or texted, so a newcomer can read their verification code
 * without configuring SMTP.
 */
export function devRoutes(app: App, { rt }: { rt: Runtime }) {
  app.get(
    '/v1/dev/outbox',
    {
      schema: {
        tags: ['development'],
        summary: 'Development only: recent outbox messages, newest first',
        querystring: z.object({
          to: z.string().max(254).optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
        }),
        response: { 200: z.object({ data: z.array(OutboxMessage) }) },
      },
      config: { auth: 'public' },
    },
    async (req) => {
      let q = rt.db.selectFrom('outbox').selectAll().orderBy('id', 'desc').limit(req.query.limit);
      if (req.query.to) q = q.where('recipient', '=', req.query.to.trim().toLowerCase());
      const rows = await q.execute();
      return {
        data: rows.map((r) => ({
          id: r.id,
          channel: r.channel,
          to: r.recipient,
          subject: r.subject,
          body: r.body,
          status: r.status,
          attempts: r.attempts,
          created_at: toIso(r.created_at),
          sent_at: toIsoOrNull(r.sent_at),
        })),
      };
    },
  );
}

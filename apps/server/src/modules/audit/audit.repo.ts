import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema';
import type { RequestMeta } from '../../http/context';
import { newId } from '../../lib/ids';

export type ActorRef =
  | { type: 'user'; id: string }
  | { type: 'api_key'; id: string }
  | { type: 'platform_admin'; id: string }
  | { type: 'system'; id?: null }
  | { type: 'anonymous'; id?: null };

export interface AuditEntry {
  organizationId?: string | null;
  actor: ActorRef;
  action: string;
  target?: { type: string; id: string } | null;
  changes?: Record<string, unknown> | null;
}

/** Writes one audit event; call it inside the transaction that makes the change it records. */
export async function insertAuditEvent(
  trx: Transaction<DB>,
  meta: RequestMeta,
  entry: AuditEntry,
  now: number,
) {
  await trx
    .insertInto('audit_events')
    .values({
      id: newId('evt', now),
      organization_id: entry.organizationId ?? null,
      actor_type: entry.actor.type,
      actor_id: entry.actor.id ?? null,
      action: entry.action,
      target_type: entry.target?.type ?? null,
      target_id: entry.target?.id ?? null,
      ip: meta.ip,
      user_agent: meta.userAgent,
      request_id: meta.requestId,
      changes: entry.changes ? JSON.stringify(entry.changes) : null,
      created_at: now,
    })
    .execute();
}

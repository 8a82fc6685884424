import { createHash } from 'node:crypto';
import { type Kysely, PostgresAdapter, type Selectable, sql, type Transaction } from 'kysely';
import type { AuditEventsTable, DB } from '../../db/schema';
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

/** The chain an event belongs to: its organization's, or the platform's for events without one. */
export const chainOf = (organizationId: string | null) => organizationId ?? 'platform';

type HashedFields = Omit<Selectable<AuditEventsTable>, 'seq' | 'hash' | 'prev_hash'>;

/**
 * The hash of an event: SHA-256 over the previous event's hash and every recorded field, in a
 * fixed order. Changing any field of any event, or removing or reordering events, breaks the
 * chain from there on.
 */
export function eventHash(prevHash: string | null, e: HashedFields): string {
  const canonical = JSON.stringify([
    prevHash,
    e.id,
    e.organization_id,
    e.actor_type,
    e.actor_id,
    e.action,
    e.target_type,
    e.target_id,
    e.ip,
    e.user_agent,
    e.request_id,
    e.changes,
    e.created_at,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

const isPostgres = (trx: Kysely<DB>) => trx.getExecutor().adapter instanceof PostgresAdapter;

/**
 * Serialises the writers of one chain until the transaction ends: PostgreSQL takes a
 * transaction-scoped advisory lock; SQLite has a single writer already.
 */
export async function lockChain(trx: Transaction<DB>, chain: string) {
  if (isPostgres(trx))
    await sql`select pg_advisory_xact_lock(hashtext(${`audit:${chain}`}))`.execute(trx);
}

/**
 * Writes one audit event, chained to the previous one of its organization. Call it inside the
 * transaction that makes the change it records: the event commits or rolls back with it.
 * Writers of one chain are serialised (PostgreSQL: a transaction-scoped advisory lock; SQLite
 * has a single writer), so two concurrent changes cannot fork the chain.
 */
export async function insertAuditEvent(
  trx: Transaction<DB>,
  meta: RequestMeta,
  entry: AuditEntry,
  now: number,
) {
  const organizationId = entry.organizationId ?? null;
  const chain = chainOf(organizationId);
  await lockChain(trx, chain);
  let previous = organizationId
    ? trx.selectFrom('audit_events').select('hash').where('organization_id', '=', organizationId)
    : trx.selectFrom('audit_events').select('hash').where('organization_id', 'is', null);
  previous = previous.orderBy('seq', 'desc').limit(1);
  const last = await previous.executeTakeFirst();
  const prevHash = last
    ? last.hash
    : ((
        await trx
          .selectFrom('audit_checkpoints')
          .select('hash')
          .where('chain', '=', chain)
          .executeTakeFirst()
      )?.hash ?? null);
  const row: HashedFields = {
    id: newId('evt', now),
    organization_id: organizationId,
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
  };
  await trx
    .insertInto('audit_events')
    .values({ ...row, prev_hash: prevHash, hash: eventHash(prevHash, row) })
    .execute();
}

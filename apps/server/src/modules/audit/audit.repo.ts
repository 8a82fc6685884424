import { createHash, createHmac, hkdfSync } from 'node:crypto';
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

export type HashedFields = Omit<Selectable<AuditEventsTable>, 'seq' | 'hash' | 'prev_hash'>;

/**
 * The key of the chain: HMAC-SHA-256 under a key derived from SECRET_KEY (HKDF, its own label),
 * never stored in the database. A database writer without SECRET_KEY can change rows but cannot
 * compute the hashes that make the change verify — neither for one event nor for a whole chain
 * recomputed from the start.
 */
export const deriveAuditKey = (secretKey: string) =>
  Buffer.from(hkdfSync('sha256', secretKey, 'gatehouse', 'audit-chain:v2', 32));

/**
 * The audit key of each database handle, by its Kysely adapter: a transaction shares the adapter
 * of the handle it was opened on, so `insertAuditEvent(trx, …)` finds the key without every
 * service passing it (and two apps on two databases in one process keep their own keys).
 */
const auditKeys = new WeakMap<object, Buffer>();

/** Called once by createApp, before anything writes an event. */
export function useAuditKey(db: Kysely<DB>, secretKey: string) {
  auditKeys.set(db.getExecutor().adapter, deriveAuditKey(secretKey));
}

export function auditKeyOf(db: Kysely<DB>): Buffer {
  const key = auditKeys.get(db.getExecutor().adapter);
  // Never fall back to an unkeyed hash: an event chained without the key could be forged.
  if (!key) throw new Error('the audit chain key is not set (useAuditKey)');
  return key;
}

const canonical = (prevHash: string | null, e: HashedFields) =>
  JSON.stringify([
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

/**
 * The hash of an event: HMAC-SHA-256 under the audit key over the previous event's hash and
 * every recorded field, in a fixed order. Changing any field of any event, or removing or
 * reordering events, breaks the chain from there on, and only a holder of SECRET_KEY can
 * compute a replacement.
 */
export function eventHash(key: Buffer, prevHash: string | null, e: HashedFields): string {
  return createHmac('sha256', key).update(canonical(prevHash, e)).digest('hex');
}

/**
 * The rule events were hashed with before the chain was keyed (issue 10 #19): plain SHA-256,
 * which anyone can recompute. Verification accepts it only for events written before the
 * upgrade, sealed by the keyed `audit.chain_keyed` event the upgrade migration appended.
 */
export function legacyEventHash(prevHash: string | null, e: HashedFields): string {
  return createHash('sha256').update(canonical(prevHash, e)).digest('hex');
}

/** The action of the keyed event that seals a chain's unkeyed (pre-upgrade) events. */
export const CHAIN_KEYED_ACTION = 'audit.chain_keyed';

/**
 * The MAC of a retention checkpoint: without it, a database writer could delete the oldest
 * events and move the checkpoint to match.
 */
export function checkpointMac(
  key: Buffer,
  c: { chain: string; seq: number; hash: string; removed: number },
): string {
  return createHmac('sha256', key)
    .update(JSON.stringify(['checkpoint', c.chain, Number(c.seq), c.hash, Number(c.removed)]))
    .digest('hex');
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
  const key = auditKeyOf(trx);
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
    .values({ ...row, prev_hash: prevHash, hash: eventHash(key, prevHash, row) })
    .execute();
}

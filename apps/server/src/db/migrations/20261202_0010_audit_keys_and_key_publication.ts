import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { newId } from '../../lib/ids';
import type { Dialect } from '../dialect';

/**
 * Issue 10 #19 and #20.
 *
 * Audit chain: from now on every event is hashed with HMAC-SHA-256 under a key derived from
 * SECRET_KEY (modules/audit/audit.repo.ts). Events written before this migration keep their
 * unkeyed SHA-256 hashes (rewriting them would bless whatever was changed before); instead each
 * existing chain gets one keyed `audit.chain_keyed` event linked to its last unkeyed event.
 * Verification accepts unkeyed hashes only before that seal, so a chain recomputed later with
 * the unkeyed rule no longer verifies. The seal is written here, once: a migration that ran is
 * recorded and cannot run again (this one adds columns), so no later start can be made to seal
 * a chain recomputed by a database writer. Retention checkpoints get a MAC under the same key.
 *
 * Signing keys: `signs_from`, the time from which a key signs. A rotated key is published in
 * the JWKS at once but signs only from then on, so verifiers with a cached JWKS learn it first.
 * Existing keys sign from their creation.
 */

/** Frozen copies of the rules of this migration's time (the app's may change later). */
const auditKey = (secretKey: string) =>
  Buffer.from(hkdfSync('sha256', secretKey, 'gatehouse', 'audit-chain:v2', 32));

interface EventRow {
  id: string;
  organization_id: string | null;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  changes: string | null;
  created_at: number;
}

const canonical = (prevHash: string | null, e: EventRow) =>
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

/** SECRET_KEY as the server will use it: the variable, else the generated one in the database. */
// biome-ignore lint/suspicious/noExplicitAny: a migration reads tables of its own time, untyped
async function secretKeyOf(db: Kysely<any>): Promise<string> {
  const configured = process.env.SECRET_KEY?.trim();
  if (configured && configured.length >= 32) return configured;
  const existing = await db
    .selectFrom('system_settings')
    .select('value')
    .where('key', '=', 'secret_key')
    .executeTakeFirst();
  if (existing) return existing.value as string;
  // The same as the server's first start would do (app.ts loadSecretKey).
  const generated = randomBytes(32).toString('base64url');
  await db.insertInto('system_settings').values({ key: 'secret_key', value: generated }).execute();
  return generated;
}

// biome-ignore lint/suspicious/noExplicitAny: a migration reads tables of its own time, untyped
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable('audit_checkpoints').addColumn('mac', 'text').execute();
  await db.schema.alterTable('signing_keys').addColumn('signs_from', 'bigint').execute();
  await sql`update signing_keys set signs_from = created_at`.execute(db);

  const any = await db.selectFrom('audit_events').select('seq').limit(1).executeTakeFirst();
  const checkpoints = await db.selectFrom('audit_checkpoints').selectAll().execute();
  if (!any && checkpoints.length === 0) return;
  const key = auditKey(await secretKeyOf(db));

  for (const c of checkpoints) {
    const mac = createHmac('sha256', key)
      .update(JSON.stringify(['checkpoint', c.chain, Number(c.seq), c.hash, Number(c.removed)]))
      .digest('hex');
    await db.updateTable('audit_checkpoints').set({ mac }).where('chain', '=', c.chain).execute();
  }

  const chains = await db.selectFrom('audit_events').select('organization_id').distinct().execute();
  const now = Date.now();
  for (const { organization_id: orgId } of chains) {
    let last = db.selectFrom('audit_events').select(['hash', 'seq']);
    last =
      orgId === null
        ? last.where('organization_id', 'is', null)
        : last.where('organization_id', '=', orgId);
    const head = await last.orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    let count = db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n'));
    count =
      orgId === null
        ? count.where('organization_id', 'is', null)
        : count.where('organization_id', '=', orgId);
    const { n } = await count.executeTakeFirstOrThrow();
    const seal: EventRow = {
      id: newId('evt', now),
      organization_id: orgId,
      actor_type: 'system',
      actor_id: null,
      action: 'audit.chain_keyed',
      target_type: null,
      target_id: null,
      ip: null,
      user_agent: null,
      request_id: null,
      changes: JSON.stringify({ unkeyed_events: Number(n), unkeyed_head_seq: Number(head.seq) }),
      created_at: now,
    };
    const prevHash = head.hash as string | null;
    await db
      .insertInto('audit_events')
      .values({
        ...seal,
        prev_hash: prevHash,
        hash: createHmac('sha256', key).update(canonical(prevHash, seal)).digest('hex'),
      })
      .execute();
  }
}

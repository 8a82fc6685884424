import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect';

/** API keys, and the hash chain of the audit log (with checkpoints left by retention). */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('name', 'text', (c) => c.notNull())
    /** the first characters of the secret, shown so people can tell keys apart */
    .addColumn('prefix', 'text', (c) => c.notNull())
    /** SHA-256 of the secret; the secret itself is shown once and never stored */
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    /** JSON array of grants, never more than the creator held */
    .addColumn('grants', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('api_keys_org_idx')
    .on('api_keys')
    .columns(['organization_id', 'id'])
    .execute();

  // Each event's hash covers its content and the previous event's hash in the same chain
  // (one chain per organization; events without one form the platform chain).
  await db.schema.alterTable('audit_events').addColumn('prev_hash', 'text').execute();
  await db.schema.alterTable('audit_events').addColumn('hash', 'text').execute();

  /** Where a chain resumes after retention removed its oldest events. */
  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('chain', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('removed', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_checkpoints').ifExists().execute();
  await db.schema.dropTable('api_keys').ifExists().execute();
}

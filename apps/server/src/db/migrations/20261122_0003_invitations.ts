import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect';

/** Invitations: an offer to join an organization with grants, sent to one address. */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('invitations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    /** lower-cased and trimmed */
    .addColumn('email', 'text', (c) => c.notNull())
    /** JSON array of grants given on acceptance */
    .addColumn('grants', 'text', (c) => c.notNull())
    .addColumn('message', 'text')
    /** 1 when accepting also makes the invitee the owner (team template: the owner offers ownership) */
    .addColumn('offers_ownership', 'integer', (c) => c.notNull().defaultTo(0))
    /** SHA-256 of the token in the link; the token itself is never stored */
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('invited_by', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('accepted_by', 'text')
    .addColumn('resolved_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // One pending invitation per address and organization (partial unique index, both engines).
  await sql`CREATE UNIQUE INDEX invitations_one_pending ON invitations (organization_id, email) WHERE status = 'pending'`.execute(
    db,
  );
  await db.schema
    .createIndex('invitations_org_idx')
    .on('invitations')
    .columns(['organization_id', 'id'])
    .execute();
  await db.schema
    .createIndex('invitations_email_idx')
    .on('invitations')
    .columns(['email', 'status'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('invitations').ifExists().execute();
}

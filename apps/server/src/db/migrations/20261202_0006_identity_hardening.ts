import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect';

/**
 * Issue 10 (identity hardening):
 * - one_time_codes: the credentials submitted with the registration a verify_email code was
 *   issued for. Verifying that code applies them, so a password chosen by someone who never
 *   proved the mailbox cannot survive the proof (#1).
 * - refresh_tokens: the pair a rotation answered, sealed (AES-256-GCM, key derived from
 *   SECRET_KEY) for the reuse grace window only, so a retried or parallel refresh gets the same
 *   pair back; erased when the window ends (#14).
 * - outbox: the subject to keep once the message is delivered or given up, without its one-time
 *   code (#9).
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable('one_time_codes').addColumn('password_hash', 'text').execute();
  await db.schema.alterTable('one_time_codes').addColumn('first_name', 'text').execute();
  await db.schema.alterTable('one_time_codes').addColumn('last_name', 'text').execute();
  await db.schema.alterTable('refresh_tokens').addColumn('successor_sealed', 'text').execute();
  await db.schema.alterTable('refresh_tokens').addColumn('successor_until', 'bigint').execute();
  await db.schema
    .createIndex('refresh_tokens_successor_idx')
    .on('refresh_tokens')
    .column('successor_until')
    .execute();
  await db.schema.alterTable('outbox').addColumn('subject_at_rest', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('outbox').dropColumn('subject_at_rest').execute();
  await db.schema.dropIndex('refresh_tokens_successor_idx').execute();
  await db.schema.alterTable('refresh_tokens').dropColumn('successor_until').execute();
  await db.schema.alterTable('refresh_tokens').dropColumn('successor_sealed').execute();
  await db.schema.alterTable('one_time_codes').dropColumn('last_name').execute();
  await db.schema.alterTable('one_time_codes').dropColumn('first_name').execute();
  await db.schema.alterTable('one_time_codes').dropColumn('password_hash').execute();
}

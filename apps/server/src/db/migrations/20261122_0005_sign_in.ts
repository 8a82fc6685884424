import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect';

/**
 * Second factors (TOTP, SMS), recovery codes, pending sign-ins (MFA challenges and OAuth
 * hand-offs), provider identities and OAuth state; and, on sessions, when the user last proved
 * who they are (step-up).
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('mfa_factors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    /** totp | sms */
    .addColumn('type', 'text', (c) => c.notNull())
    /** TOTP only: the shared secret, AES-256-GCM sealed with a key derived from SECRET_KEY */
    .addColumn('secret_sealed', 'text')
    /** SMS only: the E.164 number codes go to */
    .addColumn('phone', 'text')
    /** null until the user proved the factor works (first TOTP code, or the SMS code) */
    .addColumn('confirmed_at', 'bigint')
    /** TOTP only: the last accepted time step; a code of this step or older is refused (replay) */
    .addColumn('last_used_step', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mfa_factors_user_idx').on('mfa_factors').column('user_id').execute();

  await db.schema
    .createTable('recovery_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    /** HMAC of the code, keyed by SECRET_KEY */
    .addColumn('code_hash', 'text', (c) => c.notNull().unique())
    .addColumn('used_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('recovery_codes_user_idx')
    .on('recovery_codes')
    .column('user_id')
    .execute();

  /** A first factor passed, the session not opened yet: an MFA challenge or an OAuth hand-off. */
  await db.schema
    .createTable('pending_sign_ins')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    /**
     * mfa: a second factor must follow; handoff: exchange for a session (OAuth, token mode);
     * link: a provider identity waiting for its user to confirm the link
     */
    .addColumn('kind', 'text', (c) => c.notNull())
    /** JSON array: the methods already passed (pwd, oauth:google, ...) */
    .addColumn('amr', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    /** link: JSON {provider, subject, email} of the identity to link */
    .addColumn('detail', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('consumed_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('user_identities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    /** google | github | oidc:<name> */
    .addColumn('provider', 'text', (c) => c.notNull())
    /** the provider's stable id of the person (OIDC `sub`, GitHub's numeric id) */
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addUniqueConstraint('user_identities_provider_subject_key', ['provider', 'subject'])
    .execute();
  await db.schema
    .createIndex('user_identities_user_idx')
    .on('user_identities')
    .column('user_id')
    .execute();

  /** One row per OAuth flow started; found by the hash of `state`, spent once. */
  await db.schema
    .createTable('oauth_states')
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('return_to', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    /** set when a signed-in user links a provider to their account */
    .addColumn('link_user_id', 'text')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('consumed_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  /** When the user last proved who they are in this session (sign-in or step-up). */
  await db.schema.alterTable('sessions').addColumn('auth_time', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'oauth_states',
    'user_identities',
    'pending_sign_ins',
    'recovery_codes',
    'mfa_factors',
  ])
    await db.schema.dropTable(table).ifExists().execute();
  await db.schema.alterTable('sessions').dropColumn('auth_time').execute();
}

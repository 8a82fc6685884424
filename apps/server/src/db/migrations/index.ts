import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect';
import * as identity from './20261122_0001_identity';
import * as organizations from './20261122_0002_organizations';
import * as invitations from './20261122_0003_invitations';
import * as keysAndAudit from './20261122_0004_keys_and_audit_chain';
import * as signIn from './20261122_0005_sign_in';
import * as identityHardening from './20261202_0006_identity_hardening';
import * as auditKeysAndKeyPublication from './20261202_0010_audit_keys_and_key_publication';

export interface DialectMigration {
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
  down?(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

/**
 * Every migration, by timestamped name. Listed here rather than read from the folder so that
 * the set is fixed by the code (no stray file runs) and works the same under tsx and bundlers.
 */
export const migrations: Record<string, DialectMigration> = {
  '20261122_0001_identity': identity,
  '20261122_0002_organizations': organizations,
  '20261122_0003_invitations': invitations,
  '20261122_0004_keys_and_audit_chain': keysAndAudit,
  '20261122_0005_sign_in': signIn,
  '20261202_0006_identity_hardening': identityHardening,
  '20261202_0010_audit_keys_and_key_publication': auditKeysAndKeyPublication,
};

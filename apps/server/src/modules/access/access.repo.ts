import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema';

type Executor = Kysely<DB> | Transaction<DB>;

/** Every function here takes the organization id: a query without it cannot be written. */
export const findOrganization = (db: Executor, orgId: string) =>
  db.selectFrom('organizations').selectAll().where('id', '=', orgId).executeTakeFirst();

export const findCustomRoles = (db: Executor, orgId: string) =>
  db.selectFrom('roles').selectAll().where('organization_id', '=', orgId).orderBy('key').execute();

export const findMembership = (db: Executor, orgId: string, userId: string) =>
  db
    .selectFrom('memberships')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('user_id', '=', userId)
    .executeTakeFirst();

export const findMemberGrants = (db: Executor, orgId: string, userId: string) =>
  db
    .selectFrom('grants')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('user_id', '=', userId)
    .orderBy('id')
    .execute();

export const findOwnedAccountIds = async (db: Executor, orgId: string, userId: string) =>
  (
    await db
      .selectFrom('accounts')
      .select('id')
      .where('organization_id', '=', orgId)
      .where('owner_user_id', '=', userId)
      .execute()
  ).map((r) => r.id);

/** Resolves a scope id to its chain. Accounts and resources carry their organization, so a guessed id from another tenant resolves to that tenant, and the caller refuses it. */
export async function findScope(db: Executor, scopeId: string) {
  if (scopeId.startsWith('org_')) {
    const org = await db
      .selectFrom('organizations')
      .select('id')
      .where('id', '=', scopeId)
      .executeTakeFirst();
    return org ? { organizationId: org.id } : null;
  }
  if (scopeId.startsWith('acc_')) {
    const acc = await db
      .selectFrom('accounts')
      .select(['id', 'organization_id', 'product'])
      .where('id', '=', scopeId)
      .executeTakeFirst();
    return acc
      ? { organizationId: acc.organization_id, accountId: acc.id, accountProduct: acc.product }
      : null;
  }
  if (scopeId.startsWith('res_')) {
    const res = await db
      .selectFrom('resources')
      .innerJoin('accounts', 'accounts.id', 'resources.account_id')
      .select([
        'resources.id',
        'resources.organization_id',
        'resources.account_id',
        'accounts.product',
      ])
      .where('resources.id', '=', scopeId)
      .executeTakeFirst();
    return res
      ? {
          organizationId: res.organization_id,
          accountId: res.account_id,
          accountProduct: res.product,
          resourceId: res.id,
        }
      : null;
  }
  return null;
}

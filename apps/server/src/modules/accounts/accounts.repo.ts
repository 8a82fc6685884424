import type { Kysely, Transaction } from 'kysely';
import type { Dialect } from '../../db/dialect';
import type { AccountsTable, DB, ResourcesTable } from '../../db/schema';

type Executor = Kysely<DB> | Transaction<DB>;

export const insertAccount = (db: Executor, row: AccountsTable) =>
  db.insertInto('accounts').values(row).execute();
export const findAccount = (db: Executor, orgId: string, accountId: string) =>
  db
    .selectFrom('accounts')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('id', '=', accountId)
    .executeTakeFirst();
export const listAccounts = (
  db: Executor,
  orgId: string,
  after: string | undefined,
  limit: number,
) => {
  let q = db.selectFrom('accounts').selectAll().where('organization_id', '=', orgId);
  if (after) q = q.where('id', '>', after);
  return q.orderBy('id').limit(limit).execute();
};
export const updateAccount = (
  db: Executor,
  orgId: string,
  accountId: string,
  changes: Partial<AccountsTable>,
) =>
  db
    .updateTable('accounts')
    .set(changes)
    .where('organization_id', '=', orgId)
    .where('id', '=', accountId)
    .executeTakeFirst();
export const deleteAccount = (db: Executor, orgId: string, accountId: string) =>
  db
    .deleteFrom('accounts')
    .where('organization_id', '=', orgId)
    .where('id', '=', accountId)
    .executeTakeFirst();

/**
 * The account, locked against a concurrent delete until the transaction ends (PostgreSQL
 * FOR SHARE): a row about to reference it then either sees it committed-deleted (no row) or
 * keeps it alive until the insert commits, never fails on the foreign key. SQLite has a single
 * writer; its transactions are already serialised.
 */
export const findAccountForShare = (
  db: Executor,
  orgId: string,
  accountId: string,
  dialect: Dialect,
) =>
  db
    .selectFrom('accounts')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('id', '=', accountId)
    .$if(dialect === 'postgres', (q) => q.forShare())
    .executeTakeFirst();

export const insertResource = (db: Executor, row: ResourcesTable) =>
  db.insertInto('resources').values(row).execute();
export const findResource = (db: Executor, orgId: string, accountId: string, resourceId: string) =>
  db
    .selectFrom('resources')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('account_id', '=', accountId)
    .where('id', '=', resourceId)
    .executeTakeFirst();
export const listResources = (
  db: Executor,
  orgId: string,
  accountId: string,
  after: string | undefined,
  limit: number,
) => {
  let q = db
    .selectFrom('resources')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('account_id', '=', accountId);
  if (after) q = q.where('id', '>', after);
  return q.orderBy('id').limit(limit).execute();
};
export const resourceIdsOfAccount = async (db: Executor, orgId: string, accountId: string) =>
  (
    await db
      .selectFrom('resources')
      .select('id')
      .where('organization_id', '=', orgId)
      .where('account_id', '=', accountId)
      .execute()
  ).map((r) => r.id);
export const childResourceIds = async (db: Executor, orgId: string, parentId: string) =>
  (
    await db
      .selectFrom('resources')
      .select('id')
      .where('organization_id', '=', orgId)
      .where('parent_id', '=', parentId)
      .execute()
  ).map((r) => r.id);

/** Removes the grants made on scopes that no longer exist; returns whose grants changed. */
export async function deleteGrantsOnScopes(
  db: Executor,
  orgId: string,
  scopeIds: string[],
): Promise<string[]> {
  if (scopeIds.length === 0) return [];
  const rows = await db
    .deleteFrom('grants')
    .where('organization_id', '=', orgId)
    .where('scope_id', 'in', scopeIds)
    .returning('user_id')
    .execute();
  return [...new Set(rows.map((r) => r.user_id))];
}

import type { Kysely, Transaction } from 'kysely';
import type { Dialect } from '../../db/dialect';
import type { DB, UsersTable } from '../../db/schema';

export type UserRow = UsersTable;
type Executor = Kysely<DB> | Transaction<DB>;

/** Users are global (a person may belong to many organizations), so these take no organization id. */
export const findUserById = (db: Executor, id: string) =>
  db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();

/**
 * Reads the user to change it: on PostgreSQL the row stays locked until the transaction ends, so
 * two concurrent read-modify-writes (settings merged key by key) cannot lose one another's keys.
 * SQLite has a single writer and no row locks; its transactions are already serialised.
 */
export const findUserByIdForUpdate = (db: Executor, id: string, dialect: Dialect) =>
  db
    .selectFrom('users')
    .selectAll()
    .where('id', '=', id)
    .$if(dialect === 'postgres', (q) => q.forUpdate())
    .executeTakeFirst();

export const findUserByEmail = (db: Executor, email: string) =>
  db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();

export async function insertUser(
  db: Executor,
  user: Pick<UserRow, 'id' | 'email' | 'first_name' | 'last_name' | 'password_hash'> &
    Partial<UserRow>,
  now: number,
) {
  await db
    .insertInto('users')
    .values({
      mobile: null,
      timezone: null,
      status: 'active',
      email_verified_at: null,
      user_settings: '{}',
      user_metadata: '{}',
      avatar_id: null,
      is_platform_admin: 0,
      managed_by_org_id: null,
      last_login_at: null,
      created_at: now,
      updated_at: now,
      ...user,
    })
    .execute();
}

/**
 * Inserts the user unless the address is taken; returns whether it did. One statement decides,
 * so two concurrent registrations of one new address cannot both pass a check and then hit
 * users_email_key (a 500 on PostgreSQL; issue 10 #7): the loser sees the winner's row instead.
 */
export async function insertUserIfAbsent(
  db: Executor,
  user: Pick<UserRow, 'id' | 'email' | 'first_name' | 'last_name' | 'password_hash'>,
  now: number,
): Promise<boolean> {
  const inserted = await db
    .insertInto('users')
    .values({
      mobile: null,
      timezone: null,
      status: 'active',
      email_verified_at: null,
      user_settings: '{}',
      user_metadata: '{}',
      avatar_id: null,
      is_platform_admin: 0,
      managed_by_org_id: null,
      last_login_at: null,
      created_at: now,
      updated_at: now,
      ...user,
    })
    .onConflict((oc) => oc.column('email').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

export const updateUser = (db: Executor, id: string, changes: Partial<Omit<UserRow, 'id'>>) =>
  db.updateTable('users').set(changes).where('id', '=', id).executeTakeFirst();

export const countPlatformAdmins = async (db: Executor) =>
  Number(
    (
      await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('is_platform_admin', '=', 1)
        .executeTakeFirstOrThrow()
    ).n,
  );

import { type Kysely, sql, type Transaction } from 'kysely';
import { type Dialect, escapeLike } from '../../db/dialect';
import type { DB } from '../../db/schema';

type Executor = Kysely<DB> | Transaction<DB>;

export interface MemberQuery {
  search?: string;
  role?: string;
  /** fewer holders than a page walk would visit: drive the query from the grants */
  roleIsRare?: boolean;
  account?: string;
  /**
   * Only members holding something within a caller's reach (issue 10 #4): a grant at one of
   * `scopes` (the reach's accounts, their resources, and its resources), or the ownership of one
   * of `accounts`; the role filter then counts only grants at `scopes` too, so that it tells
   * nothing about grants outside the reach. Absent: the whole organization.
   */
  within?: { accounts: string[]; scopes: string[] };
  status?: 'active' | 'suspended';
  /** members whose login type (a JSON array on the membership) names this method */
  loginMethod?: string;
  sort: 'name' | 'email' | 'joined';
  order: 'asc' | 'desc';
  limit: number;
  after?: { value: string | number; userId: string };
}

const SORT_COLUMN = {
  name: 'memberships.sort_name',
  email: 'memberships.email',
  joined: 'memberships.joined_at',
} as const;

/**
 * One page of an organization's members, keyset-paginated on (sort column, user id) so that a
 * page costs the same at 100,000 members as at 100. Sorting and searching use the copies of
 * name and email kept on memberships (indexed per organization), not a join.
 */
export function listMembers(db: Executor, dialect: Dialect, orgId: string, q: MemberQuery) {
  const col = SORT_COLUMN[q.sort];
  let query = db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select([
      'memberships.user_id',
      'memberships.status',
      'memberships.invited_by',
      'memberships.joined_at',
      'memberships.sort_name',
      'memberships.email',
      'memberships.login_methods',
      'users.first_name',
      'users.last_name',
      'users.status as user_status',
    ])
    .where('memberships.organization_id', '=', orgId);
  if (q.status) query = query.where('memberships.status', '=', q.status);
  if (q.loginMethod)
    // The array holds validated method names (no quotes or wildcards), so the quoted name is an
    // exact element match; a walk filter like status, fine for keyset pages.
    query = query.where(
      sql<boolean>`memberships.login_methods like ${`%${escapeLike(JSON.stringify(q.loginMethod))}%`} escape '\\'`,
    );
  if (q.search) {
    const term = q.search.toLowerCase();
    if ([...term].length >= 3) {
      // Substring, through the trigram index of each engine (see migration 0002).
      query =
        dialect === 'sqlite'
          ? query.where(
              'memberships.seq',
              'in',
              sql<number>`(select rowid from member_search where member_search match ${`"${term.replace(/"/g, '""')}"`})`,
            )
          : query.where(
              sql<boolean>`(memberships.sort_name || ' ' || memberships.email) like ${`%${escapeLike(term)}%`} escape '\\'`,
            );
    } else {
      // One or two characters are too short for trigrams: they match a prefix of name or email.
      if (dialect === 'sqlite') {
        // SQLite compares text bytewise, so a prefix is an index range on each column: the
        // matches are found from the (org, name) and (org, email) indexes, not by a walk.
        const upper = `${term}\u{10FFFF}`;
        query = query.where('memberships.seq', 'in', (eb) =>
          eb
            .selectFrom('memberships as m')
            .select('m.seq')
            .where('m.organization_id', '=', orgId)
            .where('m.sort_name', '>=', term)
            .where('m.sort_name', '<', upper)
            .union(
              eb
                .selectFrom('memberships as e')
                .select('e.seq')
                .where('e.organization_id', '=', orgId)
                .where('e.email', '>=', term)
                .where('e.email', '<', upper),
            ),
        );
      } else {
        const prefix = `${escapeLike(term)}%`;
        query = query.where((eb) =>
          eb.or([
            sql<boolean>`memberships.sort_name like ${prefix} escape '\\'`,
            sql<boolean>`memberships.email like ${prefix} escape '\\'`,
          ]),
        );
      }
    }
  }
  // A role held by few members is best found from the grants (IN: start from those few); a
  // role held by many, by walking the sorted members and probing each (EXISTS: stops after one
  // page). The service counts the holders first (one index range) and says which.
  if (q.role) {
    const role = q.role;
    if (role === 'owner') {
      query = query.where(
        'memberships.user_id',
        '=',
        db.selectFrom('organizations').select('owner_user_id').where('id', '=', orgId),
      );
    } else if (q.roleIsRare) {
      query = query.where(
        'memberships.user_id',
        'in',
        db
          .selectFrom('grants')
          .select('grants.user_id')
          .where('grants.organization_id', '=', orgId)
          .where('grants.role', '=', role)
          .$if(q.within !== undefined, (w) =>
            w.where('grants.scope_id', 'in', q.within?.scopes.length ? q.within.scopes : ['']),
          ),
      );
    } else {
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('grants')
            .select('grants.id')
            .where('grants.organization_id', '=', orgId)
            .whereRef('grants.user_id', '=', 'memberships.user_id')
            .where('grants.role', '=', role)
            .$if(q.within !== undefined, (w) =>
              w.where('grants.scope_id', 'in', q.within?.scopes.length ? q.within.scopes : ['']),
            ),
        ),
      );
    }
  }
  if (q.account) {
    const account = q.account;
    const scopes = db
      .selectFrom('resources')
      .select('resources.id')
      .where('resources.organization_id', '=', orgId)
      .where('resources.account_id', '=', account);
    query = query.where((eb) =>
      eb.or([
        eb(
          'memberships.user_id',
          'in',
          eb
            .selectFrom('grants')
            .select('grants.user_id')
            .where('grants.organization_id', '=', orgId)
            .where((g) =>
              g.or([g('grants.scope_id', '=', account), g('grants.scope_id', 'in', scopes)]),
            ),
        ),
        eb(
          'memberships.user_id',
          '=',
          eb
            .selectFrom('accounts')
            .select('accounts.owner_user_id')
            .where('accounts.organization_id', '=', orgId)
            .where('accounts.id', '=', account),
        ),
      ]),
    );
  }
  if (q.within) {
    const { accounts, scopes } = q.within;
    query = query.where((eb) => {
      const either = [];
      if (scopes.length > 0)
        either.push(
          eb(
            'memberships.user_id',
            'in',
            eb
              .selectFrom('grants')
              .select('grants.user_id')
              .where('grants.organization_id', '=', orgId)
              .where('grants.scope_id', 'in', scopes),
          ),
        );
      if (accounts.length > 0)
        either.push(
          eb(
            'memberships.user_id',
            'in',
            eb
              .selectFrom('accounts')
              .select('accounts.owner_user_id')
              .where('accounts.organization_id', '=', orgId)
              .where('accounts.id', 'in', accounts),
          ),
        );
      return eb.or(either);
    });
  }
  if (q.after) {
    const { value, userId } = q.after;
    const cmp = q.order === 'asc' ? '>' : '<';
    query = query.where((eb) =>
      eb.or([
        eb(col, cmp, value as never),
        eb.and([eb(col, '=', value as never), eb('memberships.user_id', cmp, userId)]),
      ]),
    );
  }
  return query
    .orderBy(col, q.order)
    .orderBy('memberships.user_id', q.order)
    .limit(q.limit + 1)
    .execute();
}

export const findGrantsOfMembers = (db: Executor, orgId: string, userIds: string[]) =>
  userIds.length === 0
    ? Promise.resolve([])
    : db
        .selectFrom('grants')
        .selectAll()
        .where('organization_id', '=', orgId)
        .where('user_id', 'in', userIds)
        .orderBy('id')
        .execute();

export const findMember = (db: Executor, orgId: string, userId: string) =>
  db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select([
      'memberships.user_id',
      'memberships.status',
      'memberships.invited_by',
      'memberships.joined_at',
      'memberships.login_methods',
      'users.email',
      'users.first_name',
      'users.last_name',
      'users.status as user_status',
      'users.timezone',
      'users.created_at',
      'users.updated_at',
      'users.last_login_at',
      'users.managed_by_org_id',
    ])
    .where('memberships.organization_id', '=', orgId)
    .where('memberships.user_id', '=', userId)
    .executeTakeFirst();

export const countMemberships = async (db: Executor, userId: string) =>
  Number(
    (
      await db
        .selectFrom('memberships')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow()
    ).n,
  );

export const countRoleHolders = async (db: Executor, orgId: string, role: string) =>
  Number(
    (
      await db
        .selectFrom('grants')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('organization_id', '=', orgId)
        .where('role', '=', role)
        .executeTakeFirstOrThrow()
    ).n,
  );

/** The resources of some accounts of an organization (for a caller's reach, issue 10 #4). */
export const findResourceIdsOfAccounts = async (db: Executor, orgId: string, accounts: string[]) =>
  accounts.length === 0
    ? []
    : (
        await db
          .selectFrom('resources')
          .select('id')
          .where('organization_id', '=', orgId)
          .where('account_id', 'in', accounts)
          .execute()
      ).map((r) => r.id);

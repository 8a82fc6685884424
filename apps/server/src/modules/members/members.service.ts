import { sql, type Transaction } from 'kysely';
import {
  type Principal as AuthzPrincipal,
  checkGrants,
  evaluate,
  expandPatterns,
  type Grant,
  type Reach,
  reachIsEmpty,
  type ScopeChain,
  scopeLevelOf,
  withinReach,
} from '../../authz';
import { isUniqueViolation } from '../../db/dialect';
import type { DB, GrantsTable } from '../../db/schema';
import { enqueueEmail } from '../../delivery/outbox';
import { mails } from '../../delivery/templates';
import type { RequestMeta, UserPrincipal } from '../../http/context';
import { AppError, assertThat } from '../../http/errors';
import { toIso, toIsoOrNull } from '../../lib/clock';
import { newId } from '../../lib/ids';
import { hashToken, randomToken } from '../../lib/secrets';
import type { Runtime } from '../../runtime';
import { findScope } from '../access/access.repo';
import {
  type AccessService,
  grantProblem,
  type OrgFacts,
  rowToGrant,
} from '../access/access.service';
import { insertAuditEvent } from '../audit/audit.repo';
import { sortName } from '../organizations/organizations.repo';
import { insertGrantRows } from '../organizations/organizations.service';
import { loginMethodOf } from '../sessions/sessions.service';
import { insertUser } from '../users/users.repo';
import { isValidTimezone } from '../users/users.service';
import * as repo from './members.repo';

/** How long the "set your password" link of a directly added user works. */
const SET_PASSWORD_TTL_MS = 7 * 24 * 3600 * 1000;

export const toGrantView = (g: GrantsTable) => ({
  id: g.id,
  role: g.role,
  permissions: g.permissions ? (JSON.parse(g.permissions) as string[]) : null,
  scope: g.scope_id,
  scope_type: scopeLevelOf(g.scope_id) ?? 'organization',
  created_at: toIso(g.created_at),
});

type SortKey = 'name' | 'email' | 'joined';

/**
 * A cursor carries the sort it was made for with the last row's (sort value, user id). A cursor
 * replayed under another sort would compare a text value with the bigint `joined_at` (a 500 on
 * PostgreSQL) or silently skip rows, so a mismatch is a 400 like any malformed cursor.
 */
const encodeCursor = (sort: SortKey, value: string | number, userId: string) =>
  Buffer.from(JSON.stringify([sort, value, userId])).toString('base64url');
function decodeCursor(cursor: string, sort: SortKey): { value: string | number; userId: string } {
  try {
    const [s, value, userId] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [
      unknown,
      unknown,
      unknown,
    ];
    // No NUL either: the query's NUL check sees only the encoded cursor, and PostgreSQL refuses
    // text holding one with an error (a 500) (issue 10 #8).
    const valueFits =
      sort === 'joined'
        ? Number.isSafeInteger(value)
        : typeof value === 'string' && !value.includes('\u0000');
    if (s === sort && valueFits && typeof userId === 'string' && !userId.includes('\u0000'))
      return { value: value as string | number, userId };
  } catch {}
  throw new AppError('validation_failed', 'The cursor is not valid', {
    errors: [{ path: 'query.cursor', message: 'not a cursor from this list and sort' }],
  });
}

/**
 * PostgreSQL refuses text holding U+0000 (an error, hence a 500); SQLite would just match
 * nothing. Either way it cannot be part of a name, an email, a role or an id: a 400.
 */
function assertNoNul(query: Record<string, unknown>, keys: string[]) {
  const bad = keys.filter((k) => {
    const value = query[k];
    return typeof value === 'string' && value.includes('\u0000');
  });
  if (bad.length > 0)
    throw new AppError('validation_failed', 'The querystring is not valid', {
      errors: bad.map((k) => ({ path: `query.${k}`, message: 'must not contain NUL characters' })),
    });
}

export type BulkAction = 'remove' | 'suspend' | 'reactivate';

/**
 * What deciding whether someone may send an invitation reads: the organization, the inviter as
 * the engine sees them, and the chains of the grants' scopes (null: not in this organization).
 * Built from the caches when sending, and from the accepting transaction when accepting.
 */
export interface InviterView {
  facts: OrgFacts;
  principal: AuthzPrincipal;
  chains: ReadonlyMap<string, ScopeChain | null>;
}

const ownerOnlyCache = new WeakMap<object, Set<string>>();
/**
 * The permissions only the template's owner-only roles hold (team: what an admin has and a
 * user has not): only the owner may hand these out, under any role name or inline.
 */
function ownerOnlyPermissions(facts: OrgFacts): Set<string> {
  let set = ownerOnlyCache.get(facts.roles);
  if (!set) {
    const ownerOnlyRoles = new Set(facts.template.invitePolicy.ownerOnlyRoles);
    const reserved = new Set<string>();
    const shared = new Set<string>();
    for (const role of facts.roles.roles.values()) {
      if (!role.builtIn || role.key === 'owner') continue;
      for (const p of role.permissions) (ownerOnlyRoles.has(role.key) ? reserved : shared).add(p);
    }
    set = new Set([...reserved].filter((p) => !shared.has(p)));
    ownerOnlyCache.set(facts.roles, set);
  }
  return set;
}

export function createMemberService(rt: Runtime, access: AccessService) {
  const { db, clock, bus } = rt;
  const audit = (
    trx: Transaction<DB>,
    meta: RequestMeta,
    actor: UserPrincipal,
    orgId: string,
    action: string,
    userId: string,
    changes?: Record<string, unknown>,
  ) =>
    insertAuditEvent(
      trx,
      meta,
      {
        organizationId: orgId,
        actor: { type: 'user', id: actor.userId },
        action,
        target: { type: 'user', id: userId },
        changes,
      },
      clock.now(),
    );

  /**
   * The template's owner-only roles (team: admin) may be given only by the organization owner,
   * on top of the no-escalation rule.
   */
  function assertOwnerOnlyRoles(actor: UserPrincipal, facts: OrgFacts, grants: Grant[]) {
    const refusal = ownerOnlyRefusal(facts.org.owner_user_id === actor.userId, facts, grants);
    if (refusal) throw refusal;
  }

  function ownerOnlyRefusal(isOwner: boolean, facts: OrgFacts, grants: Grant[]): AppError | null {
    if (isOwner) return null;
    const ownerOnly = ownerOnlyPermissions(facts);
    if (ownerOnly.size === 0) return null;
    // The rule is about what a grant gives, not what it is called: a copy of the admin role
    // under another name, or its permissions inline, is refused just the same.
    for (const g of grants) {
      const gives = g.role
        ? [...(facts.roles.roles.get(g.role)?.permissions ?? [])]
        : [...expandPatterns(access.catalog, g.permissions ?? [])];
      const reserved = gives.filter((p) => ownerOnly.has(p));
      if (reserved.length > 0) {
        return new AppError(
          'forbidden',
          `Only the owner can give ${facts.template.invitePolicy.ownerOnlyRoles.join(', ')} powers (${reserved.slice(0, 5).join(', ')}${reserved.length > 5 ? ', ...' : ''})`,
          { reserved },
        );
      }
    }
    return null;
  }

  /** Adding and removing grants both need `members:update` at the grant's scope and the right to give it. */
  async function assertMayChange(
    actor: UserPrincipal,
    orgId: string,
    facts: OrgFacts,
    grants: Grant[],
    /** where each grant sits in the request (see `grantProblem`) */
    paths?: string[],
  ) {
    for (const g of grants) {
      if (!(await access.holds(actor, orgId, 'members:update', g.scope)))
        throw new AppError('forbidden', `You may not change members at ${g.scope}`, {
          scope: g.scope,
        });
    }
    assertOwnerOnlyRoles(actor, facts, grants);
    if (grants.length > 0) await access.assertCanGrant(actor, orgId, grants, paths);
  }

  async function requireMember(trx: Transaction<DB>, orgId: string, userId: string) {
    const m = await trx
      .selectFrom('memberships')
      .select(['status'])
      .where('organization_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    assertThat(m, 'not_found', 'No such member');
    return m;
  }

  /**
   * Serializes the writes that decide who is in an organization, who owns it, and what they
   * hold: every such transaction starts here, and reads the owner here rather than from the
   * (per-node, possibly a moment old) cache. SQLite runs one transaction at a time anyway; on
   * PostgreSQL these row locks order them, so that, e.g., a suspension cannot read "not the
   * owner" while an ownership transfer to that member commits, nor two grant replacements for
   * one member interleave into a mixture (found by test/invariants/concurrency.test.ts).
   *
   * Lock order: the organization's pending ownership offers, then the organization row. An
   * acceptance takes its offer and then the organization (or account) row, in the same order,
   * so the two wait for each other instead of deadlocking; and once it has committed, the offer
   * is no longer pending and the owner read here is the new one.
   */
  async function lockOrganization(trx: Transaction<DB>, orgId: string) {
    if (rt.dialect === 'postgres')
      await sql`select id from ownership_offers where organization_id = ${orgId} and status = 'pending' order by id for update`.execute(
        trx,
      );
    const row = await sql<{
      owner_user_id: string;
    }>`select owner_user_id from organizations where id = ${orgId}${
      rt.dialect === 'postgres' ? sql` for update` : sql``
    }`.execute(trx);
    const org = row.rows[0];
    assertThat(org, 'not_found');
    return org;
  }

  /**
   * A transaction, run again (at most three times in all) when PostgreSQL aborts it as one side
   * of a deadlock or a serialization failure: other writers (deleting an account, accepting an
   * offer) lock some of the same rows in their own order, and a retry is the standard answer.
   */
  async function inTransaction<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.transaction().execute(work);
      } catch (error) {
        const code = (error as { code?: string } | null)?.code;
        if (attempt >= 3 || (code !== '40P01' && code !== '40001')) throw error;
      }
    }
  }

  const grantsOf = (trx: Transaction<DB> | typeof db, orgId: string, userId: string) =>
    trx
      .selectFrom('grants')
      .selectAll()
      .where('organization_id', '=', orgId)
      .where('user_id', '=', userId)
      .orderBy('id')
      .execute();

  /** Removes one member: grants, pending offers, and account ownerships (which pass to the organization owner). */
  async function removeOne(
    trx: Transaction<DB>,
    orgId: string,
    ownerId: string,
    userId: string,
    now: number,
  ) {
    await trx
      .deleteFrom('grants')
      .where('organization_id', '=', orgId)
      .where('user_id', '=', userId)
      .execute();
    await trx
      .updateTable('ownership_offers')
      .set({ status: 'withdrawn', resolved_at: now })
      .where('organization_id', '=', orgId)
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('to_user_id', '=', userId), eb('from_user_id', '=', userId)]))
      .execute();
    const owned = await trx
      .updateTable('accounts')
      .set({ owner_user_id: ownerId, updated_at: now })
      .where('organization_id', '=', orgId)
      .where('owner_user_id', '=', userId)
      .returning('id')
      .execute();
    await trx
      .deleteFrom('memberships')
      .where('organization_id', '=', orgId)
      .where('user_id', '=', userId)
      .execute();
    return owned.map((a) => a.id);
  }

  /**
   * Who may add people, by the template's invite policy, on top of no escalation:
   * `organization-owner` (media), `owners` (reseller: the organization owner, or an account owner
   * for grants inside their account), or `permission` (members:invite on every scope granted).
   * Pure over `view`, so that sending (cached facts) and accepting (the accepting transaction's
   * facts, issue 10 #3) judge by one rule. Null when allowed.
   */
  function inviteRefusal(view: InviterView, grants: Grant[]): AppError | null {
    const { facts, principal, chains } = view;
    const orgId = facts.org.id;
    // Someone no longer an active member (or an inactive user) hands out nothing, whatever
    // they held when they sent it.
    if (principal.membershipStatus !== 'active' || principal.userStatus !== 'active')
      return new AppError('forbidden', 'The inviter is not an active member of the organization', {
        reason: 'inviter_inactive',
      });
    const policy = facts.template.invitePolicy;
    const isOwner = principal.isOrganizationOwner;
    if (policy.inviters === 'organization-owner' && !isOwner)
      return new AppError('forbidden', 'Only the owner adds users in this organization');
    if (policy.inviters === 'owners' && !isOwner) {
      const owned = new Set(principal.ownedAccountIds as Iterable<string>);
      for (const g of grants) {
        const chain = chains.get(g.scope);
        if (!chain?.accountId || !owned.has(chain.accountId))
          return new AppError(
            'forbidden',
            'Only owners add users: the organization owner, or an account owner within their account',
          );
      }
      if (grants.length === 0) return new AppError('forbidden', 'Only owners add users');
    }
    if (policy.inviters === 'permission') {
      const permission = policy.permission ?? 'members:invite';
      const scopes = grants.length > 0 ? [...new Set(grants.map((g) => g.scope))] : [orgId];
      for (const scope of scopes) {
        const chain = scope === orgId ? { organizationId: orgId } : chains.get(scope);
        const holds =
          chain != null &&
          evaluate(access.catalog, facts.roles, principal, permission, chain).allowed;
        if (!holds)
          return new AppError('forbidden', `Adding users here needs ${permission}`, { scope });
      }
    }
    const ownerOnly = ownerOnlyRefusal(isOwner, facts, grants);
    if (ownerOnly) return ownerOnly;
    if (grants.length > 0) {
      const result = checkGrants(
        access.catalog,
        facts.roles,
        principal,
        grants,
        (s) => chains.get(s) ?? null,
      );
      if (!result.allowed) return grantProblem(result.problems);
    }
    return null;
  }

  async function assertMayInvite(
    actor: UserPrincipal,
    orgId: string,
    facts: OrgFacts,
    grants: Grant[],
  ) {
    const view: InviterView = {
      facts,
      principal: await access.principalOf(orgId, actor.userId),
      chains: await access.chainsInOrganization(orgId, grants),
    };
    const refusal = inviteRefusal(view, grants);
    if (refusal) throw refusal;
  }

  /**
   * The grants a caller whose permission reaches only `reach` may see (issue 10 #4): those at
   * or below its scopes. An account admin sees what a member holds on their accounts, not what
   * the member holds elsewhere in the organization.
   */
  async function grantsWithin(rows: GrantsTable[], reach: Reach | undefined) {
    if (!reach || reach.organization) return rows;
    const chains = await access.chainsOf(rows.map((r) => r.scope_id));
    return rows.filter((r) => {
      const chain = chains.get(r.scope_id);
      return chain != null && withinReach(reach, chain);
    });
  }

  /**
   * The filter of a partial reach for the list (see `MemberQuery.within`). With an account
   * filter, only what of the reach lies in that account: the filter must not tell the caller
   * who holds grants on an account they cannot read.
   */
  async function withinOf(orgId: string, reach: Reach & { organization: false }, account?: string) {
    const chains = await access.chainsOf(reach.scopes);
    let accounts = [...reach.scopes].filter((id) => id.startsWith('acc_'));
    let resources = [...reach.scopes].filter((id) => id.startsWith('res_'));
    if (account !== undefined) {
      accounts = accounts.filter((id) => id === account);
      resources = resources.filter((id) => chains.get(id)?.accountId === account);
    }
    const scopes = [
      ...new Set([
        ...accounts,
        ...resources,
        ...(await repo.findResourceIdsOfAccounts(db, orgId, accounts)),
      ]),
    ];
    return { accounts, scopes };
  }

  /**
   * A member as a caller with a partial reach finds them, read in `trx`: the grants within the
   * reach and outside it, and the accounts they own (ownership is `*` on the account).
   */
  async function partition(trx: Transaction<DB>, orgId: string, userId: string, reach: Reach) {
    const rows = await grantsOf(trx, orgId, userId);
    const inside: GrantsTable[] = [];
    const outside: GrantsTable[] = [];
    for (const r of rows) {
      const chain = await findScope(trx, r.scope_id);
      (chain && chain.organizationId === orgId && withinReach(reach, chain)
        ? inside
        : outside
      ).push(r);
    }
    const owned = await trx
      .selectFrom('accounts')
      .select('id')
      .where('organization_id', '=', orgId)
      .where('owner_user_id', '=', userId)
      .execute();
    const ownsInside = owned.some((a) =>
      withinReach(reach, { organizationId: orgId, accountId: a.id }),
    );
    return { inside, outside, owned: owned.map((a) => a.id), ownsInside };
  }

  return {
    assertMayInvite,
    inviteRefusal,

    /**
     * "Associate user": adds a person by email with grants. A new address becomes a user managed
     * by this organization (it may edit their name and email) with no password yet; with
     * `send_invite` they get a mail with a link to set one (valid 7 days).
     */
    async add(
      actor: UserPrincipal,
      orgId: string,
      input: {
        email: string;
        first_name?: string;
        last_name?: string;
        grants: Grant[];
        login_method?: string;
        send_invite: boolean;
      },
      meta: RequestMeta,
    ) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      const grants = input.grants;
      await assertMayInvite(actor, orgId, facts, grants);
      const now = clock.now();
      const setPasswordToken = input.send_invite ? randomToken() : null;
      const userId = await inTransaction(async (trx) => {
        await lockOrganization(trx, orgId);
        let user = await trx
          .selectFrom('users')
          .selectAll()
          .where('email', '=', input.email)
          .executeTakeFirst();
        if (!user) {
          const id = newId('usr', now);
          await insertUser(
            trx,
            {
              id,
              email: input.email,
              password_hash: null,
              first_name: input.first_name ?? input.email.split('@')[0]!,
              last_name: input.last_name ?? '',
              managed_by_org_id: orgId,
            },
            now,
          );
          user = await trx
            .selectFrom('users')
            .selectAll()
            .where('id', '=', id)
            .executeTakeFirstOrThrow();
        } else {
          const existing = await trx
            .selectFrom('memberships')
            .select('status')
            .where('organization_id', '=', orgId)
            .where('user_id', '=', user.id)
            .executeTakeFirst();
          if (existing)
            throw new AppError('conflict', 'This person is already a member', {
              reason: 'already_member',
              user_id: user.id,
            });
        }
        await trx
          .insertInto('memberships')
          .values({
            organization_id: orgId,
            user_id: user.id,
            status: 'active',
            invited_by: actor.userId,
            login_methods: input.login_method ? JSON.stringify([input.login_method]) : null,
            sort_name: sortName(user.first_name, user.last_name),
            email: user.email,
            joined_at: now,
            updated_at: now,
          })
          .execute();
        await insertGrantRows(trx, orgId, user.id, grants, actor.userId, now);
        if (setPasswordToken) {
          await trx
            .insertInto('password_resets')
            .values({
              token_hash: hashToken(setPasswordToken),
              user_id: user.id,
              expires_at: now + SET_PASSWORD_TTL_MS,
              consumed_at: null,
              created_at: now,
            })
            .execute();
          await enqueueEmail(
            trx,
            mails.addedToOrganization(
              user.email,
              user.first_name,
              facts.org.name,
              rt.config.publicUrl,
              user.password_hash === null ? setPasswordToken : null,
            ),
            now,
          );
        }
        await audit(trx, meta, actor, orgId, 'member.added', user.id, {
          after: { email: user.email, grants, login_method: input.login_method ?? null },
        });
        return user.id;
      }).catch((error: unknown) => {
        // The same address added at the same moment elsewhere (another organization, or a
        // registration) created the user first: a conflict to retry, never a 500.
        if (isUniqueViolation(error))
          throw new AppError(
            'conflict',
            'This person was added or registered just now; try again',
            {
              reason: 'concurrent_add',
            },
          );
        throw error;
      });
      bus.publish(`member:${orgId}:${userId}`);
      bus.publish(`user:${userId}`);
      if (setPasswordToken) rt.notifyOutbox();
      return this.detail(orgId, userId);
    },

    async list(
      orgId: string,
      query: {
        limit: number;
        cursor?: string;
        search?: string;
        role?: string;
        account?: string;
        status?: 'active' | 'suspended';
        login_method?: string;
        sort: 'name' | 'email' | 'joined';
        order: 'asc' | 'desc';
      },
      /** where the caller holds members:read (set by the access hook); absent: everywhere */
      reach?: Reach,
    ) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      assertNoNul(query, ['search', 'role', 'account']);
      const within =
        reach && !reach.organization ? await withinOf(orgId, reach, query.account) : undefined;
      // An account filter outside the reach matches nobody the caller may see.
      if (within && within.accounts.length === 0 && within.scopes.length === 0)
        return { data: [], next_cursor: null };
      const rows = await repo.listMembers(db, rt.dialect, orgId, {
        ...query,
        within,
        search: query.search || undefined,
        loginMethod: query.login_method,
        after: query.cursor ? decodeCursor(query.cursor, query.sort) : undefined,
      });
      const page = rows.slice(0, query.limit);
      const grants = await grantsWithin(
        await repo.findGrantsOfMembers(
          db,
          orgId,
          page.map((r) => r.user_id),
        ),
        reach,
      );
      const byUser = new Map<string, GrantsTable[]>();
      for (const g of grants) byUser.set(g.user_id, [...(byUser.get(g.user_id) ?? []), g]);
      const last = page[page.length - 1];
      const sortValue = (r: (typeof page)[number]) =>
        query.sort === 'name' ? r.sort_name : query.sort === 'email' ? r.email : r.joined_at;
      return {
        data: page.map((r) => ({
          user_id: r.user_id,
          email: r.email,
          first_name: r.first_name,
          last_name: r.last_name,
          status: r.status,
          user_status: r.user_status,
          is_owner: r.user_id === facts.org.owner_user_id,
          joined_at: toIso(r.joined_at),
          invited_by: r.invited_by,
          grants: (byUser.get(r.user_id) ?? []).map(toGrantView),
          login_methods: r.login_methods ? (JSON.parse(r.login_methods) as string[]) : null,
        })),
        next_cursor:
          rows.length > query.limit && last
            ? encodeCursor(query.sort, sortValue(last), last.user_id)
            : null,
      };
    },

    /** With a partial `reach` (see `list`), only the grants within it are shown. */
    async detail(orgId: string, userId: string, reach?: Reach) {
      const facts = await access.loadOrg(orgId);
      const m = await repo.findMember(db, orgId, userId);
      assertThat(facts && m, 'not_found', 'No such member');
      const grants = await grantsWithin(await grantsOf(db, orgId, userId), reach);
      return {
        user_id: m.user_id,
        email: m.email,
        first_name: m.first_name,
        last_name: m.last_name,
        status: m.status,
        user_status: m.user_status,
        is_owner: userId === facts.org.owner_user_id,
        joined_at: toIso(m.joined_at),
        invited_by: m.invited_by,
        grants: grants.map(toGrantView),
        timezone: m.timezone,
        created_at: toIso(m.created_at),
        updated_at: toIso(m.updated_at),
        last_login_at: toIsoOrNull(m.last_login_at),
        managed_by_organization:
          m.managed_by_org_id === orgId && (await repo.countMemberships(db, userId)) === 1,
        effective_permissions: await access.effective(orgId, userId, orgId),
        login_methods: m.login_methods ? (JSON.parse(m.login_methods) as string[]) : null,
      };
    },

    /**
     * The caller's own membership (Personal Settings shows "your role"): every member may read
     * their own grants and role names, whatever their permissions (issue 11).
     */
    async mine(orgId: string, userId: string) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      const detail = await this.detail(orgId, userId);
      const keys = [...new Set(detail.grants.map((g) => g.role).filter((k) => k !== null))];
      const roles = keys.map((key) => ({ key, name: facts.roles.roles.get(key)?.name ?? key }));
      if (detail.is_owner) roles.unshift({ key: 'owner', name: 'Owner' });
      // What the member holds somewhere in the organization (at its scope, an account or a
      // resource): what a console shows menus for. Each act is still judged at its own scope.
      const anywhere = new Set<string>(detail.is_owner ? access.catalog.all : []);
      const held = await grantsOf(db, orgId, userId);
      for (const g of held) {
        const patterns = g.role
          ? (facts.roles.roles.get(g.role)?.permissions ?? [])
          : (g.permissions ?? []);
        for (const p of expandPatterns(access.catalog, [...patterns])) anywhere.add(p);
      }
      return {
        ...detail,
        organization: { id: orgId, name: facts.org.name, template: facts.org.template },
        roles,
        permissions_anywhere: [...anywhere].sort(),
      };
    },

    /**
     * A member's login type: the sign-in methods their sessions may reach this organization
     * with (null: any the organization allows). The owner's is set by the owner only, and
     * nobody may set their own to exclude the session they are using (policy_lockout).
     */
    async setLoginMethods(
      actor: UserPrincipal,
      orgId: string,
      userId: string,
      loginMethods: string[] | null,
      meta: RequestMeta,
    ) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      if (userId === facts.org.owner_user_id && actor.userId !== userId)
        throw new AppError('forbidden', "Only the owner sets the owner's login type", {
          reason: 'owner_only',
        });
      if (actor.userId === userId && loginMethods !== null) {
        const mine = loginMethodOf(actor.amr);
        if (!loginMethods.includes(mine))
          throw new AppError('policy_lockout', `This session signed in with ${mine}; keep it`, {
            login_method: mine,
          });
      }
      const value = loginMethods === null ? null : JSON.stringify([...new Set(loginMethods)]);
      await inTransaction(async (trx) => {
        await lockOrganization(trx, orgId);
        await requireMember(trx, orgId, userId);
        const before = await trx
          .selectFrom('memberships')
          .select('login_methods')
          .where('organization_id', '=', orgId)
          .where('user_id', '=', userId)
          .executeTakeFirstOrThrow();
        if (before.login_methods === value) return;
        await trx
          .updateTable('memberships')
          .set({ login_methods: value, updated_at: clock.now() })
          .where('organization_id', '=', orgId)
          .where('user_id', '=', userId)
          .execute();
        await audit(trx, meta, actor, orgId, 'member.login_methods_changed', userId, {
          before: before.login_methods ? JSON.parse(before.login_methods) : null,
          after: loginMethods,
        });
      });
      bus.publish(`member:${orgId}:${userId}`);
      return this.detail(orgId, userId);
    },

    /** Your own need no permission; another's need members:read where asked (see access). */
    async permissions(actor: UserPrincipal, orgId: string, userId: string, scope?: string) {
      const target = scope ?? orgId;
      await access.assertMayReadMemberAt(actor, orgId, userId, target);
      const m = await repo.findMember(db, orgId, userId);
      assertThat(m, 'not_found', 'No such member');
      const chain = await access.resolveScope(target);
      if (!chain || chain.organizationId !== orgId)
        throw new AppError('not_found', 'No such scope in this organization');
      return {
        user_id: userId,
        scope: target,
        permissions: await access.effective(orgId, userId, target),
      };
    },

    /**
     * Replaces all of a member's grants. Every grant removed and every grant added must be one
     * the actor could give (members:update there + no escalation): nobody takes away or hands
     * out more than they hold.
     */
    async replaceGrants(
      actor: UserPrincipal,
      orgId: string,
      userId: string,
      grants: Grant[],
      meta: RequestMeta,
    ) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      const key = (g: Grant) =>
        JSON.stringify([g.role ?? null, g.permissions ? [...g.permissions].sort() : null, g.scope]);
      const wanted = [...new Map(grants.map((g) => [key(g), g])).values()];
      // Where each grant is in the request: errors name the body's index, not the index in the
      // list of changes checked (removed grants first), which misled (issue 10 #23).
      const bodyIndex = new Map<string, number>();
      grants.forEach((g, i) => {
        if (!bodyIndex.has(key(g))) bodyIndex.set(key(g), i);
      });
      // Grants the actor was found allowed to take away or hand out (checked outside the
      // transaction: the checks read through the caches, which must not wait on it).
      const cleared = new Set<string>();
      // The grants to remove depend on the current ones, which a concurrent change may alter
      // between the check and the write: the write re-reads them under the lock and, if that
      // removes or adds something not yet checked, goes round again (then gives up with 409).
      for (let attempt = 0; attempt < 3; attempt++) {
        const currentRows = await grantsOf(db, orgId, userId);
        const current = currentRows.map(rowToGrant);
        const changes = (from: Grant[]) => [
          ...from.filter((g) => !wanted.some((w) => key(w) === key(g))),
          ...wanted.filter((w) => !from.some((g) => key(g) === key(w))),
        ];
        const unchecked = changes(current).filter((g) => !cleared.has(key(g)));
        const existingId = new Map(currentRows.map((r) => [key(rowToGrant(r)), r.id]));
        await assertMayChange(
          actor,
          orgId,
          facts,
          unchecked,
          unchecked.map((g) => {
            const at = bodyIndex.get(key(g));
            // a grant being taken away is not in the body: name it by its id
            return at !== undefined
              ? `body.grants.${at}`
              : `existing_grants.${existingId.get(key(g))}`;
          }),
        );
        for (const g of unchecked) cleared.add(key(g));
        const now = clock.now();
        const rows = await inTransaction(async (trx) => {
          await lockOrganization(trx, orgId);
          await requireMember(trx, orgId, userId);
          const beforeRows = await grantsOf(trx, orgId, userId);
          const before = beforeRows.map(rowToGrant);
          const diff = changes(before);
          if (diff.some((g) => !cleared.has(key(g)))) return null;
          // the same set again: nothing to write (nor to audit)
          if (diff.length === 0) return beforeRows;
          await trx
            .deleteFrom('grants')
            .where('organization_id', '=', orgId)
            .where('user_id', '=', userId)
            .execute();
          await insertGrantRows(trx, orgId, userId, wanted, actor.userId, now);
          await audit(trx, meta, actor, orgId, 'member.grants_replaced', userId, {
            before,
            after: wanted,
          });
          return grantsOf(trx, orgId, userId);
        });
        if (rows) {
          bus.publish(`member:${orgId}:${userId}`);
          return { data: rows.map(toGrantView) };
        }
      }
      throw new AppError('conflict', "The member's grants kept changing meanwhile; try again");
    },

    async addGrants(
      actor: UserPrincipal,
      orgId: string,
      userId: string,
      grants: Grant[],
      meta: RequestMeta,
    ) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      await assertMayChange(actor, orgId, facts, grants);
      const now = clock.now();
      const rows = await inTransaction(async (trx) => {
        await lockOrganization(trx, orgId);
        await requireMember(trx, orgId, userId);
        await insertGrantRows(trx, orgId, userId, grants, actor.userId, now);
        await audit(trx, meta, actor, orgId, 'member.grants_added', userId, { after: grants });
        return grantsOf(trx, orgId, userId);
      });
      bus.publish(`member:${orgId}:${userId}`);
      return { data: rows.map(toGrantView) };
    },

    async removeGrants(
      actor: UserPrincipal,
      orgId: string,
      userId: string,
      grantIds: string[],
      meta: RequestMeta,
    ) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      const existing = (await grantsOf(db, orgId, userId)).filter((g) => grantIds.includes(g.id));
      if (existing.length !== new Set(grantIds).size)
        throw new AppError('not_found', 'Some grants do not belong to this member');
      await assertMayChange(actor, orgId, facts, existing.map(rowToGrant));
      const rows = await inTransaction(async (trx) => {
        await lockOrganization(trx, orgId);
        await trx
          .deleteFrom('grants')
          .where('organization_id', '=', orgId)
          .where('user_id', '=', userId)
          .where('id', 'in', grantIds)
          .execute();
        await audit(trx, meta, actor, orgId, 'member.grants_removed', userId, {
          before: existing.map(rowToGrant),
        });
        return grantsOf(trx, orgId, userId);
      });
      bus.publish(`member:${orgId}:${userId}`);
      return { data: rows.map(toGrantView) };
    },

    /**
     * Suspend, reactivate or remove members, each id on its own merits (per-id results), all in
     * one transaction. The owner cannot be suspended or removed, nor can the actor suspend
     * themselves; a member may remove themselves (leave).
     */
    async bulk(
      actor: UserPrincipal,
      orgId: string,
      action: BulkAction,
      userIds: string[],
      meta: RequestMeta,
    ) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      let ownerId = facts.org.owner_user_id;
      const permission = action === 'remove' ? 'members:remove' : 'members:update';
      // Where the actor holds it: the organization (anyone), some accounts (members holding
      // something there), or nowhere (issue 10 #4).
      const reach = await access.reach(actor, orgId, permission);
      const allowed = !reachIsEmpty(reach);
      const now = clock.now();
      const touched: string[] = [];
      const results = await inTransaction(async (trx) => {
        // The owner as of now, under the lock: the cached one may be the owner before a
        // transfer that just committed, and the new owner must not be suspended or removed.
        ownerId = (await lockOrganization(trx, orgId)).owner_user_id;
        const out: {
          user_id: string;
          status: 'done' | 'unchanged' | 'not_found' | 'forbidden';
          detail?: string;
        }[] = [];
        for (const userId of [...new Set(userIds)]) {
          const m = await trx
            .selectFrom('memberships')
            .select('status')
            .where('organization_id', '=', orgId)
            .where('user_id', '=', userId)
            .executeTakeFirst();
          if (!m) {
            out.push({ user_id: userId, status: 'not_found' });
            continue;
          }
          const leaving = action === 'remove' && userId === actor.userId;
          if (!allowed && !leaving) {
            out.push({ user_id: userId, status: 'forbidden', detail: `needs ${permission}` });
            continue;
          }
          // A partial reach (an account admin): the member must hold something within it, and
          // the act may not reach past it. Suspending is organization-wide, so it needs the
          // whole of the member to lie within; removing takes away what lies within (their
          // grants on the actor's accounts) and ends the membership only when nothing else
          // remains.
          let onlyWithin: GrantsTable[] | null = null;
          if (!leaving && !reach.organization) {
            const p = await partition(trx, orgId, userId, reach);
            if (p.inside.length === 0 && !p.ownsInside) {
              out.push({ user_id: userId, status: 'not_found' });
              continue;
            }
            if (p.owned.length > 0 && userId !== ownerId) {
              out.push({
                user_id: userId,
                status: 'forbidden',
                detail: 'this member owns an account; its ownership must be transferred first',
              });
              continue;
            }
            if (p.outside.length > 0) {
              if (action !== 'remove') {
                out.push({
                  user_id: userId,
                  status: 'forbidden',
                  detail: `this member also has access outside the scopes where you hold ${permission}; remove their grants on yours instead`,
                });
                continue;
              }
              onlyWithin = p.inside;
            }
          }
          if (userId === ownerId) {
            out.push({
              user_id: userId,
              status: 'forbidden',
              detail: 'the owner cannot be suspended or removed; transfer ownership first',
            });
            continue;
          }
          if (action === 'suspend' && userId === actor.userId) {
            out.push({
              user_id: userId,
              status: 'forbidden',
              detail: 'you cannot suspend yourself',
            });
            continue;
          }
          if (action === 'remove' && onlyWithin) {
            await trx
              .deleteFrom('grants')
              .where('organization_id', '=', orgId)
              .where('user_id', '=', userId)
              .where(
                'id',
                'in',
                onlyWithin.map((g) => g.id),
              )
              .execute();
            await audit(trx, meta, actor, orgId, 'member.grants_removed', userId, {
              before: onlyWithin.map(rowToGrant),
              reason: 'removed from the scopes the actor manages; still a member elsewhere',
            });
          } else if (action === 'remove') {
            const accounts = await removeOne(trx, orgId, ownerId, userId, now);
            await audit(
              trx,
              meta,
              actor,
              orgId,
              leaving ? 'member.left' : 'member.removed',
              userId,
              accounts.length ? { accounts_passed_to_owner: accounts } : undefined,
            );
          } else {
            const next = action === 'suspend' ? 'suspended' : 'active';
            if (m.status === next) {
              out.push({ user_id: userId, status: 'unchanged' });
              continue;
            }
            // Guarded on the status read above: a change recorded is a change made.
            const changed = await trx
              .updateTable('memberships')
              .set({ status: next, updated_at: now })
              .where('organization_id', '=', orgId)
              .where('user_id', '=', userId)
              .where('status', '=', m.status)
              .executeTakeFirst();
            if (Number(changed.numUpdatedRows) !== 1) {
              out.push({ user_id: userId, status: 'unchanged' });
              continue;
            }
            // A suspended member can neither accept an ownership offer nor keep one open: end
            // theirs here, under the lock, so that an acceptance racing with this suspension
            // finds its offer no longer pending instead of making a suspended owner.
            if (next === 'suspended')
              await trx
                .updateTable('ownership_offers')
                .set({ status: 'withdrawn', resolved_at: now })
                .where('organization_id', '=', orgId)
                .where('status', '=', 'pending')
                .where((eb) =>
                  eb.or([eb('to_user_id', '=', userId), eb('from_user_id', '=', userId)]),
                )
                .execute();
            await audit(
              trx,
              meta,
              actor,
              orgId,
              action === 'suspend' ? 'member.suspended' : 'member.reactivated',
              userId,
              { before: { status: m.status }, after: { status: next } },
            );
          }
          touched.push(userId);
          out.push({ user_id: userId, status: 'done' });
        }
        return out;
      });
      for (const u of touched) bus.publish(`member:${orgId}:${u}`);
      if (action === 'remove' && touched.length > 0) bus.publish(`member:${orgId}:${ownerId}`);
      return { results };
    },

    /** One member, as the single-member routes need it: a refusal is an error, not a result row. */
    async one(
      actor: UserPrincipal,
      orgId: string,
      action: BulkAction,
      userId: string,
      meta: RequestMeta,
    ) {
      const [result] = (await this.bulk(actor, orgId, action, [userId], meta)).results;
      if (result?.status === 'not_found') throw new AppError('not_found', 'No such member');
      if (result?.status === 'forbidden') throw new AppError('forbidden', result.detail);
    },

    /**
     * Name, email and timezone of a user this organization manages alone (it created the user
     * and the user belongs nowhere else); everyone else edits their own profile.
     */
    async updateManaged(
      actor: UserPrincipal,
      orgId: string,
      userId: string,
      input: { first_name?: string; last_name?: string; email?: string; timezone?: string | null },
      meta: RequestMeta,
    ) {
      if (typeof input.timezone === 'string' && !isValidTimezone(input.timezone)) {
        throw new AppError('validation_failed', 'timezone must be an IANA time zone', {
          errors: [{ path: 'body.timezone', message: 'unknown time zone' }],
        });
      }
      const now = clock.now();
      await inTransaction(async (trx) => {
        await lockOrganization(trx, orgId);
        await requireMember(trx, orgId, userId);
        const user = await trx
          .selectFrom('users')
          .selectAll()
          .where('id', '=', userId)
          .executeTakeFirstOrThrow();
        if (user.managed_by_org_id !== orgId || (await repo.countMemberships(trx, userId)) !== 1) {
          throw new AppError(
            'forbidden',
            'This user manages their own profile; only users created by this organization and belonging nowhere else can be edited here',
          );
        }
        if (input.email && input.email !== user.email) {
          const taken = await trx
            .selectFrom('users')
            .select('id')
            .where('email', '=', input.email)
            .executeTakeFirst();
          if (taken) throw new AppError('email_taken', 'Another account uses this email');
        }
        const changes = {
          ...(input.first_name !== undefined ? { first_name: input.first_name } : {}),
          ...(input.last_name !== undefined ? { last_name: input.last_name } : {}),
          ...(input.email !== undefined ? { email: input.email } : {}),
          ...(input.timezone !== undefined ? { timezone: input.timezone } : {}),
        };
        if (Object.keys(changes).length === 0) return;
        // A new address is not proven by the organization saying so: until its owner proves it
        // (a mailed code, a reset, a provider that verified it), it signs in nowhere and a
        // provider sign-in treats the account as unproven, keeping nothing of it. Otherwise an
        // admin could point a managed account at someone else's address and have that person's
        // Google sign-in land in an account the organization controls.
        const emailChanged = input.email !== undefined && input.email !== user.email;
        await trx
          .updateTable('users')
          .set({
            ...changes,
            ...(emailChanged ? { email_verified_at: null } : {}),
            updated_at: now,
          })
          .where('id', '=', userId)
          .execute();
        const after = { ...user, ...changes };
        await trx
          .updateTable('memberships')
          .set({
            sort_name: sortName(after.first_name, after.last_name),
            email: after.email,
            updated_at: now,
          })
          .where('user_id', '=', userId)
          .execute();
        const keys = Object.keys(changes) as (keyof typeof changes)[];
        await audit(trx, meta, actor, orgId, 'member.profile_updated', userId, {
          before: Object.fromEntries(keys.map((k) => [k, user[k]])),
          after: changes,
        });
      }).catch((error: unknown) => {
        // the address was taken between the check above and the write
        if (isUniqueViolation(error))
          throw new AppError('email_taken', 'Another account uses this email');
        throw error;
      });
      bus.publish(`user:${userId}`);
      return this.detail(orgId, userId);
    },
  };
}

export type MemberService = ReturnType<typeof createMemberService>;

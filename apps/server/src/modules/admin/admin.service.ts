import { sql, type Transaction } from 'kysely';
import { escapeLike } from '../../db/dialect';
import type { DB } from '../../db/schema';
import { enqueueEmail } from '../../delivery/outbox';
import { mails } from '../../delivery/templates';
import type { RequestMeta, UserPrincipal } from '../../http/context';
import { AppError, assertThat } from '../../http/errors';
import { toIso, toIsoOrNull } from '../../lib/clock';
import { newId } from '../../lib/ids';
import { hashToken, randomToken } from '../../lib/secrets';
import type { Runtime } from '../../runtime';
import type { AccessService } from '../access/access.service';
import { insertAuditEvent } from '../audit/audit.repo';
import { retryOnUniqueViolation } from '../invitations/invitations.service';
import { policiesOf, toOrganization } from '../organizations/organizations.presenter';
import {
  insertMembership,
  insertOrganization,
  slugTaken,
  sortName,
} from '../organizations/organizations.repo';
import { slugify } from '../organizations/organizations.service';
import * as sessionsRepo from '../sessions/sessions.repo';
import type { SessionService } from '../sessions/sessions.service';
import { insertUser, type UserRow } from '../users/users.repo';

const SET_PASSWORD_TTL_MS = 7 * 24 * 3600 * 1000;
/**
 * A search term is plain text: `%`, `_` and `\` are escaped, and every LIKE says `escape '\'`
 * (SQLite has no default escape character; without the clause `\%` would match literally).
 */

/**
 * Platform administration: the operator running Gatehouse creates customers (organizations)
 * and manages users across tenants. Every act is audited with the platform admin as actor.
 */
export function createAdminService(rt: Runtime, access: AccessService, sessions: SessionService) {
  const { db, clock, bus } = rt;
  const audit = (
    trx: Transaction<DB>,
    meta: RequestMeta,
    actor: UserPrincipal,
    orgId: string | null,
    action: string,
    target: { type: string; id: string },
    changes?: Record<string, unknown>,
  ) =>
    insertAuditEvent(
      trx,
      meta,
      {
        organizationId: orgId,
        actor: { type: 'platform_admin', id: actor.userId },
        action,
        target,
        changes,
      },
      clock.now(),
    );

  async function orgCounts(orgIds: string[]) {
    if (orgIds.length === 0) return new Map<string, number>();
    const rows = await db
      .selectFrom('memberships')
      .select(['organization_id', (eb) => eb.fn.countAll().as('n')])
      .where('organization_id', 'in', orgIds)
      .groupBy('organization_id')
      .execute();
    return new Map(rows.map((r) => [r.organization_id, Number(r.n)]));
  }

  return {
    /**
     * Creates a customer: the organization, its owner (found by email, or created from the
     * customer profile as a user managed by it), and a mail to the owner — with a set-password
     * link when the owner is new.
     */
    async createCustomer(
      actor: UserPrincipal,
      input: {
        name: string;
        slug?: string;
        template: string;
        owner: { email: string; first_name: string; last_name: string };
      },
      meta: RequestMeta,
    ) {
      if (!access.catalog.templates.has(input.template))
        throw new AppError('validation_failed', `Unknown template "${input.template}"`, {
          errors: [{ path: 'body.template', message: 'unknown template' }],
        });
      const now = clock.now();
      const orgId = newId('org', now);
      const token = randomToken();
      // Two customers created at once for one new owner (or with one derived slug) race on a
      // unique index; the loser is replayed whole and then finds the winner's user (or slug).
      const row = await retryOnUniqueViolation(() =>
        db.transaction().execute(async (trx) => {
          let slug = input.slug ?? slugify(input.name);
          if (await slugTaken(trx, slug)) {
            if (input.slug) throw new AppError('conflict', `The slug "${slug}" is taken`);
            slug = `${slug}-${token
              .slice(0, 6)
              .toLowerCase()
              .replace(/[^a-z0-9]/g, 'x')}`;
          }
          let owner = await trx
            .selectFrom('users')
            .selectAll()
            .where('email', '=', input.owner.email)
            .executeTakeFirst();
          const isNew = !owner;
          if (!owner) {
            const id = newId('usr', now);
            await insertUser(
              trx,
              {
                id,
                email: input.owner.email,
                password_hash: null,
                first_name: input.owner.first_name,
                last_name: input.owner.last_name,
                managed_by_org_id: orgId,
              },
              now,
            );
            owner = await trx
              .selectFrom('users')
              .selectAll()
              .where('id', '=', id)
              .executeTakeFirstOrThrow();
          }
          const org = {
            id: orgId,
            name: input.name,
            slug,
            template: input.template,
            owner_user_id: owner.id,
            status: 'active' as const,
            settings: '{}',
            policies: JSON.stringify(policiesOf({ policies: '{}' })),
            created_by: actor.userId,
            created_at: now,
            updated_at: now,
          };
          await insertOrganization(trx, org);
          await insertMembership(trx, {
            organization_id: orgId,
            user_id: owner.id,
            status: 'active',
            invited_by: actor.userId,
            login_methods: null,
            sort_name: sortName(owner.first_name, owner.last_name),
            email: owner.email,
            joined_at: now,
            updated_at: now,
          });
          const needsPassword = isNew || owner.password_hash === null;
          if (needsPassword)
            await trx
              .insertInto('password_resets')
              .values({
                token_hash: hashToken(token),
                user_id: owner.id,
                expires_at: now + SET_PASSWORD_TTL_MS,
                consumed_at: null,
                created_at: now,
              })
              .execute();
          await enqueueEmail(
            trx,
            mails.organizationCreatedForYou(
              owner.email,
              owner.first_name,
              input.name,
              rt.config.publicUrl,
              needsPassword ? token : null,
            ),
            now,
          );
          await audit(
            trx,
            meta,
            actor,
            orgId,
            'customer.created',
            { type: 'organization', id: orgId },
            {
              after: {
                name: input.name,
                slug,
                template: input.template,
                owner_id: owner.id,
                owner_created: isNew,
              },
            },
          );
          return org;
        }),
      );
      bus.publish(`member:${orgId}:${row.owner_user_id}`);
      rt.notifyOutbox();
      return toOrganization(row);
    },

    async listCustomers(query: {
      limit: number;
      cursor?: string;
      search?: string;
      status?: string;
    }) {
      let q = db.selectFrom('organizations').selectAll();
      if (query.search) {
        const term = `%${escapeLike(query.search.toLowerCase())}%`;
        q = q.where((eb) =>
          eb.or([
            sql<boolean>`lower(name) like ${term} escape '\\'`,
            sql<boolean>`slug like ${term} escape '\\'`,
          ]),
        );
      }
      if (query.status === 'active' || query.status === 'suspended')
        q = q.where('status', '=', query.status);
      if (query.cursor) q = q.where('id', '<', query.cursor);
      const rows = await q
        .orderBy('id', 'desc')
        .limit(query.limit + 1)
        .execute();
      const pageRows = rows.slice(0, query.limit);
      const counts = await orgCounts(pageRows.map((r) => r.id));
      return {
        data: pageRows.map((r) => ({ ...toOrganization(r), members: counts.get(r.id) ?? 0 })),
        next_cursor: rows.length > query.limit ? pageRows[pageRows.length - 1]!.id : null,
      };
    },

    async getCustomer(orgId: string) {
      const row = await db
        .selectFrom('organizations')
        .selectAll()
        .where('id', '=', orgId)
        .executeTakeFirst();
      assertThat(row, 'not_found', 'No such customer');
      return { ...toOrganization(row), members: (await orgCounts([orgId])).get(orgId) ?? 0 };
    },

    /** A suspended organization refuses all its members (and keys) at once; reactivating restores them. */
    async setCustomerStatus(
      actor: UserPrincipal,
      orgId: string,
      status: 'active' | 'suspended',
      meta: RequestMeta,
    ) {
      const now = clock.now();
      await db.transaction().execute(async (trx) => {
        const before = await trx
          .selectFrom('organizations')
          .select('status')
          .where('id', '=', orgId)
          .executeTakeFirst();
        assertThat(before, 'not_found', 'No such customer');
        if (before.status === status) return;
        await trx
          .updateTable('organizations')
          .set({ status, updated_at: now })
          .where('id', '=', orgId)
          .execute();
        await audit(
          trx,
          meta,
          actor,
          orgId,
          status === 'suspended' ? 'customer.suspended' : 'customer.reactivated',
          { type: 'organization', id: orgId },
          { before: { status: before.status }, after: { status } },
        );
      });
      bus.publish(`org:${orgId}`);
      return this.getCustomer(orgId);
    },

    async listUsers(query: { limit: number; cursor?: string; search?: string; status?: string }) {
      let q = db.selectFrom('users').selectAll();
      if (query.search) {
        const term = `%${escapeLike(query.search.toLowerCase())}%`;
        q = q.where((eb) =>
          eb.or([
            sql<boolean>`email like ${term} escape '\\'`,
            sql<boolean>`lower(first_name) like ${term} escape '\\'`,
            sql<boolean>`lower(last_name) like ${term} escape '\\'`,
          ]),
        );
      }
      if (
        query.status === 'active' ||
        query.status === 'suspended' ||
        query.status === 'deactivated'
      )
        q = q.where('status', '=', query.status);
      if (query.cursor) q = q.where('id', '<', query.cursor);
      const rows = await q
        .orderBy('id', 'desc')
        .limit(query.limit + 1)
        .execute();
      const pageRows = rows.slice(0, query.limit);
      const counts = pageRows.length
        ? await db
            .selectFrom('memberships')
            .select(['user_id', (eb) => eb.fn.countAll().as('n')])
            .where(
              'user_id',
              'in',
              pageRows.map((r) => r.id),
            )
            .groupBy('user_id')
            .execute()
        : [];
      const byUser = new Map(counts.map((c) => [c.user_id, Number(c.n)]));
      return {
        data: pageRows.map((u) => toAdminUser(u, byUser.get(u.id) ?? 0)),
        next_cursor: rows.length > query.limit ? pageRows[pageRows.length - 1]!.id : null,
      };
    },

    /**
     * Suspend (reversible), reactivate, or deactivate a user. Suspended and deactivated users
     * are refused on their next request everywhere; their sessions are revoked too, so even a
     * later reactivation means signing in again.
     */
    async setUserStatus(
      actor: UserPrincipal,
      userId: string,
      status: 'active' | 'suspended' | 'deactivated',
      meta: RequestMeta,
    ) {
      if (userId === actor.userId && status !== 'active')
        throw new AppError('forbidden', 'You cannot suspend or deactivate yourself');
      const now = clock.now();
      const revoked = await db.transaction().execute(async (trx) => {
        const before = await trx
          .selectFrom('users')
          .select(['status', 'is_platform_admin'])
          .where('id', '=', userId)
          .executeTakeFirst();
        assertThat(before, 'not_found', 'No such user');
        if (before.status === status) return [];
        await trx
          .updateTable('users')
          .set({ status, updated_at: now })
          .where('id', '=', userId)
          .execute();
        const ids =
          status === 'active'
            ? []
            : await sessions.revokeAllInTransaction(trx, userId, `user_${status}`);
        await audit(
          trx,
          meta,
          actor,
          null,
          `user.${status === 'active' ? 'reactivated' : status}`,
          { type: 'user', id: userId },
          { before: { status: before.status }, after: { status }, sessions_revoked: ids.length },
        );
        return ids;
      });
      bus.publish(`user:${userId}`);
      sessions.publishRevoked(revoked);
      const user = await db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', userId)
        .executeTakeFirstOrThrow();
      const memberships = await db
        .selectFrom('memberships')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      return toAdminUser(user, Number(memberships.n));
    },

    /**
     * A support desk's answer to "I lost my phone": removes every second factor and recovery
     * code of the user in one transaction, audited, and mails the user (a reset they did not
     * ask for must not go unnoticed). Their sessions keep working; the next sign-in asks for the
     * password alone (or for enrolment, where an organization requires a second factor).
     * An admin's own factors are managed in Personal settings, where removing one needs a factor.
     * @see issue 12, item 9
     */
    async resetMfa(actor: UserPrincipal, userId: string, meta: RequestMeta) {
      if (userId === actor.userId)
        throw new AppError('forbidden', 'Manage your own second factors in your personal settings');
      const now = clock.now();
      const result = await db.transaction().execute(async (trx) => {
        const user = await trx
          .selectFrom('users')
          .select(['id', 'email', 'first_name', 'timezone'])
          .where('id', '=', userId)
          .executeTakeFirst();
        assertThat(user, 'not_found', 'No such user');
        const factors = await trx
          .deleteFrom('mfa_factors')
          .where('user_id', '=', userId)
          .returning(['id', 'type', 'confirmed_at'])
          .execute();
        const codes = await trx
          .deleteFrom('recovery_codes')
          .where('user_id', '=', userId)
          .returning('user_id')
          .execute();
        const confirmed = factors.filter((f) => f.confirmed_at !== null);
        if (confirmed.length > 0 || codes.length > 0)
          await enqueueEmail(
            trx,
            mails.securityChanged(
              user.email,
              user.first_name,
              'A Gatehouse administrator removed all second factors (authenticator apps, phone numbers) and recovery codes from your account, as asked of the support desk. You now sign in with your password alone; set up a second factor again in your personal settings.',
              now,
              user.timezone,
            ),
            now,
          );
        await audit(
          trx,
          meta,
          actor,
          null,
          'user.mfa_reset',
          { type: 'user', id: userId },
          {
            factors_removed: factors.map((f) => ({ id: f.id, type: f.type })),
            recovery_codes_removed: codes.length,
          },
        );
        return { factors_removed: confirmed.length, recovery_codes_removed: codes.length };
      });
      bus.publish(`user:${userId}`);
      rt.notifyOutbox();
      return result;
    },

    /** A user's active sessions, newest first, as they see them in their own settings. */
    async listUserSessions(actor: UserPrincipal, userId: string, limit: number, cursor?: string) {
      const user = await db
        .selectFrom('users')
        .select('id')
        .where('id', '=', userId)
        .executeTakeFirst();
      assertThat(user, 'not_found', 'No such user');
      return sessions.list(userId, actor.sessionId, limit, cursor);
    },

    /**
     * Revokes one session of a user: refused on its next request (the revocation is published
     * to every cache). Another user's session id, or one already revoked, is a 404.
     */
    async revokeUserSession(
      actor: UserPrincipal,
      userId: string,
      sessionId: string,
      meta: RequestMeta,
    ) {
      const now = clock.now();
      const done = await db.transaction().execute(async (trx) => {
        const session = await sessionsRepo.findSessionById(trx, sessionId);
        if (!session || session.user_id !== userId || session.revoked_at !== null) return false;
        // The guarded UPDATE decides: of two simultaneous revocations only one is audited.
        if (!(await sessionsRepo.revokeSession(trx, sessionId, 'revoked_by_platform_admin', now)))
          return false;
        await audit(
          trx,
          meta,
          actor,
          null,
          'session.revoked',
          { type: 'session', id: sessionId },
          { reason: 'revoked_by_platform_admin', user_id: userId },
        );
        return true;
      });
      if (!done) throw new AppError('not_found', 'No such session');
      sessions.publishRevoked([sessionId]);
    },
  };
}

/** A user as platform administration shows it, with how many organizations they belong to. */
function toAdminUser(u: UserRow, organizations: number) {
  return {
    id: u.id,
    email: u.email,
    first_name: u.first_name,
    last_name: u.last_name,
    status: u.status,
    email_verified: u.email_verified_at !== null,
    is_platform_admin: u.is_platform_admin === 1,
    created_at: toIso(u.created_at),
    last_login_at: toIsoOrNull(u.last_login_at),
    organizations,
  };
}

export type AdminService = ReturnType<typeof createAdminService>;

import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Grant, Template } from '../../authz';
import { isUniqueViolation } from '../../db/dialect';
import type { DB, OrganizationsTable } from '../../db/schema';
import type { RequestMeta, UserPrincipal } from '../../http/context';
import { AppError, assertThat } from '../../http/errors';
import { newId } from '../../lib/ids';
import type { Runtime } from '../../runtime';
import type { AccessService } from '../access/access.service';
import { insertAuditEvent } from '../audit/audit.repo';
import { loginMethodOf } from '../sessions/sessions.service';
import { parseJsonObject } from '../users/users.presenter';
import { findUserById } from '../users/users.repo';
import { policiesOf, toOffer, toOrganization } from './organizations.presenter';
import * as repo from './organizations.repo';

export function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return base || 'org';
}

/** Organization settings are free-form but small: at most 8 KiB of JSON. */
function assertSettingsSize(settings: Record<string, unknown>) {
  if (Buffer.byteLength(JSON.stringify(settings)) > 8192)
    throw new AppError('validation_failed', 'settings are larger than 8 KiB', {
      errors: [{ path: 'body.settings', message: 'larger than 8 KiB' }],
    });
}

/**
 * What a former owner keeps after handing ownership over: an admin-level grant. The template's
 * `admin` role where it can be granted at that level; otherwise every permission but deleting
 * the organization (or, for an account, everything within it), as an inline grant.
 */
export function formerOwnerGrant(
  template: Template,
  catalogAll: ReadonlySet<string>,
  subjectId: string,
): Grant {
  const level = subjectId.startsWith('org_') ? 'organization' : 'account';
  const admin = template.roles.find((r) => r.key === 'admin');
  if (admin?.grantableAt.includes(level)) return { role: 'admin', scope: subjectId };
  if (level === 'account') return { permissions: ['*'], scope: subjectId };
  return {
    permissions: [...catalogAll].filter((p) => p !== 'organization:delete').sort(),
    scope: subjectId,
  };
}

export async function insertGrantRows(
  trx: Transaction<DB>,
  orgId: string,
  userId: string,
  grants: Grant[],
  createdBy: string | null,
  now: number,
) {
  for (const g of grants) {
    await trx
      .insertInto('grants')
      .values({
        id: newId('mem', now),
        organization_id: orgId,
        user_id: userId,
        role: g.role ?? null,
        permissions: g.role ? null : JSON.stringify(g.permissions ?? []),
        scope_id: g.scope,
        created_by: createdBy,
        created_at: now,
      })
      .execute();
  }
}

/**
 * A sign-in policy the acting session itself would fail is refused (409 `policy_lockout`):
 * turning on require_mfa from a session without a second factor, or allowing only methods
 * other than the one this session used, would shut the admin out at the next request.
 */
function assertNoLockout(
  actor: UserPrincipal,
  patch: Record<string, unknown>,
  next: ReturnType<typeof policiesOf>,
) {
  if (patch.require_mfa === true && next.require_mfa && !actor.amr.includes('mfa'))
    throw new AppError(
      'policy_lockout',
      'Sign in with a second factor (or step up with one) before requiring it of everyone',
      { policy: 'require_mfa' },
    );
  const method = loginMethodOf(actor.amr);
  if (
    patch.allowed_login_methods !== undefined &&
    next.allowed_login_methods !== null &&
    !next.allowed_login_methods.includes(method)
  )
    throw new AppError(
      'policy_lockout',
      `This session signed in with ${method}; keep it among the allowed methods`,
      { policy: 'allowed_login_methods', login_method: method },
    );
}

export function createOrganizationService(rt: Runtime, access: AccessService) {
  const { db, clock, bus } = rt;
  const audit = (
    trx: Transaction<DB>,
    meta: RequestMeta,
    actor: UserPrincipal,
    orgId: string,
    action: string,
    target: { type: string; id: string },
    changes?: Record<string, unknown>,
  ) =>
    insertAuditEvent(
      trx,
      meta,
      { organizationId: orgId, actor: { type: 'user', id: actor.userId }, action, target, changes },
      clock.now(),
    );

  const slugConflict = (slug: string) =>
    new AppError('conflict', `The slug "${slug}" is taken`, {
      errors: [{ path: 'body.slug', message: 'taken' }],
    });

  async function uniqueSlug(
    trx: Transaction<DB>,
    wanted: string | undefined,
    name: string,
    suffixed: boolean,
  ) {
    if (wanted) {
      if (await repo.slugTaken(trx, wanted)) throw slugConflict(wanted);
      return wanted;
    }
    const base = slugify(name);
    if (!suffixed && !(await repo.slugTaken(trx, base))) return base;
    return `${base}-${randomBytes(3).toString('hex')}`;
  }

  return {
    /** The creator becomes the owner (and a member). */
    async create(
      actor: UserPrincipal,
      input: {
        name: string;
        slug?: string;
        template: string;
        settings?: Record<string, unknown>;
        policies?: Record<string, unknown>;
      },
      meta: RequestMeta,
    ) {
      if (input.policies)
        assertNoLockout(
          actor,
          input.policies,
          policiesOf({ policies: JSON.stringify(input.policies) }),
        );
      if (!access.catalog.templates.has(input.template)) {
        throw new AppError('validation_failed', `Unknown template "${input.template}"`, {
          errors: [
            {
              path: 'body.template',
              message: `one of ${[...access.catalog.templates.keys()].join(', ')}`,
            },
          ],
        });
      }
      // The same 8 KiB limit as an update: create used to store settings of any size the body
      // limit allowed (organizations.input.test.ts).
      if (input.settings !== undefined) assertSettingsSize(input.settings);
      const user = await findUserById(db, actor.userId);
      assertThat(user, 'unauthenticated');
      const now = clock.now();
      const createOnce = (suffixed: boolean) =>
        db.transaction().execute(async (trx) => {
          const org: OrganizationsTable = {
            id: newId('org', now),
            name: input.name,
            slug: await uniqueSlug(trx, input.slug, input.name, suffixed),
            template: input.template,
            owner_user_id: actor.userId,
            status: 'active',
            settings: JSON.stringify(input.settings ?? {}),
            policies: JSON.stringify(
              policiesOf({ policies: JSON.stringify(input.policies ?? {}) }),
            ),
            created_by: actor.userId,
            created_at: now,
            updated_at: now,
          };
          await repo.insertOrganization(trx, org);
          await repo.insertMembership(trx, {
            organization_id: org.id,
            user_id: actor.userId,
            status: 'active',
            invited_by: null,
            login_methods: null,
            sort_name: repo.sortName(user.first_name, user.last_name),
            email: user.email,
            joined_at: now,
            updated_at: now,
          });
          await audit(
            trx,
            meta,
            actor,
            org.id,
            'organization.created',
            { type: 'organization', id: org.id },
            { after: { name: org.name, slug: org.slug, template: org.template } },
          );
          return org;
        });
      // The slug check reads, then the insert writes: on PostgreSQL two concurrent creates can
      // both see the slug free, and the loser used to get a 500 from the unique index
      // (organizations.lifecycle.test.ts, "concurrent"). A chosen slug is then a 409; a derived
      // one is retried with a random suffix.
      let row: OrganizationsTable | undefined;
      for (let attempt = 0; row === undefined; attempt++) {
        try {
          row = await createOnce(attempt > 0);
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          if (input.slug || attempt >= 2) throw slugConflict(input.slug ?? slugify(input.name));
        }
      }
      bus.publish(`member:${row.id}:${actor.userId}`);
      return toOrganization(row);
    },

    async listMine(actor: UserPrincipal, limit: number, cursor?: string) {
      const rows = await repo.listOrganizationsOfUser(db, actor.userId, limit, cursor);
      const page = rows.slice(0, limit);
      return {
        data: page.map((r) => ({
          ...toOrganization(r),
          membership_status: r.membership_status,
          is_owner: r.owner_user_id === actor.userId,
          current: r.id === actor.currentOrgId,
        })),
        next_cursor: rows.length > limit ? page[page.length - 1]!.id : null,
      };
    },

    async get(orgId: string) {
      const org = await repo.findOrganization(db, orgId);
      assertThat(org, 'not_found');
      return toOrganization(org);
    },

    async update(
      actor: UserPrincipal,
      orgId: string,
      input: {
        name?: string;
        slug?: string;
        settings?: Record<string, unknown>;
        policies?: Record<string, unknown>;
      },
      meta: RequestMeta,
    ) {
      const now = clock.now();
      const row = await db.transaction().execute(async (trx) => {
        const before = await repo.findOrganization(trx, orgId);
        assertThat(before, 'not_found');
        const changes: Partial<OrganizationsTable> = {};
        if (input.name !== undefined) changes.name = input.name;
        if (input.slug !== undefined && input.slug !== before.slug) {
          if (await repo.slugTaken(trx, input.slug, orgId)) throw slugConflict(input.slug);
          changes.slug = input.slug;
        }
        if (input.settings !== undefined) {
          assertSettingsSize(input.settings);
          changes.settings = JSON.stringify(input.settings);
        }
        if (input.policies !== undefined) {
          const next = policiesOf({
            policies: JSON.stringify({ ...parseJsonObject(before.policies), ...input.policies }),
          });
          assertNoLockout(actor, input.policies, next);
          changes.policies = JSON.stringify(next);
        }
        if (Object.keys(changes).length === 0) return before;
        try {
          await repo.updateOrganization(trx, orgId, { ...changes, updated_at: now });
        } catch (error) {
          // Another organization took the slug between the check and this write (PostgreSQL).
          if (isUniqueViolation(error) && changes.slug) throw slugConflict(changes.slug);
          throw error;
        }
        const keys = Object.keys(changes) as (keyof OrganizationsTable)[];
        await audit(
          trx,
          meta,
          actor,
          orgId,
          'organization.updated',
          { type: 'organization', id: orgId },
          {
            before: Object.fromEntries(keys.map((k) => [k, before[k]])),
            after: Object.fromEntries(keys.map((k) => [k, changes[k]])),
          },
        );
        return { ...before, ...changes, updated_at: now };
      });
      bus.publish(`org:${orgId}`);
      return toOrganization(row);
    },

    /** Owner only, and the request repeats the name: deleting removes accounts, members and grants (the audit trail stays). */
    async remove(actor: UserPrincipal, orgId: string, confirmName: string, meta: RequestMeta) {
      const memberIds = await db.transaction().execute(async (trx) => {
        // The row first, then the audit chain: the order of every writer in the organization.
        const org = await repo.lockOrganization(trx, orgId, rt.dialect);
        assertThat(org, 'not_found');
        if (org.owner_user_id !== actor.userId)
          throw new AppError('forbidden', 'Only the owner can delete the organization');
        if (confirmName !== org.name)
          throw new AppError(
            'validation_failed',
            'confirm_name does not match the organization name',
            { errors: [{ path: 'body.confirm_name', message: 'does not match' }] },
          );
        const members = await trx
          .selectFrom('memberships')
          .select('user_id')
          .where('organization_id', '=', orgId)
          .execute();
        await trx
          .updateTable('sessions')
          .set({ current_org_id: null })
          .where('current_org_id', '=', orgId)
          .execute();
        await audit(
          trx,
          meta,
          actor,
          orgId,
          'organization.deleted',
          { type: 'organization', id: orgId },
          { before: { name: org.name, slug: org.slug, members: members.length } },
        );
        await repo.deleteOrganization(trx, orgId);
        return members.map((m) => m.user_id);
      });
      bus.publish(`org:${orgId}`);
      bus.publish(`scope:${orgId}`);
      for (const id of memberIds) bus.publish(`member:${orgId}:${id}`);
    },

    /** Makes an organization the session's current one; the new access token carries it. */
    async switchTo(actor: UserPrincipal, orgId: string, meta: RequestMeta) {
      // A token naming this organization is issued only to an active member of an active
      // organization whose policies accept the session; a refresh judges by the same function.
      const refusal = await access.organizationRefusal(actor, orgId);
      if (refusal) throw refusal;
      // The session's current organization is state (api-access-check reports it): audited in
      // the same transaction as the change (issue 6: every state-changing route records an event).
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('sessions')
          .set({ current_org_id: orgId })
          .where('id', '=', actor.sessionId)
          .execute();
        await audit(trx, meta, actor, orgId, 'session.organization_switched', {
          type: 'session',
          id: actor.sessionId,
        });
      });
      bus.publish(`session:${actor.sessionId}`);
      const accessToken = await rt.tokens.sign({
        sub: actor.userId,
        sid: actor.sessionId,
        org: orgId,
        amr: actor.amr,
      });
      return {
        organization_id: orgId,
        access_token: accessToken,
        token_type: 'Bearer' as const,
        expires_in: rt.config.accessTokenTtl,
      };
    },

    /**
     * Offers ownership of the organization (`subjectId` = its id) or of one of its accounts to an
     * active member. Only the current owner starts it (for an account: its owner, or the
     * organization's owner, who holds every right over it).
     */
    async offerOwnership(
      actor: UserPrincipal,
      orgId: string,
      subject: { kind: 'organization' } | { kind: 'account'; accountId: string },
      toUserId: string,
      meta: RequestMeta,
    ) {
      // The kind is explicit: deciding by `subjectId === orgId` let the account route, given the
      // organization's own id as the account, offer the whole organization
      // (organizations.input.test.ts).
      const subjectId = subject.kind === 'organization' ? orgId : subject.accountId;
      const now = clock.now();
      const offer = await db.transaction().execute(async (trx) => {
        const org = await repo.findOrganization(trx, orgId);
        assertThat(org, 'not_found');
        let currentOwner = org.owner_user_id;
        if (subject.kind === 'account') {
          const account = await trx
            .selectFrom('accounts')
            .select(['owner_user_id'])
            .where('organization_id', '=', orgId)
            .where('id', '=', subjectId)
            .executeTakeFirst();
          assertThat(account, 'not_found', 'No such account');
          currentOwner = account.owner_user_id;
          if (actor.userId !== currentOwner && actor.userId !== org.owner_user_id)
            throw new AppError(
              'forbidden',
              'Only the account owner (or the organization owner) can transfer it',
            );
        } else if (actor.userId !== currentOwner) {
          throw new AppError('forbidden', 'Only the owner can transfer the organization');
        }
        if (toUserId === currentOwner) throw new AppError('conflict', 'That user already owns it');
        const target = await trx
          .selectFrom('memberships')
          .innerJoin('users', 'users.id', 'memberships.user_id')
          .select(['memberships.status', 'users.status as user_status'])
          .where('memberships.organization_id', '=', orgId)
          .where('memberships.user_id', '=', toUserId)
          .executeTakeFirst();
        if (target?.status !== 'active' || target.user_status !== 'active')
          throw new AppError(
            'validation_failed',
            'Ownership can only be offered to an active member',
            { errors: [{ path: 'body.user_id', message: 'not an active member' }] },
          );
        const row = {
          id: newId('tok', now),
          organization_id: orgId,
          subject_id: subjectId,
          from_user_id: currentOwner,
          to_user_id: toUserId,
          status: 'pending' as const,
          created_at: now,
          resolved_at: null,
        };
        try {
          await repo.insertOffer(trx, row);
        } catch (error) {
          if (isUniqueViolation(error))
            throw new AppError(
              'conflict',
              'An ownership offer is already pending; withdraw it first',
            );
          throw error;
        }
        await audit(
          trx,
          meta,
          actor,
          orgId,
          'ownership.offered',
          { type: subjectId.startsWith('org_') ? 'organization' : 'account', id: subjectId },
          { to_user_id: toUserId },
        );
        return row;
      });
      return toOffer(offer);
    },

    async listOffers(actor: UserPrincipal, orgId: string) {
      return { data: (await repo.listOffers(db, orgId, actor.userId)).map(toOffer) };
    },

    /**
     * The offered member accepts: in one transaction the offer is spent, ownership moves (guarded
     * on the previous owner, so two racing transfers cannot both apply), and the former owner
     * keeps an admin-level grant.
     */
    async acceptOffer(actor: UserPrincipal, orgId: string, offerId: string, meta: RequestMeta) {
      const now = clock.now();
      const org = await access.loadOrg(orgId);
      assertThat(org, 'not_found');
      const result = await db.transaction().execute(async (trx) => {
        const offer = await repo.findOffer(trx, orgId, offerId);
        if (!offer || offer.to_user_id !== actor.userId) return { kind: 'not_found' as const };
        // The membership is checked before the offer is spent: returning (rather than throwing)
        // commits this transaction, and a refused acceptance used to leave the offer recorded as
        // "accepted" with nothing moved (ownership.test.ts, "concurrent transfer").
        const membership = await trx
          .selectFrom('memberships')
          .select('status')
          .where('organization_id', '=', orgId)
          .where('user_id', '=', actor.userId)
          .executeTakeFirst();
        if (membership?.status !== 'active') return { kind: 'inactive' as const };
        const spent = await repo.resolveOffer(trx, orgId, offerId, 'accepted', now);
        if (!spent) return { kind: 'gone' as const };
        const moved =
          offer.subject_id === orgId
            ? await trx
                .updateTable('organizations')
                .set({ owner_user_id: actor.userId, updated_at: now })
                .where('id', '=', orgId)
                .where('owner_user_id', '=', offer.from_user_id)
                .executeTakeFirst()
            : await trx
                .updateTable('accounts')
                .set({ owner_user_id: actor.userId, updated_at: now })
                .where('organization_id', '=', orgId)
                .where('id', '=', offer.subject_id)
                .where('owner_user_id', '=', offer.from_user_id)
                .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) {
          // The offerer no longer owns the subject (another transfer won): the offer can never
          // be honoured, so it ends as withdrawn, not as accepted, and frees the pending slot.
          await trx
            .updateTable('ownership_offers')
            .set({ status: 'withdrawn', resolved_at: now })
            .where('organization_id', '=', orgId)
            .where('id', '=', offerId)
            .execute();
          return { kind: 'stale' as const };
        }
        const formerStillMember = await trx
          .selectFrom('memberships')
          .select('user_id')
          .where('organization_id', '=', orgId)
          .where('user_id', '=', offer.from_user_id)
          .executeTakeFirst();
        if (formerStillMember)
          await insertGrantRows(
            trx,
            orgId,
            offer.from_user_id,
            [formerOwnerGrant(org.template, access.catalog.all, offer.subject_id)],
            actor.userId,
            now,
          );
        await audit(
          trx,
          meta,
          actor,
          orgId,
          'ownership.transferred',
          {
            type: offer.subject_id.startsWith('org_') ? 'organization' : 'account',
            id: offer.subject_id,
          },
          { before: { owner_id: offer.from_user_id }, after: { owner_id: actor.userId } },
        );
        return {
          kind: 'ok' as const,
          offer: { ...offer, status: 'accepted' as const, resolved_at: now },
        };
      });
      if (result.kind === 'not_found')
        throw new AppError('not_found', 'No such ownership offer for you');
      if (result.kind === 'gone') throw new AppError('conflict', 'The offer is no longer pending');
      if (result.kind === 'inactive')
        throw new AppError('forbidden', 'Your membership is not active');
      if (result.kind === 'stale')
        throw new AppError('conflict', 'Ownership changed since the offer was made');
      bus.publish(`org:${orgId}`);
      bus.publish(`member:${orgId}:${result.offer.from_user_id}`);
      bus.publish(`member:${orgId}:${result.offer.to_user_id}`);
      return toOffer(result.offer);
    },

    /** The offered member declines, or the offering owner withdraws. */
    async closeOffer(
      actor: UserPrincipal,
      orgId: string,
      offerId: string,
      how: 'declined' | 'withdrawn',
      meta: RequestMeta,
    ) {
      const now = clock.now();
      const row = await db.transaction().execute(async (trx) => {
        const offer = await repo.findOffer(trx, orgId, offerId);
        const party = how === 'declined' ? offer?.to_user_id : offer?.from_user_id;
        if (!offer || party !== actor.userId)
          throw new AppError('not_found', 'No such ownership offer for you');
        const done = await repo.resolveOffer(trx, orgId, offerId, how, now);
        if (!done) throw new AppError('conflict', 'The offer is no longer pending');
        await audit(
          trx,
          meta,
          actor,
          orgId,
          `ownership.${how === 'declined' ? 'declined' : 'withdrawn'}`,
          { type: 'ownership_offer', id: offerId },
        );
        return done;
      });
      return toOffer(row);
    },
  };
}

export type OrganizationService = ReturnType<typeof createOrganizationService>;

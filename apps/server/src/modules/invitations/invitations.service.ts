import { Email } from '@gatehouse/contracts';
import { sql, type Transaction } from 'kysely';
import type { Grant } from '../../authz';
import { isUniqueViolation } from '../../db/dialect';
import type { DB, InvitationsTable } from '../../db/schema';
import { enqueueEmail } from '../../delivery/outbox';
import { mails } from '../../delivery/templates';
import type { RequestMeta, UserPrincipal } from '../../http/context';
import { AppError, assertThat } from '../../http/errors';
import { toIso, toIsoOrNull } from '../../lib/clock';
import { newId } from '../../lib/ids';
import { hashToken, randomToken } from '../../lib/secrets';
import type { Runtime } from '../../runtime';
import { checkPasswordPolicy } from '../../security/passwords';
import type { AccessService, OrgFacts } from '../access/access.service';
import { insertAuditEvent } from '../audit/audit.repo';
import type { MemberService } from '../members/members.service';
import { policiesOf } from '../organizations/organizations.presenter';
import { sortName } from '../organizations/organizations.repo';
import { formerOwnerGrant, insertGrantRows } from '../organizations/organizations.service';
import type { SessionService } from '../sessions/sessions.service';
import { findUserByEmail, insertUser } from '../users/users.repo';

const DAY_MS = 24 * 3600 * 1000;

export const toInvitation = (row: InvitationsTable, now: number) => ({
  id: row.id,
  organization_id: row.organization_id,
  email: row.email,
  grants: JSON.parse(row.grants) as Record<string, unknown>[],
  message: row.message,
  offers_ownership: row.offers_ownership === 1,
  status: statusOf(row, now),
  invited_by: row.invited_by,
  expires_at: toIso(row.expires_at),
  created_at: toIso(row.created_at),
  updated_at: toIso(row.updated_at),
  resolved_at: toIsoOrNull(row.resolved_at),
});

/** A pending invitation past its expiry is expired, whether or not a write has said so yet. */
const statusOf = (row: InvitationsTable, now: number): InvitationsTable['status'] =>
  row.status === 'pending' && row.expires_at <= now ? 'expired' : row.status;

type Results = {
  email: string;
  status: 'invited' | 'already_member' | 'already_invited' | 'invalid_email' | 'duplicate';
  invitation_id?: string;
}[];

export function createInvitationService(
  rt: Runtime,
  access: AccessService,
  members: MemberService,
  sessions: SessionService,
) {
  const { db, clock, bus } = rt;
  const link = (token: string) => `${rt.config.publicUrl}/invitations/${token}`;

  /** The grants in words, for the invitee: "Video developer on Acme Media (organization)". */
  async function describe(orgId: string, grants: Grant[]): Promise<string[]> {
    const facts = await access.loadOrg(orgId);
    const out: string[] = [];
    for (const g of grants) {
      let where = facts?.org.name ?? 'the organization';
      if (g.scope.startsWith('acc_')) {
        where =
          (
            await db
              .selectFrom('accounts')
              .select('name')
              .where('organization_id', '=', orgId)
              .where('id', '=', g.scope)
              .executeTakeFirst()
          )?.name ?? 'an account';
      } else if (g.scope.startsWith('res_')) {
        where =
          (
            await db
              .selectFrom('resources')
              .select('name')
              .where('organization_id', '=', orgId)
              .where('id', '=', g.scope)
              .executeTakeFirst()
          )?.name ?? 'a resource';
      }
      const what = g.role
        ? (facts?.roles.roles.get(g.role)?.name ?? g.role)
        : `permissions ${(g.permissions ?? []).join(', ')}`;
      out.push(`${what} on ${where}`);
    }
    return out;
  }

  async function loadByToken(token: string) {
    const row = await db
      .selectFrom('invitations')
      .selectAll()
      .where('token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row)
      throw new AppError(
        'not_found',
        'No such invitation (the link may have been replaced by a newer one)',
      );
    return row;
  }

  function refuseUnusable(row: InvitationsTable, now: number): void {
    const status = statusOf(row, now);
    if (status === 'expired')
      throw new AppError('invitation_expired', 'The invitation has expired; ask for a new one');
    if (status === 'revoked') throw new AppError('invitation_revoked');
    if (status !== 'pending')
      throw new AppError('invitation_used', `The invitation was already ${status}`);
  }

  /**
   * The invitation changed between our read and our guarded write: accepted, rejected or
   * revoked meanwhile, or its link replaced by a resend. Answer as a fresh request would.
   */
  /** My own invitation by id: pending-or-not, to my verified address; anything else is a 404. */
  async function loadMine(principal: UserPrincipal, invitationId: string) {
    const user = await db
      .selectFrom('users')
      .select(['id', 'email', 'email_verified_at'])
      .where('id', '=', principal.userId)
      .executeTakeFirstOrThrow();
    const row =
      user.email_verified_at === null
        ? undefined
        : await db
            .selectFrom('invitations')
            .selectAll()
            .where('id', '=', invitationId)
            .where('email', '=', user.email)
            .executeTakeFirst();
    if (!row) throw new AppError('not_found', 'No such invitation for your address');
    refuseUnusable(row, clock.now());
    return { user, row };
  }

  async function explainLossById(id: string): Promise<never> {
    const row = await db
      .selectFrom('invitations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    refuseUnusable(row, clock.now());
    throw new AppError('invitation_used', 'The invitation is no longer pending');
  }

  async function explainLoss(token: string): Promise<never> {
    refuseUnusable(await loadByToken(token), clock.now());
    throw new AppError('invitation_used', 'The invitation is no longer pending');
  }

  /**
   * Spends the invitation and makes the membership, in the caller's transaction. The guarded
   * UPDATE decides between concurrent accepts (and between accept and revoke): one wins.
   */
  async function consume(
    trx: Transaction<DB>,
    row: InvitationsTable,
    userId: string,
    now: number,
    meta: RequestMeta,
  ) {
    const spent = await trx
      .updateTable('invitations')
      .set({ status: 'accepted', accepted_by: userId, resolved_at: now, updated_at: now })
      .where('id', '=', row.id)
      // The link read must still be the current one: a resend that committed meanwhile
      // replaced it, and the old link stops working at that moment, not a little later.
      .where('token_hash', '=', row.token_hash)
      .where('status', '=', 'pending')
      .where('expires_at', '>', now)
      .returning('id')
      .executeTakeFirst();
    if (!spent) return false;
    await assertStillGrantable(trx, row);
    const user = await trx
      .selectFrom('users')
      .selectAll()
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    const existing = await trx
      .selectFrom('memberships')
      .select('status')
      .where('organization_id', '=', row.organization_id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (existing)
      throw new AppError('conflict', 'You are already a member of this organization', {
        reason: 'already_member',
      });
    await trx
      .insertInto('memberships')
      .values({
        organization_id: row.organization_id,
        user_id: userId,
        status: 'active',
        invited_by: row.invited_by,
        login_methods: null,
        sort_name: sortName(user.first_name, user.last_name),
        email: user.email,
        joined_at: now,
        updated_at: now,
      })
      .execute();
    await insertGrantRows(
      trx,
      row.organization_id,
      userId,
      JSON.parse(row.grants) as Grant[],
      row.invited_by,
      now,
    );
    let ownershipFrom: string | null = null;
    if (row.offers_ownership === 1) {
      // Only while the owner who offered it still owns it. The guarded UPDATE decides, not an
      // earlier read: a transfer that commits meanwhile makes it match nothing, and then the
      // invitee just joins (and the offerer gets no former-owner grant).
      const moved = await trx
        .updateTable('organizations')
        .set({ owner_user_id: userId, updated_at: now })
        .where('id', '=', row.organization_id)
        .where('owner_user_id', '=', row.invited_by)
        .returning('template')
        .executeTakeFirst();
      if (moved) {
        const template = access.catalog.templates.get(moved.template)!;
        await insertGrantRows(
          trx,
          row.organization_id,
          row.invited_by,
          [formerOwnerGrant(template, access.catalog.all, row.organization_id)],
          userId,
          now,
        );
        ownershipFrom = row.invited_by;
      }
    }
    await insertAuditEvent(
      trx,
      meta,
      {
        organizationId: row.organization_id,
        actor: { type: 'user', id: userId },
        action: 'invitation.accepted',
        target: { type: 'invitation', id: row.id },
        changes: { grants: JSON.parse(row.grants), ownership_from: ownershipFrom },
      },
      now,
    );
    return { ownershipFrom };
  }

  /**
   * Why an invitation could not be accepted now (null: it can): its sender must still be able
   * to send it — an active member, allowed by the template's invite rule, holding everything its
   * grants give (no escalation), judged on the sender's membership and grants of now — and every
   * scope and role it names must still exist. This is the send path's own rule
   * (`members.inviteRefusal`) over facts read through `executor` (issue 10 #3).
   */
  async function refusalNow(
    executor: Transaction<DB> | typeof db,
    row: InvitationsTable,
  ): Promise<AppError | null> {
    const grants = JSON.parse(row.grants) as Grant[];
    const view = await access.snapshotIn(
      executor,
      row.organization_id,
      row.invited_by,
      grants.map((g) => g.scope),
    );
    if (!view) return new AppError('not_found', 'No such organization');
    return members.inviteRefusal(view, grants);
  }

  /**
   * Inside the accepting transaction, after the invitation was spent: all or nothing. The
   * organization row is locked first (PostgreSQL), as every change of members and grants locks
   * it (FOR UPDATE), so a demotion, suspension or removal of the sender either committed before this reads
   * it or waits for this acceptance; deleting a scope or a role revokes the invitations naming
   * it, which waits on the invitation row this transaction holds. A refusal rolls the whole
   * acceptance back: the invitation stays pending, nobody joins, no grant is written.
   */
  async function assertStillGrantable(trx: Transaction<DB>, row: InvitationsTable) {
    // FOR SHARE: it waits for (and holds off) the FOR UPDATE of member and grant changes, while
    // acceptances into one organization do not wait for each other; an ownership offer will
    // update the row, so it takes it exclusively at once (no share-then-upgrade deadlock).
    if (rt.dialect === 'postgres')
      await sql`select id from organizations where id = ${row.organization_id} for ${
        row.offers_ownership === 1 ? sql`update` : sql`share`
      }`.execute(trx);
    const refusal = await refusalNow(trx, row);
    if (refusal)
      throw new AppError(
        'invitation_no_longer_valid',
        'This invitation offers access its sender can no longer give (their rights changed, or an account, resource or role it names was deleted); ask for a new invitation',
        { reason: refusal.code, because: refusal.message, ...refusal.extensions },
      );
  }

  function afterAccept(orgId: string, userId: string, ownershipFrom: string | null) {
    bus.publish(`member:${orgId}:${userId}`);
    if (ownershipFrom) {
      bus.publish(`org:${orgId}`);
      bus.publish(`member:${orgId}:${ownershipFrom}`);
    }
  }

  /** An invitation of this organization the actor may see (see `list`), or 404. */
  async function findVisible(actor: UserPrincipal, orgId: string, id: string) {
    const row = await db
      .selectFrom('invitations')
      .selectAll()
      .where('organization_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    const visible =
      row &&
      (row.invited_by === actor.userId ||
        (await access.holds(actor, orgId, 'members:read', orgId)));
    if (!visible) throw new AppError('not_found', 'No such invitation');
    return row;
  }

  /**
   * Who may revoke or resend an invitation: whoever could send it today. The owner always; an
   * ownership offer, only the owner; otherwise the template's invite rule with no escalation
   * over its grants (accounts: an admin of A manages invitations to A, not those to B).
   */
  async function assertMayManage(
    actor: UserPrincipal,
    orgId: string,
    facts: OrgFacts,
    row: InvitationsTable,
  ) {
    if (facts.org.owner_user_id === actor.userId) return;
    if (row.offers_ownership === 1)
      throw new AppError('forbidden', 'Only the owner manages an offer of ownership');
    await members.assertMayInvite(actor, orgId, facts, JSON.parse(row.grants) as Grant[]);
  }

  return {
    /**
     * Invites each address with the same grants. Addresses are normalised (trim, lower case)
     * and each gets its own result; an address already pending gets its invitation refreshed
     * (new link, new expiry, these grants). Mails are queued in the same transaction.
     */
    async send(
      actor: UserPrincipal,
      orgId: string,
      input: {
        emails: string[];
        grants: Grant[];
        message?: string;
        expires_in_days?: number;
        offer_ownership: boolean;
      },
      meta: RequestMeta,
    ) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      const grants = withDefaultRole(facts, input.grants);
      if (input.offer_ownership) {
        if (facts.org.owner_user_id !== actor.userId)
          throw new AppError('forbidden', 'Only the owner can offer ownership');
        if (!facts.template.invitePolicy.ownerMayOfferOwnership)
          throw new AppError(
            'forbidden',
            'This organization type does not offer ownership by invitation; use transfer-ownership',
          );
        if (input.emails.length !== 1)
          throw new AppError('validation_failed', 'Ownership is offered to one address at a time');
      }
      await members.assertMayInvite(actor, orgId, facts, grants);
      const now = clock.now();
      const days = input.expires_in_days ?? policiesOf(facts.org).invitation_expiry_days;
      const inviter = await db
        .selectFrom('users')
        .select(['first_name', 'last_name'])
        .where('id', '=', actor.userId)
        .executeTakeFirstOrThrow();
      // One slot per address sent, filled in the caller's order: the first occurrence of an
      // address is the one invited, later variants of it (case, whitespace) are duplicates.
      const results: Results = new Array(input.emails.length);
      const seen = new Set<string>();
      const valid: { email: string; at: number }[] = [];
      input.emails.forEach((raw, at) => {
        const parsed = Email.safeParse(raw);
        if (!parsed.success) results[at] = { email: raw, status: 'invalid_email' };
        else if (seen.has(parsed.data)) results[at] = { email: parsed.data, status: 'duplicate' };
        else {
          seen.add(parsed.data);
          valid.push({ email: parsed.data, at });
        }
      });
      const words = await describe(orgId, grants);
      // Two requests inviting one address at once both find no pending invitation and both
      // insert; the partial unique index lets one win and the other fail. On PostgreSQL the
      // loser's transaction is aborted, so it is replayed whole: it then finds the winner's
      // invitation and refreshes it (already_invited). Nothing of a failed attempt survives.
      await retryOnUniqueViolation(() =>
        db.transaction().execute(async (trx) => {
          // In address order, whatever the caller's order: concurrent batches naming the same
          // addresses take their row and index locks in one order and cannot deadlock.
          for (const { email, at } of [...valid].sort((a, b) => (a.email < b.email ? -1 : 1))) {
            const member = await trx
              .selectFrom('memberships')
              .innerJoin('users', 'users.id', 'memberships.user_id')
              .select('users.id')
              .where('memberships.organization_id', '=', orgId)
              .where('users.email', '=', email)
              .executeTakeFirst();
            if (member) {
              results[at] = { email, status: 'already_member' };
              continue;
            }
            const token = randomToken();
            const pending = await trx
              .selectFrom('invitations')
              .select('id')
              .where('organization_id', '=', orgId)
              .where('email', '=', email)
              .where('status', '=', 'pending')
              .executeTakeFirst();
            const fields = {
              grants: JSON.stringify(grants),
              message: input.message ?? null,
              offers_ownership: input.offer_ownership ? 1 : 0,
              token_hash: hashToken(token),
              invited_by: actor.userId,
              expires_at: now + days * DAY_MS,
              updated_at: now,
            };
            // Guarded: an accept (or revoke) that committed since the read keeps its row as it
            // was, and this address gets a new invitation instead.
            const refreshed =
              pending &&
              (await trx
                .updateTable('invitations')
                .set(fields)
                .where('id', '=', pending.id)
                .where('status', '=', 'pending')
                .returning('id')
                .executeTakeFirst());
            if (refreshed) {
              results[at] = { email, status: 'already_invited', invitation_id: refreshed.id };
            } else {
              const id = newId('inv', now);
              await trx
                .insertInto('invitations')
                .values({
                  id,
                  organization_id: orgId,
                  email,
                  status: 'pending',
                  accepted_by: null,
                  resolved_at: null,
                  created_at: now,
                  ...fields,
                })
                .execute();
              results[at] = { email, status: 'invited', invitation_id: id };
            }
            await enqueueEmail(
              trx,
              mails.invitation(
                email,
                `${inviter.first_name} ${inviter.last_name}`.trim(),
                facts.org.name,
                words,
                input.message ?? null,
                link(token),
                days,
              ),
              now,
            );
          }
          const counts = Object.fromEntries(
            ['invited', 'already_invited', 'already_member', 'invalid_email', 'duplicate'].map(
              (s) => [s, results.filter((r) => r.status === s).length],
            ),
          );
          await insertAuditEvent(
            trx,
            meta,
            {
              organizationId: orgId,
              actor: { type: 'user', id: actor.userId },
              action: 'invitation.sent',
              target: { type: 'organization', id: orgId },
              changes: {
                grants,
                offers_ownership: input.offer_ownership,
                ...counts,
                invitation_ids: results.flatMap((r) => (r.invitation_id ? [r.invitation_id] : [])),
              },
            },
            now,
          );
        }),
      );
      rt.notifyOutbox();
      return { results };
    },

    /**
     * Sent invitations, newest first. Whoever reads the members (`members:read`) sees them all;
     * anyone else who may invite somewhere (an accounts admin, a reseller account owner) sees
     * the ones they sent.
     */
    async list(
      actor: UserPrincipal,
      orgId: string,
      query: { limit: number; cursor?: string; status?: InvitationsTable['status'] },
    ) {
      const now = clock.now();
      let q = db.selectFrom('invitations').selectAll().where('organization_id', '=', orgId);
      if (!(await access.holds(actor, orgId, 'members:read', orgId)))
        q = q.where('invited_by', '=', actor.userId);
      if (query.status === 'expired')
        q = q.where((eb) =>
          eb.or([
            eb('status', '=', 'expired'),
            eb.and([eb('status', '=', 'pending'), eb('expires_at', '<=', now)]),
          ]),
        );
      else if (query.status === 'pending')
        q = q.where('status', '=', 'pending').where('expires_at', '>', now);
      else if (query.status) q = q.where('status', '=', query.status);
      if (query.cursor) q = q.where('id', '<', query.cursor);
      const rows = await q
        .orderBy('id', 'desc')
        .limit(query.limit + 1)
        .execute();
      const page = rows.slice(0, query.limit);
      return {
        data: page.map((r) => toInvitation(r, now)),
        next_cursor: rows.length > query.limit ? page[page.length - 1]!.id : null,
      };
    },

    /** One sent invitation, under the visibility rule of `list` (404 for one you may not see). */
    async get(actor: UserPrincipal, orgId: string, id: string) {
      const row = await findVisible(actor, orgId, id);
      return toInvitation(row, clock.now());
    },

    async revoke(actor: UserPrincipal, orgId: string, id: string, meta: RequestMeta) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      await assertMayManage(actor, orgId, facts, await findVisible(actor, orgId, id));
      const now = clock.now();
      const row = await db.transaction().execute(async (trx) => {
        const done = await trx
          .updateTable('invitations')
          .set({ status: 'revoked', resolved_at: now, updated_at: now })
          .where('organization_id', '=', orgId)
          .where('id', '=', id)
          .where('status', '=', 'pending')
          .returningAll()
          .executeTakeFirst();
        if (!done) {
          const exists = await trx
            .selectFrom('invitations')
            .select('status')
            .where('organization_id', '=', orgId)
            .where('id', '=', id)
            .executeTakeFirst();
          throw exists
            ? new AppError('conflict', `The invitation is ${exists.status}, not pending`)
            : new AppError('not_found', 'No such invitation');
        }
        await insertAuditEvent(
          trx,
          meta,
          {
            organizationId: orgId,
            actor: { type: 'user', id: actor.userId },
            action: 'invitation.revoked',
            target: { type: 'invitation', id },
          },
          now,
        );
        return done;
      });
      return toInvitation(row, now);
    },

    /**
     * A new link (the old one stops working) and a new expiry from the policy; pending or
     * expired invitations only. Re-issuing grants is inviting again, so it needs what sending
     * needs, with the resender's rights of today.
     */
    async resend(actor: UserPrincipal, orgId: string, id: string, meta: RequestMeta) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      const before = await findVisible(actor, orgId, id);
      await assertMayManage(actor, orgId, facts, before);
      if (before.status !== 'pending')
        throw new AppError('conflict', `The invitation is ${before.status}`);
      const now = clock.now();
      const token = randomToken();
      const days = policiesOf(facts.org).invitation_expiry_days;
      // Read before the transaction: on SQLite a read through `db` inside it would wait for
      // the connection the transaction holds.
      const words = await describe(orgId, JSON.parse(before.grants) as Grant[]);
      const inviter = await db
        .selectFrom('users')
        .select(['first_name', 'last_name'])
        .where('id', '=', actor.userId)
        .executeTakeFirstOrThrow();
      const row = await db.transaction().execute(async (trx) => {
        // Guarded: an accept, reject or revoke that committed since our read wins, and the
        // invitation is not brought back to life.
        const updated = await trx
          .updateTable('invitations')
          .set({ token_hash: hashToken(token), expires_at: now + days * DAY_MS, updated_at: now })
          .where('organization_id', '=', orgId)
          .where('id', '=', id)
          .where('status', '=', 'pending')
          .returningAll()
          .executeTakeFirst();
        if (!updated) throw new AppError('conflict', 'The invitation is no longer pending');
        await enqueueEmail(
          trx,
          mails.invitation(
            updated.email,
            `${inviter.first_name} ${inviter.last_name}`.trim(),
            facts.org.name,
            words,
            updated.message,
            link(token),
            days,
          ),
          now,
        );
        await insertAuditEvent(
          trx,
          meta,
          {
            organizationId: orgId,
            actor: { type: 'user', id: actor.userId },
            action: 'invitation.resent',
            target: { type: 'invitation', id },
          },
          now,
        );
        return updated;
      });
      rt.notifyOutbox();
      return toInvitation(row, now);
    },

    /** What the link shows, to anyone holding it: nothing else about the organization. */
    async preview(token: string) {
      const row = await loadByToken(token);
      const now = clock.now();
      const org = await db
        .selectFrom('organizations')
        .select('name')
        .where('id', '=', row.organization_id)
        .executeTakeFirstOrThrow();
      const inviter = await db
        .selectFrom('users')
        .select(['first_name', 'last_name'])
        .where('id', '=', row.invited_by)
        .executeTakeFirst();
      return {
        organization: { name: org.name },
        inviter: {
          name: inviter ? `${inviter.first_name} ${inviter.last_name}`.trim() : 'a former member',
        },
        email: row.email,
        grants: await describe(row.organization_id, JSON.parse(row.grants) as Grant[]),
        message: row.message,
        offers_ownership: row.offers_ownership === 1,
        status: statusOf(row, now),
        expires_at: toIso(row.expires_at),
        account_exists: (await findUserByEmail(db, row.email)) !== undefined,
        no_longer_valid:
          statusOf(row, now) === 'pending' ? (await refusalNow(db, row)) !== null : false,
      };
    },

    /**
     * Accept, signed in as the invited address (verified), or — with no account for it yet —
     * by signing up through the invitation: the link proves the mailbox, so the email counts as
     * verified, and the new user is signed in.
     */
    async accept(
      principal: UserPrincipal | null,
      token: string,
      body: { first_name?: string; last_name?: string; password?: string },
      meta: RequestMeta,
    ) {
      const row = await loadByToken(token);
      refuseUnusable(row, clock.now());
      // A suspended organization refuses all its members; joining it now would only make one
      // more refused member (or, signing up, a user whose first act failed).
      const facts = await access.loadOrg(row.organization_id);
      if (facts?.org.status !== 'active')
        throw new AppError('forbidden', 'The organization is suspended', {
          reason: 'organization_suspended',
        });
      if (principal) {
        const user = await db
          .selectFrom('users')
          .selectAll()
          .where('id', '=', principal.userId)
          .executeTakeFirstOrThrow();
        if (user.email !== row.email)
          throw new AppError(
            'invitation_email_mismatch',
            'This invitation is for another email address; sign in as that address',
          );
        if (user.email_verified_at === null) throw new AppError('email_not_verified');
        const now = clock.now();
        const result = await db
          .transaction()
          .execute((trx) => consume(trx, row, user.id, now, meta));
        // Lost to a concurrent accept, reject, revoke or resend: say which, when we can tell.
        if (!result) return explainLoss(token);
        afterAccept(row.organization_id, user.id, result.ownershipFrom);
        return { organization_id: row.organization_id, user_id: user.id, session: null };
      }
      if (await findUserByEmail(db, row.email))
        throw new AppError(
          'login_required',
          'An account exists for this address: sign in, then accept',
        );
      if (!body.password || !body.first_name || !body.last_name) {
        throw new AppError(
          'validation_failed',
          'To sign up through the invitation, send first_name, last_name and password',
          {
            errors: ['first_name', 'last_name', 'password']
              .filter((k) => !body[k as keyof typeof body])
              .map((k) => ({ path: `body.${k}`, message: 'required' })),
          },
        );
      }
      const failed = checkPasswordPolicy(body.password, row.email);
      if (failed.length > 0)
        throw new AppError('password_policy', `The password fails: ${failed.join(', ')}`, {
          failed_rules: failed,
        });
      const passwordHash = await rt.hasher.hash(body.password);
      const now = clock.now();
      const userId = newId('usr', now);
      let ownershipFrom: string | null = null;
      const opened = await db
        .transaction()
        .execute(async (trx) => {
          try {
            await insertUser(
              trx,
              {
                id: userId,
                email: row.email,
                password_hash: passwordHash,
                first_name: body.first_name!,
                last_name: body.last_name!,
                email_verified_at: now,
              },
              now,
            );
          } catch (error) {
            if (isUniqueViolation(error))
              throw new AppError(
                'login_required',
                'An account exists for this address: sign in, then accept',
              );
            throw error;
          }
          const result = await consume(trx, row, userId, now, meta);
          // Thrown to roll the new user back with the rest; explained after the rollback.
          if (!result) throw new RaceLost();
          ownershipFrom = result.ownershipFrom;
          await insertAuditEvent(
            trx,
            meta,
            {
              actor: { type: 'user', id: userId },
              action: 'user.registered',
              target: { type: 'user', id: userId },
              changes: { via: 'invitation', invitation_id: row.id },
            },
            now,
          );
          const user = await trx
            .selectFrom('users')
            .selectAll()
            .where('id', '=', userId)
            .executeTakeFirstOrThrow();
          return sessions.open(trx, user, { amr: ['pwd'], meta, mode: 'token' });
        })
        .catch(async (error: unknown) => {
          if (error instanceof RaceLost) await explainLoss(token);
          throw error;
        });
      afterAccept(row.organization_id, userId, ownershipFrom);
      const issued = await sessions.finish(opened);
      return {
        organization_id: row.organization_id,
        user_id: userId,
        session: {
          token_type: 'Bearer' as const,
          access_token: issued.accessToken,
          expires_in: rt.config.accessTokenTtl,
          refresh_token: issued.refreshToken,
          session_id: issued.session.id,
        },
      };
    },

    /** Anyone holding the link may decline it. */
    async reject(token: string, meta: RequestMeta) {
      const row = await loadByToken(token);
      const now = clock.now();
      refuseUnusable(row, now);
      const done = await db.transaction().execute(async (trx) => {
        const res = await trx
          .updateTable('invitations')
          .set({ status: 'rejected', resolved_at: now, updated_at: now })
          .where('id', '=', row.id)
          .where('token_hash', '=', row.token_hash)
          .where('status', '=', 'pending')
          .where('expires_at', '>', now)
          .returning('id')
          .executeTakeFirst();
        if (!res) return false;
        await insertAuditEvent(
          trx,
          meta,
          {
            organizationId: row.organization_id,
            actor: { type: 'anonymous' },
            action: 'invitation.rejected',
            target: { type: 'invitation', id: row.id },
          },
          now,
        );
        return true;
      });
      if (!done) await explainLoss(token);
    },

    /**
     * Accept, signed in, an invitation to my own verified address, by its id (the console lists
     * them under "my invitations"; the session already proves the address, so the mailed token is
     * not needed). Someone else's invitation is a 404, never a hint.
     */
    async acceptMine(principal: UserPrincipal, invitationId: string, meta: RequestMeta) {
      const { user, row } = await loadMine(principal, invitationId);
      const now = clock.now();
      const facts = await access.loadOrg(row.organization_id);
      if (facts?.org.status !== 'active')
        throw new AppError('forbidden', 'The organization is suspended', {
          reason: 'organization_suspended',
        });
      const result = await db.transaction().execute((trx) => consume(trx, row, user.id, now, meta));
      if (!result) return explainLossById(row.id);
      afterAccept(row.organization_id, user.id, result.ownershipFrom);
      return { organization_id: row.organization_id, user_id: user.id, session: null };
    },

    /** Decline, signed in, an invitation to my own verified address, by its id. */
    async rejectMine(principal: UserPrincipal, invitationId: string, meta: RequestMeta) {
      const { user, row } = await loadMine(principal, invitationId);
      const now = clock.now();
      const done = await db.transaction().execute(async (trx) => {
        const res = await trx
          .updateTable('invitations')
          .set({ status: 'rejected', resolved_at: now, updated_at: now })
          .where('id', '=', row.id)
          .where('status', '=', 'pending')
          .where('expires_at', '>', now)
          .returning('id')
          .executeTakeFirst();
        if (!res) return false;
        await insertAuditEvent(
          trx,
          meta,
          {
            organizationId: row.organization_id,
            actor: { type: 'user', id: user.id },
            action: 'invitation.rejected',
            target: { type: 'invitation', id: row.id },
          },
          now,
        );
        return true;
      });
      if (!done) await explainLossById(row.id);
    },

    /** Pending invitations for my (verified) address. */
    async mine(principal: UserPrincipal) {
      const user = await db
        .selectFrom('users')
        .select(['email', 'email_verified_at'])
        .where('id', '=', principal.userId)
        .executeTakeFirstOrThrow();
      if (user.email_verified_at === null) return { data: [] };
      const now = clock.now();
      const rows = await db
        .selectFrom('invitations')
        .innerJoin('organizations', 'organizations.id', 'invitations.organization_id')
        .selectAll('invitations')
        .select('organizations.name as organization_name')
        .where('invitations.email', '=', user.email)
        .where('invitations.status', '=', 'pending')
        .where('invitations.expires_at', '>', now)
        .orderBy('invitations.id', 'desc')
        .limit(100)
        .execute();
      const data = [];
      for (const r of rows) {
        const inviter = await db
          .selectFrom('users')
          .select(['first_name', 'last_name'])
          .where('id', '=', r.invited_by)
          .executeTakeFirst();
        data.push({
          id: r.id,
          token_hint: 'accept from the link in the invitation mail',
          organization: { id: r.organization_id, name: r.organization_name },
          inviter: {
            name: inviter ? `${inviter.first_name} ${inviter.last_name}`.trim() : 'a former member',
          },
          grants: await describe(r.organization_id, JSON.parse(r.grants) as Grant[]),
          expires_at: toIso(r.expires_at),
        });
      }
      return { data };
    },
  };
}

/**
 * A grant that names only a scope takes the template's default role there (accounts: "by
 * default, new users are assigned the Admin role"); without a default role it is refused.
 */
function withDefaultRole(facts: OrgFacts, grants: Grant[]): Grant[] {
  const role = facts.template.invitePolicy.defaultRole;
  const missing: number[] = [];
  const out = grants.map((g, i) => {
    if (g.role !== undefined || g.permissions !== undefined) return g;
    if (role === null) missing.push(i);
    return { role: role ?? '', scope: g.scope };
  });
  if (missing.length > 0)
    throw new AppError(
      'validation_failed',
      'Name a role: this organization type has no default role',
      {
        errors: missing.map((i) => ({
          path: `body.grants.${i}`,
          message: 'role or permissions required',
        })),
      },
    );
  return out;
}

/**
 * Runs `attempt` (a whole transaction) again when it lost a race on a unique index, up to three
 * times; any other error, or a third loss, goes to the caller.
 */
export async function retryOnUniqueViolation<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= 3 || !isUniqueViolation(error)) throw error;
    }
  }
}

/** The guarded write found the invitation changed since it was read (see `explainLoss`). */
class RaceLost extends Error {}

export type InvitationService = ReturnType<typeof createInvitationService>;

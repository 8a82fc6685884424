/**
 * Inviting in the `team` template (source 004): "Owner ... can invite users as Admin or Owner";
 * "Admin ... can manage users" but not the owner-level acts; "User / Bot Manager ... cannot
 * manage other users". An offer of ownership, once accepted, makes the invitee the owner.
 * @see issue 4, items 2 and 9
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../harness';
import {
  addMember,
  allowed,
  auditRows,
  createAccount,
  createOrg,
  invite,
  inviteOne,
  offerOwnership,
} from '../seed';

let ctx: TestContext;
let owner: SignedIn;
let admin: SignedIn;
let org: { id: string };
let project: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'team', 'Team Invites');
  project = await createAccount(ctx, owner, org.id, 'meeting', 'Bots');
  admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
});
afterAll(async () => {
  await ctx?.close();
});

const accept = (token: string, who: SignedIn) =>
  ctx.request('POST', `/v1/invitations/${token}/accept`, { token: who.accessToken, body: {} });
const organization = (orgId: string, who: SignedIn = owner) =>
  ctx.request('GET', `/v1/organizations/${orgId}`, { token: who.accessToken });
const invitationCount = async (orgId: string) =>
  (
    await ctx.database.db
      .selectFrom('invitations')
      .select('id')
      .where('organization_id', '=', orgId)
      .execute()
  ).length;

describe('team: an admin', () => {
  it('invites a user to a project, who works there after accepting', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, admin, org.id, invitee.email, [
      { role: 'user', scope: project.id },
    ]);
    expect((await accept(token, invitee)).status).toBe(200);
    expect(await allowed(ctx, invitee, 'meeting.rooms:create', project.id)).toBe(true);
    expect(await allowed(ctx, invitee, 'members:invite', org.id)).toBe(false);
  });

  it('invites with the default role (user) when only the project is chosen', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, admin, org.id, invitee.email, [{ scope: project.id }]);
    await accept(token, invitee);
    expect(await allowed(ctx, invitee, 'resources:create', project.id)).toBe(true);
  });

  it('cannot invite an admin: only the owner makes admins (403, nothing written)', async () => {
    const before = await invitationCount(org.id);
    const res = await invite(ctx, admin, org.id, {
      emails: [uniqueEmail()],
      grants: [{ role: 'admin', scope: org.id }],
    });
    expectProblem(res, 403, 'forbidden');
    expect(await invitationCount(org.id)).toBe(before);
  });

  it('cannot offer ownership', async () => {
    const res = await invite(ctx, admin, org.id, {
      emails: [uniqueEmail()],
      offer_ownership: true,
    });
    expectProblem(res, 403, 'forbidden');
  });

  it('cannot give what an admin lacks (deleting the organization)', async () => {
    const res = await invite(ctx, admin, org.id, {
      emails: [uniqueEmail()],
      grants: [{ permissions: ['organization:delete'], scope: org.id }],
    });
    expectProblem(res, 403, 'forbidden');
  });

  it("cannot resend or revoke the owner's admin invitation", async () => {
    const { id } = await inviteOne(ctx, owner, org.id, uniqueEmail('team-admin-inv'), [
      { role: 'admin', scope: org.id },
    ]);
    for (const [method, path] of [
      ['POST', `/v1/organizations/${org.id}/invitations/${id}/resend`],
      ['DELETE', `/v1/organizations/${org.id}/invitations/${id}`],
    ] as const) {
      expectProblem(
        await ctx.request(method, path, { token: admin.accessToken }),
        403,
        'forbidden',
      );
    }
  });

  it('revokes an invitation to a project, sent by anyone', async () => {
    const { id } = await inviteOne(ctx, owner, org.id, uniqueEmail('team-user-inv'), [
      { role: 'user', scope: project.id },
    ]);
    const res = await ctx.request('DELETE', `/v1/organizations/${org.id}/invitations/${id}`, {
      token: admin.accessToken,
    });
    expect(res.body.status).toBe('revoked');
  });
});

describe('team: a user', () => {
  it('cannot invite anyone (manages nobody)', async () => {
    const user = await addMember(ctx, owner, org.id, [{ role: 'user', scope: project.id }]);
    expectProblem(
      await invite(ctx, user, org.id, {
        emails: [uniqueEmail()],
        grants: [{ role: 'user', scope: project.id }],
      }),
      403,
      'forbidden',
    );
  });
});

describe('team: the owner', () => {
  it('invites an admin, who then manages users', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email, [
      { role: 'admin', scope: org.id },
    ]);
    await accept(token, invitee);
    expect(await allowed(ctx, invitee, 'members:invite', org.id)).toBe(true);
  });

  it('offers ownership to one address at a time', async () => {
    const res = await invite(ctx, owner, org.id, {
      emails: [uniqueEmail(), uniqueEmail()],
      offer_ownership: true,
    });
    expectProblem(res, 400, 'validation_failed');
  });

  it('the link says that accepting makes the invitee the owner', async () => {
    const o = await createOrg(ctx, owner, 'team');
    const { token } = await inviteOne(ctx, owner, o.id, uniqueEmail('offer-words'), [], {
      offer_ownership: true,
    });
    expect((await ctx.request('GET', `/v1/invitations/${token}`)).body.offers_ownership).toBe(true);
  });

  it('accepting the offer transfers ownership; the former owner keeps admin', async () => {
    const former = await ctx.signUp();
    const o = await createOrg(ctx, former, 'team', 'Handed Over');
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, former, o.id, invitee.email, [], {
      offer_ownership: true,
    });
    expect((await accept(token, invitee)).status).toBe(200);
    expect((await organization(o.id, invitee)).body.owner_id).toBe(invitee.userId);
    expect(await allowed(ctx, invitee, 'organization:delete', o.id)).toBe(true);
    // The former owner: an admin now, without the owner-only acts.
    expect(await allowed(ctx, former, 'members:invite', o.id)).toBe(true);
    expect(await allowed(ctx, former, 'organization:delete', o.id)).toBe(false);
    const detail = await ctx.request('GET', `/v1/organizations/${o.id}/members/${former.userId}`, {
      token: invitee.accessToken,
    });
    expect(detail.body.grants).toMatchObject([{ role: 'admin', scope: o.id }]);
  });

  it('a new owner by sign-up through the offer is the owner at once', async () => {
    const former = await ctx.signUp();
    const o = await createOrg(ctx, former, 'team');
    const email = uniqueEmail('new-owner');
    const { token } = await inviteOne(ctx, former, o.id, email, [], { offer_ownership: true });
    const res = await ctx.request('POST', `/v1/invitations/${token}/accept`, {
      body: { first_name: 'New', last_name: 'Owner', password: STRONG_PASSWORD },
    });
    expect(res.status).toBe(200);
    expect((await organization(o.id, former)).body.owner_id).toBe(res.body.user_id);
  });

  it('the transfer is audited with where ownership came from', async () => {
    const former = await ctx.signUp();
    const o = await createOrg(ctx, former, 'team');
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, former, o.id, invitee.email, [], {
      offer_ownership: true,
    });
    await accept(token, invitee);
    const [event] = await auditRows(ctx, o.id, 'invitation.accepted');
    expect(event!.changes).toMatchObject({ ownership_from: former.userId });
  });

  it('an offer made by an owner who has since handed ownership elsewhere only makes a member', async () => {
    const first = await ctx.signUp();
    const o = await createOrg(ctx, first, 'team');
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, first, o.id, invitee.email, [], {
      offer_ownership: true,
    });
    // Ownership moves to someone else through the organization's own transfer flow.
    const second = await addMember(ctx, first, o.id, [{ role: 'admin', scope: o.id }]);
    const offer = await offerOwnership(ctx, first, o.id, second.userId);
    await ctx.request(
      'POST',
      `/v1/organizations/${o.id}/ownership-offers/${offer.body.id}/accept`,
      {
        token: second.accessToken,
      },
    );
    expect((await organization(o.id, second)).body.owner_id).toBe(second.userId);
    expect((await accept(token, invitee)).status).toBe(200);
    expect((await organization(o.id, second)).body.owner_id).toBe(second.userId);
  });
});

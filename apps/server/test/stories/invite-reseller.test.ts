/**
 * Inviting in the `reseller` template (source 001): "Customer/Account owners have all the
 * possible permissions ... They are also the only user who can send invitations from the
 * account to new or existing users." The customer owner invites anywhere; an account owner
 * within their account (its rooms included); nobody else, whatever they hold.
 * @see issue 4, items 2 and 9
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
  uniqueEmail,
} from '../harness';
import {
  addMember,
  allowed,
  createAccount,
  createAccountOwnedBy,
  createOrg,
  createResource,
  invite,
  inviteOne,
} from '../seed';

let ctx: TestContext;
let owner: SignedIn;
let accountOwner: SignedIn;
let org: { id: string };
let meetings: { id: string };
let streaming: { id: string };
let room: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'reseller', 'Reseller Invites');
  accountOwner = await addMember(ctx, owner, org.id, [{ role: 'member', scope: org.id }]);
  meetings = await createAccountOwnedBy(ctx, owner, org.id, accountOwner.userId, 'meeting');
  streaming = await createAccount(ctx, owner, org.id, 'video', 'Streaming');
  room = await createResource(ctx, owner, org.id, meetings.id, 'room', 'Room 1');
});
afterAll(async () => {
  await ctx?.close();
});

const accept = (token: string, who: SignedIn) =>
  ctx.request('POST', `/v1/invitations/${token}/accept`, { token: who.accessToken, body: {} });
const invitationCount = async () =>
  (
    await ctx.database.db
      .selectFrom('invitations')
      .select('id')
      .where('organization_id', '=', org.id)
      .execute()
  ).length;

describe('reseller: the customer owner', () => {
  it('invites with checked permissions at the customer, an account and a room', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email, [
      { role: 'member', scope: org.id },
      { permissions: ['video.assets:read'], scope: streaming.id },
      { permissions: ['meeting.rooms:update'], scope: room.id },
    ]);
    expect((await accept(token, invitee)).status).toBe(200);
    expect(await allowed(ctx, invitee, 'organization:read', org.id)).toBe(true);
    expect(await allowed(ctx, invitee, 'video.assets:read', streaming.id)).toBe(true);
    expect(await allowed(ctx, invitee, 'meeting.rooms:update', room.id)).toBe(true);
    expect(await allowed(ctx, invitee, 'meeting.rooms:update', meetings.id)).toBe(false);
  });

  it('must check permissions or name a role: reseller has no default role', async () => {
    expectProblem(
      await invite(ctx, owner, org.id, { emails: [uniqueEmail()], grants: [{ scope: room.id }] }),
      400,
      'validation_failed',
    );
  });
});

describe('reseller: an account owner', () => {
  it('invites to their account and its rooms', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, accountOwner, org.id, invitee.email, [
      { permissions: ['meeting.rooms:read', 'meeting.rooms:create'], scope: meetings.id },
      { permissions: ['meeting.rooms:delete'], scope: room.id },
    ]);
    expect((await accept(token, invitee)).status).toBe(200);
    expect(await allowed(ctx, invitee, 'meeting.rooms:create', meetings.id)).toBe(true);
    expect(await allowed(ctx, invitee, 'meeting.rooms:delete', room.id)).toBe(true);
  });

  it('cannot invite to another account: 403, nothing written', async () => {
    const before = await invitationCount();
    const res = await invite(ctx, accountOwner, org.id, {
      emails: [uniqueEmail()],
      grants: [{ permissions: ['video.assets:read'], scope: streaming.id }],
    });
    expectProblem(res, 403, 'forbidden');
    expect(await invitationCount()).toBe(before);
  });

  it('cannot invite to the customer itself, nor with no grants at all', async () => {
    expectProblem(
      await invite(ctx, accountOwner, org.id, {
        emails: [uniqueEmail()],
        grants: [{ role: 'member', scope: org.id }],
      }),
      403,
      'forbidden',
    );
    expectProblem(
      await invite(ctx, accountOwner, org.id, { emails: [uniqueEmail()] }),
      403,
      'forbidden',
    );
  });

  it('cannot mix their account with another in one request: all or nothing', async () => {
    const before = await invitationCount();
    const res = await invite(ctx, accountOwner, org.id, {
      emails: [uniqueEmail(), uniqueEmail()],
      grants: [
        { permissions: ['meeting.rooms:read'], scope: meetings.id },
        { permissions: ['video.assets:read'], scope: streaming.id },
      ],
    });
    expectProblem(res, 403, 'forbidden');
    expect(await invitationCount()).toBe(before);
  });

  it('sees, resends and revokes the invitations they sent', async () => {
    const { id } = await inviteOne(ctx, accountOwner, org.id, uniqueEmail('rs-own'), [
      { permissions: ['meeting.rooms:read'], scope: meetings.id },
    ]);
    const listed = await ctx.request('GET', `/v1/organizations/${org.id}/invitations`, {
      token: accountOwner.accessToken,
    });
    expect(listed.body.data.map((i: { id: string }) => i.id)).toContain(id);
    // Only their own: none of the customer owner's invitations.
    expect(
      listed.body.data.every((i: { invited_by: string }) => i.invited_by === accountOwner.userId),
    ).toBe(true);
    const resent = await ctx.request(
      'POST',
      `/v1/organizations/${org.id}/invitations/${id}/resend`,
      { token: accountOwner.accessToken },
    );
    expect(resent.status).toBe(200);
    const revoked = await ctx.request('DELETE', `/v1/organizations/${org.id}/invitations/${id}`, {
      token: accountOwner.accessToken,
    });
    expect(revoked.body.status).toBe('revoked');
  });
});

describe('reseller: everyone else', () => {
  it('a member holding members:invite (and more) is refused: owners only', async () => {
    const member = await addMember(ctx, owner, org.id, [
      { permissions: ['organization:read', 'members:read', 'members:invite'], scope: org.id },
    ]);
    const res = await invite(ctx, member, org.id, {
      emails: [uniqueEmail()],
      grants: [{ permissions: ['organization:read'], scope: org.id }],
    });
    expectProblem(res, 403, 'forbidden');
  });

  it('a member with every permission on an account they do not own is refused', async () => {
    const member = await addMember(ctx, owner, org.id, [
      { permissions: ['*'], scope: streaming.id },
    ]);
    expectProblem(
      await invite(ctx, member, org.id, {
        emails: [uniqueEmail()],
        grants: [{ permissions: ['video.assets:read'], scope: streaming.id }],
      }),
      403,
      'forbidden',
    );
  });

  it("cannot revoke an owner's invitation even holding members:invite", async () => {
    const member = await addMember(ctx, owner, org.id, [
      { permissions: ['organization:read', 'members:read', 'members:invite'], scope: org.id },
    ]);
    const { id } = await inviteOne(ctx, owner, org.id, uniqueEmail('rs-theirs'), [
      { role: 'member', scope: org.id },
    ]);
    expectProblem(
      await ctx.request('DELETE', `/v1/organizations/${org.id}/invitations/${id}`, {
        token: member.accessToken,
      }),
      403,
      'forbidden',
    );
  });
});

/**
 * Inviting in the `media` template (source 000): "The owner has some special abilities that no
 * other role has, like adding users" — only the owner invites, adds, revokes and resends.
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
  addExisting,
  addMember,
  allowed,
  createAccount,
  createOrg,
  invite,
  inviteOne,
} from '../seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };
let video: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'media', 'Media Invites');
  video = await createAccount(ctx, owner, org.id, 'video', 'Collection');
});
afterAll(async () => {
  await ctx?.close();
});

const invitations = async () =>
  ctx.database.db
    .selectFrom('invitations')
    .select('id')
    .where('organization_id', '=', org.id)
    .execute();

describe('media: the owner', () => {
  it('invites with any role, and the invitee holds it after accepting', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email, [
      { role: 'video-developer', scope: video.id },
    ]);
    const res = await ctx.request('POST', `/v1/invitations/${token}/accept`, {
      token: invitee.accessToken,
      body: {},
    });
    expect(res.status).toBe(200);
    expect(await allowed(ctx, invitee, 'video.assets:create', video.id)).toBe(true);
    expect(await allowed(ctx, invitee, 'billing:read', org.id)).toBe(false);
  });

  it('invites an admin, who then may not invite anyone', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email, [
      { role: 'admin', scope: org.id },
    ]);
    await ctx.request('POST', `/v1/invitations/${token}/accept`, {
      token: invitee.accessToken,
      body: {},
    });
    expectProblem(
      await invite(ctx, invitee, org.id, { emails: [uniqueEmail()] }),
      403,
      'forbidden',
    );
  });

  it('cannot offer ownership by invitation here (transfer-ownership does that)', async () => {
    expectProblem(
      await invite(ctx, owner, org.id, { emails: [uniqueEmail()], offer_ownership: true }),
      403,
      'forbidden',
    );
  });

  it('must name a role: media has no default role', async () => {
    expectProblem(
      await invite(ctx, owner, org.id, { emails: [uniqueEmail()], grants: [{ scope: org.id }] }),
      400,
      'validation_failed',
    );
  });
});

describe('media: every other role', () => {
  const roles: [string, string][] = [
    ['admin', 'org'],
    ['accountant', 'org'],
    ['video-admin', 'org'],
    ['video-developer', 'acc'],
    ['video-analyst', 'org'],
    ['video-source-specific', 'acc'],
    ['image-admin', 'org'],
  ];

  it.each(roles)(
    '%s cannot invite, even with no grants: 403, nothing written',
    async (role, at) => {
      const before = (await invitations()).length;
      const member = await addMember(ctx, owner, org.id, [
        { role, scope: at === 'org' ? org.id : video.id },
      ]);
      expectProblem(
        await invite(ctx, member, org.id, { emails: [uniqueEmail()] }),
        403,
        'forbidden',
      );
      expectProblem(
        await invite(ctx, member, org.id, {
          emails: [uniqueEmail()],
          grants: [{ role: 'video-analyst', scope: video.id }],
        }),
        403,
        'forbidden',
      );
      expect(await invitations()).toHaveLength(before);
    },
  );

  it('an admin cannot add a user directly either', async () => {
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const newcomer = await ctx.signUp();
    expectProblem(await addExisting(ctx, admin, org.id, newcomer.email, []), 403, 'forbidden');
  });

  it("an admin sees the owner's invitations (members:read) but cannot revoke or resend them", async () => {
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const { id } = await inviteOne(ctx, owner, org.id, uniqueEmail('media-managed'));
    const seen = await ctx.request('GET', `/v1/organizations/${org.id}/invitations/${id}`, {
      token: admin.accessToken,
    });
    expect(seen.status).toBe(200);
    expectProblem(
      await ctx.request('DELETE', `/v1/organizations/${org.id}/invitations/${id}`, {
        token: admin.accessToken,
      }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('POST', `/v1/organizations/${org.id}/invitations/${id}/resend`, {
        token: admin.accessToken,
      }),
      403,
      'forbidden',
    );
    const after = await ctx.request('GET', `/v1/organizations/${org.id}/invitations/${id}`, {
      token: owner.accessToken,
    });
    expect(after.body.status).toBe('pending');
  });
});

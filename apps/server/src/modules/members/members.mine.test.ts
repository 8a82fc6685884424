import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type SignedIn, type TestContext } from '../../../test/harness';
import { addMember, createAccount, createOrg } from '../../../test/seed';

/**
 * `GET /v1/organizations/{org}/me`: every member reads their own grants and role names (Personal
 * Settings shows "your role"), even without `members:read`, which would refuse their own detail
 * (issue 11). It shows nothing of anyone else, and nothing to non-members.
 */
let ctx: TestContext;
let owner: SignedIn;
let org: { id: string; name: string };
let video: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'media', 'Harbour Video');
  video = await createAccount(ctx, owner, org.id, 'video');
});
afterAll(async () => {
  await ctx?.close();
});

const mine = (who: SignedIn, orgId = org.id) =>
  ctx.request('GET', `/v1/organizations/${orgId}/me`, { token: who.accessToken });

describe('my own membership', () => {
  it('answers a member without members:read their grants and the names of their roles', async () => {
    const developer = await addMember(ctx, owner, org.id, [
      { role: 'video-developer', scope: video.id },
    ]);
    const detail = await ctx.request(
      'GET',
      `/v1/organizations/${org.id}/members/${developer.userId}`,
      {
        token: developer.accessToken,
      },
    );
    expect(detail.status).toBe(403);
    const res = await mine(developer);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      user_id: developer.userId,
      organization: { id: org.id, name: 'Harbour Video' },
      is_owner: false,
      grants: [{ role: 'video-developer', scope: video.id }],
    });
    expect(res.body.roles).toEqual([{ key: 'video-developer', name: expect.any(String) }]);
    expect(res.body.roles[0].name).not.toBe('video-developer');
    // held on the video account only, yet listed: what the console shows menus for
    expect(res.body.permissions_anywhere.some((p: string) => p.startsWith('video.'))).toBe(true);
    expect(res.body.permissions_anywhere).not.toContain('members:read');
  });

  it('names the owner first for the owner', async () => {
    const res = await mine(owner);
    expect(res.status).toBe(200);
    expect(res.body.roles[0]).toEqual({ key: 'owner', name: 'Owner' });
    expect(res.body.is_owner).toBe(true);
    expect(res.body.permissions_anywhere).toContain('members:read');
    expect(res.body.organization.template).toBe('media');
  });

  it('answers a non-member 404, as every organization route does', async () => {
    const stranger = await ctx.signUp();
    const res = await mine(stranger);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });

  it('refuses without a sign-in', async () => {
    const res = await ctx.request('GET', `/v1/organizations/${org.id}/me`);
    expect(res.status).toBe(401);
  });
});

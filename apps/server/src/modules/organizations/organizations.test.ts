import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, expectProblem, type TestContext } from '../../../test/harness';
import { addMember, check, createAccount, createOrg } from '../../../test/seed';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

describe('organizations', () => {
  it('makes the creator the owner and lists it among mine', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media', 'Acme Media');
    expect(org).toMatchObject({
      name: 'Acme Media',
      slug: 'acme-media',
      template: 'media',
      owner_id: owner.userId,
    });
    const mine = await ctx.request('GET', '/v1/organizations', { token: owner.accessToken });
    expect(mine.body.data).toEqual([
      expect.objectContaining({ id: org.id, is_owner: true, membership_status: 'active' }),
    ]);
  });

  it('answers 404 to a non-member, as if the organization did not exist', async () => {
    const owner = await ctx.signUp();
    const stranger = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${org.id}`, { token: stranger.accessToken }),
      404,
      'not_found',
    );
    expectProblem(
      await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
        token: stranger.accessToken,
        body: { name: 'Mine now' },
      }),
      404,
      'not_found',
    );
  });

  it('lets a video-developer create assets on a video account but nothing on an image account', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const video = await createAccount(ctx, owner, org.id, 'video');
    const image = await createAccount(ctx, owner, org.id, 'image');
    const dev = await addMember(ctx, owner, org.id, [{ role: 'video-developer', scope: org.id }]);
    const yes = await check(ctx, dev, 'video.assets:create', video.id);
    expect(yes).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'video-developer', scope: org.id },
    });
    expect((await check(ctx, dev, 'image.sources:read', image.id)).allowed).toBe(false);
    expect((await check(ctx, dev, 'billing:read', org.id)).allowed).toBe(false);
  });

  it('refuses a grant that gives more than the granter holds', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const user = await addMember(ctx, owner, org.id, [{ role: 'user', scope: acc.id }]);
    const other = await addMember(ctx, owner, org.id, []);
    const res = await ctx.request(
      'PUT',
      `/v1/organizations/${org.id}/members/${other.userId}/grants`,
      { token: user.accessToken, body: { grants: [{ role: 'admin', scope: org.id }] } },
    );
    expectProblem(res, 403, 'forbidden');
  });
});

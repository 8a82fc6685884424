import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type SignedIn, type TestContext } from '../../../test/harness';
import { createOrg, inviteOne } from '../../../test/seed';

/**
 * `POST /v1/me/invitations/{id}/accept|reject`: a signed-in user answers the invitations to their
 * own verified address from the list (Personal Settings, "my invitations"), without the mailed
 * token. Nobody answers someone else's invitation; each is answered once (issue 11).
 */
let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'team', 'Mine Inc');
});
afterAll(async () => {
  await ctx?.close();
});

const answer = (who: SignedIn, id: string, what: 'accept' | 'reject') =>
  ctx.request('POST', `/v1/me/invitations/${id}/${what}`, { token: who.accessToken });

describe('answering my invitations by id', () => {
  it('accepts one to my address: I become a member with its grants, once', async () => {
    const invitee = await ctx.signUp();
    const inv = await inviteOne(ctx, owner, org.id, invitee.email, [
      { role: 'admin', scope: org.id },
    ]);
    const res = await answer(invitee, inv.id, 'accept');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      organization_id: org.id,
      user_id: invitee.userId,
      session: null,
    });
    const mine = await ctx.request('GET', `/v1/organizations/${org.id}/me`, {
      token: invitee.accessToken,
    });
    expect(mine.body.grants).toMatchObject([{ role: 'admin', scope: org.id }]);
    const again = await answer(invitee, inv.id, 'accept');
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('invitation_used');
    const listed = await ctx.request('GET', '/v1/me/invitations', { token: invitee.accessToken });
    expect(listed.body.data).toEqual([]);
  });

  it('declines one to my address, which then cannot be accepted', async () => {
    const invitee = await ctx.signUp();
    const inv = await inviteOne(ctx, owner, org.id, invitee.email, [
      { role: 'admin', scope: org.id },
    ]);
    expect((await answer(invitee, inv.id, 'reject')).status).toBe(204);
    const late = await answer(invitee, inv.id, 'accept');
    expect(late.status).toBe(409);
    const members = await ctx.request('GET', `/v1/organizations/${org.id}/me`, {
      token: invitee.accessToken,
    });
    expect(members.status).toBe(404);
  });

  it('answers 404 for someone else’s invitation, and changes nothing', async () => {
    const invitee = await ctx.signUp();
    const other = await ctx.signUp();
    const inv = await inviteOne(ctx, owner, org.id, invitee.email, [
      { role: 'admin', scope: org.id },
    ]);
    for (const what of ['accept', 'reject'] as const) {
      const res = await answer(other, inv.id, what);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect((await answer(invitee, inv.id, 'accept')).status).toBe(200);
  });

  it('is refused without a sign-in', async () => {
    const res = await ctx.request('POST', '/v1/me/invitations/inv_x/accept');
    expect(res.status).toBe(401);
  });
});

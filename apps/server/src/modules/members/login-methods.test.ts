import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, expectProblem, type TestContext } from '../../../test/harness';
import { addMember, auditCount, createOrg } from '../../../test/seed';

/** A member's login type: PUT …/members/{user}/login-methods, and what it does to sessions. */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

async function world() {
  const owner = await ctx.signUp();
  const org = await createOrg(ctx, owner);
  const member = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
  const url = (userId: string) => `/v1/organizations/${org.id}/members/${userId}/login-methods`;
  return { owner, org, member, url };
}

describe("a member's login type", () => {
  it('is shown in the member detail and limits how the member may reach the organization', async () => {
    const { owner, org, member, url } = await world();
    const set = await ctx.request('PUT', url(member.userId), {
      token: owner.accessToken,
      body: { login_methods: ['github'] },
    });
    expect(set.status, set.text).toBe(200);
    expect(set.body.login_methods).toEqual(['github']);
    // The member signed in with a password: refused here, with the methods named.
    const refused = await ctx.request('GET', `/v1/organizations/${org.id}`, {
      token: member.accessToken,
    });
    expectProblem(refused, 403, 'login_method_not_allowed');
    expect(refused.body).toMatchObject({
      login_method: 'password',
      allowed_login_methods: ['github'],
    });
    // Back to "any": let in again at once (the member cache is invalidated by the write).
    const cleared = await ctx.request('PUT', url(member.userId), {
      token: owner.accessToken,
      body: { login_methods: null },
    });
    expect(cleared.body.login_methods).toBeNull();
    const ok = await ctx.request('GET', `/v1/organizations/${org.id}`, {
      token: member.accessToken,
    });
    expect(ok.status).toBe(200);
  });

  it("does not let anyone but the owner set the owner's login type", async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const url = (userId: string) => `/v1/organizations/${org.id}/members/${userId}/login-methods`;
    // a team admin holds members:update, but the owner's login type is the owner's alone
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const res = await ctx.request('PUT', url(owner.userId), {
      token: admin.accessToken,
      body: { login_methods: ['google'] },
    });
    expectProblem(res, 403, 'forbidden');
    expect(res.body.reason).toBe('owner_only');
    const detail = await ctx.request('GET', `/v1/organizations/${org.id}/members/${owner.userId}`, {
      token: owner.accessToken,
    });
    expect(detail.body.login_methods).toBeNull();
  });

  it('refuses a login type that excludes the session setting it (policy_lockout)', async () => {
    const { owner, url } = await world();
    const before = await auditCount(ctx);
    const res = await ctx.request('PUT', url(owner.userId), {
      token: owner.accessToken,
      body: { login_methods: ['google'] },
    });
    expectProblem(res, 409, 'policy_lockout');
    expect(await auditCount(ctx)).toBe(before);
  });

  it('validates the methods and needs members:update', async () => {
    const { owner, member, url } = await world();
    for (const body of [
      { login_methods: ['fax'] },
      { login_methods: [] },
      { login_methods: 'password' },
      {},
      { login_methods: ['password'], extra: 1 },
    ]) {
      const res = await ctx.request('PUT', url(member.userId), { token: owner.accessToken, body });
      expectProblem(res, 400, 'validation_failed');
    }
    const self = await ctx.request('PUT', url(owner.userId), {
      token: member.accessToken,
      body: { login_methods: ['password'] },
    });
    expectProblem(self, 403, 'forbidden');
    const outsider = await ctx.signUp();
    const hidden = await ctx.request('PUT', url(member.userId), {
      token: outsider.accessToken,
      body: { login_methods: ['password'] },
    });
    expectProblem(hidden, 404, 'not_found');
  });
});

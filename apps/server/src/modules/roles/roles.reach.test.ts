/**
 * Issue 12 #11 (source 003, accounts): "users can only add users to accounts where they are
 * Admin" — an account admin invites to their account, so they must be able to read the roles
 * they may give. `roles:read` held at an account is enough to list the organization's roles;
 * who holds it nowhere is still refused, and a non-member does not learn the organization exists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../../test/harness';
import { addMember, createAccount, createOrg } from '../../../test/seed';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

describe('GET /v1/organizations/:org/roles with roles:read held only at an account', () => {
  it('lists the roles for an account admin, refuses a member who holds it nowhere, hides the org from outsiders', async () => {
    // @see issue 12 #11
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'accounts');
    const north = await createAccount(ctx, owner, org.id, 'video', 'North');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: north.id }]);
    const listed = await ctx.request('GET', `/v1/organizations/${org.id}/roles`, {
      token: admin.accessToken,
    });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data.map((r: { key: string }) => r.key)).toEqual(
      expect.arrayContaining(['admin', 'viewer']),
    );

    // A member holding nothing: refused.
    const nobody = await addMember(ctx, owner, org.id, []);
    const refused = await ctx.request('GET', `/v1/organizations/${org.id}/roles`, {
      token: nobody.accessToken,
    });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('forbidden');

    const outsider = await ctx.signUp();
    const hidden = await ctx.request('GET', `/v1/organizations/${org.id}/roles`, {
      token: outsider.accessToken,
    });
    expect(hidden.status).toBe(404);
  });
});

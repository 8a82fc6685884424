import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { createOrg } from '../../../test/seed';

/**
 * The members list filters by login type (issue 12 #1: the console's "login method" filter) and
 * answers each member's login type, so that the table can show it.
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

describe('members list: login method filter', () => {
  let owner: SignedIn;
  let orgId: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    owner = await ctx.signUp({ first_name: 'Olga', last_name: 'Owner' });
    orgId = (await createOrg(ctx, owner, 'media')).id;
    for (const [key, method] of [
      ['google', 'google'],
      ['password', 'password'],
      ['oidc', 'oidc:acme'],
      ['any', undefined],
    ] as const) {
      const res = await ctx.request('POST', `/v1/organizations/${orgId}/members`, {
        token: owner.accessToken,
        body: {
          email: `${key}-user@login.test`,
          first_name: key,
          last_name: 'User',
          grants: [],
          ...(method ? { login_method: method } : {}),
        },
      });
      expect(res.status).toBe(201);
      ids[key] = res.body.user_id;
    }
  });

  const list = async (query: string) => {
    const res = await ctx.request('GET', `/v1/organizations/${orgId}/members?${query}`, {
      token: owner.accessToken,
    });
    expect(res.status).toBe(200);
    return res.body as { data: { user_id: string; login_methods: string[] | null }[] };
  };

  it('answers only the members whose login type names the method', async () => {
    expect((await list('login_method=google')).data.map((m) => m.user_id)).toEqual([ids.google]);
    expect((await list('login_method=password')).data.map((m) => m.user_id)).toEqual([
      ids.password,
    ]);
    expect(
      (await list(`login_method=${encodeURIComponent('oidc:acme')}`)).data.map((m) => m.user_id),
    ).toEqual([ids.oidc]);
    expect((await list('login_method=github')).data).toEqual([]);
  });

  it("shows each member's login type in the list (null: the organization's methods)", async () => {
    const all = await list('limit=100');
    const byId = new Map(all.data.map((m) => [m.user_id, m.login_methods]));
    expect(byId.get(ids.google!)).toEqual(['google']);
    expect(byId.get(ids.any!)).toBeNull();
    expect(byId.get(owner.userId)).toBeNull();
  });

  it('refuses a method that is not one', async () => {
    const res = await ctx.request('GET', `/v1/organizations/${orgId}/members?login_method=%25`, {
      token: owner.accessToken,
    });
    expectProblem(res, 400, 'validation_failed');
  });
});

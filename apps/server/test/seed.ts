import type { SignedIn, TestContext } from './harness';

/** Data factories for organization tests: everything through the public API, as a user would. */
export async function createOrg(
  ctx: TestContext,
  owner: SignedIn,
  template = 'media',
  name = `Org ${Math.random().toString(36).slice(2, 8)}`,
) {
  const res = await ctx.request('POST', '/v1/organizations', {
    token: owner.accessToken,
    body: { name, template },
  });
  if (res.status !== 201) throw new Error(`create org failed: ${res.status} ${res.text}`);
  return res.body as { id: string; name: string; slug: string; template: string; owner_id: string };
}

export async function createAccount(
  ctx: TestContext,
  actor: SignedIn,
  orgId: string,
  product = 'video',
  name = `${product} account`,
) {
  const res = await ctx.request('POST', `/v1/organizations/${orgId}/accounts`, {
    token: actor.accessToken,
    body: { name, product },
  });
  if (res.status !== 201) throw new Error(`create account failed: ${res.status} ${res.text}`);
  return res.body as { id: string; product: string; owner_id: string; name: string };
}

export async function createResource(
  ctx: TestContext,
  actor: SignedIn,
  orgId: string,
  accountId: string,
  type = 'collection',
  name = `${type} 1`,
) {
  const res = await ctx.request(
    'POST',
    `/v1/organizations/${orgId}/accounts/${accountId}/resources`,
    { token: actor.accessToken, body: { name, type } },
  );
  if (res.status !== 201) throw new Error(`create resource failed: ${res.status} ${res.text}`);
  return res.body as { id: string; account_id: string };
}

type GrantInput = { role: string; scope: string } | { permissions: string[]; scope: string };

/** Signs up a new user and has `adder` (the owner, usually) add them with grants. */
export async function addMember(
  ctx: TestContext,
  adder: SignedIn,
  orgId: string,
  grants: GrantInput[],
) {
  const user = await ctx.signUp();
  const res = await ctx.request('POST', `/v1/organizations/${orgId}/members`, {
    token: adder.accessToken,
    body: { email: user.email, grants },
  });
  if (res.status !== 201) throw new Error(`add member failed: ${res.status} ${res.text}`);
  return user;
}

export async function check(ctx: TestContext, who: SignedIn, permission: string, scope: string) {
  const res = await ctx.request('POST', '/v1/authz/check', {
    token: who.accessToken,
    body: { permission, scope },
  });
  if (res.status !== 200) throw new Error(`check failed: ${res.status} ${res.text}`);
  return res.body as {
    allowed: boolean;
    reason: { kind: string; role?: string; scope?: string; message?: string };
  };
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import {
  addMember,
  apiKey,
  createAccount,
  createOrg,
  platformAdmin,
  suspendMember,
} from '../../../test/seed';

/**
 * `POST /v1/auth/api-access-check` (issue 6, item 2): what an API gateway asks about a
 * credential. Unusable credentials are `{ active: false, reason }`, never an error.
 */
let ctx: TestContext;
let owner: SignedIn;
let orgId: string;
let videoId: string;
let admin: SignedIn;
beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp({ first_name: 'Grace', last_name: 'Hopper' });
  orgId = (await createOrg(ctx, owner, 'media')).id;
  videoId = (await createAccount(ctx, owner, orgId, 'video')).id;
  admin = await platformAdmin(ctx);
});
afterAll(async () => {
  await ctx?.close();
});

const introspect = (token: string) =>
  ctx.request('POST', '/v1/auth/api-access-check', { body: { token } });
const switchTo = async (who: SignedIn, org: string) => {
  const res = await ctx.request('POST', `/v1/organizations/${org}/switch`, {
    token: who.accessToken,
  });
  expect(res.status).toBe(200);
  return res.body.access_token as string;
};

describe('an access token', () => {
  it('answers the user and the session, with no organization before a switch', async () => {
    const user = await ctx.signUp({ first_name: 'Alan', last_name: 'Turing' });
    const res = await introspect(user.accessToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      active: true,
      type: 'user',
      user: { id: user.userId, email: user.email, first_name: 'Alan', last_name: 'Turing' },
      session_id: user.sessionId,
      organization_id: null,
      grants: [],
      is_owner: false,
      amr: ['otp'],
      organization_refusal: null,
    });
  });

  it('answers the current organization and the grants after /switch', async () => {
    const dev = await addMember(ctx, owner, orgId, [
      { role: 'video-developer', scope: videoId },
      { role: 'accountant', scope: orgId },
    ]);
    const token = await switchTo(dev, orgId);
    const res = await introspect(token);
    expect(res.body).toMatchObject({
      active: true,
      type: 'user',
      user: { id: dev.userId },
      session_id: dev.sessionId,
      organization_id: orgId,
      is_owner: false,
    });
    expect(res.body.grants).toEqual(
      expect.arrayContaining([
        { role: 'video-developer', scope: videoId },
        { role: 'accountant', scope: orgId },
      ]),
    );
    expect(res.body.grants).toHaveLength(2);
  });

  it('answers the owner as owner of the current organization', async () => {
    const token = await switchTo(owner, orgId);
    const res = await introspect(token);
    expect(res.body).toMatchObject({
      active: true,
      user: { id: owner.userId, first_name: 'Grace', last_name: 'Hopper' },
      organization_id: orgId,
      is_owner: true,
    });
  });

  it('follows the latest switch between two organizations', async () => {
    const other = (await createOrg(ctx, owner, 'team')).id;
    await switchTo(owner, orgId);
    const token = await switchTo(owner, other);
    expect((await introspect(token)).body.organization_id).toBe(other);
  });

  it('answers no organization once the member is suspended there', async () => {
    const member = await addMember(ctx, owner, orgId, [{ role: 'accountant', scope: orgId }]);
    const token = await switchTo(member, orgId);
    await suspendMember(ctx, owner, orgId, member.userId);
    const res = await introspect(token);
    expect(res.body).toMatchObject({ active: true, organization_id: null, grants: [] });
  });

  it('answers no organization and no grants while the organization is suspended', async () => {
    const org = (await createOrg(ctx, owner, 'media')).id;
    const member = await addMember(ctx, owner, org, [{ role: 'accountant', scope: org }]);
    const token = await switchTo(member, org);
    const suspended = await ctx.request('POST', `/v1/admin/customers/${org}/suspend`, {
      token: admin.accessToken,
    });
    expect(suspended.status).toBe(200);
    const res = await introspect(token);
    expect(res.body).toMatchObject({
      active: true,
      organization_id: null,
      grants: [],
      is_owner: false,
    });
  });

  it('answers inactive for a user a platform admin suspended', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('POST', `/v1/admin/users/${user.userId}/suspend`, {
      token: admin.accessToken,
    });
    expect(res.status).toBe(200);
    const answer = await introspect(user.accessToken);
    expect(answer.status).toBe(200);
    expect(answer.body.active).toBe(false);
    expect(answer.body.reason).toEqual(expect.any(String));
    expect(answer.body).not.toHaveProperty('user');
  });

  it('answers inactive for a session that signed out', async () => {
    const user = await ctx.signUp();
    const out = await ctx.request('POST', '/v1/auth/logout', { token: user.accessToken });
    expect(out.status).toBeLessThan(300);
    expect((await introspect(user.accessToken)).body).toEqual({
      active: false,
      reason: 'session_revoked',
    });
  });

  it('answers inactive for a token with a forged signature', async () => {
    const user = await ctx.signUp();
    const [h, p, s] = user.accessToken.split('.') as [string, string, string];
    const forged = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await introspect(forged)).body).toEqual({ active: false, reason: 'invalid_token' });
  });

  it('answers inactive for a refresh token (not an access token)', async () => {
    const user = await ctx.signUp();
    expect((await introspect(user.refreshToken)).body.active).toBe(false);
  });
});

describe('an API key', () => {
  it('answers the key, its organization and its grants', async () => {
    const grants = [{ role: 'video-developer', scope: videoId }];
    const expiresAt = new Date(ctx.clock.now() + 3600_000).toISOString();
    const key = await apiKey(ctx, owner, orgId, grants, {
      name: 'encoder',
      expires_at: expiresAt,
    });
    const res = await introspect(key.secret);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      active: true,
      type: 'api_key',
      api_key: { id: key.id, name: 'encoder', prefix: key.prefix },
      organization_id: orgId,
      grants,
      expires_at: expiresAt,
    });
    expect(res.text).not.toContain(key.secret);
  });

  it('answers inactive for a revoked key', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'accountant', scope: orgId }]);
    expect((await introspect(key.secret)).body.active).toBe(true);
    await ctx.request('DELETE', `/v1/organizations/${orgId}/api-keys/${key.id}`, {
      token: owner.accessToken,
    });
    expect((await introspect(key.secret)).body).toEqual({
      active: false,
      reason: 'invalid_token',
    });
  });

  it('answers inactive for an expired key', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'accountant', scope: orgId }], {
      expires_at: new Date(ctx.clock.now() + 1000).toISOString(),
    });
    ctx.clock.advance(1000);
    expect((await introspect(key.secret)).body).toEqual({
      active: false,
      reason: 'invalid_token',
    });
  });

  it('answers inactive for a key of a suspended organization', async () => {
    const org = (await createOrg(ctx, owner, 'media')).id;
    const key = await apiKey(ctx, owner, org, [{ role: 'accountant', scope: org }]);
    await ctx.request('POST', `/v1/admin/customers/${org}/suspend`, { token: admin.accessToken });
    expect((await introspect(key.secret)).body).toEqual({
      active: false,
      reason: 'invalid_token',
    });
  });
});

describe('garbage and malformed input', () => {
  it.each([
    ['a random string', 'hello'],
    ['a well-formed unknown key', `gh_${'Q'.repeat(43)}`],
    ['a short gh_ value', 'gh_abc'],
    ['three dots', 'a.b.c'],
    ['a JWT-looking string', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
    ['whitespace around nothing', '   x   '],
    ['a very long value', 'x'.repeat(4096)],
  ])('answers %s as inactive, invalid_token', async (_, token) => {
    const res = await introspect(token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false, reason: 'invalid_token' });
  });

  it.each([
    ['no token', {}],
    ['an empty token', { token: '' }],
    ['a token that is a number', { token: 42 }],
    ['a token over 4096 characters', { token: 'x'.repeat(4097) }],
    ['an unknown field', { token: 'abc', extra: 1 }],
  ])('refuses %s with 400', async (_, body) => {
    const res = await ctx.request('POST', '/v1/auth/api-access-check', { body });
    expectProblem(res, 400, 'validation_failed');
  });

  it('refuses invalid JSON with 400 malformed_json', async () => {
    const res = await ctx.request('POST', '/v1/auth/api-access-check', {
      body: '{"token":',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 400, 'malformed_json');
  });

  it('needs no credential of its own (a gateway calls it)', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'accountant', scope: orgId }]);
    const res = await ctx.request('POST', '/v1/auth/api-access-check', {
      body: { token: key.secret },
      headers: { authorization: 'Bearer not-a-token' },
    });
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(true);
  });
});

// Last: moving the clock past the access-token lifetime expires every token signed so far.
describe('time passing', () => {
  it('answers inactive for an expired access token', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance((ctx.gatehouse.rt.config.accessTokenTtl + 120) * 1000);
    expect((await introspect(user.accessToken)).body).toEqual({
      active: false,
      reason: 'invalid_token',
    });
  });
});

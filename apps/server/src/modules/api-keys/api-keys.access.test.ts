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
  auditCount,
  createAccount,
  createApiKey,
  createOrg,
} from '../../../test/seed';

/**
 * What a key may do and who may manage keys (issue 6, items 1 and 5): a key acts only inside
 * its organization, within its grants, and only on the authorization API and read routes;
 * managing keys follows the organization's template.
 */
let ctx: TestContext;
let owner: SignedIn;
let orgId: string;
let videoId: string;
let imageId: string;
beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  orgId = (await createOrg(ctx, owner, 'media')).id;
  videoId = (await createAccount(ctx, owner, orgId, 'video')).id;
  imageId = (await createAccount(ctx, owner, orgId, 'image')).id;
});
afterAll(async () => {
  await ctx?.close();
});

const keysUrl = (org: string) => `/v1/organizations/${org}/api-keys`;
const xApiKey = (secret: string) => ({ 'x-api-key': secret });
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const checkAs = (
  headers: Record<string, string>,
  body: { subject?: string; permission: string; scope: string },
) => ctx.request('POST', '/v1/authz/check', { headers, body });

const NO_ACCESS = {
  allowed: false,
  reason: {
    kind: 'no_access',
    message: 'No such scope, or the subject is not a member of its organization',
  },
};

describe('who may manage keys: media (the owner only)', () => {
  let admin: SignedIn;
  beforeAll(async () => {
    admin = await addMember(ctx, owner, orgId, [{ role: 'admin', scope: orgId }]);
  });

  it('lets the owner create, list and revoke', async () => {
    const { id } = await apiKey(ctx, owner, orgId, [{ role: 'accountant', scope: orgId }]);
    expect((await ctx.request('GET', keysUrl(orgId), { token: owner.accessToken })).status).toBe(
      200,
    );
    const revoked = await ctx.request('DELETE', `${keysUrl(orgId)}/${id}`, {
      token: owner.accessToken,
    });
    expect(revoked.status).toBe(200);
  });

  it('refuses an admin creating a key with 403, even for grants the admin holds', async () => {
    const before = await auditCount(ctx, orgId);
    const res = await createApiKey(ctx, admin, orgId, {
      grants: [{ role: 'accountant', scope: orgId }],
    });
    expectProblem(res, 403, 'forbidden');
    expect(res.body.permission).toBe('api_keys:manage');
    expect(await auditCount(ctx, orgId)).toBe(before);
  });

  it('refuses an admin listing or reading keys with 403', async () => {
    const { id } = await apiKey(ctx, owner, orgId, [{ role: 'accountant', scope: orgId }]);
    expectProblem(
      await ctx.request('GET', keysUrl(orgId), { token: admin.accessToken }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('GET', `${keysUrl(orgId)}/${id}`, { token: admin.accessToken }),
      403,
      'forbidden',
    );
  });

  it('refuses an admin revoking a key with 403, and the key keeps working', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ permissions: ['accounts:read'], scope: orgId }]);
    expectProblem(
      await ctx.request('DELETE', `${keysUrl(orgId)}/${key.id}`, { token: admin.accessToken }),
      403,
      'forbidden',
    );
    const read = await ctx.request('GET', `/v1/organizations/${orgId}/accounts/${videoId}`, {
      headers: xApiKey(key.secret),
    });
    expect(read.status).toBe(200);
  });

  it('answers 404 to a user outside the organization', async () => {
    const stranger = await ctx.signUp();
    expectProblem(
      await ctx.request('GET', keysUrl(orgId), { token: stranger.accessToken }),
      404,
      'not_found',
    );
    expectProblem(
      await createApiKey(ctx, stranger, orgId, { grants: [{ role: 'accountant', scope: orgId }] }),
      404,
      'not_found',
    );
  });
});

describe('who may manage keys: permissions (members with API access)', () => {
  let permOwner: SignedIn;
  let permOrg: string;
  let project: string;
  beforeAll(async () => {
    permOwner = await ctx.signUp();
    permOrg = (await createOrg(ctx, permOwner, 'permissions')).id;
    project = (await createAccount(ctx, permOwner, permOrg, 'video')).id;
  });

  it('lets a member with the api-access role create, list and revoke keys', async () => {
    const dev = await addMember(ctx, permOwner, permOrg, [
      { role: 'api-access', scope: permOrg },
      { role: 'project', scope: project },
    ]);
    const created = await createApiKey(ctx, dev, permOrg, {
      grants: [{ role: 'project', scope: project }],
    });
    expect(created.status).toBe(201);
    expect(created.body.created_by).toBe(dev.userId);
    const listed = await ctx.request('GET', keysUrl(permOrg), { token: dev.accessToken });
    expect(listed.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id);
    const revoked = await ctx.request('DELETE', `${keysUrl(permOrg)}/${created.body.id}`, {
      token: dev.accessToken,
    });
    expect(revoked.status).toBe(200);
  });

  it('refuses a member without API access with 403', async () => {
    const plain = await addMember(ctx, permOwner, permOrg, [
      { role: 'member', scope: permOrg },
      { role: 'project', scope: project },
    ]);
    expectProblem(
      await createApiKey(ctx, plain, permOrg, { grants: [{ role: 'project', scope: project }] }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('GET', keysUrl(permOrg), { token: plain.accessToken }),
      403,
      'forbidden',
    );
  });

  it('refuses an admin without the API access switch with 403', async () => {
    const admin = await addMember(ctx, permOwner, permOrg, [{ role: 'admin', scope: permOrg }]);
    expectProblem(
      await createApiKey(ctx, admin, permOrg, { grants: [{ role: 'project', scope: project }] }),
      403,
      'forbidden',
    );
  });
});

describe('what a key may call', () => {
  it('reads what its grants allow: GET an account with accounts:read', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ permissions: ['accounts:read'], scope: orgId }]);
    const res = await ctx.request('GET', `/v1/organizations/${orgId}/accounts/${videoId}`, {
      headers: bearer(key.secret),
    });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(videoId);
  });

  it('is refused a read its grants do not allow with 403', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ permissions: ['billing:read'], scope: orgId }]);
    const res = await ctx.request('GET', `/v1/organizations/${orgId}/accounts/${videoId}`, {
      headers: xApiKey(key.secret),
    });
    expectProblem(res, 403, 'forbidden');
    expect(res.body.permission).toBe('accounts:read');
  });

  it('reads only the account it was granted on', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'video-admin', scope: videoId }]);
    const own = await ctx.request('GET', `/v1/organizations/${orgId}/accounts/${videoId}`, {
      headers: xApiKey(key.secret),
    });
    expect(own.status).toBe(200);
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${orgId}/accounts/${imageId}`, {
        headers: xApiKey(key.secret),
      }),
      403,
      'forbidden',
    );
  });

  it('authenticates the same by X-API-Key and by Authorization: Bearer', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'video-developer', scope: videoId }]);
    const body = { permission: 'video.assets:create', scope: videoId };
    const a = await checkAs(xApiKey(key.secret), body);
    const b = await checkAs(bearer(key.secret), body);
    const lower = await checkAs({ authorization: `bearer ${key.secret}` }, body);
    expect(a.status).toBe(200);
    expect(a.body).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'video-developer', scope: videoId },
    });
    expect(b.body).toEqual(a.body);
    expect(lower.body).toEqual(a.body);
  });

  it('is refused a state-changing route with 403 forbidden, reason user_required', async () => {
    // The owner may give a key accounts:create; the route still needs a person.
    const key = await apiKey(ctx, owner, orgId, [{ role: 'admin', scope: orgId }]);
    const before = await auditCount(ctx, orgId);
    const res = await ctx.request('POST', `/v1/organizations/${orgId}/accounts`, {
      headers: xApiKey(key.secret),
      body: { name: 'made by a key', product: 'video' },
    });
    expectProblem(res, 403, 'forbidden');
    expect(res.body.reason).toBe('user_required');
    expect(await auditCount(ctx, orgId)).toBe(before);
  });

  it('cannot manage keys, even with api_keys:manage', async () => {
    const key = await apiKey(ctx, owner, orgId, [
      { permissions: ['api_keys:read', 'api_keys:manage', 'accounts:read'], scope: orgId },
    ]);
    const created = await ctx.request('POST', keysUrl(orgId), {
      headers: bearer(key.secret),
      body: { name: 'child', grants: [{ permissions: ['accounts:read'], scope: orgId }] },
    });
    expectProblem(created, 403, 'forbidden');
    expect(created.body.reason).toBe('user_required');
    const revoked = await ctx.request('DELETE', `${keysUrl(orgId)}/${key.id}`, {
      headers: bearer(key.secret),
    });
    expectProblem(revoked, 403, 'forbidden');
    expect(revoked.body.reason).toBe('user_required');
    // Reading the key list is a read its grants allow.
    const listed = await ctx.request('GET', keysUrl(orgId), { headers: bearer(key.secret) });
    expect(listed.status).toBe(200);
  });

  it('is refused routes that act as a person (my profile, my organizations) with 403', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ permissions: ['accounts:read'], scope: orgId }]);
    for (const [method, url, body] of [
      ['GET', '/v1/me', undefined],
      ['PATCH', '/v1/me', { first_name: 'Robot' }],
      ['POST', '/v1/organizations', { name: 'Made by a key', template: 'media' }],
      ['POST', `/v1/organizations/${orgId}/switch`, undefined],
    ] as const) {
      const res = await ctx.request(method, url, { headers: xApiKey(key.secret), body });
      expectProblem(res, 403, 'forbidden');
      expect(res.body.reason).toBe('user_required');
    }
  });
});

describe("another organization's routes and scopes", () => {
  let otherOrg: string;
  let otherAccount: string;
  let key: { secret: string; id: string };
  beforeAll(async () => {
    const otherOwner = await ctx.signUp();
    otherOrg = (await createOrg(ctx, otherOwner, 'media')).id;
    otherAccount = (await createAccount(ctx, otherOwner, otherOrg, 'video')).id;
    // A key of orgId holding everything the owner may give it.
    key = await apiKey(ctx, owner, orgId, [{ role: 'admin', scope: orgId }]);
  });

  it("answers 404 on the other organization's read routes", async () => {
    for (const url of [
      `/v1/organizations/${otherOrg}`,
      `/v1/organizations/${otherOrg}/accounts/${otherAccount}`,
      `/v1/organizations/${otherOrg}/members`,
      `/v1/organizations/${otherOrg}/api-keys`,
    ]) {
      expectProblem(
        await ctx.request('GET', url, { headers: xApiKey(key.secret) }),
        404,
        'not_found',
      );
    }
  });

  it("answers 404 for the other organization's account through its own organization's path", async () => {
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${orgId}/accounts/${otherAccount}`, {
        headers: xApiKey(key.secret),
      }),
      404,
      'not_found',
    );
  });

  it("answers no_access for the other organization's scopes", async () => {
    for (const scope of [otherOrg, otherAccount]) {
      const res = await checkAs(bearer(key.secret), { permission: 'accounts:read', scope });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(NO_ACCESS);
    }
  });

  it('answers no_access when asking about a user of the other organization', async () => {
    const res = await checkAs(bearer(key.secret), {
      subject: owner.userId,
      permission: 'accounts:read',
      scope: otherAccount,
    });
    expect(res.body).toEqual(NO_ACCESS);
  });

  it('answers 404 for list-scopes in the other organization', async () => {
    expectProblem(
      await ctx.request('POST', '/v1/authz/list-scopes', {
        headers: bearer(key.secret),
        body: { organization_id: otherOrg, permission: 'accounts:read', level: 'account' },
      }),
      404,
      'not_found',
    );
  });
});

describe('/v1/authz/check with keys', () => {
  it('answers a key about itself', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'video-analyst', scope: videoId }]);
    expect(
      (await checkAs(xApiKey(key.secret), { permission: 'video.usage:read', scope: videoId })).body,
    ).toEqual({ allowed: true, reason: { kind: 'grant', role: 'video-analyst', scope: videoId } });
    const denied = await checkAs(xApiKey(key.secret), {
      permission: 'video.assets:create',
      scope: videoId,
    });
    expect(denied.body.allowed).toBe(false);
    expect(denied.body.reason.kind).toBe('no_grant');
  });

  it('answers a key naming itself as the subject like a key asking about itself', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'video-analyst', scope: videoId }]);
    const res = await checkAs(xApiKey(key.secret), {
      subject: key.id,
      permission: 'video.usage:read',
      scope: videoId,
    });
    expect(res.body.allowed).toBe(true);
  });

  it('gives a product role on a key nothing on an account of another product', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'video-admin', scope: orgId }]);
    const res = await checkAs(xApiKey(key.secret), {
      permission: 'image.sources:create',
      scope: imageId,
    });
    expect(res.body.allowed).toBe(false);
  });

  it('refuses a key without members:read asking about a user with 403', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'video-admin', scope: orgId }]);
    const res = await checkAs(bearer(key.secret), {
      subject: owner.userId,
      permission: 'accounts:read',
      scope: videoId,
    });
    expectProblem(res, 403, 'forbidden');
  });

  it('lets a key with members:read ask about a user', async () => {
    const analyst = await addMember(ctx, owner, orgId, [{ role: 'video-analyst', scope: orgId }]);
    const key = await apiKey(ctx, owner, orgId, [{ permissions: ['members:read'], scope: orgId }]);
    const yes = await checkAs(bearer(key.secret), {
      subject: analyst.userId,
      permission: 'video.insights:read',
      scope: videoId,
    });
    expect(yes.body).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'video-analyst', scope: orgId },
    });
    const no = await checkAs(bearer(key.secret), {
      subject: analyst.userId,
      permission: 'video.assets:create',
      scope: videoId,
    });
    expect(no.body.allowed).toBe(false);
  });

  it('lets a user with members:read ask about a key (subject key_…)', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'video-developer', scope: videoId }]);
    const res = await ctx.request('POST', '/v1/authz/check', {
      token: owner.accessToken,
      body: { subject: key.id, permission: 'video.assets:create', scope: videoId },
    });
    expect(res.body).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'video-developer', scope: videoId },
    });
    const no = await ctx.request('POST', '/v1/authz/check', {
      token: owner.accessToken,
      body: { subject: key.id, permission: 'video.assets:create', scope: imageId },
    });
    expect(no.body.allowed).toBe(false);
  });

  it('refuses a user without members:read asking about a key with 403', async () => {
    const accountant = await addMember(ctx, owner, orgId, [{ role: 'accountant', scope: orgId }]);
    const key = await apiKey(ctx, owner, orgId, [{ role: 'video-developer', scope: videoId }]);
    expectProblem(
      await ctx.request('POST', '/v1/authz/check', {
        token: accountant.accessToken,
        body: { subject: key.id, permission: 'video.assets:create', scope: videoId },
      }),
      403,
      'forbidden',
    );
  });

  it('answers no_access about a revoked key', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'video-developer', scope: videoId }]);
    await ctx.request('DELETE', `${keysUrl(orgId)}/${key.id}`, { token: owner.accessToken });
    const res = await ctx.request('POST', '/v1/authz/check', {
      token: owner.accessToken,
      body: { subject: key.id, permission: 'video.assets:create', scope: videoId },
    });
    expect(res.body).toEqual(NO_ACCESS);
  });

  it("answers no_access about another organization's key", async () => {
    const other = (await createOrg(ctx, owner, 'media')).id;
    const foreign = await apiKey(ctx, owner, other, [{ role: 'admin', scope: other }]);
    const res = await ctx.request('POST', '/v1/authz/check', {
      token: owner.accessToken,
      body: { subject: foreign.id, permission: 'accounts:read', scope: videoId },
    });
    expect(res.body).toEqual(NO_ACCESS);
  });

  it('lists the accounts where a key may act (list-scopes)', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ role: 'video-developer', scope: videoId }]);
    const res = await ctx.request('POST', '/v1/authz/list-scopes', {
      headers: xApiKey(key.secret),
      body: { organization_id: orgId, permission: 'video.assets:create', level: 'account' },
    });
    expect(res.status).toBe(200);
    expect(res.body.scopes.map((s: { id: string }) => s.id)).toEqual([videoId]);
  });
});

describe('malformed keys: 401 invalid_token', () => {
  const cases: [string, Record<string, string>][] = [
    ['an unknown well-formed secret', xApiKey(`gh_${'A'.repeat(43)}`)],
    ['an unknown well-formed secret as Bearer', bearer(`gh_${'A'.repeat(43)}`)],
    ['a short gh_ value', xApiKey('gh_short')],
    ['a short gh_ value as Bearer', bearer('gh_short')],
    ['garbage', xApiKey('not a key at all')],
    ['an empty X-API-Key', xApiKey('')],
    ['a very long value', xApiKey(`gh_${'x'.repeat(5000)}`)],
    ['a very long Bearer value', bearer(`gh_${'x'.repeat(5000)}`)],
    ['a secret with one character changed', xApiKey(`gh_${'B'.repeat(42)}C`)],
  ];
  it.each(cases)('refuses %s', async (_, headers) => {
    const res = await checkAs(headers, { permission: 'accounts:read', scope: orgId });
    expectProblem(res, 401, 'invalid_token');
  });

  it('refuses a real secret with its last character changed', async () => {
    const key = await apiKey(ctx, owner, orgId, [{ permissions: ['accounts:read'], scope: orgId }]);
    const last = key.secret.at(-1) === 'A' ? 'B' : 'A';
    const res = await checkAs(xApiKey(`${key.secret.slice(0, -1)}${last}`), {
      permission: 'accounts:read',
      scope: orgId,
    });
    expectProblem(res, 401, 'invalid_token');
  });
});

describe('malformed bodies: 4xx, never 500, nothing written', () => {
  const cases: [string, unknown, number][] = [
    ['no body fields', {}, 400],
    ['no grants', { name: 'k' }, 400],
    ['empty grants', { name: 'k', grants: [] }, 400],
    ['grants not a list', { name: 'k', grants: 'admin' }, 400],
    ['a grant without scope', { name: 'k', grants: [{ role: 'accountant' }] }, 400],
    [
      'a grant with an unknown role',
      { name: 'k', grants: [{ role: 'wizard', scope: 'ORG' }] },
      400,
    ],
    [
      'a grant with an unknown permission',
      { name: 'k', grants: [{ permissions: ['teleport:now'], scope: 'ORG' }] },
      400,
    ],
    [
      'a grant on an unknown scope',
      { name: 'k', grants: [{ role: 'accountant', scope: 'acc_nope' }] },
      400,
    ],
    ['an empty name', { name: ' ', grants: [{ role: 'accountant', scope: 'ORG' }] }, 400],
    [
      'a name too long',
      { name: 'n'.repeat(101), grants: [{ role: 'accountant', scope: 'ORG' }] },
      400,
    ],
    ['a name that is a number', { name: 5, grants: [{ role: 'accountant', scope: 'ORG' }] }, 400],
    [
      'an expiry that is not a date',
      { name: 'k', grants: [{ role: 'accountant', scope: 'ORG' }], expires_at: 'tomorrow' },
      400,
    ],
    [
      'an unknown field',
      { name: 'k', grants: [{ role: 'accountant', scope: 'ORG' }], secret: 'gh_mine' },
      400,
    ],
    ['the owner role', { name: 'k', grants: [{ role: 'owner', scope: 'ORG' }] }, 403],
    ['a JSON array', [], 400],
    ['JSON null', null, 400],
  ];
  const withOrg = (body: unknown) =>
    JSON.parse(JSON.stringify(body ?? null).replaceAll('"ORG"', JSON.stringify(orgId)));

  it.each(cases)('answers %s with 4xx', async (_, body, status) => {
    const before = await auditCount(ctx, orgId);
    const res = await ctx.request('POST', keysUrl(orgId), {
      token: owner.accessToken,
      body: body === null ? 'null' : withOrg(body),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(status);
    expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
    expect(await auditCount(ctx, orgId)).toBe(before);
  });

  it('answers invalid JSON with 400 malformed_json', async () => {
    const res = await ctx.request('POST', keysUrl(orgId), {
      token: owner.accessToken,
      body: '{"name": "k", "grants": [',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 400, 'malformed_json');
  });

  it('answers a non-JSON body with 415', async () => {
    const res = await ctx.request('POST', keysUrl(orgId), {
      token: owner.accessToken,
      body: 'name=k',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
  });

  it('answers a bad page size or cursor on the list with 400', async () => {
    for (const q of ['limit=0', 'limit=abc', 'limit=1000', `cursor=${'x'.repeat(500)}`]) {
      const res = await ctx.request('GET', `${keysUrl(orgId)}?${q}`, { token: owner.accessToken });
      expect(res.status, q).toBe(400);
    }
  });

  it('answers an over-long key id with 400, not 500', async () => {
    const res = await ctx.request('GET', `${keysUrl(orgId)}/${'k'.repeat(200)}`, {
      token: owner.accessToken,
    });
    expect(res.status).toBe(400);
  });
});

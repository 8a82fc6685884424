import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import {
  apiKey,
  auditCount,
  auditRows,
  createAccount,
  createApiKey,
  createOrg,
  platformAdmin,
} from '../../../test/seed';

/**
 * API keys from creation to refusal (issue 6, items 1 and 5): the secret is shown once and
 * stored as a hash; list and get describe a key without it; revocation, expiry and the
 * organization's suspension refuse the key on the very next request.
 */
let ctx: TestContext;
let owner: SignedIn;
let orgId: string;
let videoId: string;
beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  orgId = (await createOrg(ctx, owner, 'media')).id;
  videoId = (await createAccount(ctx, owner, orgId, 'video')).id;
});
afterAll(async () => {
  await ctx?.close();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const keysUrl = (org: string, keyId?: string) =>
  `/v1/organizations/${org}/api-keys${keyId ? `/${keyId}` : ''}`;
/** A read that an `accounts:read` key may make. */
const readAccount = (headers: Record<string, string>) =>
  ctx.request('GET', `/v1/organizations/${orgId}/accounts/${videoId}`, { headers });
const xApiKey = (secret: string) => ({ 'x-api-key': secret });
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const READER = () => [{ permissions: ['accounts:read'], scope: orgId }];

describe('creating a key', () => {
  it('answers the secret once: gh_ and 43 base64url characters (256 random bits)', async () => {
    const res = await createApiKey(ctx, owner, orgId, { name: 'video service', grants: READER() });
    expect(res.status).toBe(201);
    expect(res.body.secret).toMatch(/^gh_[A-Za-z0-9_-]{43}$/);
    // 43 base64url characters carry 258 bits; the generator draws 32 bytes.
    expect(Buffer.from(res.body.secret.slice(3), 'base64url')).toHaveLength(32);
    expect(res.body).toMatchObject({
      name: 'video service',
      organization_id: orgId,
      created_by: owner.userId,
      status: 'active',
      revoked_at: null,
      last_used_at: null,
      expires_at: null,
    });
    expect(res.body.secret.startsWith(res.body.prefix)).toBe(true);
  });

  it('gives two keys different secrets', async () => {
    const a = await apiKey(ctx, owner, orgId, READER());
    const b = await apiKey(ctx, owner, orgId, READER());
    expect(a.secret).not.toBe(b.secret);
    expect(a.id).not.toBe(b.id);
  });

  it('stores only the SHA-256 of the secret: no column holds the secret', async () => {
    const { id, secret } = await apiKey(ctx, owner, orgId, READER());
    const row = await ctx.database.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.secret_hash).toBe(sha256(secret));
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(JSON.stringify(row)).not.toContain(secret.slice(11));
  });

  it('records api_key.created with the prefix and grants, never the secret', async () => {
    const { id, secret, prefix } = await apiKey(ctx, owner, orgId, READER(), { name: 'audited' });
    const [event] = (await auditRows(ctx, orgId, 'api_key.created')).filter(
      (e) => e.target_id === id,
    );
    expect(event).toMatchObject({
      actor_type: 'user',
      actor_id: owner.userId,
      target_type: 'api_key',
      changes: { after: { name: 'audited', prefix, grants: READER() } },
    });
    expect(JSON.stringify(event)).not.toContain(secret);
  });

  it('keeps an optional expiry', async () => {
    const expiresAt = new Date(ctx.clock.now() + 24 * 3600_000).toISOString();
    const res = await createApiKey(ctx, owner, orgId, { grants: READER(), expires_at: expiresAt });
    expect(res.status).toBe(201);
    expect(res.body.expires_at).toBe(expiresAt);
  });
});

describe('list and get', () => {
  it('never show the secret, in any answer about the key', async () => {
    const { id, secret } = await apiKey(ctx, owner, orgId, READER());
    const answers = [
      await ctx.request('GET', keysUrl(orgId), { token: owner.accessToken }),
      await ctx.request('GET', `${keysUrl(orgId)}?limit=100`, { token: owner.accessToken }),
      await ctx.request('GET', keysUrl(orgId, id), { token: owner.accessToken }),
      await ctx.request('GET', `/v1/organizations/${orgId}/audit-logs?limit=200`, {
        token: owner.accessToken,
      }),
      await ctx.request('GET', `/v1/organizations/${orgId}/audit-logs/export`, {
        token: owner.accessToken,
      }),
      await ctx.request('DELETE', keysUrl(orgId, id), { token: owner.accessToken }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(secret);
      expect(res.text).not.toContain(secret.slice(11));
    }
  });

  it('describe a key: prefix, name, grants, creator, times and status', async () => {
    const grants = [{ role: 'video-developer', scope: videoId }];
    const { id, prefix } = await apiKey(ctx, owner, orgId, grants, { name: 'encoder' });
    const got = await ctx.request('GET', keysUrl(orgId, id), { token: owner.accessToken });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({
      id,
      organization_id: orgId,
      name: 'encoder',
      prefix,
      grants,
      created_by: owner.userId,
      created_at: new Date(ctx.clock.now()).toISOString(),
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
      status: 'active',
    });
    expect(got.body).not.toHaveProperty('secret');
    expect(got.body).not.toHaveProperty('secret_hash');
    const listed = await ctx.request('GET', `${keysUrl(orgId)}?limit=100`, {
      token: owner.accessToken,
    });
    expect(listed.body.data.find((k: { id: string }) => k.id === id)).toEqual(got.body);
  });

  it('pages the list with a cursor, newest first, each key once', async () => {
    const other = (await createOrg(ctx, owner, 'media')).id;
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push((await apiKey(ctx, owner, other, [{ role: 'accountant', scope: other }])).id);
      ctx.clock.advance(1);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `${keysUrl(other)}?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await ctx.request('GET', url, { token: owner.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((k: { id: string }) => k.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...made].reverse());
  });

  it('answers 404 for a key id of another organization', async () => {
    const other = (await createOrg(ctx, owner, 'media')).id;
    const foreign = await apiKey(ctx, owner, other, [{ role: 'accountant', scope: other }]);
    expectProblem(
      await ctx.request('GET', keysUrl(orgId, foreign.id), { token: owner.accessToken }),
      404,
      'not_found',
    );
    expectProblem(
      await ctx.request('DELETE', keysUrl(orgId, foreign.id), { token: owner.accessToken }),
      404,
      'not_found',
    );
  });
});

describe('last_used_at', () => {
  it('is written in one batch by flushUsage, not on every request', async () => {
    const { id, secret } = await apiKey(ctx, owner, orgId, READER());
    ctx.clock.advance(1000);
    const usedAt = ctx.clock.now();
    for (let i = 0; i < 3; i++) expect((await readAccount(xApiKey(secret))).status).toBe(200);
    const stored = () =>
      ctx.database.db
        .selectFrom('api_keys')
        .select('last_used_at')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
    expect(Number((await stored()).last_used_at ?? 0)).toBe(0);
    await ctx.gatehouse.services.apiKeys.flushUsage();
    expect(Number((await stored()).last_used_at)).toBe(usedAt);
  });

  it('shows the time of the last use in get and list after the flush', async () => {
    const { id, secret } = await apiKey(ctx, owner, orgId, READER());
    ctx.clock.advance(5000);
    const usedAt = new Date(ctx.clock.now()).toISOString();
    expect((await readAccount(bearer(secret))).status).toBe(200);
    await ctx.gatehouse.services.apiKeys.flushUsage();
    const got = await ctx.request('GET', keysUrl(orgId, id), { token: owner.accessToken });
    expect(got.body.last_used_at).toBe(usedAt);
    const listed = await ctx.request('GET', `${keysUrl(orgId)}?limit=100`, {
      token: owner.accessToken,
    });
    expect(listed.body.data.find((k: { id: string }) => k.id === id).last_used_at).toBe(usedAt);
  });

  it('never moves back when an older use is flushed after a newer one', async () => {
    const { id, secret } = await apiKey(ctx, owner, orgId, READER());
    ctx.clock.advance(10_000);
    const newer = ctx.clock.now();
    await readAccount(xApiKey(secret));
    await ctx.gatehouse.services.apiKeys.flushUsage();
    // Another node flushes a use from before: the stored time stays the newer one.
    await ctx.database.db
      .updateTable('api_keys')
      .set({ last_used_at: newer })
      .where('id', '=', id)
      .execute();
    await ctx.gatehouse.services.apiKeys.flushUsage();
    const got = await ctx.request('GET', keysUrl(orgId, id), { token: owner.accessToken });
    expect(got.body.last_used_at).toBe(new Date(newer).toISOString());
  });
});

describe('revocation', () => {
  it('answers the key as revoked and records api_key.revoked', async () => {
    const { id } = await apiKey(ctx, owner, orgId, READER());
    const res = await ctx.request('DELETE', keysUrl(orgId, id), { token: owner.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      status: 'revoked',
      revoked_at: new Date(ctx.clock.now()).toISOString(),
    });
    const events = (await auditRows(ctx, orgId, 'api_key.revoked')).filter(
      (e) => e.target_id === id,
    );
    expect(events).toHaveLength(1);
  });

  it('refuses the key on the very next request, by either header', async () => {
    const { id, secret } = await apiKey(ctx, owner, orgId, READER());
    expect((await readAccount(xApiKey(secret))).status).toBe(200);
    expect((await readAccount(bearer(secret))).status).toBe(200);
    await ctx.request('DELETE', keysUrl(orgId, id), { token: owner.accessToken });
    expectProblem(await readAccount(xApiKey(secret)), 401, 'invalid_token');
    expectProblem(await readAccount(bearer(secret)), 401, 'invalid_token');
  });

  it('refuses a second revocation with 409 and records nothing more', async () => {
    const { id } = await apiKey(ctx, owner, orgId, READER());
    await ctx.request('DELETE', keysUrl(orgId, id), { token: owner.accessToken });
    const before = await auditCount(ctx, orgId);
    expectProblem(
      await ctx.request('DELETE', keysUrl(orgId, id), { token: owner.accessToken }),
      409,
      'conflict',
    );
    expect(await auditCount(ctx, orgId)).toBe(before);
  });

  it('answers 404 for an unknown key id', async () => {
    expectProblem(
      await ctx.request('DELETE', keysUrl(orgId, 'key_00000000000000000000000000'), {
        token: owner.accessToken,
      }),
      404,
      'not_found',
    );
  });
});

describe('expiry', () => {
  it('refuses the key as soon as the clock passes expires_at', async () => {
    const expiresAt = new Date(ctx.clock.now() + 60_000).toISOString();
    const { secret } = await apiKey(ctx, owner, orgId, READER(), { expires_at: expiresAt });
    expect((await readAccount(xApiKey(secret))).status).toBe(200);
    ctx.clock.advance(59_999);
    expect((await readAccount(xApiKey(secret))).status).toBe(200);
    ctx.clock.advance(1);
    expectProblem(await readAccount(xApiKey(secret)), 401, 'invalid_token');
    expectProblem(await readAccount(bearer(secret)), 401, 'invalid_token');
  });

  it('shows an expired key as expired', async () => {
    const expiresAt = new Date(ctx.clock.now() + 1000).toISOString();
    const { id } = await apiKey(ctx, owner, orgId, READER(), { expires_at: expiresAt });
    ctx.clock.advance(1000);
    const got = await ctx.request('GET', keysUrl(orgId, id), { token: owner.accessToken });
    expect(got.body.status).toBe('expired');
  });

  it('refuses an expiry in the past with 400 and writes nothing', async () => {
    const before = await auditCount(ctx, orgId);
    const res = await createApiKey(ctx, owner, orgId, {
      grants: READER(),
      expires_at: new Date(ctx.clock.now() - 1).toISOString(),
    });
    expectProblem(res, 400, 'validation_failed');
    expect(await auditCount(ctx, orgId)).toBe(before);
  });
});

describe("the organization's suspension", () => {
  let admin: SignedIn;
  beforeAll(async () => {
    admin = await platformAdmin(ctx);
  });

  async function suspended() {
    const org = (await createOrg(ctx, owner, 'media')).id;
    const account = (await createAccount(ctx, owner, org, 'video')).id;
    const key = await apiKey(ctx, owner, org, [{ permissions: ['accounts:read'], scope: org }]);
    const read = () =>
      ctx.request('GET', `/v1/organizations/${org}/accounts/${account}`, {
        headers: xApiKey(key.secret),
      });
    expect((await read()).status).toBe(200);
    const res = await ctx.request('POST', `/v1/admin/customers/${org}/suspend`, {
      token: admin.accessToken,
    });
    expect(res.status).toBe(200);
    return { org, read, key };
  }

  it('refuses its keys on the very next request', async () => {
    const { read } = await suspended();
    expectProblem(await read(), 401, 'invalid_token');
  });

  it('refuses its keys at the authorization API too', async () => {
    const { org, key } = await suspended();
    expectProblem(
      await ctx.request('POST', '/v1/authz/check', {
        headers: bearer(key.secret),
        body: { permission: 'accounts:read', scope: org },
      }),
      401,
      'invalid_token',
    );
  });

  it('lets its keys work again once the organization is reactivated', async () => {
    const { org, read } = await suspended();
    const res = await ctx.request('POST', `/v1/admin/customers/${org}/reactivate`, {
      token: admin.accessToken,
    });
    expect(res.status).toBe(200);
    expect((await read()).status).toBe(200);
  });
});

describe('no escalation', () => {
  it('refuses a key granting more than its creator holds with 403, and writes nothing', async () => {
    const creator = await ctx.signUp();
    const org = (await createOrg(ctx, creator, 'permissions')).id;
    const dev = await ctx.signUp();
    const added = await ctx.request('POST', `/v1/organizations/${org}/members`, {
      token: creator.accessToken,
      body: { email: dev.email, grants: [{ role: 'api-access', scope: org }] },
    });
    expect(added.status).toBe(201);
    const keysBefore = await ctx.database.db
      .selectFrom('api_keys')
      .select('id')
      .where('organization_id', '=', org)
      .execute();
    const eventsBefore = await auditCount(ctx, org);
    const res = await createApiKey(ctx, dev, org, {
      grants: [{ role: 'billing', scope: org }],
    });
    expectProblem(res, 403, 'forbidden');
    expect(res.body.errors[0]).toMatchObject({ path: 'body.grants.0', code: 'escalation' });
    const keysAfter = await ctx.database.db
      .selectFrom('api_keys')
      .select('id')
      .where('organization_id', '=', org)
      .execute();
    expect(keysAfter).toEqual(keysBefore);
    expect(await auditCount(ctx, org)).toBe(eventsBefore);
  });

  it('refuses one permission too many among several grants', async () => {
    const creator = await ctx.signUp();
    const org = (await createOrg(ctx, creator, 'permissions')).id;
    const dev = await ctx.signUp();
    await ctx.request('POST', `/v1/organizations/${org}/members`, {
      token: creator.accessToken,
      body: { email: dev.email, grants: [{ role: 'api-access', scope: org }] },
    });
    const res = await createApiKey(ctx, dev, org, {
      grants: [
        { permissions: ['api_keys:read'], scope: org },
        { permissions: ['api_keys:read', 'audit:read'], scope: org },
      ],
    });
    expectProblem(res, 403, 'forbidden');
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].path).toBe('body.grants.1');
  });

  it("refuses a grant on another organization's scope as if it did not exist", async () => {
    const other = (await createOrg(ctx, owner, 'media')).id;
    const before = await auditCount(ctx, orgId);
    const res = await createApiKey(ctx, owner, orgId, {
      grants: [{ role: 'accountant', scope: other }],
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(await auditCount(ctx, orgId)).toBe(before);
  });
});

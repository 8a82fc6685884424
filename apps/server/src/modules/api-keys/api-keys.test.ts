import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, expectProblem, type TestContext } from '../../../test/harness';
import { createAccount, createOrg } from '../../../test/seed';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

describe('API keys', () => {
  it('creates a key shown once, which checks permissions inside its organization and is refused once revoked', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const video = await createAccount(ctx, owner, org.id, 'video');
    const created = await ctx.request('POST', `/v1/organizations/${org.id}/api-keys`, {
      token: owner.accessToken,
      body: { name: 'video service', grants: [{ role: 'video-developer', scope: org.id }] },
    });
    expect(created.status).toBe(201);
    const secret: string = created.body.secret;
    expect(secret).toMatch(/^gh_[A-Za-z0-9_-]{43}$/);
    const stored = await ctx.database.db
      .selectFrom('api_keys')
      .select('secret_hash')
      .where('id', '=', created.body.id)
      .executeTakeFirstOrThrow();
    expect(stored.secret_hash).not.toContain(secret.slice(3));
    const listed = await ctx.request('GET', `/v1/organizations/${org.id}/api-keys`, {
      token: owner.accessToken,
    });
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    const allowed = await ctx.request('POST', '/v1/authz/check', {
      headers: { 'x-api-key': secret },
      body: { permission: 'video.assets:create', scope: video.id },
    });
    expect(allowed.body).toEqual({
      allowed: true,
      reason: { kind: 'grant', role: 'video-developer', scope: org.id },
    });
    const introspected = await ctx.request('POST', '/v1/auth/api-access-check', {
      body: { token: secret },
    });
    expect(introspected.body).toMatchObject({
      active: true,
      type: 'api_key',
      organization_id: org.id,
    });
    await ctx.request('DELETE', `/v1/organizations/${org.id}/api-keys/${created.body.id}`, {
      token: owner.accessToken,
    });
    expectProblem(
      await ctx.request('POST', '/v1/authz/check', {
        token: secret,
        body: { permission: 'video.assets:create', scope: video.id },
      }),
      401,
      'invalid_token',
    );
  });

  it('refuses a key that would grant more than its creator holds', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'permissions');
    const res = await ctx.request('POST', `/v1/organizations/${org.id}/members`, {
      token: owner.accessToken,
      body: { email: 'apidev@example.com', grants: [{ role: 'api-access', scope: org.id }] },
    });
    expect(res.status).toBe(201);
    const dev = await ctx.signUp({ email: 'apidev2@example.com' });
    await ctx.request('POST', `/v1/organizations/${org.id}/members`, {
      token: owner.accessToken,
      body: { email: dev.email, grants: [{ role: 'api-access', scope: org.id }] },
    });
    const tooMuch = await ctx.request('POST', `/v1/organizations/${org.id}/api-keys`, {
      token: dev.accessToken,
      body: { name: 'greedy', grants: [{ role: 'billing', scope: org.id }] },
    });
    expectProblem(tooMuch, 403, 'forbidden');
  });
});

describe('audit log', () => {
  it('chains events and reports the first one edited directly in the database', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media', 'Audited');
    await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
      body: { name: 'Audited 2' },
    });
    await createAccount(ctx, owner, org.id, 'video');
    const ok = await ctx.request('GET', `/v1/organizations/${org.id}/audit-logs/verify`, {
      token: owner.accessToken,
    });
    expect(ok.body).toMatchObject({ valid: true, checked: 3, first_broken: null });
    const events = await ctx.request(
      'GET',
      `/v1/organizations/${org.id}/audit-logs?action=organization.*`,
      { token: owner.accessToken },
    );
    expect(events.body.data.map((e: { action: string }) => e.action)).toEqual([
      'organization.updated',
      'organization.created',
    ]);
    const target = events.body.data[0];
    await ctx.database.db
      .updateTable('audit_events')
      .set({ changes: '{"after":{"name":"Forged"}}' })
      .where('id', '=', target.id)
      .execute();
    const broken = await ctx.request('GET', `/v1/organizations/${org.id}/audit-logs/verify`, {
      token: owner.accessToken,
    });
    expect(broken.body).toMatchObject({ valid: false, first_broken: { id: target.id } });
  });
});

import { createServer, type Server } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseExpress } from './express';
import { gatehouseFastify } from './fastify';
import { createPermissionGuard, type PermissionGuardOptions } from './guard';
import { listen, recordingFetch, type Served, type SignedIn, seed, serve } from './test-support';

/**
 * A sample service, written once for Fastify and once for Express: `GET /videos/:accountId`
 * needs `video.assets:read` on that account, and echoes the decision it was let in with.
 */
const PERMISSION = 'video.assets:read';
const CHECK = '/v1/authz/check';

let served: Served;
let owner: SignedIn;
let developer: SignedIn; // video-developer on the account: holds video.assets:read
let analyst: SignedIn; // video-analyst on the account: usage and insights only
let accountId: string;
let orgId: string;
let developerKey: string; // an API key with video-developer on the account
let analystKey: string; // an API key with video-analyst on the account

async function createKey(role: string, scope: string) {
  const res = await served.ctx.request('POST', `/v1/organizations/${orgId}/api-keys`, {
    token: owner.accessToken,
    body: { name: `${role} key`, grants: [{ role, scope }] },
  });
  if (res.status !== 201) throw new Error(`create key failed: ${res.status} ${res.text}`);
  return res.body as { id: string; secret: string };
}

beforeAll(async () => {
  served = await serve();
  const { ctx } = served;
  owner = await ctx.signUp();
  const org = await seed.createOrg(ctx, owner, 'media');
  accountId = (await seed.createAccount(ctx, owner, org.id, 'video')).id;
  developer = await seed.addMember(ctx, owner, org.id, [
    { role: 'video-developer', scope: accountId },
  ]);
  analyst = await seed.addMember(ctx, owner, org.id, [{ role: 'video-analyst', scope: accountId }]);
  orgId = org.id;
  developerKey = (await createKey('video-developer', accountId)).secret;
  analystKey = (await createKey('video-analyst', accountId)).secret;
});
afterAll(async () => {
  await served?.ctx.close();
});

interface Sample {
  url: string;
  close(): Promise<void>;
}
const running: Sample[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

type Framework = 'fastify' | 'express';

async function sampleService(framework: Framework, options: Partial<PermissionGuardOptions> = {}) {
  const rec = recordingFetch();
  let now = Date.now();
  const guard = createPermissionGuard({
    baseUrl: served.baseUrl,
    fetch: rec.fetch,
    now: () => now,
    ...options,
  });
  let url: string;
  let close: () => Promise<void>;
  if (framework === 'fastify') {
    const app = Fastify();
    app.get<{ Params: { accountId: string } }>(
      '/videos/:accountId',
      {
        preHandler: gatehouseFastify.requirePermission<{ Params: { accountId: string } }>(
          PERMISSION,
          (req) => req.params.accountId,
          guard,
        ),
      },
      async (req) => ({ ok: true, gatehouse: req.gatehouse }),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    close = () => app.close();
  } else {
    const app = express();
    app.get(
      '/videos/:accountId',
      gatehouseExpress.requirePermission(PERMISSION, (req) => req.params.accountId, guard),
      (req, res) => {
        res.json({ ok: true, gatehouse: req.gatehouse });
      },
    );
    const server: Server = createServer(app);
    url = await listen(server);
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  }
  const sample = { url, close };
  running.push(sample);
  return {
    guard,
    rec,
    checks: () => rec.count('POST', CHECK),
    advance: (ms: number) => {
      now += ms;
    },
    async get(path: string, headers: Record<string, string> = {}) {
      const res = await fetch(`${url}${path}`, { headers });
      const text = await res.text();
      return {
        status: res.status,
        type: res.headers.get('content-type') ?? '',
        headers: res.headers,
        // biome-ignore lint/suspicious/noExplicitAny: the tests read the JSON answers by path
        body: (text ? JSON.parse(text) : null) as any,
      };
    },
  };
}

const bearer = (who: { accessToken: string }) => ({ authorization: `Bearer ${who.accessToken}` });

describe.each<Framework>(['fastify', 'express'])('requirePermission for %s', (framework) => {
  it('answers 401 unauthenticated without credentials, without asking Gatehouse', async () => {
    const svc = await sampleService(framework);
    const res = await svc.get(`/videos/${accountId}`);
    expect(res.status).toBe(401);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');
    expect(svc.checks()).toBe(0);
  });

  it('answers 401 invalid_token for a token Gatehouse does not accept', async () => {
    const svc = await sampleService(framework);
    const garbage = await svc.get(`/videos/${accountId}`, { authorization: 'Bearer not.a.token' });
    expect(garbage.status).toBe(401);
    expect(garbage.body.code).toBe('invalid_token');
    expect(garbage.headers.get('www-authenticate')).toContain('error="invalid_token"');

    const basic = await svc.get(`/videos/${accountId}`, { authorization: 'Basic dXNlcjpwYXNz' });
    expect(basic.status).toBe(401);
    expect(basic.body.code).toBe('invalid_token');
    expect(svc.checks()).toBe(1);
  });

  it('answers 401 when the session was revoked (the token itself still verifies)', async () => {
    const svc = await sampleService(framework);
    const user = await served.ctx.signUp();
    await served.ctx.request('POST', '/v1/auth/logout', { token: user.accessToken });
    const res = await svc.get(`/videos/${accountId}`, bearer(user));
    expect(res.status).toBe(401);
    expect(res.type).toMatch(/^application\/problem\+json/);
  });

  it('answers 403 forbidden with the reason for a member lacking the permission', async () => {
    const svc = await sampleService(framework);
    const res = await svc.get(`/videos/${accountId}`, bearer(analyst));
    expect(res.status).toBe(403);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      status: 403,
      code: 'forbidden',
      permission: PERMISSION,
      scope: accountId,
      reason: { kind: 'no_grant', message: expect.stringContaining(PERMISSION) },
    });
    expect(res.body.detail).toBe(res.body.reason.message);
  });

  it('lets a member holding the permission through, with the decision on the request', async () => {
    const svc = await sampleService(framework);
    const res = await svc.get(`/videos/${accountId}`, bearer(developer));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      gatehouse: {
        allowed: true,
        reason: { kind: 'grant', role: 'video-developer', scope: accountId },
        permission: PERMISSION,
        scope: accountId,
        caller: {
          kind: 'user',
          userId: developer.userId,
          sessionId: developer.sessionId,
          organizationId: null,
        },
        cached: false,
      },
    });
    const check = svc.rec.calls.find((c) => c.path === CHECK);
    expect(check?.headers.authorization).toBe(`Bearer ${developer.accessToken}`);
  });

  it('lets the owner through because of ownership', async () => {
    const svc = await sampleService(framework);
    const res = await svc.get(`/videos/${accountId}`, bearer(owner));
    expect(res.status).toBe(200);
    expect(res.body.gatehouse.reason.kind).toBe('owner');
  });

  it('refuses a malformed or unknown scope with 403, as Gatehouse does', async () => {
    const svc = await sampleService(framework);
    const malformed = await svc.get('/videos/not-an-id', bearer(developer));
    expect(malformed.status).toBe(403);
    expect(malformed.body.reason.kind).toBe('no_access');
    expect(svc.checks()).toBe(0);
    const unknown = await svc.get('/videos/acc_00000000000000000000000000', bearer(owner));
    expect(unknown.status).toBe(403);
    expect(unknown.body.reason.kind).toBe('no_access');
  });

  it('reuses a decision within the cache TTL, and asks again once it has passed', async () => {
    const svc = await sampleService(framework, { cacheTtlMs: 5_000 });
    expect((await svc.get(`/videos/${accountId}`, bearer(developer))).status).toBe(200);
    expect(svc.checks()).toBe(1);

    svc.advance(4_000);
    const second = await svc.get(`/videos/${accountId}`, bearer(developer));
    expect(second.status).toBe(200);
    expect(second.body.gatehouse.cached).toBe(true);
    expect(svc.checks()).toBe(1);
    // denials are cached too
    expect((await svc.get(`/videos/${accountId}`, bearer(analyst))).status).toBe(403);
    expect((await svc.get(`/videos/${accountId}`, bearer(analyst))).status).toBe(403);
    expect(svc.checks()).toBe(2);

    svc.advance(1_500);
    const third = await svc.get(`/videos/${accountId}`, bearer(developer));
    expect(third.status).toBe(200);
    expect(third.body.gatehouse.cached).toBe(false);
    expect(svc.checks()).toBe(3);
  });

  it('keeps decisions apart per credential', async () => {
    const svc = await sampleService(framework);
    expect((await svc.get(`/videos/${accountId}`, bearer(developer))).status).toBe(200);
    expect((await svc.get(`/videos/${accountId}`, bearer(analyst))).status).toBe(403);
    expect((await svc.get(`/videos/${accountId}`)).status).toBe(401);
    expect(svc.checks()).toBe(2);
  });

  it('asks every time when the cache is off', async () => {
    const svc = await sampleService(framework, { cacheTtlMs: 0 });
    await svc.get(`/videos/${accountId}`, bearer(developer));
    await svc.get(`/videos/${accountId}`, bearer(developer));
    expect(svc.checks()).toBe(2);
  });

  it('shares one check among identical requests arriving together', async () => {
    const svc = await sampleService(framework);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => svc.get(`/videos/${accountId}`, bearer(developer))),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(svc.checks()).toBe(1);
  });

  it("sees a removed grant once the cache has expired (the cache's trade-off)", async () => {
    const svc = await sampleService(framework, { cacheTtlMs: 5_000 });
    const org = await seed.createOrg(served.ctx, owner, 'media');
    const account = await seed.createAccount(served.ctx, owner, org.id, 'video');
    const member = await seed.addMember(served.ctx, owner, org.id, [
      { role: 'video-developer', scope: account.id },
    ]);
    expect((await svc.get(`/videos/${account.id}`, bearer(member))).status).toBe(200);

    const removed = await served.ctx.request(
      'PUT',
      `/v1/organizations/${org.id}/members/${member.userId}/grants`,
      { token: owner.accessToken, body: { grants: [] } },
    );
    expect(removed.status).toBe(200);
    expect((await svc.get(`/videos/${account.id}`, bearer(member))).status).toBe(200);
    svc.advance(5_001);
    expect((await svc.get(`/videos/${account.id}`, bearer(member))).status).toBe(403);
    // clear() drops every decision at once, for services told of a change
    expect((await svc.get(`/videos/${accountId}`, bearer(developer))).status).toBe(200);
    svc.guard.clear();
    await svc.get(`/videos/${accountId}`, bearer(developer));
    expect(svc.checks()).toBe(4);
  });

  it('lets an API key holding the permission through, as Bearer or X-API-Key', async () => {
    const svc = await sampleService(framework, { cacheTtlMs: 0 });
    for (const headers of [
      { authorization: `Bearer ${developerKey}` } as Record<string, string>,
      { 'x-api-key': developerKey },
    ]) {
      const res = await svc.get(`/videos/${accountId}`, headers);
      expect(res.status).toBe(200);
      expect(res.body.gatehouse).toMatchObject({
        caller: { kind: 'api_key' },
        reason: { kind: 'grant', role: 'video-developer', scope: accountId },
      });
    }
    // the key is passed on as the caller's own credential
    expect(
      svc.rec.calls.filter((c) => c.path === CHECK).map((c) => c.headers.authorization),
    ).toEqual([`Bearer ${developerKey}`, `Bearer ${developerKey}`]);
  });

  it('answers 403 for an API key lacking the permission', async () => {
    const svc = await sampleService(framework);
    const res = await svc.get(`/videos/${accountId}`, { 'x-api-key': analystKey });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'forbidden', reason: { kind: 'no_grant' } });
  });

  it('answers 401 for an unknown API key, and for a revoked one once the cache has expired', async () => {
    const svc = await sampleService(framework, { cacheTtlMs: 5_000 });
    const unknown = await svc.get(`/videos/${accountId}`, { 'x-api-key': `gh_${'k'.repeat(43)}` });
    expect(unknown.status).toBe(401);
    expect(unknown.type).toMatch(/^application\/problem\+json/);

    const key = await createKey('video-developer', accountId);
    expect((await svc.get(`/videos/${accountId}`, { 'x-api-key': key.secret })).status).toBe(200);
    const revoked = await served.ctx.request(
      'DELETE',
      `/v1/organizations/${orgId}/api-keys/${key.id}`,
      { token: owner.accessToken },
    );
    expect(revoked.status).toBe(200);
    expect((await svc.get(`/videos/${accountId}`, { 'x-api-key': key.secret })).status).toBe(200);
    svc.advance(5_001);
    const after = await svc.get(`/videos/${accountId}`, { 'x-api-key': key.secret });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('invalid_token');
  });

  it('answers 503 when Gatehouse cannot be reached (fails closed)', async () => {
    const svc = await sampleService(framework, { baseUrl: 'http://127.0.0.1:1' });
    const res = await svc.get(`/videos/${accountId}`, bearer(developer));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('service_unavailable');
  });
});

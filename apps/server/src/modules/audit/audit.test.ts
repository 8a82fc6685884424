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
  createResource,
  platformAdmin,
} from '../../../test/seed';

/**
 * Reading the audit log (issue 6, item 3): what an event records, filters, cursor pagination,
 * who may read it, tenant isolation, and platform admins reading across organizations.
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

interface Event {
  id: string;
  seq: number;
  organization_id: string | null;
  actor: { type: string; id: string | null };
  action: string;
  target: { type: string; id: string | null } | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  changes: unknown;
  created_at: string;
  hash: string | null;
}

const logUrl = (orgId: string, query = '') =>
  `/v1/organizations/${orgId}/audit-logs${query ? `?${query}` : ''}`;

async function readLog(who: SignedIn, orgId: string, query = ''): Promise<Event[]> {
  const res = await ctx.request('GET', logUrl(orgId, query), { token: who.accessToken });
  if (res.status !== 200) throw new Error(`audit log failed: ${res.status} ${res.text}`);
  return res.body.data;
}

/** Every page of a listing, following next_cursor. */
async function readAll(who: SignedIn, url: string, limit: number) {
  const pages: Event[][] = [];
  let cursor: string | null = null;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const res = await ctx.request(
      'GET',
      `${url}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      { token: who.accessToken },
    );
    expect(res.status).toBe(200);
    pages.push(res.body.data);
    cursor = res.body.next_cursor;
  } while (cursor);
  return pages;
}

describe('what an event records', () => {
  it('actor, action, target, organization, IP, user agent, request id, before/after and time', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media', 'Before');
    const res = await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
      body: { name: 'After' },
      headers: { 'user-agent': 'audit-test/1.0', 'x-request-id': 'req-audit-1' },
      remoteAddress: '203.0.113.7',
    });
    expect(res.status).toBe(200);
    const [event] = await readLog(owner, org.id, 'action=organization.updated');
    expect(event).toMatchObject({
      organization_id: org.id,
      actor: { type: 'user', id: owner.userId },
      action: 'organization.updated',
      target: { type: 'organization', id: org.id },
      ip: '203.0.113.7',
      user_agent: 'audit-test/1.0',
      request_id: 'req-audit-1',
      created_at: new Date(ctx.clock.now()).toISOString(),
    });
    expect(event!.changes).toMatchObject({
      before: { name: 'Before' },
      after: { name: 'After' },
    });
    expect(event!.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('lists newest first', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    ctx.clock.advance(1);
    await createAccount(ctx, owner, org.id, 'video');
    const events = await readLog(owner, org.id);
    expect(events.map((e) => e.action)).toEqual(['account.created', 'organization.created']);
    expect(events[0]!.seq).toBeGreaterThan(events[1]!.seq);
  });
});

describe('filters', () => {
  let owner: SignedIn;
  let member: SignedIn;
  let orgId: string;
  let videoId: string;
  let imageId: string;
  let t1: number;
  let t2: number;
  beforeAll(async () => {
    owner = await ctx.signUp();
    orgId = (await createOrg(ctx, owner, 'team')).id;
    ctx.clock.advance(60_000);
    t1 = ctx.clock.now();
    videoId = (await createAccount(ctx, owner, orgId, 'video')).id;
    member = await addMember(ctx, owner, orgId, [{ role: 'admin', scope: orgId }]);
    ctx.clock.advance(60_000);
    t2 = ctx.clock.now();
    imageId = (await createAccount(ctx, member, orgId, 'image')).id;
    await createResource(ctx, member, orgId, imageId, 'source');
    await ctx.request('PATCH', `/v1/organizations/${orgId}/accounts/${videoId}`, {
      token: member.accessToken,
      body: { name: 'renamed' },
    });
  });

  it('by actor', async () => {
    const events = await readLog(owner, orgId, `actor=${member.userId}`);
    expect(events.map((e) => e.action).sort()).toEqual([
      'account.created',
      'account.updated',
      'resource.created',
    ]);
    expect(events.every((e) => e.actor.id === member.userId)).toBe(true);
  });

  it('by exact action', async () => {
    const events = await readLog(owner, orgId, 'action=account.created');
    expect(events.map((e) => e.target?.id).sort()).toEqual([videoId, imageId].sort());
  });

  it('by action prefix (account.*)', async () => {
    const events = await readLog(owner, orgId, 'action=account.*');
    expect(events.map((e) => e.action).sort()).toEqual([
      'account.created',
      'account.created',
      'account.updated',
    ]);
  });

  it('matches actions exactly: % and _ are not wildcards, case matters (both engines)', async () => {
    expect(await readLog(owner, orgId, 'action=ACCOUNT.*')).toEqual([]);
    expect(await readLog(owner, orgId, 'action=Account.created')).toEqual([]);
    expect(await readLog(owner, orgId, 'action=%25')).toEqual([]);
    expect(await readLog(owner, orgId, 'action=%25.*')).toEqual([]);
    expect(await readLog(owner, orgId, 'action=account_created')).toEqual([]);
    expect(await readLog(owner, orgId, 'action=a_count.*')).toEqual([]);
  });

  it('by target', async () => {
    const events = await readLog(owner, orgId, `target=${videoId}`);
    expect(events.map((e) => e.action)).toEqual(['account.updated', 'account.created']);
  });

  it('by time: from is inclusive, to is exclusive', async () => {
    const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    const before = await readLog(owner, orgId, `to=${iso(t1)}`);
    expect(before.map((e) => e.action)).toEqual(['organization.created']);
    const middle = await readLog(owner, orgId, `from=${iso(t1)}&to=${iso(t2)}`);
    expect(middle.map((e) => e.action).sort()).toEqual(['account.created', 'member.added']);
    const after = await readLog(owner, orgId, `from=${iso(t2)}`);
    expect(after.map((e) => e.action).sort()).toEqual([
      'account.created',
      'account.updated',
      'resource.created',
    ]);
  });

  it('combines filters', async () => {
    const events = await readLog(
      owner,
      orgId,
      `actor=${member.userId}&action=account.*&target=${imageId}`,
    );
    expect(events.map((e) => e.action)).toEqual(['account.created']);
  });

  it('answers an empty page for a filter that matches nothing', async () => {
    const res = await ctx.request('GET', logUrl(orgId, 'actor=usr_nobody'), {
      token: owner.accessToken,
    });
    expect(res.body).toEqual({ data: [], next_cursor: null });
  });

  it.each([
    ['from=yesterday'],
    ['to=not-a-date'],
    ['cursor=abc'],
    ['cursor=-5'],
    ['limit=0'],
    ['limit=201'],
    ['limit=ten'],
    [`action=${'a'.repeat(101)}`],
  ])('refuses %s with 400', async (query) => {
    const res = await ctx.request('GET', logUrl(orgId, query), { token: owner.accessToken });
    expectProblem(res, 400, 'validation_failed');
  });
});

describe('cursor pagination', () => {
  it('walks every event once, newest first, in pages of the asked size', async () => {
    const owner = await ctx.signUp();
    const orgId = (await createOrg(ctx, owner, 'media')).id;
    for (let i = 0; i < 6; i++) await createAccount(ctx, owner, orgId, 'video', `v${i}`);
    const all = await readLog(owner, orgId, 'limit=200');
    expect(all).toHaveLength(7);
    const pages = await readAll(owner, logUrl(orgId), 3);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat().map((e) => e.id)).toEqual(all.map((e) => e.id));
  });

  it('keeps the filter across pages', async () => {
    const owner = await ctx.signUp();
    const orgId = (await createOrg(ctx, owner, 'media')).id;
    for (let i = 0; i < 5; i++) await createAccount(ctx, owner, orgId, 'video', `v${i}`);
    const pages = await readAll(owner, logUrl(orgId, 'action=account.created'), 2);
    const events = pages.flat();
    expect(events).toHaveLength(5);
    expect(new Set(events.map((e) => e.id)).size).toBe(5);
    expect(events.every((e) => e.action === 'account.created')).toBe(true);
  });

  it('answers next_cursor null on the last page', async () => {
    const owner = await ctx.signUp();
    const orgId = (await createOrg(ctx, owner, 'media')).id;
    const res = await ctx.request('GET', logUrl(orgId, 'limit=1'), { token: owner.accessToken });
    expect(res.body.data).toHaveLength(1);
    expect(res.body.next_cursor).toBeNull();
  });

  it('does not show events written after the first page on later pages out of order', async () => {
    const owner = await ctx.signUp();
    const orgId = (await createOrg(ctx, owner, 'media')).id;
    for (let i = 0; i < 3; i++) await createAccount(ctx, owner, orgId, 'video', `v${i}`);
    const first = await ctx.request('GET', logUrl(orgId, 'limit=2'), { token: owner.accessToken });
    await createAccount(ctx, owner, orgId, 'video', 'late');
    const second = await ctx.request(
      'GET',
      logUrl(orgId, `limit=2&cursor=${first.body.next_cursor}`),
      {
        token: owner.accessToken,
      },
    );
    const seqs = [...first.body.data, ...second.body.data].map((e: Event) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(new Set(seqs).size).toBe(4);
  });
});

describe('who may read the log', () => {
  it("refuses a media admin with 403 (audit:read is the owner's)", async () => {
    const owner = await ctx.signUp();
    const orgId = (await createOrg(ctx, owner, 'media')).id;
    const admin = await addMember(ctx, owner, orgId, [{ role: 'admin', scope: orgId }]);
    for (const url of [logUrl(orgId), `${logUrl(orgId)}/verify`, `${logUrl(orgId)}/export`]) {
      const res = await ctx.request('GET', url, { token: admin.accessToken });
      expectProblem(res, 403, 'forbidden');
      expect(res.body.permission).toBe('audit:read');
    }
  });

  it('lets an admin of the permissions and team templates read it', async () => {
    for (const template of ['permissions', 'team']) {
      const owner = await ctx.signUp();
      const orgId = (await createOrg(ctx, owner, template)).id;
      const admin = await addMember(ctx, owner, orgId, [{ role: 'admin', scope: orgId }]);
      const res = await ctx.request('GET', logUrl(orgId), { token: admin.accessToken });
      expect(res.status, template).toBe(200);
    }
  });

  it('refuses a plain member with 403', async () => {
    const owner = await ctx.signUp();
    const orgId = (await createOrg(ctx, owner, 'permissions')).id;
    const member = await addMember(ctx, owner, orgId, [{ role: 'member', scope: orgId }]);
    expectProblem(
      await ctx.request('GET', logUrl(orgId), { token: member.accessToken }),
      403,
      'forbidden',
    );
  });

  it('answers 404 to a user outside the organization', async () => {
    const owner = await ctx.signUp();
    const orgId = (await createOrg(ctx, owner, 'media')).id;
    const stranger = await ctx.signUp();
    for (const url of [logUrl(orgId), `${logUrl(orgId)}/verify`, `${logUrl(orgId)}/export`]) {
      expectProblem(
        await ctx.request('GET', url, { token: stranger.accessToken }),
        404,
        'not_found',
      );
    }
  });

  it('lets an API key with audit:read read it, and refuses one without', async () => {
    const owner = await ctx.signUp();
    const orgId = (await createOrg(ctx, owner, 'media')).id;
    const reader = await apiKey(ctx, owner, orgId, [{ permissions: ['audit:read'], scope: orgId }]);
    const other = await apiKey(ctx, owner, orgId, [
      { permissions: ['accounts:read'], scope: orgId },
    ]);
    const ok = await ctx.request('GET', logUrl(orgId), { headers: { 'x-api-key': reader.secret } });
    expect(ok.status).toBe(200);
    expect(ok.body.data.map((e: Event) => e.action)).toContain('api_key.created');
    expectProblem(
      await ctx.request('GET', logUrl(orgId), { headers: { 'x-api-key': other.secret } }),
      403,
      'forbidden',
    );
  });
});

describe('tenant isolation', () => {
  let ownerA: SignedIn;
  let ownerB: SignedIn;
  let orgA: string;
  let orgB: string;
  let accountB: string;
  beforeAll(async () => {
    ownerA = await ctx.signUp();
    ownerB = await ctx.signUp();
    orgA = (await createOrg(ctx, ownerA, 'media')).id;
    orgB = (await createOrg(ctx, ownerB, 'media')).id;
    await createAccount(ctx, ownerA, orgA, 'video');
    accountB = (await createAccount(ctx, ownerB, orgB, 'video')).id;
    await ctx.request('PATCH', `/v1/organizations/${orgB}`, {
      token: ownerB.accessToken,
      body: { name: 'B renamed' },
    });
  });

  it("shows only its own organization's events", async () => {
    const events = await readLog(ownerA, orgA, 'limit=200');
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.organization_id === orgA)).toBe(true);
    expect(JSON.stringify(events)).not.toContain(orgB);
    expect(JSON.stringify(events)).not.toContain(ownerB.userId);
  });

  it('finds nothing of the other organization by filtering on its ids', async () => {
    expect(await readLog(ownerA, orgA, `target=${accountB}`)).toEqual([]);
    expect(await readLog(ownerA, orgA, `actor=${ownerB.userId}`)).toEqual([]);
    expect(await readLog(ownerA, orgA, `target=${orgB}`)).toEqual([]);
  });

  it("exports only its own organization's events", async () => {
    const res = await ctx.request('GET', `${logUrl(orgA)}/export`, { token: ownerA.accessToken });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(orgB);
    expect(res.text).not.toContain(accountB);
  });

  it("verifies only its own organization's chain", async () => {
    const mine = await readLog(ownerA, orgA, 'limit=200');
    const res = await ctx.request('GET', `${logUrl(orgA)}/verify`, { token: ownerA.accessToken });
    expect(res.body).toMatchObject({ valid: true, checked: mine.length });
  });

  it("answers 404 to the owner of one organization reading the other's log", async () => {
    expectProblem(
      await ctx.request('GET', logUrl(orgB), { token: ownerA.accessToken }),
      404,
      'not_found',
    );
  });
});

describe('platform admins', () => {
  let admin: SignedIn;
  let ownerA: SignedIn;
  let orgA: string;
  let orgB: string;
  beforeAll(async () => {
    admin = await platformAdmin(ctx);
    ownerA = await ctx.signUp();
    const ownerB = await ctx.signUp();
    orgA = (await createOrg(ctx, ownerA, 'media')).id;
    orgB = (await createOrg(ctx, ownerB, 'media')).id;
  });

  it('read events across organizations', async () => {
    const res = await ctx.request('GET', '/v1/admin/audit-logs?limit=200', {
      token: admin.accessToken,
    });
    expect(res.status).toBe(200);
    const orgs = new Set(res.body.data.map((e: Event) => e.organization_id));
    expect(orgs.has(orgA)).toBe(true);
    expect(orgs.has(orgB)).toBe(true);
  });

  it('read one organization by organization_id', async () => {
    const res = await ctx.request('GET', `/v1/admin/audit-logs?organization_id=${orgA}`, {
      token: admin.accessToken,
    });
    expect(res.body.data.length).toBeGreaterThan(0);
    expect(res.body.data.every((e: Event) => e.organization_id === orgA)).toBe(true);
  });

  it('read the platform chain (events outside organizations)', async () => {
    const res = await ctx.request(
      'GET',
      '/v1/admin/audit-logs?organization_id=platform&limit=200',
      {
        token: admin.accessToken,
      },
    );
    expect(res.status).toBe(200);
    const events: Event[] = res.body.data;
    expect(events.every((e) => e.organization_id === null)).toBe(true);
    const actions = new Set(events.map((e) => e.action));
    expect(actions.has('user.registered')).toBe(true);
    expect(actions.has('platform_admin.created')).toBe(true);
  });

  it('filter and page across organizations', async () => {
    const pages = await readAll(admin, '/v1/admin/audit-logs?action=organization.created', 1);
    const events = pages.flat();
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.every((e) => e.action === 'organization.created')).toBe(true);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('verify an organization chain and the platform chain', async () => {
    for (const chain of [orgA, 'platform']) {
      const res = await ctx.request('GET', `/v1/admin/audit-logs/verify?organization_id=${chain}`, {
        token: admin.accessToken,
      });
      expect(res.status, chain).toBe(200);
      expect(res.body.valid, chain).toBe(true);
      expect(res.body.checked, chain).toBeGreaterThan(0);
    }
  });

  it('are the only ones who may: an organization owner gets 403', async () => {
    for (const url of [
      '/v1/admin/audit-logs',
      '/v1/admin/audit-logs/verify?organization_id=platform',
    ]) {
      expectProblem(
        await ctx.request('GET', url, { token: ownerA.accessToken }),
        403,
        'platform_admin_required',
      );
    }
  });

  it('refuse API keys on the admin log', async () => {
    const key = await apiKey(ctx, ownerA, orgA, [{ permissions: ['audit:read'], scope: orgA }]);
    expectProblem(
      await ctx.request('GET', '/v1/admin/audit-logs', { headers: { 'x-api-key': key.secret } }),
      403,
      'platform_admin_required',
    );
  });
});

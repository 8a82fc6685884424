/**
 * Organizations: create, list mine, get, update, switch and delete, as a user observes them
 * (SPEC section 5; issue 3, item 1). Ownership transfer is in ownership.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, expectProblem, type TestContext } from '../../../test/harness';
import {
  addMember,
  allowed,
  auditRows,
  createAccount,
  createOrg,
  decodeJwtPayload,
  suspendMember,
} from '../../../test/seed';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const uniqueName = (base: string) => `${base} ${Math.random().toString(36).slice(2, 8)}`;

describe('create', () => {
  it('derives the slug from the name', async () => {
    const owner = await ctx.signUp();
    const name = uniqueName('Ça Été Ünïcode & Co.');
    const res = await ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name },
    });
    expect(res.status).toBe(201);
    expect(res.body.slug).toBe(`ca-ete-unicode-co-${name.slice(-6)}`);
  });

  it('defaults to the media template and makes the creator the owner', async () => {
    const owner = await ctx.signUp();
    const res = await ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: uniqueName('Default') },
    });
    expect(res.body).toMatchObject({ template: 'media', owner_id: owner.userId, status: 'active' });
    expect(await allowed(ctx, owner, 'organization:delete', res.body.id)).toBe(true);
  });

  it('gives a second organization with the same name a different slug', async () => {
    const owner = await ctx.signUp();
    const name = uniqueName('Twin');
    const first = await createOrg(ctx, owner, 'media', name);
    const second = await createOrg(ctx, owner, 'media', name);
    expect(second.slug).not.toBe(first.slug);
    expect(second.slug.startsWith(first.slug)).toBe(true);
  });

  it('refuses a slug that is taken with 409', async () => {
    const owner = await ctx.signUp();
    const first = await createOrg(ctx, owner, 'media', uniqueName('Taken'));
    const res = await ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: 'Another', slug: first.slug },
    });
    expectProblem(res, 409, 'conflict');
  });

  it('concurrent creates with one chosen slug: one 201, the others 409, never 500', async () => {
    const owner = await ctx.signUp();
    const slug = `race-${Math.random().toString(36).slice(2, 8)}`;
    const results = await Promise.all(
      [0, 1, 2, 3].map(() =>
        ctx.request('POST', '/v1/organizations', {
          token: owner.accessToken,
          body: { name: 'Race', slug },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    for (const r of results.filter((r) => r.status === 409)) expectProblem(r, 409, 'conflict');
  });

  it('concurrent creates with one name all succeed, each with its own slug', async () => {
    const owner = await ctx.signUp();
    const name = uniqueName('Same Name');
    const results = await Promise.all(
      [0, 1, 2, 3].map(() =>
        ctx.request('POST', '/v1/organizations', { token: owner.accessToken, body: { name } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(new Set(results.map((r) => r.body.slug)).size).toBe(4);
  });

  it('refuses an unknown template with 400', async () => {
    const owner = await ctx.signUp();
    const res = await ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: 'Nope', template: 'enterprise' },
    });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors[0].path).toBe('body.template');
    const mine = await ctx.request('GET', '/v1/organizations', { token: owner.accessToken });
    expect(mine.body.data).toEqual([]);
  });

  it('accepts each of the five templates', async () => {
    const owner = await ctx.signUp();
    for (const template of ['media', 'accounts', 'team', 'permissions', 'reseller']) {
      const org = await createOrg(ctx, owner, template);
      expect(org.template).toBe(template);
    }
  });

  it('stores the initial policies over the defaults', async () => {
    const owner = await ctx.signUp();
    const res = await ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: uniqueName('Strict'), policies: { session_max_age_hours: 12 } },
    });
    expect(res.body.policies).toMatchObject({
      require_mfa: false,
      session_max_age_hours: 12,
      invitation_expiry_days: 7,
    });
  });

  it('needs a signed-in user', async () => {
    expectProblem(
      await ctx.request('POST', '/v1/organizations', { body: { name: 'Anonymous' } }),
      401,
      'unauthenticated',
    );
  });

  it('writes an audit event', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const rows = await auditRows(ctx, org.id, 'organization.created');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor_type: 'user', actor_id: owner.userId });
  });
});

describe('list mine', () => {
  it('lists the organizations I belong to, as owner or as member, and no others', async () => {
    const me = await ctx.signUp();
    const other = await ctx.signUp();
    const mine = await createOrg(ctx, me);
    const theirs = await createOrg(ctx, other);
    const notMine = await createOrg(ctx, other);
    await ctx.request('POST', `/v1/organizations/${theirs.id}/members`, {
      token: other.accessToken,
      body: { email: me.email, grants: [{ role: 'accountant', scope: theirs.id }] },
    });
    const res = await ctx.request('GET', '/v1/organizations', { token: me.accessToken });
    const byId = new Map(res.body.data.map((o: { id: string }) => [o.id, o]));
    expect([...byId.keys()].sort()).toEqual([mine.id, theirs.id].sort());
    expect(byId.get(mine.id)).toMatchObject({ is_owner: true, membership_status: 'active' });
    expect(byId.get(theirs.id)).toMatchObject({ is_owner: false, membership_status: 'active' });
    expect(byId.has(notMine.id)).toBe(false);
  });

  it('pages with limit and cursor, each organization exactly once', async () => {
    const me = await ctx.signUp();
    const created = [];
    for (let i = 0; i < 5; i++) created.push((await createOrg(ctx, me)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/organizations?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await ctx.request('GET', url, { token: me.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((o: { id: string }) => o.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(created.sort());
  });

  it('says which one is current after a switch', async () => {
    const me = await ctx.signUp();
    const a = await createOrg(ctx, me);
    const b = await createOrg(ctx, me);
    const sw = await ctx.request('POST', `/v1/organizations/${b.id}/switch`, {
      token: me.accessToken,
    });
    const res = await ctx.request('GET', '/v1/organizations', {
      token: sw.body.access_token,
    });
    const current = res.body.data.filter((o: { current: boolean }) => o.current);
    expect(current.map((o: { id: string }) => o.id)).toEqual([b.id]);
    expect(res.body.data.map((o: { id: string }) => o.id)).toContain(a.id);
  });
});

describe('get', () => {
  it('answers a member, whatever their role', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const acc = await createAccount(ctx, owner, org.id);
    // team `user` holds no organization:read, yet a member may see the organization it is in.
    const user = await addMember(ctx, owner, org.id, [{ role: 'user', scope: acc.id }]);
    const res = await ctx.request('GET', `/v1/organizations/${org.id}`, {
      token: user.accessToken,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: org.id, name: org.name, owner_id: owner.userId });
  });

  it('answers 404 to a non-member and for an id that does not exist', async () => {
    const owner = await ctx.signUp();
    const stranger = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    for (const [who, id] of [
      [stranger, org.id],
      [owner, 'org_00000000000000000000000000'],
    ] as const) {
      expectProblem(
        await ctx.request('GET', `/v1/organizations/${id}`, { token: who.accessToken }),
        404,
        'not_found',
      );
    }
  });

  it('refuses a suspended member with 403', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const member = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    await suspendMember(ctx, owner, org.id, member.userId);
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${org.id}`, { token: member.accessToken }),
      403,
      'forbidden',
    );
  });
});

describe('update', () => {
  it('renames, and the next read sees the new name', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const res = await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
      body: { name: 'Renamed Inc' },
    });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('Renamed Inc');
    const got = await ctx.request('GET', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
    });
    expect(got.body.name).toBe('Renamed Inc');
    expect(got.body.slug).toBe(org.slug);
  });

  it('needs organization:update: a media admin gets 403 and nothing changes', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    expectProblem(
      await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
        token: admin.accessToken,
        body: { name: 'Hijacked' },
      }),
      403,
      'forbidden',
    );
    const got = await ctx.request('GET', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
    });
    expect(got.body.name).toBe(org.name);
  });

  it('lets a team admin, who holds organization:update, change it', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const res = await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
      token: admin.accessToken,
      body: { name: 'Admin renamed' },
    });
    expect(res.status).toBe(200);
  });

  it('merges policies: a patch keeps the policies it does not name', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const url = `/v1/organizations/${org.id}`;
    await ctx.request('PATCH', url, {
      token: owner.accessToken,
      body: { policies: { session_max_age_hours: 24 } },
    });
    const res = await ctx.request('PATCH', url, {
      token: owner.accessToken,
      body: {
        policies: { invitation_expiry_days: 14, allowed_login_methods: ['password', 'google'] },
      },
    });
    expect(res.body.policies).toMatchObject({
      session_max_age_hours: 24,
      invitation_expiry_days: 14,
      allowed_login_methods: ['password', 'google'],
    });
    const got = await ctx.request('GET', url, { token: owner.accessToken });
    expect(got.body.policies).toEqual(res.body.policies);
  });

  it('refuses a policy that would shut out the session setting it (policy_lockout)', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const url = `/v1/organizations/${org.id}`;
    const mfa = await ctx.request('PATCH', url, {
      token: owner.accessToken,
      body: { policies: { require_mfa: true } },
    });
    expectProblem(mfa, 409, 'policy_lockout');
    const methods = await ctx.request('PATCH', url, {
      token: owner.accessToken,
      body: { policies: { allowed_login_methods: ['google'] } },
    });
    expectProblem(methods, 409, 'policy_lockout');
    const got = await ctx.request('GET', url, { token: owner.accessToken });
    expect(got.body.policies).toMatchObject({ require_mfa: false, allowed_login_methods: null });
  });

  it('replaces settings as a whole', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const url = `/v1/organizations/${org.id}`;
    await ctx.request('PATCH', url, {
      token: owner.accessToken,
      body: { settings: { theme: 'dark', locale: 'de' } },
    });
    const res = await ctx.request('PATCH', url, {
      token: owner.accessToken,
      body: { settings: { theme: 'light' } },
    });
    expect(res.body.settings).toEqual({ theme: 'light' });
  });

  it('writes an audit row with the change, before and after', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
      body: { name: 'Audited', policies: { session_idle_timeout_minutes: 30 } },
    });
    const rows = await auditRows(ctx, org.id, 'organization.updated');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor_type: 'user',
      actor_id: owner.userId,
      target_type: 'organization',
      target_id: org.id,
    });
    expect(rows[0]!.changes.before.name).toBe(org.name);
    expect(rows[0]!.changes.after.name).toBe('Audited');
  });

  it('writes no audit row when nothing changes', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const res = await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
      body: {},
    });
    expect(res.status).toBe(200);
    expect(await auditRows(ctx, org.id, 'organization.updated')).toEqual([]);
  });

  it("refuses another organization's slug with 409, and keeps its own", async () => {
    const owner = await ctx.signUp();
    const a = await createOrg(ctx, owner);
    const b = await createOrg(ctx, owner);
    expectProblem(
      await ctx.request('PATCH', `/v1/organizations/${b.id}`, {
        token: owner.accessToken,
        body: { slug: a.slug },
      }),
      409,
      'conflict',
    );
    const same = await ctx.request('PATCH', `/v1/organizations/${b.id}`, {
      token: owner.accessToken,
      body: { slug: b.slug },
    });
    expect(same.status).toBe(200);
  });
});

describe('switch', () => {
  it('answers an access token whose org claim is the organization', async () => {
    const me = await ctx.signUp();
    const org = await createOrg(ctx, me);
    const res = await ctx.request('POST', `/v1/organizations/${org.id}/switch`, {
      token: me.accessToken,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ organization_id: org.id, token_type: 'Bearer' });
    const claims = decodeJwtPayload(res.body.access_token);
    expect(claims).toMatchObject({ org: org.id, sub: me.userId, sid: me.sessionId });
    expect(decodeJwtPayload(me.accessToken).org ?? null).toBeNull();
  });

  it('the new token works, and refreshing keeps the organization', async () => {
    const me = await ctx.signUp();
    const org = await createOrg(ctx, me);
    await ctx.request('POST', `/v1/organizations/${org.id}/switch`, { token: me.accessToken });
    const refreshed = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: me.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    expect(decodeJwtPayload(refreshed.body.access_token).org).toBe(org.id);
  });

  it('answers 404 for an organization I am not a member of', async () => {
    const owner = await ctx.signUp();
    const stranger = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    expectProblem(
      await ctx.request('POST', `/v1/organizations/${org.id}/switch`, {
        token: stranger.accessToken,
      }),
      404,
      'not_found',
    );
  });

  it('refuses a suspended membership with 403', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const member = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    await suspendMember(ctx, owner, org.id, member.userId);
    expectProblem(
      await ctx.request('POST', `/v1/organizations/${org.id}/switch`, {
        token: member.accessToken,
      }),
      403,
      'forbidden',
    );
  });
});

describe('delete', () => {
  it('the owner deletes it by repeating its name; then it is 404 for everyone', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const member = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const res = await ctx.request('DELETE', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
      body: { confirm_name: org.name },
    });
    expect(res.status).toBe(204);
    for (const who of [owner, member]) {
      expectProblem(
        await ctx.request('GET', `/v1/organizations/${org.id}`, { token: who.accessToken }),
        404,
        'not_found',
      );
      const mine = await ctx.request('GET', '/v1/organizations', { token: who.accessToken });
      expect(mine.body.data.map((o: { id: string }) => o.id)).not.toContain(org.id);
    }
  });

  it('leaves its accounts unreachable and frees its slug', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const acc = await createAccount(ctx, owner, org.id);
    await ctx.request('DELETE', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
      body: { confirm_name: org.name },
    });
    expect(await allowed(ctx, owner, 'accounts:read', acc.id)).toBe(false);
    const again = await ctx.request('POST', '/v1/organizations', {
      token: owner.accessToken,
      body: { name: 'Reborn', slug: org.slug },
    });
    expect(again.status).toBe(201);
  });

  it('keeps the audit trail of the deletion', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    await ctx.request('DELETE', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
      body: { confirm_name: org.name },
    });
    expect(await auditRows(ctx, org.id, 'organization.deleted')).toHaveLength(1);
  });

  it('refuses a confirm_name that does not match exactly, and the organization stays', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    for (const confirm of ['wrong', org.name.toUpperCase(), `${org.name} `]) {
      expectProblem(
        await ctx.request('DELETE', `/v1/organizations/${org.id}`, {
          token: owner.accessToken,
          body: { confirm_name: confirm },
        }),
        400,
        'validation_failed',
      );
    }
    const got = await ctx.request('GET', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
    });
    expect(got.status).toBe(200);
  });

  it('is owner only: a team admin gets 403', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    expectProblem(
      await ctx.request('DELETE', `/v1/organizations/${org.id}`, {
        token: admin.accessToken,
        body: { confirm_name: org.name },
      }),
      403,
      'forbidden',
    );
  });

  it('is owner only even for a member granted organization:delete inline', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'reseller');
    const member = await addMember(ctx, owner, org.id, [
      { permissions: ['organization:read', 'organization:delete'], scope: org.id },
    ]);
    expectProblem(
      await ctx.request('DELETE', `/v1/organizations/${org.id}`, {
        token: member.accessToken,
        body: { confirm_name: org.name },
      }),
      403,
      'forbidden',
    );
  });

  it('answers 404 to a non-member', async () => {
    const owner = await ctx.signUp();
    const stranger = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    expectProblem(
      await ctx.request('DELETE', `/v1/organizations/${org.id}`, {
        token: stranger.accessToken,
        body: { confirm_name: org.name },
      }),
      404,
      'not_found',
    );
  });
});

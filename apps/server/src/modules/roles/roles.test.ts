/**
 * The permission catalog, the templates, and custom roles (SPEC section 3; issue 3, item 3):
 * built-in roles are read-only; nobody creates or edits a role to hold permissions they lack;
 * editing a role changes every holder at once; a role still granted needs a replacement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import {
  addMember,
  allowed,
  auditRows,
  createAccount,
  createOrg,
  createRole,
} from '../../../test/seed';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const rolesUrl = (orgId: string) => `/v1/organizations/${orgId}/roles`;

describe('catalog and templates (public)', () => {
  it('GET /v1/permissions lists every permission and product without signing in', async () => {
    const res = await ctx.request('GET', '/v1/permissions');
    expect(res.status).toBe(200);
    const names = res.body.data.map((p: { name: string }) => p.name);
    for (const p of [
      'organization:delete',
      'members:invite',
      'billing:pay',
      'billing:manage',
      'api_keys:manage',
      'video.assets:create',
      'image.sources:delete',
      'meeting.rooms:update',
    ]) {
      expect(names).toContain(p);
    }
    expect(res.body.data.find((p: { name: string }) => p.name === 'video.usage:read')).toEqual(
      expect.objectContaining({ product: 'video' }),
    );
    expect(res.body.products.map((p: { key: string }) => p.key)).toEqual([
      'video',
      'image',
      'meeting',
    ]);
  });

  it('GET /v1/templates lists the five templates with their roles', async () => {
    const res = await ctx.request('GET', '/v1/templates');
    expect(res.status).toBe(200);
    const byKey = new Map(res.body.data.map((t: { key: string }) => [t.key, t]));
    expect([...byKey.keys()]).toEqual(['media', 'accounts', 'team', 'permissions', 'reseller']);
    const media = byKey.get('media') as { roles: { key: string }[] };
    expect(media.roles.map((r) => r.key)).toEqual([
      'owner',
      'admin',
      'accountant',
      'video-admin',
      'video-developer',
      'video-analyst',
      'video-source-specific',
      'image-admin',
      'image-developer',
      'image-analyst',
      'image-source-specific',
    ]);
  });

  it('describes a role with its product, levels, and whether it can be granted', async () => {
    const res = await ctx.request('GET', '/v1/templates');
    const media = res.body.data.find((t: { key: string }) => t.key === 'media');
    const role = (key: string) => media.roles.find((r: { key: string }) => r.key === key);
    expect(role('video-source-specific')).toMatchObject({
      product: 'video',
      grantable_at: ['account', 'resource'],
      built_in: true,
      grantable: true,
    });
    expect(role('owner')).toMatchObject({ permissions: ['*'], grantable: false });
  });

  it('states each invite policy in snake_case', async () => {
    const res = await ctx.request('GET', '/v1/templates');
    const team = res.body.data.find((t: { key: string }) => t.key === 'team');
    expect(team.invite_policy).toMatchObject({
      inviters: 'permission',
      default_role: 'user',
      owner_only_roles: ['admin'],
      owner_may_offer_ownership: true,
    });
  });
});

describe('list and get organization roles', () => {
  it('lists the built-in roles and the custom ones', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    await createRole(ctx, owner, org.id, { key: 'marketing', permissions: ['accounts:read'] });
    const res = await ctx.request('GET', rolesUrl(org.id), { token: owner.accessToken });
    expect(res.status).toBe(200);
    const roles = new Map(res.body.data.map((r: { key: string }) => [r.key, r]));
    expect([...roles.keys()].sort()).toEqual(['admin', 'marketing', 'owner', 'user']);
    expect(roles.get('admin')).toMatchObject({ built_in: true });
    expect(roles.get('marketing')).toMatchObject({
      built_in: false,
      permissions: ['accounts:read'],
      grantable_at: ['organization', 'account', 'resource'],
      product: null,
    });
  });

  it('gets one role, and answers 404 for a key that does not exist', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const got = await ctx.request('GET', `${rolesUrl(org.id)}/accountant`, {
      token: owner.accessToken,
    });
    expect(got.body).toMatchObject({ key: 'accountant', built_in: true });
    expectProblem(
      await ctx.request('GET', `${rolesUrl(org.id)}/nope`, { token: owner.accessToken }),
      404,
      'not_found',
    );
  });

  it('needs roles:read: a media accountant gets 403, a stranger 404', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const accountant = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    const stranger = await ctx.signUp();
    expectProblem(
      await ctx.request('GET', rolesUrl(org.id), { token: accountant.accessToken }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('GET', rolesUrl(org.id), { token: stranger.accessToken }),
      404,
      'not_found',
    );
  });

  it("does not show one organization's custom roles in another", async () => {
    const owner = await ctx.signUp();
    const a = await createOrg(ctx, owner, 'team');
    const b = await createOrg(ctx, owner, 'team');
    await createRole(ctx, owner, a.id, { key: 'only-in-a', permissions: ['accounts:read'] });
    const res = await ctx.request('GET', rolesUrl(b.id), { token: owner.accessToken });
    expect(res.body.data.map((r: { key: string }) => r.key)).not.toContain('only-in-a');
  });
});

describe('create a custom role', () => {
  it('creates it, and a member granted it holds exactly its permissions', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    const res = await createRole(ctx, owner, org.id, {
      key: 'marketing-manager',
      name: 'Marketing manager',
      permissions: ['organization:read', 'video.insights:read', 'image.insights:read'],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ key: 'marketing-manager', name: 'Marketing manager' });
    const member = await addMember(ctx, owner, org.id, [
      { role: 'marketing-manager', scope: org.id },
    ]);
    expect(await allowed(ctx, member, 'video.insights:read', acc.id)).toBe(true);
    expect(await allowed(ctx, member, 'video.usage:read', acc.id)).toBe(false);
    expect(await auditRows(ctx, org.id, 'role.created')).toHaveLength(1);
  });

  it('accepts patterns such as *:read and video.*', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    await createRole(ctx, owner, org.id, { key: 'auditor', permissions: ['*:read'] });
    const member = await addMember(ctx, owner, org.id, [{ role: 'auditor', scope: org.id }]);
    expect(await allowed(ctx, member, 'billing:read', org.id)).toBe(true);
    expect(await allowed(ctx, member, 'video.assets:read', acc.id)).toBe(true);
    expect(await allowed(ctx, member, 'video.assets:create', acc.id)).toBe(false);
  });

  it('restricted to a product and levels, it gives nothing elsewhere', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const video = await createAccount(ctx, owner, org.id, 'video');
    const image = await createAccount(ctx, owner, org.id, 'image');
    const res = await createRole(ctx, owner, org.id, {
      key: 'video-uploader',
      permissions: ['accounts:read', 'video.assets:create'],
      product: 'video',
      grantable_at: ['account'],
    });
    expect(res.status).toBe(201);
    const member = await addMember(ctx, owner, org.id, [
      { role: 'video-uploader', scope: video.id },
    ]);
    expect(await allowed(ctx, member, 'video.assets:create', video.id)).toBe(true);
    const user = await ctx.signUp();
    for (const scope of [image.id, org.id]) {
      expectProblem(
        await ctx.request('POST', `/v1/organizations/${org.id}/members`, {
          token: owner.accessToken,
          body: { email: user.email, grants: [{ role: 'video-uploader', scope }] },
        }),
        400,
        'validation_failed',
      );
    }
  });

  it('refuses an unknown permission with 400 validation_failed', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const res = await createRole(ctx, owner, org.id, {
      key: 'typo',
      permissions: ['accounts:read', 'acounts:update'],
    });
    expectProblem(res, 400, 'validation_failed');
    expect(res.text).toContain('acounts:update');
    const got = await ctx.request('GET', `${rolesUrl(org.id)}/typo`, { token: owner.accessToken });
    expect(got.status).toBe(404);
  });

  it('refuses a wildcard that matches nothing, and an unknown product', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    for (const permissions of [['*:raed'], ['audio.*']]) {
      expectProblem(
        await createRole(ctx, owner, org.id, { key: 'bad', permissions }),
        400,
        'validation_failed',
      );
    }
    expectProblem(
      await createRole(ctx, owner, org.id, {
        key: 'bad',
        permissions: ['accounts:read'],
        product: 'audio',
      }),
      400,
      'validation_failed',
    );
  });

  it('refuses a key that clashes with a built-in role with 409', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    expectProblem(
      await createRole(ctx, owner, org.id, { key: 'admin', permissions: ['accounts:read'] }),
      409,
      'conflict',
    );
  });

  it('refuses a key that clashes with another custom role with 409', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const body = { key: 'support', permissions: ['members:read'] };
    expect((await createRole(ctx, owner, org.id, body)).status).toBe(201);
    expectProblem(await createRole(ctx, owner, org.id, body), 409, 'conflict');
  });

  it('concurrent creates of one key: one 201, the others 409, never 500', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const results = await Promise.all(
      [0, 1, 2, 3].map(() =>
        createRole(ctx, owner, org.id, { key: 'racer', permissions: ['accounts:read'] }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
  });

  it('the same key may exist in two organizations', async () => {
    const owner = await ctx.signUp();
    const a = await createOrg(ctx, owner, 'team');
    const b = await createOrg(ctx, owner, 'team');
    const body = { key: 'support', permissions: ['members:read'] };
    expect((await createRole(ctx, owner, a.id, body)).status).toBe(201);
    expect((await createRole(ctx, owner, b.id, body)).status).toBe(201);
  });

  it('refuses "owner": ownership is not a role', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const res = await createRole(ctx, owner, org.id, { key: 'owner', permissions: ['*'] });
    expect([400, 409]).toContain(res.status);
  });

  it('refuses permissions the creator lacks with 403 (team admin: organization:delete)', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const res = await createRole(ctx, admin, org.id, {
      key: 'deleter',
      permissions: ['organization:read', 'organization:delete'],
    });
    expectProblem(res, 403, 'forbidden');
    expect(res.body.missing).toEqual(['organization:delete']);
    expectProblem(
      await createRole(ctx, admin, org.id, { key: 'everything', permissions: ['*'] }),
      403,
      'forbidden',
    );
  });

  it('lets a team admin create a role within what they hold', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const res = await createRole(ctx, admin, org.id, {
      key: 'billing-clerk',
      permissions: ['billing:read', 'billing:pay'],
    });
    expect(res.status).toBe(201);
  });

  it('refuses a permissions-template admin a role with billing (behind its switch)', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'permissions');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    expectProblem(
      await createRole(ctx, admin, org.id, { key: 'payer', permissions: ['billing:pay'] }),
      403,
      'forbidden',
    );
  });

  it('needs roles:manage: a media admin gets 403', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    expectProblem(
      await createRole(ctx, admin, org.id, { key: 'x', permissions: ['accounts:read'] }),
      403,
      'forbidden',
    );
  });
});

describe('built-in roles are read-only', () => {
  it('PATCH on a built-in role is 403 and the role is unchanged', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const res = await ctx.request('PATCH', `${rolesUrl(org.id)}/accountant`, {
      token: owner.accessToken,
      body: { permissions: ['*'] },
    });
    expectProblem(res, 403, 'forbidden');
    const got = await ctx.request('GET', `${rolesUrl(org.id)}/accountant`, {
      token: owner.accessToken,
    });
    expect(got.body.permissions).toEqual(['organization:read', 'billing:read', 'billing:pay']);
  });

  it('DELETE on a built-in role is 403', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    expectProblem(
      await ctx.request('DELETE', `${rolesUrl(org.id)}/user`, { token: owner.accessToken }),
      403,
      'forbidden',
    );
  });

  it('the owner role cannot be edited or deleted either', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    expectProblem(
      await ctx.request('PATCH', `${rolesUrl(org.id)}/owner`, {
        token: owner.accessToken,
        body: { name: 'Boss' },
      }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('DELETE', `${rolesUrl(org.id)}/owner`, { token: owner.accessToken }),
      403,
      'forbidden',
    );
  });
});

describe('update a custom role', () => {
  it("changes every holder's effective permissions at once", async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const acc = await createAccount(ctx, owner, org.id, 'video');
    await createRole(ctx, owner, org.id, {
      key: 'reporting',
      permissions: ['organization:read'],
    });
    const a = await addMember(ctx, owner, org.id, [{ role: 'reporting', scope: org.id }]);
    const b = await addMember(ctx, owner, org.id, [{ role: 'reporting', scope: acc.id }]);
    for (const m of [a, b]) expect(await allowed(ctx, m, 'video.usage:read', acc.id)).toBe(false);
    const res = await ctx.request('PATCH', `${rolesUrl(org.id)}/reporting`, {
      token: owner.accessToken,
      body: { permissions: ['organization:read', 'video.usage:read'] },
    });
    expect(res.status).toBe(200);
    for (const m of [a, b]) expect(await allowed(ctx, m, 'video.usage:read', acc.id)).toBe(true);
    await ctx.request('PATCH', `${rolesUrl(org.id)}/reporting`, {
      token: owner.accessToken,
      body: { permissions: ['organization:read'] },
    });
    for (const m of [a, b]) expect(await allowed(ctx, m, 'video.usage:read', acc.id)).toBe(false);
  });

  it('renames and describes it, keeping the permissions', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    await createRole(ctx, owner, org.id, { key: 'ops', permissions: ['accounts:read'] });
    const res = await ctx.request('PATCH', `${rolesUrl(org.id)}/ops`, {
      token: owner.accessToken,
      body: { name: 'Operations', description: 'Runs things' },
    });
    expect(res.body).toMatchObject({
      key: 'ops',
      name: 'Operations',
      description: 'Runs things',
      permissions: ['accounts:read'],
    });
    expect(await auditRows(ctx, org.id, 'role.updated')).toHaveLength(1);
  });

  it('refuses to widen a role beyond what the editor holds (403), and it stays as it was', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    await createRole(ctx, owner, org.id, { key: 'helper', permissions: ['accounts:read'] });
    expectProblem(
      await ctx.request('PATCH', `${rolesUrl(org.id)}/helper`, {
        token: admin.accessToken,
        body: { permissions: ['accounts:read', 'organization:delete'] },
      }),
      403,
      'forbidden',
    );
    const got = await ctx.request('GET', `${rolesUrl(org.id)}/helper`, {
      token: owner.accessToken,
    });
    expect(got.body.permissions).toEqual(['accounts:read']);
  });

  it('refuses an unknown permission with 400', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    await createRole(ctx, owner, org.id, { key: 'ops', permissions: ['accounts:read'] });
    expectProblem(
      await ctx.request('PATCH', `${rolesUrl(org.id)}/ops`, {
        token: owner.accessToken,
        body: { permissions: ['accounts:reed'] },
      }),
      400,
      'validation_failed',
    );
  });

  it('answers 404 for a role that does not exist', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    expectProblem(
      await ctx.request('PATCH', `${rolesUrl(org.id)}/ghost`, {
        token: owner.accessToken,
        body: { name: 'Ghost' },
      }),
      404,
      'not_found',
    );
  });
});

describe('delete a custom role', () => {
  it('deletes a role nobody holds; it is then 404', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    await createRole(ctx, owner, org.id, { key: 'temp', permissions: ['accounts:read'] });
    const res = await ctx.request('DELETE', `${rolesUrl(org.id)}/temp`, {
      token: owner.accessToken,
    });
    expect(res.status).toBe(204);
    expectProblem(
      await ctx.request('GET', `${rolesUrl(org.id)}/temp`, { token: owner.accessToken }),
      404,
      'not_found',
    );
    expect(await auditRows(ctx, org.id, 'role.deleted')).toHaveLength(1);
  });

  it('refuses with 409 while the role is granted, and the holder keeps it', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    await createRole(ctx, owner, org.id, { key: 'payer', permissions: ['billing:pay'] });
    const holder = await addMember(ctx, owner, org.id, [{ role: 'payer', scope: org.id }]);
    expectProblem(
      await ctx.request('DELETE', `${rolesUrl(org.id)}/payer`, { token: owner.accessToken }),
      409,
      'conflict',
    );
    expect(await allowed(ctx, holder, 'billing:pay', org.id)).toBe(true);
  });

  it('with replace_with, moves every holder to the replacement', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    await createRole(ctx, owner, org.id, { key: 'payer', permissions: ['billing:pay'] });
    const a = await addMember(ctx, owner, org.id, [{ role: 'payer', scope: org.id }]);
    const b = await addMember(ctx, owner, org.id, [{ role: 'payer', scope: org.id }]);
    const res = await ctx.request('DELETE', `${rolesUrl(org.id)}/payer?replace_with=accountant`, {
      token: owner.accessToken,
    });
    expect(res.status).toBe(204);
    for (const m of [a, b]) {
      const grants = await ctx.request(
        'GET',
        `/v1/organizations/${org.id}/members/${m.userId}/grants`,
        { token: owner.accessToken },
      );
      expect(grants.body.data).toEqual([
        expect.objectContaining({ role: 'accountant', scope: org.id }),
      ]);
      expect(await allowed(ctx, m, 'billing:read', org.id)).toBe(true);
    }
  });

  it('refuses a replacement that cannot be granted where the role was (400)', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    await createRole(ctx, owner, org.id, { key: 'payer', permissions: ['billing:pay'] });
    const holder = await addMember(ctx, owner, org.id, [{ role: 'payer', scope: org.id }]);
    // video-source-specific is never granted organization-wide.
    expectProblem(
      await ctx.request('DELETE', `${rolesUrl(org.id)}/payer?replace_with=video-source-specific`, {
        token: owner.accessToken,
      }),
      400,
      'validation_failed',
    );
    expect(await allowed(ctx, holder, 'billing:pay', org.id)).toBe(true);
  });

  it('refuses an unknown replacement (400) and the role itself as replacement (400)', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    await createRole(ctx, owner, org.id, { key: 'payer', permissions: ['billing:pay'] });
    await addMember(ctx, owner, org.id, [{ role: 'payer', scope: org.id }]);
    for (const replacement of ['ghost', 'payer']) {
      expectProblem(
        await ctx.request('DELETE', `${rolesUrl(org.id)}/payer?replace_with=${replacement}`, {
          token: owner.accessToken,
        }),
        400,
        'validation_failed',
      );
    }
  });

  it('refuses a replacement the deleter could not grant (403)', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'permissions');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    await createRole(ctx, owner, org.id, { key: 'reader', permissions: ['accounts:read'] });
    await addMember(ctx, owner, org.id, [{ role: 'reader', scope: org.id }]);
    // admin holds roles:manage but not billing:*: it cannot hand out the billing switch.
    expectProblem(
      await ctx.request('DELETE', `${rolesUrl(org.id)}/reader?replace_with=billing`, {
        token: admin.accessToken,
      }),
      403,
      'forbidden',
    );
  });
});

describe('deleting a custom role held by API keys', () => {
  // @see issue 10 #3: a key's grant of a deleted role survived on the key row, and a new role
  // created with the same key gave it meaning again.
  const createKey = (owner: SignedIn, orgId: string, grants: unknown[]) =>
    ctx.request('POST', `/v1/organizations/${orgId}/api-keys`, {
      token: owner.accessToken,
      body: { name: 'service', grants },
    });
  const keyGrants = async (orgId: string, id: string) =>
    JSON.parse(
      (
        await ctx.database.db
          .selectFrom('api_keys')
          .select('grants')
          .where('organization_id', '=', orgId)
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).grants,
    );

  it('refuses (409) without a replacement, and moves the keys to it with one', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    await createRole(ctx, owner, org.id, { key: 'payer', permissions: ['billing:pay'] });
    const key = await createKey(owner, org.id, [{ role: 'payer', scope: org.id }]);
    expect(key.status).toBe(201);
    expectProblem(
      await ctx.request('DELETE', `${rolesUrl(org.id)}/payer`, { token: owner.accessToken }),
      409,
      'conflict',
    );
    const res = await ctx.request('DELETE', `${rolesUrl(org.id)}/payer?replace_with=accountant`, {
      token: owner.accessToken,
    });
    expect(res.status).toBe(204);
    expect(await keyGrants(org.id, key.body.id)).toEqual([{ role: 'accountant', scope: org.id }]);
    // a new role of the old key gives the key nothing
    await createRole(ctx, owner, org.id, { key: 'payer', permissions: ['members:*'] });
    expect(await keyGrants(org.id, key.body.id)).toEqual([{ role: 'accountant', scope: org.id }]);
  });
});

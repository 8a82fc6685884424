/**
 * The `team` template's story (source 004): the owner; admins who "manage users, data and
 * organization settings" but not the owner-only acts (delete the organization, transfer
 * ownership, make owners or admins); users who "access assigned projects" and manage nobody.
 * @see issue 3, item 8
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, expectProblem, type SignedIn, type TestContext } from '../harness';
import {
  addExisting,
  addMember,
  allowed,
  answerOffer,
  createAccount,
  createOrg,
  offerOwnership,
  visibleAccountIds,
} from '../seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string; name: string };
let projectA: { id: string };
let projectB: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'team', 'Team Story');
  projectA = await createAccount(ctx, owner, org.id, 'video', 'Project A');
  projectB = await createAccount(ctx, owner, org.id, 'meeting', 'Project B');
});
afterAll(async () => {
  await ctx?.close();
});

const anAdmin = () => addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
const aUserOn = (scope: string) => addMember(ctx, owner, org.id, [{ role: 'user', scope }]);

describe('team: admin', () => {
  it('cannot delete the organization, which stays', async () => {
    const admin = await anAdmin();
    expectProblem(
      await ctx.request('DELETE', `/v1/organizations/${org.id}`, {
        token: admin.accessToken,
        body: { confirm_name: org.name },
      }),
      403,
      'forbidden',
    );
    const still = await ctx.request('GET', `/v1/organizations/${org.id}`, {
      token: owner.accessToken,
    });
    expect(still.status).toBe(200);
  });

  it('cannot add a member as admin: only the owner makes admins', async () => {
    const admin = await anAdmin();
    const newcomer = await ctx.signUp();
    expectProblem(
      await addExisting(ctx, admin, org.id, newcomer.email, [{ role: 'admin', scope: org.id }]),
      403,
      'forbidden',
    );
  });

  it('cannot promote an existing user to admin', async () => {
    const admin = await anAdmin();
    const user = await aUserOn(projectA.id);
    expectProblem(
      await ctx.request('POST', `/v1/organizations/${org.id}/members/${user.userId}/grants`, {
        token: admin.accessToken,
        body: { grants: [{ role: 'admin', scope: org.id }] },
      }),
      403,
      'forbidden',
    );
    expect(await allowed(ctx, user, 'organization:update', org.id)).toBe(false);
  });

  // BUG (reported, members module): "only the owner makes admins" is enforced on the role's
  // *key* (invitePolicy.ownerOnlyRoles), so an admin makes an admin in all but name with a
  // custom role copying admin's permissions, or with the same permissions inline. `it.fails`
  // keeps the suite green while documenting it; drop `.fails` once fixed.
  it('cannot make an admin in all but name through a copy of the admin role', async () => {
    const admin = await anAdmin();
    const adminRole = await ctx.request('GET', `/v1/organizations/${org.id}/roles/admin`, {
      token: owner.accessToken,
    });
    const copy = await ctx.request('POST', `/v1/organizations/${org.id}/roles`, {
      token: admin.accessToken,
      body: {
        key: `admin-copy-${Math.random().toString(36).slice(2, 8)}`,
        name: 'Admin copy',
        permissions: adminRole.body.permissions,
        grantable_at: ['organization'],
      },
    });
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, admin, org.id, newcomer.email, [
      { role: copy.body.key, scope: org.id },
    ]);
    expect(res.status).toBe(403);
  });

  it('cannot make an admin in all but name with the same permissions inline', async () => {
    const admin = await anAdmin();
    const adminRole = await ctx.request('GET', `/v1/organizations/${org.id}/roles/admin`, {
      token: owner.accessToken,
    });
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, admin, org.id, newcomer.email, [
      { permissions: adminRole.body.permissions, scope: org.id },
    ]);
    expect(res.status).toBe(403);
  });

  it('cannot transfer ownership of the organization', async () => {
    const admin = await anAdmin();
    const user = await aUserOn(projectA.id);
    expectProblem(await offerOwnership(ctx, admin, org.id, admin.userId), 403, 'forbidden');
    expectProblem(await offerOwnership(ctx, admin, org.id, user.userId), 403, 'forbidden');
    const got = await ctx.request('GET', `/v1/organizations/${org.id}`, {
      token: admin.accessToken,
    });
    expect(got.body.owner_id).toBe(owner.userId);
  });

  it('cannot make an owner: the owner role is never granted, not even by the owner', async () => {
    const admin = await anAdmin();
    const user = await aUserOn(projectA.id);
    for (const who of [admin, owner]) {
      expectProblem(
        await ctx.request('PUT', `/v1/organizations/${org.id}/members/${user.userId}/grants`, {
          token: who.accessToken,
          body: { grants: [{ role: 'owner', scope: org.id }] },
        }),
        403,
        'forbidden',
      );
    }
  });

  it('adds users and assigns them projects', async () => {
    const admin = await anAdmin();
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, admin, org.id, newcomer.email, [
      { role: 'user', scope: projectA.id },
    ]);
    expect(res.status).toBe(201);
    expect(await allowed(ctx, newcomer, 'resources:create', projectA.id)).toBe(true);
  });

  it('manages organization settings', async () => {
    const admin = await anAdmin();
    const res = await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
      token: admin.accessToken,
      body: { settings: { theme: 'dark' } },
    });
    expect(res.status).toBe(200);
    expect(res.body.settings).toEqual({ theme: 'dark' });
  });

  it('suspends a user, who is then refused', async () => {
    const admin = await anAdmin();
    const user = await aUserOn(projectA.id);
    const res = await ctx.request(
      'POST',
      `/v1/organizations/${org.id}/members/${user.userId}/suspend`,
      { token: admin.accessToken },
    );
    expect(res.status).toBe(204);
    expect(await allowed(ctx, user, 'resources:create', projectA.id)).toBe(false);
  });
});

describe('team: user', () => {
  it('works on the projects assigned to it, not on the others', async () => {
    const user = await aUserOn(projectA.id);
    expect(await allowed(ctx, user, 'resources:create', projectA.id)).toBe(true);
    expect(await allowed(ctx, user, 'video.assets:create', projectA.id)).toBe(true);
    expect(await allowed(ctx, user, 'resources:create', projectB.id)).toBe(false);
    expect(await allowed(ctx, user, 'meeting.rooms:create', projectB.id)).toBe(false);
    expect(await visibleAccountIds(ctx, user, org.id)).toEqual([projectA.id]);
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${org.id}/accounts/${projectB.id}`, {
        token: user.accessToken,
      }),
      403,
      'forbidden',
    );
  });

  it('creates resources in its project through the API', async () => {
    const user = await aUserOn(projectA.id);
    const res = await ctx.request(
      'POST',
      `/v1/organizations/${org.id}/accounts/${projectA.id}/resources`,
      { token: user.accessToken, body: { name: 'Bot', type: 'folder' } },
    );
    expect(res.status).toBe(201);
  });

  it('manages nobody: cannot add members or change grants', async () => {
    const user = await aUserOn(projectA.id);
    const other = await aUserOn(projectA.id);
    const newcomer = await ctx.signUp();
    expectProblem(
      await addExisting(ctx, user, org.id, newcomer.email, [{ role: 'user', scope: projectA.id }]),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('PUT', `/v1/organizations/${org.id}/members/${other.userId}/grants`, {
        token: user.accessToken,
        body: { grants: [] },
      }),
      403,
      'forbidden',
    );
  });

  it('cannot modify organizational settings', async () => {
    const user = await aUserOn(projectA.id);
    expectProblem(
      await ctx.request('PATCH', `/v1/organizations/${org.id}`, {
        token: user.accessToken,
        body: { name: 'Taken over' },
      }),
      403,
      'forbidden',
    );
  });
});

describe('team: owner', () => {
  it('makes admins, who then manage the organization', async () => {
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, owner, org.id, newcomer.email, [
      { role: 'admin', scope: org.id },
    ]);
    expect(res.status).toBe(201);
    expect(await allowed(ctx, newcomer, 'organization:update', org.id)).toBe(true);
    expect(await allowed(ctx, newcomer, 'organization:delete', org.id)).toBe(false);
  });

  it('promotes a user to admin', async () => {
    const user = await aUserOn(projectA.id);
    const res = await ctx.request(
      'POST',
      `/v1/organizations/${org.id}/members/${user.userId}/grants`,
      { token: owner.accessToken, body: { grants: [{ role: 'admin', scope: org.id }] } },
    );
    expect(res.status).toBe(200);
    expect(await allowed(ctx, user, 'members:invite', org.id)).toBe(true);
  });

  it('offers ownership to an admin, who accepts and becomes the owner', async () => {
    // A separate organization: this one changes hands.
    const first = await ctx.signUp();
    const team = await createOrg(ctx, first, 'team');
    const admin = await addMember(ctx, first, team.id, [{ role: 'admin', scope: team.id }]);
    const offer = await offerOwnership(ctx, first, team.id, admin.userId);
    expect(offer.status).toBe(201);
    expect((await answerOffer(ctx, admin, team.id, offer.body.id)).status).toBe(200);
    expect(await allowed(ctx, admin, 'organization:delete', team.id)).toBe(true);
    // The former owner is now an admin: everything but the owner-only acts.
    expect(await allowed(ctx, first, 'organization:update', team.id)).toBe(true);
    expect(await allowed(ctx, first, 'organization:delete', team.id)).toBe(false);
  });
});

/**
 * The `accounts` template's story (source 003): members are Admin or Viewer of the accounts they
 * are given; "users can only add users to accounts where they are Admin"; "by default, new users
 * are assigned the Admin role".
 * @see issue 3, item 8
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, expectProblem, type SignedIn, type TestContext } from '../harness';
import {
  addExisting,
  addMember,
  allowed,
  createAccount,
  createOrg,
  createResource,
  sorted,
  visibleAccountIds,
} from '../seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };
let accountA: { id: string };
let accountB: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'accounts', 'Accounts Story');
  accountA = await createAccount(ctx, owner, org.id, 'video', 'Account A');
  accountB = await createAccount(ctx, owner, org.id, 'meeting', 'Account B');
});
afterAll(async () => {
  await ctx?.close();
});

const adminOfA = () => addMember(ctx, owner, org.id, [{ role: 'admin', scope: accountA.id }]);
const viewerOfA = () => addMember(ctx, owner, org.id, [{ role: 'viewer', scope: accountA.id }]);

describe('accounts: admin of an account', () => {
  it('adds a user to the account where they are admin', async () => {
    const admin = await adminOfA();
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, admin, org.id, newcomer.email, [
      { role: 'viewer', scope: accountA.id },
    ]);
    expect(res.status).toBe(201);
    expect(await allowed(ctx, newcomer, 'accounts:read', accountA.id)).toBe(true);
  });

  it('may make another admin of that same account', async () => {
    const admin = await adminOfA();
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, admin, org.id, newcomer.email, [
      { role: 'admin', scope: accountA.id },
    ]);
    expect(res.status).toBe(201);
    expect(await allowed(ctx, newcomer, 'members:invite', accountA.id)).toBe(true);
  });

  it('cannot add anyone to account B (403), and the refused user joins nothing', async () => {
    const admin = await adminOfA();
    const newcomer = await ctx.signUp();
    expectProblem(
      await addExisting(ctx, admin, org.id, newcomer.email, [
        { role: 'viewer', scope: accountB.id },
      ]),
      403,
      'forbidden',
    );
    const mine = await ctx.request('GET', '/v1/organizations', { token: newcomer.accessToken });
    expect(mine.body.data).toEqual([]);
  });

  it('cannot add a user to A and B in one request: all or nothing', async () => {
    const admin = await adminOfA();
    const newcomer = await ctx.signUp();
    expectProblem(
      await addExisting(ctx, admin, org.id, newcomer.email, [
        { role: 'viewer', scope: accountA.id },
        { role: 'viewer', scope: accountB.id },
      ]),
      403,
      'forbidden',
    );
    expect(await allowed(ctx, newcomer, 'accounts:read', accountA.id)).toBe(false);
  });

  it('cannot add a user organization-wide without any account', async () => {
    const admin = await adminOfA();
    const newcomer = await ctx.signUp();
    expectProblem(await addExisting(ctx, admin, org.id, newcomer.email, []), 403, 'forbidden');
  });

  it("changes the role of a member on its account, but not on another's", async () => {
    const admin = await adminOfA();
    const viewer = await viewerOfA();
    const grantsUrl = `/v1/organizations/${org.id}/members/${viewer.userId}/grants`;
    const promoted = await ctx.request('PUT', grantsUrl, {
      token: admin.accessToken,
      body: { grants: [{ role: 'admin', scope: accountA.id }] },
    });
    expect(promoted.status).toBe(200);
    expect(await allowed(ctx, viewer, 'accounts:update', accountA.id)).toBe(true);
    expectProblem(
      await ctx.request('POST', grantsUrl, {
        token: admin.accessToken,
        body: { grants: [{ role: 'viewer', scope: accountB.id }] },
      }),
      403,
      'forbidden',
    );
  });

  it('configures its account and manages its resources, but nothing on B', async () => {
    const admin = await adminOfA();
    const renamed = await ctx.request(
      'PATCH',
      `/v1/organizations/${org.id}/accounts/${accountA.id}`,
      { token: admin.accessToken, body: { name: 'Account A' } },
    );
    expect(renamed.status).toBe(200);
    const room = await createResource(ctx, admin, org.id, accountA.id, 'room');
    expect(room.account_id).toBe(accountA.id);
    expectProblem(
      await ctx.request('POST', `/v1/organizations/${org.id}/accounts/${accountB.id}/resources`, {
        token: admin.accessToken,
        body: { name: 'Room', type: 'room' },
      }),
      403,
      'forbidden',
    );
    expect(await visibleAccountIds(ctx, admin, org.id)).toEqual([accountA.id]);
  });

  it('holds every product permission on its account, none on B', async () => {
    const admin = await adminOfA();
    expect(await allowed(ctx, admin, 'video.assets:create', accountA.id)).toBe(true);
    expect(await allowed(ctx, admin, 'meeting.rooms:create', accountB.id)).toBe(false);
  });
});

describe('accounts: viewer', () => {
  it('reads the account, its resources and its product data', async () => {
    const room = await createResource(ctx, owner, org.id, accountA.id, 'collection');
    const viewer = await viewerOfA();
    const get = await ctx.request('GET', `/v1/organizations/${org.id}/accounts/${accountA.id}`, {
      token: viewer.accessToken,
    });
    expect(get.status).toBe(200);
    const list = await ctx.request(
      'GET',
      `/v1/organizations/${org.id}/accounts/${accountA.id}/resources`,
      { token: viewer.accessToken },
    );
    expect(list.body.data.map((r: { id: string }) => r.id)).toContain(room.id);
    expect(await allowed(ctx, viewer, 'video.assets:read', accountA.id)).toBe(true);
    expect(await allowed(ctx, viewer, 'members:read', accountA.id)).toBe(true);
  });

  it('cannot change anything: account, resources, members', async () => {
    const viewer = await viewerOfA();
    const base = `/v1/organizations/${org.id}/accounts/${accountA.id}`;
    expectProblem(
      await ctx.request('PATCH', base, { token: viewer.accessToken, body: { name: 'Mine' } }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('POST', `${base}/resources`, {
        token: viewer.accessToken,
        body: { name: 'Room', type: 'room' },
      }),
      403,
      'forbidden',
    );
    const newcomer = await ctx.signUp();
    expectProblem(
      await addExisting(ctx, viewer, org.id, newcomer.email, [
        { role: 'viewer', scope: accountA.id },
      ]),
      403,
      'forbidden',
    );
    expect(await allowed(ctx, viewer, 'video.assets:create', accountA.id)).toBe(false);
  });

  it('sees only the accounts it was given', async () => {
    const viewer = await addMember(ctx, owner, org.id, [
      { role: 'viewer', scope: accountA.id },
      { role: 'viewer', scope: accountB.id },
    ]);
    const other = await createAccount(ctx, owner, org.id, 'image', 'Not given');
    expect(await visibleAccountIds(ctx, viewer, org.id)).toEqual(
      sorted([accountA.id, accountB.id]),
    );
    expect(await allowed(ctx, viewer, 'accounts:read', other.id)).toBe(false);
  });
});

describe('accounts: roles', () => {
  it('new users are admins by default, per the template', async () => {
    const res = await ctx.request('GET', '/v1/templates');
    const template = res.body.data.find((t: { key: string }) => t.key === 'accounts');
    expect(template.invite_policy.default_role).toBe('admin');
    expect(template.roles.map((r: { key: string }) => r.key).sort()).toEqual([
      'admin',
      'owner',
      'viewer',
    ]);
  });

  it('admin and viewer are granted per account, never organization-wide', async () => {
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, owner, org.id, newcomer.email, [
      { role: 'admin', scope: org.id },
    ]);
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors[0].code).toBe('not_grantable_here');
  });
});

/**
 * Seed 003: "View users by account", "Edit roles, suspend users", "Select a user and click
 * Delete" — for an account admin, within the accounts they administer. Lists and details are
 * filtered to the scopes the caller's members:read reaches; suspending is organization-wide, so
 * it needs every grant of the member within the caller's reach; removing by an account admin
 * takes away the member's grants on the admin's accounts and ends the membership only when
 * nothing else remains.
 * @see issue 10 #4
 */
describe('accounts: an admin sees and manages the users of its account', () => {
  let c: { id: string };
  let d: { id: string };
  let adminC: SignedIn;
  let viewerC: SignedIn;
  let onResource: SignedIn;
  let both: SignedIn;
  let onlyD: SignedIn;

  beforeAll(async () => {
    c = await createAccount(ctx, owner, org.id, 'video', 'Account C');
    d = await createAccount(ctx, owner, org.id, 'image', 'Account D');
    const room = await createResource(ctx, owner, org.id, c.id, 'room');
    adminC = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: c.id }]);
    viewerC = await addMember(ctx, owner, org.id, [{ role: 'viewer', scope: c.id }]);
    onResource = await addMember(ctx, owner, org.id, [{ role: 'viewer', scope: room.id }]);
    both = await addMember(ctx, owner, org.id, [
      { role: 'viewer', scope: c.id },
      { role: 'viewer', scope: d.id },
    ]);
    onlyD = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: d.id }]);
  });

  const list = (who: SignedIn, query = '') =>
    ctx.request('GET', `/v1/organizations/${org.id}/members?limit=100${query}`, {
      token: who.accessToken,
    });
  const ids = (res: { body: { data: { user_id: string }[] } }) =>
    sorted(res.body.data.map((m) => m.user_id));
  // the account's owner (its creator, the organization owner) is listed with its account
  const ofC = () =>
    sorted([owner.userId, adminC.userId, viewerC.userId, onResource.userId, both.userId]);

  it('lists exactly the members holding a grant on its account (or below it) with ?account=', async () => {
    const res = await list(adminC, `&account=${c.id}`);
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual(ofC());
  });

  it('without ?account=, the list is filtered to its accounts, not refused', async () => {
    const res = await list(adminC);
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual(ofC());
  });

  it('asking for an account it does not administer lists nobody', async () => {
    const res = await list(adminC, `&account=${d.id}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
  });

  it('shows only the grants at scopes it can read, in the list and in the detail', async () => {
    const row = (await list(adminC)).body.data.find(
      (m: { user_id: string }) => m.user_id === both.userId,
    );
    expect(row.grants.map((g: { scope: string }) => g.scope)).toEqual([c.id]);
    const detail = await ctx.request('GET', `/v1/organizations/${org.id}/members/${both.userId}`, {
      token: adminC.accessToken,
    });
    expect(detail.status).toBe(200);
    expect(detail.body.grants.map((g: { scope: string }) => g.scope)).toEqual([c.id]);
    const grants = await ctx.request(
      'GET',
      `/v1/organizations/${org.id}/members/${both.userId}/grants`,
      { token: adminC.accessToken },
    );
    expect(grants.body.data.map((g: { scope: string }) => g.scope)).toEqual([c.id]);
    // the organization owner still sees everything
    const full = await ctx.request('GET', `/v1/organizations/${org.id}/members/${both.userId}`, {
      token: owner.accessToken,
    });
    expect(sorted(full.body.grants.map((g: { scope: string }) => g.scope))).toEqual(
      sorted([c.id, d.id]),
    );
  });

  it('the detail of a member outside its accounts is 404', async () => {
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${org.id}/members/${onlyD.userId}`, {
        token: adminC.accessToken,
      }),
      404,
      'not_found',
    );
  });

  it('suspends and reactivates a member who is only in its account', async () => {
    const url = `/v1/organizations/${org.id}/members/${viewerC.userId}`;
    const suspended = await ctx.request('POST', `${url}/suspend`, { token: adminC.accessToken });
    expect(suspended.status).toBe(204);
    const detail = await ctx.request('GET', url, { token: adminC.accessToken });
    expect(detail.body.status).toBe('suspended');
    const back = await ctx.request('POST', `${url}/reactivate`, { token: adminC.accessToken });
    expect(back.status).toBe(204);
  });

  it('cannot suspend a member who also has access elsewhere (403), nor one outside (404)', async () => {
    expectProblem(
      await ctx.request('POST', `/v1/organizations/${org.id}/members/${both.userId}/suspend`, {
        token: adminC.accessToken,
      }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('POST', `/v1/organizations/${org.id}/members/${onlyD.userId}/suspend`, {
        token: adminC.accessToken,
      }),
      404,
      'not_found',
    );
    expect(await allowed(ctx, onlyD, 'accounts:read', d.id)).toBe(true);
  });

  it('removing a member who is also elsewhere takes away only its grants on the account', async () => {
    const member = await addMember(ctx, owner, org.id, [
      { role: 'viewer', scope: c.id },
      { role: 'viewer', scope: d.id },
    ]);
    const res = await ctx.request(
      'DELETE',
      `/v1/organizations/${org.id}/members/${member.userId}`,
      {
        token: adminC.accessToken,
      },
    );
    expect(res.status).toBe(204);
    expect(await allowed(ctx, member, 'accounts:read', c.id)).toBe(false);
    expect(await allowed(ctx, member, 'accounts:read', d.id)).toBe(true);
  });

  it('removing a member who is only in its account ends the membership', async () => {
    const member = await addMember(ctx, owner, org.id, [{ role: 'viewer', scope: c.id }]);
    const res = await ctx.request(
      'DELETE',
      `/v1/organizations/${org.id}/members/${member.userId}`,
      {
        token: adminC.accessToken,
      },
    );
    expect(res.status).toBe(204);
    const mine = await ctx.request('GET', '/v1/organizations', { token: member.accessToken });
    expect(mine.body.data).toEqual([]);
  });

  it('a member holding members:read nowhere gets 403, a non-member 404', async () => {
    const reader = await addMember(ctx, owner, org.id, [
      { permissions: ['accounts:read'], scope: c.id },
    ]);
    expectProblem(await list(reader), 403, 'forbidden');
    expectProblem(await list(reader, `&account=${c.id}`), 403, 'forbidden');
    const stranger = await ctx.signUp();
    expectProblem(await list(stranger), 404, 'not_found');
  });
});

describe("accounts: an admin reads its members' permissions on its account", () => {
  // @see issue 10 #4: `…/members/{user}/permissions` needed members:read at the organization.
  it('reads them at its account, not at another account (403), not for outsiders (404)', async () => {
    const c = await createAccount(ctx, owner, org.id, 'video', 'Account P');
    const d = await createAccount(ctx, owner, org.id, 'video', 'Account Q');
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: c.id }]);
    const viewer = await addMember(ctx, owner, org.id, [
      { role: 'viewer', scope: c.id },
      { role: 'viewer', scope: d.id },
    ]);
    const outsider = await addMember(ctx, owner, org.id, [{ role: 'viewer', scope: d.id }]);
    const url = (who: SignedIn, scope: string) =>
      `/v1/organizations/${org.id}/members/${who.userId}/permissions?scope=${scope}`;
    const atC = await ctx.request('GET', url(viewer, c.id), { token: admin.accessToken });
    expect(atC.status).toBe(200);
    expect(atC.body.permissions).toContain('members:read');
    expectProblem(
      await ctx.request('GET', url(viewer, d.id), { token: admin.accessToken }),
      403,
      'forbidden',
    );
    expectProblem(
      await ctx.request('GET', url(outsider, d.id), { token: admin.accessToken }),
      404,
      'not_found',
    );
    // one's own, anywhere, as before
    const own = await ctx.request('GET', url(admin, c.id), { token: admin.accessToken });
    expect(own.body.permissions).toContain('members:remove');
  });
});

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

/**
 * The `permissions` template's story (source 002): an invitation checks projects (accounts) by
 * checkbox and sets two switches, billing access ("subscription plans, payment methods, invoices
 * and billing details"; without it "the member will not be able to ... view billing-related
 * data") and API access. Admins "modify permissions, revoke access, or remove members".
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
  sorted,
  visibleAccountIds,
} from '../seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };
let p1: { id: string };
let p2: { id: string };
let p3: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'permissions', 'Permissions Story');
  p1 = await createAccount(ctx, owner, org.id, 'video', 'Project 1');
  p2 = await createAccount(ctx, owner, org.id, 'video', 'Project 2');
  p3 = await createAccount(ctx, owner, org.id, 'image', 'Project 3');
});
afterAll(async () => {
  await ctx?.close();
});

/** The invitation form: project checkboxes plus the two switches. */
function form(projects: string[], switches: { billing?: boolean; api?: boolean } = {}) {
  return [
    { role: 'member', scope: org.id },
    ...projects.map((scope) => ({ role: 'project', scope })),
    ...(switches.billing ? [{ role: 'billing', scope: org.id }] : []),
    ...(switches.api ? [{ role: 'api-access', scope: org.id }] : []),
  ];
}

const BILLING = ['billing:read', 'billing:pay', 'billing:manage'];
const API = ['api_keys:read', 'api_keys:manage'];

describe('permissions: project checkboxes', () => {
  it('give work on the checked projects only', async () => {
    const member = await addMember(ctx, owner, org.id, form([p1.id, p2.id]));
    for (const p of [p1, p2]) {
      expect(await allowed(ctx, member, 'resources:create', p.id)).toBe(true);
      expect(await allowed(ctx, member, 'video.assets:create', p.id)).toBe(true);
    }
    expect(await allowed(ctx, member, 'resources:create', p3.id)).toBe(false);
    expect(await allowed(ctx, member, 'image.sources:read', p3.id)).toBe(false);
  });

  it('decide which projects the member sees', async () => {
    const member = await addMember(ctx, owner, org.id, form([p1.id, p3.id]));
    expect(await visibleAccountIds(ctx, member, org.id)).toEqual(sorted([p1.id, p3.id]));
  });

  it('unchecking a project takes it away on the next request', async () => {
    const member = await addMember(ctx, owner, org.id, form([p1.id, p2.id]));
    const res = await ctx.request(
      'PUT',
      `/v1/organizations/${org.id}/members/${member.userId}/grants`,
      { token: owner.accessToken, body: { grants: form([p2.id]) } },
    );
    expect(res.status).toBe(200);
    expect(await allowed(ctx, member, 'resources:create', p1.id)).toBe(false);
    expect(await allowed(ctx, member, 'resources:create', p2.id)).toBe(true);
  });

  it('a project is a checkbox per project, not organization-wide', async () => {
    const user = await ctx.signUp();
    const res = await addExisting(ctx, owner, org.id, user.email, [
      { role: 'project', scope: org.id },
    ]);
    expectProblem(res, 400, 'validation_failed');
  });
});

describe('permissions: billing access switch', () => {
  it('off: the member can view no billing data at all', async () => {
    const member = await addMember(ctx, owner, org.id, form([p1.id]));
    for (const p of BILLING) expect(await allowed(ctx, member, p, org.id)).toBe(false);
  });

  it('on: plans, payment methods, invoices and billing details', async () => {
    const member = await addMember(ctx, owner, org.id, form([], { billing: true }));
    for (const p of BILLING) expect(await allowed(ctx, member, p, org.id)).toBe(true);
    for (const p of API) expect(await allowed(ctx, member, p, org.id)).toBe(false);
  });

  it('turned off later, refuses billing on the next request', async () => {
    const member = await addMember(ctx, owner, org.id, form([p1.id], { billing: true }));
    await ctx.request('PUT', `/v1/organizations/${org.id}/members/${member.userId}/grants`, {
      token: owner.accessToken,
      body: { grants: form([p1.id]) },
    });
    expect(await allowed(ctx, member, 'billing:read', org.id)).toBe(false);
    expect(await allowed(ctx, member, 'resources:create', p1.id)).toBe(true);
  });
});

describe('permissions: API access switch', () => {
  it('off: no API keys', async () => {
    const member = await addMember(ctx, owner, org.id, form([p1.id], { billing: true }));
    for (const p of API) expect(await allowed(ctx, member, p, org.id)).toBe(false);
  });

  it('on: reads and manages API keys, and nothing of billing', async () => {
    const member = await addMember(ctx, owner, org.id, form([], { api: true }));
    for (const p of API) expect(await allowed(ctx, member, p, org.id)).toBe(true);
    expect(await allowed(ctx, member, 'billing:read', org.id)).toBe(false);
  });
});

describe('permissions: admins', () => {
  const anAdmin = () => addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);

  it('invite members with project checkboxes', async () => {
    const admin = await anAdmin();
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, admin, org.id, newcomer.email, form([p1.id, p3.id]));
    expect(res.status).toBe(201);
    expect(await allowed(ctx, newcomer, 'image.sources:create', p3.id)).toBe(true);
  });

  it('see no billing data without the billing switch themselves', async () => {
    const admin = await anAdmin();
    expect(await allowed(ctx, admin, 'billing:read', org.id)).toBe(false);
    expect(await allowed(ctx, admin, 'api_keys:read', org.id)).toBe(false);
  });

  it('cannot turn on a switch they do not have themselves', async () => {
    const admin = await anAdmin();
    const newcomer = await ctx.signUp();
    expectProblem(
      await addExisting(ctx, admin, org.id, newcomer.email, form([p1.id], { billing: true })),
      403,
      'forbidden',
    );
    expectProblem(
      await addExisting(ctx, admin, org.id, newcomer.email, form([p1.id], { api: true })),
      403,
      'forbidden',
    );
  });

  it('with the billing switch, can give it to others', async () => {
    const admin = await addMember(ctx, owner, org.id, [
      { role: 'admin', scope: org.id },
      { role: 'billing', scope: org.id },
    ]);
    const newcomer = await ctx.signUp();
    const res = await addExisting(ctx, admin, org.id, newcomer.email, form([], { billing: true }));
    expect(res.status).toBe(201);
    expect(await allowed(ctx, newcomer, 'billing:pay', org.id)).toBe(true);
  });

  it('revoke access: removing a member refuses them at once', async () => {
    const admin = await anAdmin();
    const member = await addMember(ctx, owner, org.id, form([p1.id]));
    const res = await ctx.request(
      'DELETE',
      `/v1/organizations/${org.id}/members/${member.userId}`,
      { token: admin.accessToken },
    );
    expect(res.status).toBe(204);
    expect(await allowed(ctx, member, 'resources:create', p1.id)).toBe(false);
  });

  it('a plain member cannot invite anyone', async () => {
    const member = await addMember(ctx, owner, org.id, form([p1.id], { billing: true, api: true }));
    const newcomer = await ctx.signUp();
    expectProblem(
      await addExisting(ctx, member, org.id, newcomer.email, form([p1.id])),
      403,
      'forbidden',
    );
  });
});

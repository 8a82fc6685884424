/**
 * Inviting in the `accounts` template (source 003): "Enter one or more email addresses, select
 * the accounts the user should access, assign a role (Admin or Viewer), send the invitation";
 * "users can only add users to accounts where they are Admin"; "by default, new users are
 * assigned the Admin role"; "new users will receive an invitation email and must accept it".
 * @see issue 4, items 2 and 9
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../harness';
import {
  addMember,
  allowed,
  createAccount,
  createOrg,
  invitationToken,
  invite,
  inviteOne,
} from '../seed';

let ctx: TestContext;
let owner: SignedIn;
let adminA: SignedIn;
let viewerA: SignedIn;
let org: { id: string };
let accountA: { id: string };
let accountB: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'accounts', 'Accounts Invites');
  accountA = await createAccount(ctx, owner, org.id, 'video', 'Account A');
  accountB = await createAccount(ctx, owner, org.id, 'video', 'Account B');
  adminA = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: accountA.id }]);
  viewerA = await addMember(ctx, owner, org.id, [{ role: 'viewer', scope: accountA.id }]);
});
afterAll(async () => {
  await ctx?.close();
});

const invitationCount = async () =>
  (
    await ctx.database.db
      .selectFrom('invitations')
      .select('id')
      .where('organization_id', '=', org.id)
      .execute()
  ).length;

/** Signs up through an invitation link; answers the new user's session. */
async function signUpThrough(token: string): Promise<SignedIn> {
  const res = await ctx.request('POST', `/v1/invitations/${token}/accept`, {
    body: { first_name: 'New', last_name: 'User', password: STRONG_PASSWORD },
  });
  if (res.status !== 200) throw new Error(`accept failed: ${res.status} ${res.text}`);
  return { accessToken: res.body.session.access_token, userId: res.body.user_id } as SignedIn;
}

describe('accounts: an admin of account A', () => {
  it('invites several addresses to A, and each becomes what was chosen there', async () => {
    const emails = [uniqueEmail('acc-one'), uniqueEmail('acc-two')];
    const res = await invite(ctx, adminA, org.id, {
      emails,
      grants: [{ role: 'viewer', scope: accountA.id }],
    });
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
      'invited',
      'invited',
    ]);
    for (const email of emails) {
      const user = await signUpThrough(await invitationToken(ctx, email));
      expect(await allowed(ctx, user, 'accounts:read', accountA.id)).toBe(true);
      expect(await allowed(ctx, user, 'accounts:update', accountA.id)).toBe(false);
      expect(await allowed(ctx, user, 'accounts:read', accountB.id)).toBe(false);
    }
  });

  it('gives the admin role by default when only the account is chosen', async () => {
    const email = uniqueEmail('acc-default');
    const { id, token } = await inviteOne(ctx, adminA, org.id, email, [{ scope: accountA.id }]);
    const got = await ctx.request('GET', `/v1/organizations/${org.id}/invitations/${id}`, {
      token: adminA.accessToken,
    });
    expect(got.body.grants).toEqual([{ role: 'admin', scope: accountA.id }]);
    const user = await signUpThrough(token);
    expect(await allowed(ctx, user, 'members:invite', accountA.id)).toBe(true);
    expect(await allowed(ctx, user, 'members:invite', accountB.id)).toBe(false);
  });

  it('says so in words on the link', async () => {
    const { token } = await inviteOne(ctx, adminA, org.id, uniqueEmail('acc-words'), [
      { scope: accountA.id },
    ]);
    const preview = await ctx.request('GET', `/v1/invitations/${token}`);
    expect(preview.body.grants).toEqual(['Admin on Account A']);
  });

  it('cannot invite to account B: 403, nothing written', async () => {
    const before = await invitationCount();
    const res = await invite(ctx, adminA, org.id, {
      emails: [uniqueEmail()],
      grants: [{ role: 'viewer', scope: accountB.id }],
    });
    expectProblem(res, 403, 'forbidden');
    expect(await invitationCount()).toBe(before);
  });

  it('cannot invite to A and B in one request: all or nothing', async () => {
    const before = await invitationCount();
    const res = await invite(ctx, adminA, org.id, {
      emails: [uniqueEmail(), uniqueEmail()],
      grants: [
        { role: 'admin', scope: accountA.id },
        { role: 'viewer', scope: accountB.id },
      ],
    });
    expectProblem(res, 403, 'forbidden');
    expect(await invitationCount()).toBe(before);
  });

  it('cannot invite organization-wide (no account chosen)', async () => {
    expectProblem(await invite(ctx, adminA, org.id, { emails: [uniqueEmail()] }), 403, 'forbidden');
  });

  it('cannot give more than an admin holds on A (inline organization-wide permissions)', async () => {
    const res = await invite(ctx, adminA, org.id, {
      emails: [uniqueEmail()],
      grants: [{ permissions: ['accounts:delete'], scope: accountA.id }],
    });
    expectProblem(res, 403, 'forbidden');
  });

  it('sees, revokes and resends the invitations they sent to A', async () => {
    const email = uniqueEmail('acc-manage');
    const { id } = await inviteOne(ctx, adminA, org.id, email, [{ scope: accountA.id }]);
    const listed = await ctx.request('GET', `/v1/organizations/${org.id}/invitations`, {
      token: adminA.accessToken,
    });
    expect(listed.body.data.map((i: { id: string }) => i.id)).toContain(id);
    const resent = await ctx.request(
      'POST',
      `/v1/organizations/${org.id}/invitations/${id}/resend`,
      { token: adminA.accessToken },
    );
    expect(resent.status).toBe(200);
    const revoked = await ctx.request('DELETE', `/v1/organizations/${org.id}/invitations/${id}`, {
      token: adminA.accessToken,
    });
    expect(revoked.body.status).toBe('revoked');
  });

  it("does not see the owner's invitation to B, and cannot revoke it", async () => {
    const { id } = await inviteOne(ctx, owner, org.id, uniqueEmail('acc-owner-b'), [
      { role: 'viewer', scope: accountB.id },
    ]);
    const listed = await ctx.request('GET', `/v1/organizations/${org.id}/invitations`, {
      token: adminA.accessToken,
    });
    expect(listed.body.data.map((i: { id: string }) => i.id)).not.toContain(id);
    expectProblem(
      await ctx.request('DELETE', `/v1/organizations/${org.id}/invitations/${id}`, {
        token: adminA.accessToken,
      }),
      404,
      'not_found',
    );
  });
});

describe('accounts: a viewer', () => {
  it('cannot invite anyone, even as a viewer of their own account', async () => {
    const res = await invite(ctx, viewerA, org.id, {
      emails: [uniqueEmail()],
      grants: [{ role: 'viewer', scope: accountA.id }],
    });
    expectProblem(res, 403, 'forbidden');
  });
});

describe('accounts: the owner', () => {
  it('invites to any account, B included', async () => {
    const { token } = await inviteOne(ctx, owner, org.id, uniqueEmail('acc-owner'), [
      { scope: accountB.id },
    ]);
    const user = await signUpThrough(token);
    expect(await allowed(ctx, user, 'members:invite', accountB.id)).toBe(true);
  });

  it('cannot make an organization-wide admin: admin is granted per account', async () => {
    expectProblem(
      await invite(ctx, owner, org.id, { emails: [uniqueEmail()], grants: [{ scope: org.id }] }),
      400,
      'validation_failed',
    );
  });
});

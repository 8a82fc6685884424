/**
 * An invitation does not outlive its sender's rights, nor the scopes and roles it names:
 * accepting re-judges it, inside the accepting transaction, by the rule sending used, on the
 * sender's membership and grants of now; deleting an account, a resource or a custom role
 * revokes the pending invitations naming it. A refused acceptance changes nothing.
 * @see issue 10 #3
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';
import {
  addMember,
  auditRows,
  createAccount,
  createOrg,
  createResource,
  createRole,
  inviteOne,
  suspendMember,
} from '../../../test/seed';

const SIGN_UP = { first_name: 'Ina', last_name: 'Invitee', password: STRONG_PASSWORD };

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };
let accountA: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'accounts', 'Revalidate');
  accountA = await createAccount(ctx, owner, org.id, 'video', 'Account A');
});
afterAll(async () => {
  await ctx?.close();
});

const preview = (token: string) => ctx.request('GET', `/v1/invitations/${token}`);
const acceptBySignUp = (token: string) =>
  ctx.request('POST', `/v1/invitations/${token}/accept`, { body: SIGN_UP });
const userByEmail = (email: string) =>
  ctx.database.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
const invitationRow = (orgId: string, email: string) =>
  ctx.database.db
    .selectFrom('invitations')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('email', '=', email)
    .executeTakeFirstOrThrow();

/** An admin of account A who has invited a new address as admin of A. */
async function adminWithPendingInvitation() {
  const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: accountA.id }]);
  const email = uniqueEmail('invitee');
  const { token } = await inviteOne(ctx, admin, org.id, email, [
    { role: 'admin', scope: accountA.id },
  ]);
  return { admin, email, token };
}

/** The acceptance was refused whole: no user, no membership, the invitation still pending. */
async function expectRefusedWhole(res: Awaited<ReturnType<typeof acceptBySignUp>>, email: string) {
  expectProblem(res, 409, 'invitation_no_longer_valid');
  expect(await userByEmail(email)).toBeUndefined();
  expect((await invitationRow(org.id, email)).status).toBe('pending');
}

describe('accept re-checks the inviter of now', () => {
  it('accepts while the inviter may still give the grants (control)', async () => {
    const { email, token } = await adminWithPendingInvitation();
    expect((await preview(token)).body.no_longer_valid).toBe(false);
    const res = await acceptBySignUp(token);
    expect(res.status).toBe(200);
    expect((await userByEmail(email))?.id).toBe(res.body.user_id);
  });

  it('refuses when the inviter was suspended, and the preview says so', async () => {
    const { admin, email, token } = await adminWithPendingInvitation();
    await suspendMember(ctx, owner, org.id, admin.userId);
    const shown = await preview(token);
    expect(shown.body).toMatchObject({ status: 'pending', no_longer_valid: true });
    await expectRefusedWhole(await acceptBySignUp(token), email);
  });

  it('refuses when the inviter was removed from the organization', async () => {
    const { admin, email, token } = await adminWithPendingInvitation();
    const removed = await ctx.request(
      'DELETE',
      `/v1/organizations/${org.id}/members/${admin.userId}`,
      { token: owner.accessToken },
    );
    expect(removed.status).toBe(204);
    expect((await preview(token)).body.no_longer_valid).toBe(true);
    await expectRefusedWhole(await acceptBySignUp(token), email);
  });

  it('refuses when the inviter was demoted to viewer', async () => {
    const { admin, email, token } = await adminWithPendingInvitation();
    const demoted = await ctx.request(
      'PUT',
      `/v1/organizations/${org.id}/members/${admin.userId}/grants`,
      { token: owner.accessToken, body: { grants: [{ role: 'viewer', scope: accountA.id }] } },
    );
    expect(demoted.status).toBe(200);
    const res = await acceptBySignUp(token);
    await expectRefusedWhole(res, email);
    expect(res.body.reason).toBe('forbidden');
  });

  it('refuses a signed-in invitee as well, and they join nothing', async () => {
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: accountA.id }]);
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, admin, org.id, invitee.email, [
      { role: 'admin', scope: accountA.id },
    ]);
    await suspendMember(ctx, owner, org.id, admin.userId);
    expectProblem(
      await ctx.request('POST', `/v1/invitations/${token}/accept`, {
        token: invitee.accessToken,
        body: {},
      }),
      409,
      'invitation_no_longer_valid',
    );
    const mine = await ctx.request('GET', '/v1/organizations', { token: invitee.accessToken });
    expect(mine.body.data).toEqual([]);
  });
});

describe('deleting what an invitation names revokes it', () => {
  it('a deleted account: the invitation is revoked, accepting it gives nothing', async () => {
    const doomed = await createAccount(ctx, owner, org.id, 'video', 'Doomed');
    const email = uniqueEmail('acc-gone');
    const { token } = await inviteOne(ctx, owner, org.id, email, [
      { role: 'admin', scope: doomed.id },
    ]);
    const del = await ctx.request('DELETE', `/v1/organizations/${org.id}/accounts/${doomed.id}`, {
      token: owner.accessToken,
    });
    expect(del.status).toBe(204);
    expect((await preview(token)).body.status).toBe('revoked');
    expectProblem(await acceptBySignUp(token), 410, 'invitation_revoked');
    expect(await userByEmail(email)).toBeUndefined();
    const [event] = (await auditRows(ctx, org.id, 'account.deleted')).slice(-1);
    expect(event?.changes.before.invitations_revoked).toEqual([
      (await invitationRow(org.id, email)).id,
    ]);
  });

  it('a deleted resource: the invitation is revoked', async () => {
    const room = await createResource(ctx, owner, org.id, accountA.id, 'room');
    const email = uniqueEmail('res-gone');
    const { token } = await inviteOne(ctx, owner, org.id, email, [
      { role: 'viewer', scope: accountA.id },
      { role: 'admin', scope: room.id },
    ]);
    const del = await ctx.request(
      'DELETE',
      `/v1/organizations/${org.id}/accounts/${accountA.id}/resources/${room.id}`,
      { token: owner.accessToken },
    );
    expect(del.status).toBe(204);
    expectProblem(await acceptBySignUp(token), 410, 'invitation_revoked');
    expect(await userByEmail(email)).toBeUndefined();
  });

  it('leaves invitations that do not name the deleted scope alone', async () => {
    const other = await createAccount(ctx, owner, org.id, 'video', 'Other');
    const email = uniqueEmail('unrelated');
    const { token } = await inviteOne(ctx, owner, org.id, email, [
      { role: 'viewer', scope: accountA.id },
    ]);
    await ctx.request('DELETE', `/v1/organizations/${org.id}/accounts/${other.id}`, {
      token: owner.accessToken,
    });
    expect((await acceptBySignUp(token)).status).toBe(200);
  });
});

describe('a deleted custom role does not come back to life', () => {
  let teamOwner: SignedIn;
  let team: { id: string };
  beforeAll(async () => {
    teamOwner = await ctx.signUp();
    team = await createOrg(ctx, teamOwner, 'team', 'Team With Roles');
  });

  it('deleting the role revokes invitations offering it; a new role of that key gives nothing through them', async () => {
    const made = await createRole(ctx, teamOwner, team.id, {
      key: 'marketing',
      permissions: ['accounts:read'],
      grantable_at: ['organization'],
    });
    expect(made.status).toBe(201);
    const email = uniqueEmail('role-gone');
    const { token } = await inviteOne(ctx, teamOwner, team.id, email, [
      { role: 'marketing', scope: team.id },
    ]);
    const del = await ctx.request('DELETE', `/v1/organizations/${team.id}/roles/marketing`, {
      token: teamOwner.accessToken,
    });
    expect(del.status).toBe(204);
    // the same key again, meaning much more
    const again = await createRole(ctx, teamOwner, team.id, {
      key: 'marketing',
      permissions: ['members:*', 'accounts:*'],
      grantable_at: ['organization'],
    });
    expect(again.status).toBe(201);
    expect((await preview(token)).body.status).toBe('revoked');
    expectProblem(await acceptBySignUp(token), 410, 'invitation_revoked');
    expect(await userByEmail(email)).toBeUndefined();
    const grants = await ctx.database.db
      .selectFrom('grants')
      .select('id')
      .where('organization_id', '=', team.id)
      .where('role', '=', 'marketing')
      .execute();
    expect(grants).toEqual([]);
  });
});

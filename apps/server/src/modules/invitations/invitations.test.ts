import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';
import { check, createOrg } from '../../../test/seed';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

/** The token of the latest invitation link mailed to an address. */
async function linkToken(email: string) {
  const row = await ctx.database.db
    .selectFrom('outbox')
    .select('body')
    .where('recipient', '=', email)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirstOrThrow();
  const match = row.body?.match(/\/invitations\/([A-Za-z0-9_-]+)/);
  if (!match) throw new Error(`no invitation link mailed to ${email}`);
  return match[1]!;
}

describe('invitations', () => {
  it('invites, shows the link, and signing up through it makes a verified member who is signed in', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media', 'Invite Org');
    const email = uniqueEmail('invitee');
    const sent = await ctx.request('POST', `/v1/organizations/${org.id}/invitations`, {
      token: owner.accessToken,
      body: {
        emails: [` ${email.toUpperCase()} `, 'not-an-email'],
        grants: [{ role: 'accountant', scope: org.id }],
      },
    });
    expect(sent.status).toBe(200);
    expect(sent.body.results).toEqual([
      { email, status: 'invited', invitation_id: expect.stringMatching(/^inv_/) },
      { email: 'not-an-email', status: 'invalid_email' },
    ]);
    const token = await linkToken(email);
    const preview = await ctx.request('GET', `/v1/invitations/${token}`);
    expect(preview.body).toMatchObject({
      organization: { name: 'Invite Org' },
      email,
      status: 'pending',
      account_exists: false,
      grants: ['Accountant on Invite Org'],
    });
    const accepted = await ctx.request('POST', `/v1/invitations/${token}/accept`, {
      body: { first_name: 'Ivy', last_name: 'Invitee', password: STRONG_PASSWORD },
    });
    expect(accepted.status).toBe(200);
    const me = await ctx.request('GET', '/v1/me', { token: accepted.body.session.access_token });
    expect(me.body).toMatchObject({ email, email_verified: true });
    const can = await check(
      ctx,
      { ...owner, accessToken: accepted.body.session.access_token },
      'billing:pay',
      org.id,
    );
    expect(can.allowed).toBe(true);
    expectProblem(
      await ctx.request('POST', `/v1/invitations/${token}/accept`, { body: {} }),
      409,
      'invitation_used',
    );
  });

  it('lets exactly one of 20 simultaneous accepts win', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const invitee = await ctx.signUp();
    await ctx.request('POST', `/v1/organizations/${org.id}/invitations`, {
      token: owner.accessToken,
      body: { emails: [invitee.email], grants: [] },
    });
    const token = await linkToken(invitee.email);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        ctx.request('POST', `/v1/invitations/${token}/accept`, {
          token: invitee.accessToken,
          body: {},
        }),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200)) expect([409]).toContain(a.status);
    const memberships = await ctx.database.db
      .selectFrom('memberships')
      .select('user_id')
      .where('organization_id', '=', org.id)
      .where('user_id', '=', invitee.userId)
      .execute();
    expect(memberships).toHaveLength(1);
  });

  it('answers an expired link with invitation_expired, not a generic 404', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'team');
    const email = uniqueEmail();
    await ctx.request('POST', `/v1/organizations/${org.id}/invitations`, {
      token: owner.accessToken,
      body: { emails: [email], expires_in_days: 1 },
    });
    const token = await linkToken(email);
    ctx.clock.advance(2 * 24 * 3600 * 1000);
    expectProblem(
      await ctx.request('POST', `/v1/invitations/${token}/accept`, {
        body: { first_name: 'A', last_name: 'B', password: STRONG_PASSWORD },
      }),
      410,
      'invitation_expired',
    );
  });
});

describe('platform admins', () => {
  it('creates a customer with its owner and refuses non-admins', async () => {
    const user = await ctx.signUp();
    expectProblem(
      await ctx.request('GET', '/v1/admin/customers', { token: user.accessToken }),
      403,
      'platform_admin_required',
    );
    const adminId = await ctx.gatehouse.services.setup.createAdminFromCli({
      email: uniqueEmail('admin'),
      password: STRONG_PASSWORD,
      first_name: 'P',
      last_name: 'A',
    });
    const admin = await ctx.database.db
      .selectFrom('users')
      .select('email')
      .where('id', '=', adminId)
      .executeTakeFirstOrThrow();
    const session = await ctx.login(admin.email, STRONG_PASSWORD);
    const ownerEmail = uniqueEmail('customer');
    const created = await ctx.request('POST', '/v1/admin/customers', {
      token: session.accessToken,
      body: {
        name: 'Customer One',
        template: 'reseller',
        owner: { email: ownerEmail, first_name: 'Cora', last_name: 'Customer' },
      },
    });
    expect(created.status).toBe(201);
    const mail = await ctx.database.db
      .selectFrom('outbox')
      .select('body')
      .where('recipient', '=', ownerEmail)
      .executeTakeFirstOrThrow();
    expect(mail.body).toMatch(/set-password\?token=/);
    const suspended = await ctx.request('POST', `/v1/admin/customers/${created.body.id}/suspend`, {
      token: session.accessToken,
    });
    expect(suspended.body.status).toBe('suspended');
  });
});

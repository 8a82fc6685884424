/**
 * Adding a user directly ("associate user", SPEC section 5; source 000 "Provide Email-ID, and
 * select role and login type"; source 001 "Check Send Invite to send an invitation email"):
 * `POST /v1/organizations/{org}/members` with email, grants, login_method and send_invite.
 * @see issue 4, item 6
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  mailsTo,
  type SignedIn,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../harness';
import { addMember, allowed, auditRows, createAccount, createOrg } from '../seed';

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string; name: string };
let video: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
  org = await createOrg(ctx, owner, 'media', 'Direct Adds');
  video = await createAccount(ctx, owner, org.id, 'video');
});
afterAll(async () => {
  await ctx?.close();
});

const add = (body: Record<string, unknown>, who: SignedIn = owner, orgId = org.id) =>
  ctx.request('POST', `/v1/organizations/${orgId}/members`, { token: who.accessToken, body });
const userByEmail = (email: string) =>
  ctx.database.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
const setPasswordToken = (body: string | null | undefined) =>
  body?.match(/set-password\?token=([A-Za-z0-9_-]+)/)?.[1];

describe('a new address', () => {
  it('creates a user managed by the organization, a member with the grants, with no password', async () => {
    const email = uniqueEmail('direct');
    const res = await add({
      email,
      first_name: 'Dana',
      last_name: 'Direct',
      grants: [{ role: 'video-developer', scope: video.id }],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      email,
      first_name: 'Dana',
      last_name: 'Direct',
      managed_by_organization: true,
      invited_by: owner.userId,
      grants: [{ role: 'video-developer', scope: video.id }],
    });
    const user = await userByEmail(email);
    expect(user).toMatchObject({ managed_by_org_id: org.id, password_hash: null });
  });

  it('normalises the address', async () => {
    const email = uniqueEmail('direct-case');
    const res = await add({ email: `  ${email.toUpperCase()} ` });
    expect(res.body.email).toBe(email);
  });

  it('names the user after the address when no name is given', async () => {
    const email = uniqueEmail('nameless');
    const res = await add({ email });
    expect(res.body.first_name).toBe(email.split('@')[0]);
  });

  it('lets the organization edit the name and email of the user it manages', async () => {
    const res = await add({ email: uniqueEmail('editable') });
    const newEmail = uniqueEmail('edited');
    const patched = await ctx.request(
      'PATCH',
      `/v1/organizations/${org.id}/members/${res.body.user_id}`,
      { token: owner.accessToken, body: { first_name: 'Edited', email: newEmail } },
    );
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ first_name: 'Edited', email: newEmail });
  });

  it('takes the verification off a managed user whose address the organization changes', async () => {
    // @see issue 10 #1 (provider path): the organization's word does not prove someone else's
    // address; the account signs in nowhere until the new address is proven.
    const email = uniqueEmail('managed-verified');
    await add({ email, send_invite: true, grants: [{ role: 'accountant', scope: org.id }] });
    const [mail] = await mailsTo(ctx, email);
    await ctx.request('POST', '/v1/auth/password/reset', {
      body: { reset_token: setPasswordToken(mail!.body), password: STRONG_PASSWORD },
    });
    const user = await userByEmail(email);
    expect(user?.email_verified_at).not.toBeNull();
    const elsewhere = uniqueEmail('someone-else');
    const patched = await ctx.request('PATCH', `/v1/organizations/${org.id}/members/${user!.id}`, {
      token: owner.accessToken,
      body: { email: elsewhere },
    });
    expect(patched.status).toBe(200);
    expect((await userByEmail(elsewhere))?.email_verified_at).toBeNull();
    const login = await ctx.request('POST', '/v1/auth/login', {
      body: { email: elsewhere, password: STRONG_PASSWORD },
    });
    expect(login.status).toBe(403);
    expect(login.body.code).toBe('email_not_verified');
  });

  it('with send_invite, mails a set-password link; the token resets the password and sign-in works', async () => {
    const email = uniqueEmail('invite-me');
    await add({ email, send_invite: true, grants: [{ role: 'accountant', scope: org.id }] });
    const [mail] = await mailsTo(ctx, email);
    expect(mail!.subject).toBe('You were added to Direct Adds on Gatehouse');
    const token = setPasswordToken(mail!.body);
    expect(token).toBeTruthy();
    const reset = await ctx.request('POST', '/v1/auth/password/reset', {
      body: { reset_token: token, password: STRONG_PASSWORD },
    });
    expect(reset.status).toBe(204);
    const session = await ctx.login(email, STRONG_PASSWORD);
    expect(await allowed(ctx, session, 'billing:pay', org.id)).toBe(true);
    const me = await ctx.request('GET', '/v1/me', { token: session.accessToken });
    expect(me.body.email_verified).toBe(true);
  });

  it('the set-password link refuses a weak password and stays usable', async () => {
    const email = uniqueEmail('weak-set');
    await add({ email, send_invite: true });
    const token = setPasswordToken((await mailsTo(ctx, email))[0]!.body);
    expectProblem(
      await ctx.request('POST', '/v1/auth/password/reset', {
        body: { reset_token: token, password: 'weakweakweak' },
      }),
      400,
      'password_policy',
    );
    const ok = await ctx.request('POST', '/v1/auth/password/reset', {
      body: { reset_token: token, password: STRONG_PASSWORD },
    });
    expect(ok.status).toBe(204);
  });

  it('without send_invite, mails nothing', async () => {
    const email = uniqueEmail('quiet');
    await add({ email });
    expect(await mailsTo(ctx, email)).toHaveLength(0);
  });

  it.each(['password', 'google', 'github', 'oidc:okta'])(
    'stores login_method %s on the membership and in the audit event',
    async (method) => {
      const email = uniqueEmail('method');
      const res = await add({ email, login_method: method });
      const row = await ctx.database.db
        .selectFrom('memberships')
        .select('login_methods')
        .where('organization_id', '=', org.id)
        .where('user_id', '=', res.body.user_id)
        .executeTakeFirstOrThrow();
      expect(JSON.parse(row.login_methods!)).toEqual([method]);
      const events = await auditRows(ctx, org.id, 'member.added');
      const event = events.find((e) => e.target_id === res.body.user_id);
      expect(event!.changes.after.login_method).toBe(method);
    },
  );

  it.each(['saml', 'oidc:', 'oidc:UPPER', 'password ', ''])(
    'refuses login_method %j',
    async (method) => {
      expectProblem(
        await add({ email: uniqueEmail(), login_method: method }),
        400,
        'validation_failed',
      );
    },
  );
});

describe('an existing person', () => {
  it('adds an existing user without making them managed, and keeps their profile and password', async () => {
    const person = await ctx.signUp({ first_name: 'Eve', last_name: 'Existing' });
    const res = await add({ email: person.email, first_name: 'Other', send_invite: true });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      user_id: person.userId,
      first_name: 'Eve',
      managed_by_organization: false,
    });
    await ctx.login(person.email, person.password);
    const [mail] = await mailsTo(ctx, person.email);
    expect(setPasswordToken(mail!.body)).toBeUndefined();
    expect(mail!.body).toContain('with your existing account');
  });

  it('refuses to edit the profile of a user the organization does not manage', async () => {
    const person = await ctx.signUp();
    await add({ email: person.email });
    expectProblem(
      await ctx.request('PATCH', `/v1/organizations/${org.id}/members/${person.userId}`, {
        token: owner.accessToken,
        body: { first_name: 'Hijacked' },
      }),
      403,
      'forbidden',
    );
  });

  it('answers 409 for an existing member and changes nothing', async () => {
    const member = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    const res = await add({ email: member.email, grants: [{ role: 'admin', scope: org.id }] });
    expectProblem(res, 409, 'conflict');
    expect(res.body.reason).toBe('already_member');
    expect(await allowed(ctx, member, 'accounts:create', org.id)).toBe(false);
  });

  it('answers 409 for the owner', async () => {
    expectProblem(await add({ email: owner.email }), 409, 'conflict');
  });
});

describe('refusals write nothing', () => {
  it('a non-owner in media: 403, and no user is created', async () => {
    const admin = await addMember(ctx, owner, org.id, [{ role: 'admin', scope: org.id }]);
    const email = uniqueEmail('not-created');
    expectProblem(await add({ email, send_invite: true }, admin), 403, 'forbidden');
    expect(await userByEmail(email)).toBeUndefined();
    expect(await mailsTo(ctx, email)).toHaveLength(0);
  });

  it('an escalating grant (team admin adding an admin): 403, and no user is created', async () => {
    const teamOwner = await ctx.signUp();
    const team = await createOrg(ctx, teamOwner, 'team');
    const admin = await addMember(ctx, teamOwner, team.id, [{ role: 'admin', scope: team.id }]);
    const email = uniqueEmail('escalate');
    expectProblem(
      await add({ email, grants: [{ role: 'admin', scope: team.id }] }, admin, team.id),
      403,
      'forbidden',
    );
    expect(await userByEmail(email)).toBeUndefined();
  });

  it('a scope of another organization: 400, and no user is created', async () => {
    const other = await createOrg(ctx, owner, 'media');
    const email = uniqueEmail('elsewhere');
    expectProblem(
      await add({ email, grants: [{ role: 'accountant', scope: other.id }] }),
      400,
      'validation_failed',
    );
    expect(await userByEmail(email)).toBeUndefined();
  });
});

describe('races', () => {
  it('two simultaneous adds of one new address: one member, one 409, never a 500', async () => {
    const email = uniqueEmail('twice');
    const answers = await Promise.all([add({ email }), add({ email })]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const users = await ctx.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .execute();
    expect(users).toHaveLength(1);
  });

  it('ten simultaneous adds of one existing user: one member, nine 409s', async () => {
    const person = await ctx.signUp();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => add({ email: person.email })),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(9);
  });
});

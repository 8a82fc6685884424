/**
 * The invitee's side: the preview a link shows, accepting (signed in as the invited address, or
 * by signing up through the link), rejecting, and `GET /v1/me/invitations`.
 * @see issue 4, items 4 and 5
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  registerOnly,
  type SignedIn,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';
import {
  addDirect,
  addMember,
  allowed,
  auditRows,
  createAccount,
  createOrg,
  invite,
  inviteOne,
} from '../../../test/seed';

const DAY = 24 * 3600 * 1000;
const SIGN_UP = { first_name: 'Nia', last_name: 'Newcomer', password: STRONG_PASSWORD };

let ctx: TestContext;
let owner: SignedIn;
let org: { id: string; name: string };
let video: { id: string };

beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp({ first_name: 'Olga', last_name: 'Owner' });
  org = await createOrg(ctx, owner, 'media', 'Acme Media');
  video = await createAccount(ctx, owner, org.id, 'video', 'Trailers');
});
afterAll(async () => {
  await ctx?.close();
});

const preview = (token: string) => ctx.request('GET', `/v1/invitations/${token}`);
const accept = (token: string, options: { token?: string; body?: unknown } = {}) =>
  ctx.request('POST', `/v1/invitations/${token}/accept`, { body: {}, ...options });
const reject = (token: string, who?: SignedIn) =>
  ctx.request('POST', `/v1/invitations/${token}/reject`, who ? { token: who.accessToken } : {});
const membership = (orgId: string, userId: string) =>
  ctx.database.db
    .selectFrom('memberships')
    .selectAll()
    .where('organization_id', '=', orgId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
const userByEmail = (email: string) =>
  ctx.database.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
const invitation = (id: string) =>
  ctx.request('GET', `/v1/organizations/${org.id}/invitations/${id}`, { token: owner.accessToken });

describe('preview by token', () => {
  it('shows the organization name, inviter, grants in words, status and expiry, and nothing else', async () => {
    const email = uniqueEmail('pv');
    const { token } = await inviteOne(
      ctx,
      owner,
      org.id,
      email,
      [
        { role: 'accountant', scope: org.id },
        { role: 'video-developer', scope: video.id },
      ],
      { message: 'Join us' },
    );
    const res = await preview(token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      organization: { name: 'Acme Media' },
      inviter: { name: 'Olga Owner' },
      email,
      grants: ['Accountant on Acme Media', 'Video developer on Trailers'],
      message: 'Join us',
      offers_ownership: false,
      status: 'pending',
      expires_at: new Date(ctx.clock.now() + 7 * DAY).toISOString(),
      account_exists: false,
      no_longer_valid: false,
    });
  });

  it('reveals no id, slug, owner, member count or setting of the organization', async () => {
    const { token } = await inviteOne(ctx, owner, org.id, uniqueEmail('pv-leak'));
    const res = await preview(token);
    expect(Object.keys(res.body.organization)).toEqual(['name']);
    expect(Object.keys(res.body.inviter)).toEqual(['name']);
    expect(res.text).not.toContain(org.id);
    expect(res.text).not.toContain(owner.userId);
    expect(res.text).not.toContain(owner.email);
  });

  it('describes inline permissions and resource scopes in words', async () => {
    const folder = await ctx.request(
      'POST',
      `/v1/organizations/${org.id}/accounts/${video.id}/resources`,
      { token: owner.accessToken, body: { name: 'Season 1', type: 'folder' } },
    );
    const { token } = await inviteOne(ctx, owner, org.id, uniqueEmail('pv-words'), [
      { permissions: ['video.assets:read', 'video.usage:read'], scope: folder.body.id },
    ]);
    expect((await preview(token)).body.grants).toEqual([
      'permissions video.assets:read, video.usage:read on Season 1',
    ]);
  });

  it('says account_exists when the address already has an account (sign in, then accept)', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email);
    expect((await preview(token)).body.account_exists).toBe(true);
  });

  it('needs no sign-in', async () => {
    const { token } = await inviteOne(ctx, owner, org.id, uniqueEmail('pv-anon'));
    expect((await ctx.request('GET', `/v1/invitations/${token}`)).status).toBe(200);
  });

  it('shows accepted and rejected invitations with their status', async () => {
    const a = await inviteOne(ctx, owner, org.id, uniqueEmail('pv-acc'));
    await accept(a.token, { body: SIGN_UP });
    expect((await preview(a.token)).body.status).toBe('accepted');
    const r = await inviteOne(ctx, owner, org.id, uniqueEmail('pv-rej'));
    await reject(r.token);
    expect((await preview(r.token)).body.status).toBe('rejected');
  });

  it('answers 404 for an unknown token', async () => {
    expectProblem(await preview('x'.repeat(43)), 404, 'not_found');
  });

  it('answers 400 for a token too short or too long to be one', async () => {
    expectProblem(await preview('short'), 400, 'validation_failed');
    expectProblem(await preview('x'.repeat(129)), 400, 'validation_failed');
  });
});

describe('accept, signed in', () => {
  it('makes the invited user a member with the grants', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email, [
      { role: 'accountant', scope: org.id },
    ]);
    const res = await accept(token, { token: invitee.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ organization_id: org.id, user_id: invitee.userId, session: null });
    expect(await allowed(ctx, invitee, 'billing:pay', org.id)).toBe(true);
    expect(await allowed(ctx, invitee, 'video.assets:create', video.id)).toBe(false);
  });

  it('records who invited them and marks the invitation accepted', async () => {
    const invitee = await ctx.signUp();
    const { id, token } = await inviteOne(ctx, owner, org.id, invitee.email);
    await accept(token, { token: invitee.accessToken });
    expect(await membership(org.id, invitee.userId)).toMatchObject({
      status: 'active',
      invited_by: owner.userId,
    });
    const got = await invitation(id);
    expect(got.body.status).toBe('accepted');
    expect(got.body.resolved_at).not.toBeNull();
  });

  it('shows up in the members list with its grants', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email, [
      { role: 'video-developer', scope: video.id },
    ]);
    await accept(token, { token: invitee.accessToken });
    const detail = await ctx.request(
      'GET',
      `/v1/organizations/${org.id}/members/${invitee.userId}`,
      {
        token: owner.accessToken,
      },
    );
    expect(detail.body.grants).toMatchObject([{ role: 'video-developer', scope: video.id }]);
  });

  it('works for an address invited in another case or with spaces', async () => {
    const invitee = await ctx.signUp();
    await invite(ctx, owner, org.id, { emails: [`  ${invitee.email.toUpperCase()} `] });
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email);
    expect((await accept(token, { token: invitee.accessToken })).status).toBe(200);
  });

  it('refuses another signed-in address with invitation_email_mismatch (403), leaving it pending', async () => {
    const invitee = uniqueEmail('meant');
    const someoneElse = await ctx.signUp();
    const { id, token } = await inviteOne(ctx, owner, org.id, invitee);
    expectProblem(
      await accept(token, { token: someoneElse.accessToken }),
      403,
      'invitation_email_mismatch',
    );
    expect(await membership(org.id, someoneElse.userId)).toBeUndefined();
    expect((await invitation(id)).body.status).toBe('pending');
  });

  it('refuses a second accept with invitation_used (409)', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email);
    await accept(token, { token: invitee.accessToken });
    expectProblem(await accept(token, { token: invitee.accessToken }), 409, 'invitation_used');
  });

  it('refuses with 409 when the invitee became a member meanwhile, keeping their grants', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email, [
      { role: 'admin', scope: org.id },
    ]);
    await addDirect(ctx, owner, org.id, {
      email: invitee.email,
      grants: [{ role: 'accountant', scope: org.id }],
    });
    expectProblem(await accept(token, { token: invitee.accessToken }), 409, 'conflict');
    expect(await allowed(ctx, invitee, 'accounts:create', org.id)).toBe(false);
  });

  it('writes an invitation.accepted audit event by the invitee', async () => {
    const o = await createOrg(ctx, owner, 'media');
    const invitee = await ctx.signUp();
    const { id, token } = await inviteOne(ctx, owner, o.id, invitee.email);
    await accept(token, { token: invitee.accessToken });
    const [event] = await auditRows(ctx, o.id, 'invitation.accepted');
    expect(event).toMatchObject({ actor_type: 'user', actor_id: invitee.userId, target_id: id });
  });
});

describe('accept by signing up through the link', () => {
  it('creates the user, verified, signed in, and a member with the grants', async () => {
    const email = uniqueEmail('su');
    const { token } = await inviteOne(ctx, owner, org.id, email, [
      { role: 'accountant', scope: org.id },
    ]);
    const res = await accept(token, { body: SIGN_UP });
    expect(res.status).toBe(200);
    expect(res.body.session).toMatchObject({
      token_type: 'Bearer',
      access_token: expect.any(String),
    });
    const me = await ctx.request('GET', '/v1/me', { token: res.body.session.access_token });
    expect(me.body).toMatchObject({
      id: res.body.user_id,
      email,
      email_verified: true,
      first_name: 'Nia',
      last_name: 'Newcomer',
    });
    const signedIn = { accessToken: res.body.session.access_token } as SignedIn;
    expect(await allowed(ctx, signedIn, 'billing:pay', org.id)).toBe(true);
  });

  it('lets the new user sign in later with that password', async () => {
    const email = uniqueEmail('su-login');
    const { token } = await inviteOne(ctx, owner, org.id, email);
    await accept(token, { body: SIGN_UP });
    const session = await ctx.login(email, STRONG_PASSWORD);
    expect(session.accessToken).toBeTruthy();
  });

  it('hands out a refresh token that works', async () => {
    const { token } = await inviteOne(ctx, owner, org.id, uniqueEmail('su-refresh'));
    const res = await accept(token, { body: SIGN_UP });
    const refreshed = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: res.body.session.refresh_token },
    });
    expect(refreshed.status).toBe(200);
  });

  it.each([
    ['too short', 'Aa1!short'],
    ['no digit', 'Abcdefghij!'],
    ['no upper case', 'abcdefgh1!xy'],
    ['no special character', 'Abcdefgh1xyz'],
  ])(
    'enforces the password policy (%s): 400 password_policy, nobody created',
    async (_l, password) => {
      const email = uniqueEmail('su-weak');
      const { id, token } = await inviteOne(ctx, owner, org.id, email);
      expectProblem(
        await accept(token, { body: { ...SIGN_UP, password } }),
        400,
        'password_policy',
      );
      expect(await userByEmail(email)).toBeUndefined();
      expect((await invitation(id)).body.status).toBe('pending');
    },
  );

  it('refuses a password that contains the address', async () => {
    const email = uniqueEmail('su-self');
    const { token } = await inviteOne(ctx, owner, org.id, email);
    const res = await accept(token, { body: { ...SIGN_UP, password: `${email}A1!` } });
    expectProblem(res, 400, 'password_policy');
  });

  it.each([
    ['no name', { password: STRONG_PASSWORD }],
    ['no last name', { first_name: 'A', password: STRONG_PASSWORD }],
    ['no password', { first_name: 'A', last_name: 'B' }],
    ['an empty body', {}],
  ])('asks for name and password (%s): 400 naming the missing fields', async (_l, body) => {
    const email = uniqueEmail('su-missing');
    const { token } = await inviteOne(ctx, owner, org.id, email);
    const res = await accept(token, { body });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect(await userByEmail(email)).toBeUndefined();
  });

  it('answers login_required (409) when an account exists for the address', async () => {
    const invitee = await ctx.signUp();
    const { id, token } = await inviteOne(ctx, owner, org.id, invitee.email);
    expectProblem(await accept(token, { body: SIGN_UP }), 409, 'login_required');
    expect((await invitation(id)).body.status).toBe('pending');
    expect(await membership(org.id, invitee.userId)).toBeUndefined();
  });

  it('answers login_required (409) for an account that was registered but never verified', async () => {
    const { email } = await registerOnly(ctx);
    const { token } = await inviteOne(ctx, owner, org.id, email);
    expectProblem(await accept(token, { body: SIGN_UP }), 409, 'login_required');
  });

  it('keeps the password hash of the existing account untouched when refused', async () => {
    const invitee = await ctx.signUp();
    const before = await userByEmail(invitee.email);
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email);
    await accept(token, { body: { ...SIGN_UP, password: 'An0ther-Str0ng-pass!' } });
    expect((await userByEmail(invitee.email))!.password_hash).toBe(before!.password_hash);
    await ctx.login(invitee.email, invitee.password);
  });

  it('writes user.registered (via invitation) and invitation.accepted audit events', async () => {
    const o = await createOrg(ctx, owner, 'media');
    const { id, token } = await inviteOne(ctx, owner, o.id, uniqueEmail('su-audit'));
    const res = await accept(token, { body: SIGN_UP });
    const [event] = await auditRows(ctx, o.id, 'invitation.accepted');
    expect(event).toMatchObject({ actor_id: res.body.user_id, target_id: id });
    const registered = await ctx.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'user.registered')
      .where('actor_id', '=', res.body.user_id)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(registered.changes!)).toMatchObject({ via: 'invitation', invitation_id: id });
  });
});

describe('reject', () => {
  it('marks the invitation rejected and makes nobody a member', async () => {
    const invitee = await ctx.signUp();
    const { id, token } = await inviteOne(ctx, owner, org.id, invitee.email);
    const res = await reject(token);
    expect(res.status).toBe(204);
    expect((await invitation(id)).body.status).toBe('rejected');
    expect(await membership(org.id, invitee.userId)).toBeUndefined();
  });

  it('makes a later accept answer invitation_used (409)', async () => {
    const invitee = await ctx.signUp();
    const { token } = await inviteOne(ctx, owner, org.id, invitee.email);
    await reject(token);
    expectProblem(await accept(token, { token: invitee.accessToken }), 409, 'invitation_used');
    expect(await membership(org.id, invitee.userId)).toBeUndefined();
  });

  it('answers invitation_used (409) to a second reject, and to a reject after accept', async () => {
    const a = await inviteOne(ctx, owner, org.id, uniqueEmail('rj-twice'));
    await reject(a.token);
    expectProblem(await reject(a.token), 409, 'invitation_used');
    const b = await inviteOne(ctx, owner, org.id, uniqueEmail('rj-after'));
    await accept(b.token, { body: SIGN_UP });
    expectProblem(await reject(b.token), 409, 'invitation_used');
  });

  it('answers 404 for an unknown token', async () => {
    expectProblem(await reject(`${'y'.repeat(40)}`), 404, 'not_found');
  });

  it('lets the organization invite the address again afterwards', async () => {
    const email = uniqueEmail('rj-again');
    const first = await inviteOne(ctx, owner, org.id, email);
    await reject(first.token);
    const res = await invite(ctx, owner, org.id, { emails: [email] });
    expect(res.body.results[0].status).toBe('invited');
  });

  it('is audited', async () => {
    const o = await createOrg(ctx, owner, 'media');
    const { id, token } = await inviteOne(ctx, owner, o.id, uniqueEmail('rj-audit'));
    await reject(token);
    const [event] = await auditRows(ctx, o.id, 'invitation.rejected');
    expect(event).toMatchObject({ target_id: id });
  });
});

describe('GET /v1/me/invitations', () => {
  it('lists the pending invitations for my verified address, from every organization', async () => {
    const invitee = await ctx.signUp();
    const other = await createOrg(ctx, owner, 'media', 'Other Media');
    const a = await inviteOne(ctx, owner, org.id, invitee.email, [
      { role: 'accountant', scope: org.id },
    ]);
    const b = await inviteOne(ctx, owner, other.id, invitee.email);
    const res = await ctx.request('GET', '/v1/me/invitations', { token: invitee.accessToken });
    expect(res.status).toBe(200);
    const byId = new Map(res.body.data.map((i: { id: string }) => [i.id, i]));
    expect([...byId.keys()].sort()).toEqual([a.id, b.id].sort());
    expect(byId.get(a.id)).toMatchObject({
      organization: { id: org.id, name: 'Acme Media' },
      inviter: { name: 'Olga Owner' },
      grants: ['Accountant on Acme Media'],
    });
  });

  it('leaves out accepted, rejected, revoked and expired invitations', async () => {
    const invitee = await ctx.signUp();
    const orgs = await Promise.all([1, 2, 3, 4].map(() => createOrg(ctx, owner, 'media')));
    const accepted = await inviteOne(ctx, owner, orgs[0]!.id, invitee.email);
    await accept(accepted.token, { token: invitee.accessToken });
    const rejected = await inviteOne(ctx, owner, orgs[1]!.id, invitee.email);
    await reject(rejected.token);
    const revoked = await inviteOne(ctx, owner, orgs[2]!.id, invitee.email);
    await ctx.request('DELETE', `/v1/organizations/${orgs[2]!.id}/invitations/${revoked.id}`, {
      token: owner.accessToken,
    });
    await inviteOne(ctx, owner, orgs[3]!.id, invitee.email, [], { expires_in_days: 1 });
    ctx.clock.advance(DAY);
    const me = await ctx.login(invitee.email, invitee.password);
    owner = await ctx.login(owner.email, owner.password);
    const res = await ctx.request('GET', '/v1/me/invitations', { token: me.accessToken });
    expect(res.body.data).toEqual([]);
  });

  it("does not list other addresses' invitations", async () => {
    const me = await ctx.signUp();
    await inviteOne(ctx, owner, org.id, uniqueEmail('not-me'));
    const res = await ctx.request('GET', '/v1/me/invitations', { token: me.accessToken });
    expect(res.body.data).toEqual([]);
  });

  it('needs a sign-in', async () => {
    expectProblem(await ctx.request('GET', '/v1/me/invitations'), 401, 'unauthenticated');
  });
});

describe('who the invitee becomes', () => {
  it('is not a member of anything else, and an invitation to another organization stays pending', async () => {
    const invitee = await ctx.signUp();
    const other = await createOrg(ctx, owner, 'media');
    const a = await inviteOne(ctx, owner, org.id, invitee.email);
    const b = await inviteOne(ctx, owner, other.id, invitee.email);
    await accept(a.token, { token: invitee.accessToken });
    expect(await membership(other.id, invitee.userId)).toBeUndefined();
    expect((await preview(b.token)).body.status).toBe('pending');
  });

  it('a suspended member cannot list the invitations, while links keep working for invitees', async () => {
    const member = await addMember(ctx, owner, org.id, []);
    await ctx.request('POST', `/v1/organizations/${org.id}/members/${member.userId}/suspend`, {
      token: owner.accessToken,
    });
    const { token } = await inviteOne(ctx, owner, org.id, uniqueEmail('unrelated'));
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${org.id}/invitations`, {
        token: member.accessToken,
      }),
      403,
      'forbidden',
    );
    expect((await preview(token)).status).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  registerOnly,
  setCookieOf,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';
import {
  APP_ORIGIN,
  auditOf,
  callbackUrl,
  providerEnv,
  signInVia,
} from '../../../test/oauth-browser';
import {
  type OidcAccount,
  startOidcProvider,
  type TestOidcProvider,
} from '../../../test/oidc-provider';
import { generateTotp } from '../mfa/totp';

/**
 * Sign-in with OpenID Connect providers, against a real provider (oidc-provider) on loopback:
 * `oidc:corp` sends the email and name through userinfo (the library's conformant default),
 * `google` (GOOGLE_ISSUER pointed at a second one) puts them in the ID token as Google does.
 */

let ctx: TestContext;
let corp: TestOidcProvider;
let google: TestOidcProvider;
beforeAll(async () => {
  corp = await startOidcProvider({
    clientId: 'corp-client',
    clientSecret: 'corp-secret',
    redirectUris: [callbackUrl('oidc:corp')],
  });
  google = await startOidcProvider({
    clientId: 'google-client',
    clientSecret: 'google-secret',
    redirectUris: [callbackUrl('google')],
    claimsInIdToken: true,
  });
  ctx = await createTestContext({ env: providerEnv({ corp, google }) });
});
afterAll(async () => {
  await ctx?.close();
  await corp?.close();
  await google?.close();
});

let people = 0;
/** A person at the provider, chosen as the next to sign in there. */
function person(op: TestOidcProvider, claims: OidcAccount = {}) {
  const sub = `person-${people++}`;
  const account: OidcAccount = {
    email: uniqueEmail('oidc'),
    email_verified: true,
    given_name: 'Grace',
    family_name: 'Hopper',
    ...claims,
  };
  op.accounts.set(sub, account);
  op.signInAs(sub);
  return { sub, email: account.email! };
}

const sessionCookie = (res: Parameters<typeof setCookieOf>[0]) =>
  setCookieOf(res, 'gatehouse_session')?.value;
const exchange = (loginToken: string) =>
  ctx.request('POST', '/v1/auth/oauth/exchange', { body: { login_token: loginToken } });
const identitiesOf = async (token: string) =>
  (await ctx.request('GET', '/v1/me/identities', { token })).body.data;
const usersWithEmail = async (email: string) =>
  ctx.database.db.selectFrom('users').select('id').where('email', '=', email).execute();

describe('the provider list', () => {
  it('names each configured provider and where its sign-in starts', async () => {
    const res = await ctx.request('GET', '/v1/auth/oauth/providers');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual(
      expect.arrayContaining([
        {
          id: 'oidc:corp',
          name: 'corp',
          start_url: 'http://gatehouse.test/v1/auth/oauth/oidc:corp/start',
        },
        {
          id: 'google',
          name: 'Google',
          start_url: 'http://gatehouse.test/v1/auth/oauth/google/start',
        },
      ]),
    );
  });
});

describe('a new user, cookie mode', () => {
  it('sends the browser to the return address with the session cookies set', async () => {
    person(corp);
    const trip = await signInVia(ctx, 'oidc:corp', { return_to: `${APP_ORIGIN}/welcome` });
    expect(trip.res.status).toBe(302);
    expect(trip.location).toBe(`${APP_ORIGIN}/welcome`);
    expect(sessionCookie(trip.res)).toBeTruthy();
    expect(setCookieOf(trip.res, 'gatehouse_csrf')?.value).toBeTruthy();
  });

  it('returns to the home page when no return address was given', async () => {
    person(corp);
    const trip = await signInVia(ctx, 'oidc:corp');
    expect(trip.location).toBe('http://gatehouse.test/');
  });

  it('signs the browser in as a verified user with the provider’s name and no password', async () => {
    const { email } = person(corp, { given_name: 'Katherine', family_name: 'Johnson' });
    const trip = await signInVia(ctx, 'oidc:corp');
    const me = await ctx.request('GET', '/v1/me', {
      cookies: { gatehouse_session: sessionCookie(trip.res)! },
    });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      email,
      first_name: 'Katherine',
      last_name: 'Johnson',
      email_verified: true,
      has_password: false,
    });
  });

  it('opens a session whose amr names the provider', async () => {
    person(corp);
    const trip = await signInVia(ctx, 'oidc:corp');
    const sessions = await ctx.request('GET', '/v1/auth/sessions', {
      cookies: { gatehouse_session: sessionCookie(trip.res)! },
    });
    expect(sessions.body.data).toHaveLength(1);
    expect(sessions.body.data[0].amr).toEqual(['oidc:corp']);
  });

  it('records the registration and the linked identity in the audit log', async () => {
    person(corp);
    const trip = await signInVia(ctx, 'oidc:corp');
    const me = await ctx.request('GET', '/v1/me', {
      cookies: { gatehouse_session: sessionCookie(trip.res)! },
    });
    const events = await auditOf(ctx, me.body.id);
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['user.registered', 'user.identity_linked']),
    );
    const linked = events.find((e) => e.action === 'user.identity_linked');
    expect(linked?.changes).toMatchObject({ provider: 'oidc:corp' });
    expect(linked?.actor_id).toBe(me.body.id);
  });
});

describe('a new user, token mode', () => {
  it('gives the return address a login token in the fragment and sets no cookie', async () => {
    person(corp);
    const trip = await signInVia(ctx, 'oidc:corp', {
      mode: 'token',
      return_to: `${APP_ORIGIN}/cb`,
    });
    expect(trip.location.startsWith(`${APP_ORIGIN}/cb#`)).toBe(true);
    expect(Object.keys(trip.fragment)).toEqual(['login_token']);
    expect(sessionCookie(trip.res)).toBeUndefined();
  });

  it('exchanges the login token for tokens that work', async () => {
    const { email } = person(corp);
    const trip = await signInVia(ctx, 'oidc:corp', { mode: 'token' });
    const res = await exchange(trip.fragment.login_token!);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', session_id: expect.any(String) });
    const me = await ctx.request('GET', '/v1/me', { token: res.body.access_token });
    expect(me.body.email).toBe(email);
    const sessions = await ctx.request('GET', '/v1/auth/sessions', {
      token: res.body.access_token,
    });
    expect(sessions.body.data[0].amr).toEqual(['oidc:corp']);
  });

  it('refuses a second exchange of the same login token', async () => {
    person(corp);
    const trip = await signInVia(ctx, 'oidc:corp', { mode: 'token' });
    expect((await exchange(trip.fragment.login_token!)).status).toBe(200);
    expectProblem(await exchange(trip.fragment.login_token!), 401, 'invalid_token');
  });

  it('refuses a login token exchanged too late', async () => {
    person(corp);
    const trip = await signInVia(ctx, 'oidc:corp', { mode: 'token' });
    ctx.clock.advance(2 * 60 * 1000 + 1000);
    expectProblem(await exchange(trip.fragment.login_token!), 401, 'invalid_token');
  });

  it('refuses a login token that was never issued', async () => {
    expectProblem(await exchange('not-a-login-token'), 401, 'invalid_token');
  });
});

describe('a returning user', () => {
  it('is signed in to the same account through the same identity', async () => {
    person(corp);
    const first = await exchange(
      (await signInVia(ctx, 'oidc:corp', { mode: 'token' })).fragment.login_token!,
    );
    const second = await exchange(
      (await signInVia(ctx, 'oidc:corp', { mode: 'token' })).fragment.login_token!,
    );
    const a = await ctx.request('GET', '/v1/me', { token: first.body.access_token });
    const b = await ctx.request('GET', '/v1/me', { token: second.body.access_token });
    expect(b.body.id).toBe(a.body.id);
    expect(await identitiesOf(second.body.access_token)).toHaveLength(1);
  });

  it('keeps its account when its email changes at the provider', async () => {
    const { sub } = person(corp);
    const first = await exchange(
      (await signInVia(ctx, 'oidc:corp', { mode: 'token' })).fragment.login_token!,
    );
    const newEmail = uniqueEmail('renamed');
    corp.accounts.set(sub, { ...corp.accounts.get(sub), email: newEmail });
    const second = await exchange(
      (await signInVia(ctx, 'oidc:corp', { mode: 'token' })).fragment.login_token!,
    );
    const a = await ctx.request('GET', '/v1/me', { token: first.body.access_token });
    const b = await ctx.request('GET', '/v1/me', { token: second.body.access_token });
    expect(b.body.id).toBe(a.body.id);
    const [identity] = await identitiesOf(second.body.access_token);
    expect(identity.email).toBe(newEmail);
    expect(identity.last_used_at).not.toBeNull();
  });
});

describe('an existing password account', () => {
  // Google links by verified email (GOOGLE_LINK_BY_EMAIL, on by default); generic OIDC
  // providers do not by default: oauth.linking.test.ts.
  it('gets the identity when the provider verified its email, and keeps its password', async () => {
    const user = await ctx.signUp();
    person(google, { email: user.email, email_verified: true });
    const trip = await signInVia(ctx, 'google', { mode: 'token' });
    const tokens = await exchange(trip.fragment.login_token!);
    const me = await ctx.request('GET', '/v1/me', { token: tokens.body.access_token });
    expect(me.body.id).toBe(user.userId);
    expect(me.body.has_password).toBe(true);
    expect(await identitiesOf(user.accessToken)).toMatchObject([
      { provider: 'google', email: user.email },
    ]);
    expect((await ctx.login(user.email, user.password)).userId).toBe(user.userId);
  });

  it('tells its owner by mail that the provider can now sign them in', async () => {
    const user = await ctx.signUp();
    person(google, { email: user.email, email_verified: true });
    await signInVia(ctx, 'google');
    const mail = await ctx.database.db
      .selectFrom('outbox')
      .select('body')
      .where('recipient', '=', user.email)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(mail.body).toContain('can now sign you in');
  });

  it('is not joined when the provider has not verified the email', async () => {
    const user = await ctx.signUp();
    const { sub } = person(corp, { email: user.email, email_verified: false });
    const trip = await signInVia(ctx, 'oidc:corp', { return_to: `${APP_ORIGIN}/cb` });
    expect(trip.location).toBe(`${APP_ORIGIN}/cb#error=oauth_email_unverified`);
    expect(sessionCookie(trip.res)).toBeUndefined();
    expect(await identitiesOf(user.accessToken)).toEqual([]);
    const stored = await ctx.database.db
      .selectFrom('user_identities')
      .select('id')
      .where('provider', '=', 'oidc:corp')
      .where('subject', '=', sub)
      .execute();
    expect(stored).toEqual([]);
  });

  it('is not joined when email_verified is a string rather than true', async () => {
    const user = await ctx.signUp();
    person(corp, { email: user.email, email_verified: 'true' as unknown as boolean });
    const trip = await signInVia(ctx, 'oidc:corp');
    expect(trip.fragment).toEqual({ error: 'oauth_email_unverified' });
    expect(await identitiesOf(user.accessToken)).toEqual([]);
  });

  /**
   * Pre-account takeover: someone registers the victim's address with a password of their own
   * and never verifies it; when the victim arrives through a provider that proves the mailbox,
   * the squatter's password must not open the now verified account.
   */
  it('loses the password of whoever registered the address without proving it', async () => {
    const squatter = await registerOnly(ctx);
    person(google, { email: squatter.email, email_verified: true });
    const trip = await signInVia(ctx, 'google', { mode: 'token' });
    const tokens = await exchange(trip.fragment.login_token!);
    const me = await ctx.request('GET', '/v1/me', { token: tokens.body.access_token });
    expect(me.body).toMatchObject({
      email: squatter.email,
      email_verified: true,
      has_password: false,
    });
    const login = await ctx.request('POST', '/v1/auth/login', {
      body: { email: squatter.email, password: squatter.password },
    });
    expectProblem(login, 401, 'invalid_credentials');
  });
});

describe('a provider that does not vouch for the email', () => {
  it('creates no user for an unverified address', async () => {
    const { email } = person(corp, { email_verified: false });
    const trip = await signInVia(ctx, 'oidc:corp');
    expect(trip.fragment).toEqual({ error: 'oauth_email_unverified' });
    expect(await usersWithEmail(email)).toEqual([]);
  });

  it('creates no user when it shares no email at all', async () => {
    const sub = `no-email-${people++}`;
    corp.accounts.set(sub, { given_name: 'Anon' });
    corp.signInAs(sub);
    const trip = await signInVia(ctx, 'oidc:corp');
    expect(trip.fragment).toEqual({ error: 'oauth_email_unverified' });
  });
});

describe('a user with a second factor', () => {
  async function userWithTotp() {
    const user = await ctx.signUp();
    const enrol = await ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
    expect(enrol.status).toBe(201);
    const secret = enrol.body.secret as string;
    const code = await generateTotp({ secret, epoch: Math.floor(ctx.clock.now() / 1000) });
    const confirmed = await ctx.request('POST', '/v1/me/mfa/totp/confirm', {
      token: user.accessToken,
      body: { code },
    });
    expect(confirmed.status).toBe(200);
    // the next code is in the next time step: the confirmed one may not be used again
    ctx.clock.advance(30_000);
    return { ...user, secret };
  }

  it('gets an mfa_token in the fragment instead of a session', async () => {
    const user = await userWithTotp();
    person(google, { email: user.email });
    const trip = await signInVia(ctx, 'google', { return_to: `${APP_ORIGIN}/cb` });
    expect(trip.fragment.mfa_token).toEqual(expect.any(String));
    expect(trip.fragment.methods?.split(',')).toContain('totp');
    expect(trip.fragment.login_token).toBeUndefined();
    expect(sessionCookie(trip.res)).toBeUndefined();
  });

  it('finishes with its authenticator, in a session whose amr has both', async () => {
    const user = await userWithTotp();
    person(google, { email: user.email });
    const trip = await signInVia(ctx, 'google');
    const code = await generateTotp({
      secret: user.secret,
      epoch: Math.floor(ctx.clock.now() / 1000),
    });
    const verified = await ctx.request('POST', '/v1/auth/mfa/verify', {
      body: { mfa_token: trip.fragment.mfa_token, method: 'totp', code },
    });
    expect(verified.status).toBe(200);
    const cookie = setCookieOf(verified, 'gatehouse_session')!.value;
    const sessions = await ctx.request('GET', '/v1/auth/sessions', {
      cookies: { gatehouse_session: cookie },
    });
    const current = sessions.body.data.find((s: { current: boolean }) => s.current);
    expect(current.amr).toEqual(expect.arrayContaining(['oauth:google', 'totp']));
  });
});

describe('Google', () => {
  it('signs a new user in from the claims in its ID token, with amr oauth:google', async () => {
    const { email } = person(google, { given_name: 'Ada', family_name: 'Byron' });
    const trip = await signInVia(ctx, 'google', { mode: 'token' });
    const tokens = await exchange(trip.fragment.login_token!);
    const me = await ctx.request('GET', '/v1/me', { token: tokens.body.access_token });
    expect(me.body).toMatchObject({ email, first_name: 'Ada', last_name: 'Byron' });
    const sessions = await ctx.request('GET', '/v1/auth/sessions', {
      token: tokens.body.access_token,
    });
    expect(sessions.body.data[0].amr).toEqual(['oauth:google']);
  });

  it('joins the account an OIDC provider made for the same verified email', async () => {
    const { email } = person(corp);
    const viaCorp = await exchange(
      (await signInVia(ctx, 'oidc:corp', { mode: 'token' })).fragment.login_token!,
    );
    person(google, { email });
    const viaGoogle = await exchange(
      (await signInVia(ctx, 'google', { mode: 'token' })).fragment.login_token!,
    );
    const a = await ctx.request('GET', '/v1/me', { token: viaCorp.body.access_token });
    const b = await ctx.request('GET', '/v1/me', { token: viaGoogle.body.access_token });
    expect(b.body.id).toBe(a.body.id);
    const providers = (await identitiesOf(viaGoogle.body.access_token)).map(
      (i: { provider: string }) => i.provider,
    );
    expect(providers.sort()).toEqual(['google', 'oidc:corp']);
  });
});

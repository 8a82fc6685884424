import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GithubEmail,
  startGithubServer,
  type TestGithubServer,
} from '../../../test/github-server';
import {
  createTestContext,
  expectProblem,
  setCookieOf,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';
import { APP_ORIGIN, callbackUrl, providerEnv, signInVia } from '../../../test/oauth-browser';

/**
 * Sign-in with GitHub (plain OAuth 2 with PKCE; who the user is comes from its REST API),
 * against a stand-in speaking GitHub's endpoints on loopback. Only the primary address, and
 * only when GitHub verified it, may create or join an account.
 */

let ctx: TestContext;
let github: TestGithubServer;
beforeAll(async () => {
  github = await startGithubServer({
    clientId: 'Iv1.gatehouse',
    clientSecret: 'github-secret',
    redirectUri: callbackUrl('github'),
  });
  ctx = await createTestContext({ env: providerEnv({ github }) });
});
afterAll(async () => {
  await ctx?.close();
  await github?.close();
});

let nextId = 1000;
/** A GitHub user, chosen as the next to sign in. */
function githubUser(input: { name?: string | null; emails?: GithubEmail[] } = {}) {
  const id = nextId++;
  const email = uniqueEmail('gh');
  const user = {
    id,
    login: `octo${id}`,
    name: input.name === undefined ? 'Mona Lisa Octocat' : input.name,
    emails: input.emails ?? [{ email, primary: true, verified: true }],
  };
  github.users.set(id, user);
  github.signInAs(id);
  return { id, email: user.emails.find((e) => e.primary)?.email ?? email };
}

const exchange = (loginToken: string) =>
  ctx.request('POST', '/v1/auth/oauth/exchange', { body: { login_token: loginToken } });
async function signInForTokens() {
  const trip = await signInVia(ctx, 'github', { mode: 'token' });
  const tokens = await exchange(trip.fragment.login_token!);
  if (tokens.status !== 200) throw new Error(`exchange failed: ${tokens.text}`);
  return tokens.body as { access_token: string };
}
const usersWithEmail = (email: string) =>
  ctx.database.db.selectFrom('users').select('id').where('email', '=', email).execute();

describe('a GitHub user with a verified primary email', () => {
  it('becomes a new verified user named after the GitHub profile', async () => {
    const { email } = githubUser({ name: 'Mona Lisa Octocat' });
    const tokens = await signInForTokens();
    const me = await ctx.request('GET', '/v1/me', { token: tokens.access_token });
    expect(me.body).toMatchObject({
      email,
      first_name: 'Mona',
      last_name: 'Lisa Octocat',
      email_verified: true,
      has_password: false,
    });
  });

  it('gets a first name from the email when GitHub has no name', async () => {
    const { email } = githubUser({ name: null });
    const tokens = await signInForTokens();
    const me = await ctx.request('GET', '/v1/me', { token: tokens.access_token });
    expect(me.body.first_name).toBe(email.split('@')[0]);
  });

  it('opens a session whose amr is oauth:github', async () => {
    githubUser();
    const tokens = await signInForTokens();
    const sessions = await ctx.request('GET', '/v1/auth/sessions', { token: tokens.access_token });
    expect(sessions.body.data[0].amr).toEqual(['oauth:github']);
  });

  it('signs the browser in with cookies in cookie mode', async () => {
    const { email } = githubUser();
    const trip = await signInVia(ctx, 'github', { return_to: `${APP_ORIGIN}/home` });
    expect(trip.location).toBe(`${APP_ORIGIN}/home`);
    const me = await ctx.request('GET', '/v1/me', {
      cookies: { gatehouse_session: setCookieOf(trip.res, 'gatehouse_session')!.value },
    });
    expect(me.body.email).toBe(email);
  });

  it('proved the code with its PKCE verifier and client secret at the token endpoint', async () => {
    const { id } = githubUser();
    const before = github.exchanges.length;
    await signInForTokens();
    // the stand-in accepts a code only with the verifier of the challenge it was issued for
    expect(github.exchanges.slice(before)).toEqual([{ userId: id, clientAuth: 'post' }]);
  });

  it('joins an existing password account with that email', async () => {
    const user = await ctx.signUp();
    githubUser({ emails: [{ email: user.email, primary: true, verified: true }] });
    const tokens = await signInForTokens();
    const me = await ctx.request('GET', '/v1/me', { token: tokens.access_token });
    expect(me.body.id).toBe(user.userId);
    const identities = await ctx.request('GET', '/v1/me/identities', { token: user.accessToken });
    expect(identities.body.data).toMatchObject([{ provider: 'github', email: user.email }]);
  });

  it('signs in to the same account next time, whatever its primary email has become', async () => {
    const { id } = githubUser();
    const first = await signInForTokens();
    github.users.get(id)!.emails = [
      { email: uniqueEmail('gh-new'), primary: true, verified: false },
    ];
    const second = await signInForTokens();
    const a = await ctx.request('GET', '/v1/me', { token: first.access_token });
    const b = await ctx.request('GET', '/v1/me', { token: second.access_token });
    expect(b.body.id).toBe(a.body.id);
  });
});

describe('a GitHub user without a verified primary email', () => {
  it('is refused when the primary email is unverified', async () => {
    const { email } = githubUser({
      emails: [{ email: uniqueEmail('gh'), primary: true, verified: false }],
    });
    const trip = await signInVia(ctx, 'github', { return_to: `${APP_ORIGIN}/cb` });
    expect(trip.location).toBe(`${APP_ORIGIN}/cb#error=oauth_email_unverified`);
    expect(setCookieOf(trip.res, 'gatehouse_session')).toBeUndefined();
    expect(await usersWithEmail(email)).toEqual([]);
  });

  it('does not fall back to a verified secondary email', async () => {
    const secondary = uniqueEmail('gh-secondary');
    githubUser({
      emails: [
        { email: uniqueEmail('gh'), primary: true, verified: false },
        { email: secondary, primary: false, verified: true },
      ],
    });
    const trip = await signInVia(ctx, 'github');
    expect(trip.fragment).toEqual({ error: 'oauth_email_unverified' });
    expect(await usersWithEmail(secondary)).toEqual([]);
  });

  it('does not join an existing account whose email is its unverified primary', async () => {
    const user = await ctx.signUp();
    githubUser({ emails: [{ email: user.email, primary: true, verified: false }] });
    const trip = await signInVia(ctx, 'github');
    expect(trip.fragment).toEqual({ error: 'oauth_email_unverified' });
    const identities = await ctx.request('GET', '/v1/me/identities', { token: user.accessToken });
    expect(identities.body.data).toEqual([]);
  });

  it('is refused when GitHub lists no email at all', async () => {
    githubUser({ emails: [] });
    const trip = await signInVia(ctx, 'github');
    expect(trip.fragment).toEqual({ error: 'oauth_email_unverified' });
  });
});

describe('GitHub failing', () => {
  it('sends the browser back with oauth_failed when its API answers an error', async () => {
    githubUser();
    github.failEmailsWith(502);
    try {
      const trip = await signInVia(ctx, 'github', { return_to: `${APP_ORIGIN}/cb` });
      expect(trip.location).toBe(`${APP_ORIGIN}/cb#error=oauth_failed`);
      expect(setCookieOf(trip.res, 'gatehouse_session')).toBeUndefined();
    } finally {
      github.failEmailsWith(200);
    }
  });

  it('sends the browser back with oauth_failed when the user declines', async () => {
    github.denyNext();
    const trip = await signInVia(ctx, 'github', { return_to: `${APP_ORIGIN}/cb` });
    expect(trip.callbackPath).toContain('error=access_denied');
    expect(trip.location).toBe(`${APP_ORIGIN}/cb#error=oauth_failed`);
  });

  it('answers 404 for GitHub when it is not configured', async () => {
    const bare = await createTestContext();
    try {
      expectProblem(
        await bare.request('GET', '/v1/auth/oauth/github/start'),
        404,
        'oauth_provider_unknown',
      );
    } finally {
      await bare.close();
    }
  });
});

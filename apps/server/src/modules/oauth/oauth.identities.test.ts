import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGithubServer, type TestGithubServer } from '../../../test/github-server';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';
import {
  APP_ORIGIN,
  auditOf,
  callbackUrl,
  completeAtProvider,
  providerEnv,
  signInVia,
} from '../../../test/oauth-browser';
import { startOidcProvider, type TestOidcProvider } from '../../../test/oidc-provider';

/**
 * The provider identities of the signed-in user: listing, linking one while signed in (the
 * state names the user; any email the provider has will do, since the user proved who they
 * are here), and unlinking, never the last way in.
 */

let ctx: TestContext;
let corp: TestOidcProvider;
let github: TestGithubServer;
beforeAll(async () => {
  corp = await startOidcProvider({
    clientId: 'corp-client',
    clientSecret: 'corp-secret',
    redirectUris: [callbackUrl('oidc:corp')],
  });
  github = await startGithubServer({
    clientId: 'Iv1.gatehouse',
    clientSecret: 'github-secret',
    redirectUri: callbackUrl('github'),
  });
  ctx = await createTestContext({ env: providerEnv({ corp, github }) });
});
afterAll(async () => {
  await ctx?.close();
  await corp?.close();
  await github?.close();
});

let nextId = 5000;
/** A GitHub user with its own (verified) primary email, chosen as the next to sign in. */
function githubUser(email = uniqueEmail('gh'), verified = true) {
  const id = nextId++;
  github.users.set(id, {
    id,
    login: `octo${id}`,
    name: 'Octo Cat',
    emails: [{ email, primary: true, verified }],
  });
  github.signInAs(id);
  return { id, email };
}
/** A corp person with a verified email, chosen as the next to sign in. */
function corpPerson(email = uniqueEmail('corp')) {
  const sub = `corp-${nextId++}`;
  corp.accounts.set(sub, { email, email_verified: true, given_name: 'Cor', family_name: 'Porate' });
  corp.signInAs(sub);
  return { sub, email };
}

const identities = async (user: { accessToken: string }) =>
  (await ctx.request('GET', '/v1/me/identities', { token: user.accessToken })).body.data as {
    id: string;
    provider: string;
    email: string | null;
  }[];
const startLink = (user: SignedIn, provider: string, returnTo = `${APP_ORIGIN}/settings`) =>
  ctx.request('POST', '/v1/me/identities', {
    token: user.accessToken,
    body: { provider, return_to: returnTo },
  });
/** Starts a link, goes through the provider, and redeems the link token as the same user. */
async function link(user: SignedIn, provider: string) {
  const started = await startLink(user, provider);
  if (started.status !== 200) throw new Error(`link start failed: ${started.text}`);
  const trip = await completeAtProvider(ctx, provider, started.body.authorization_url);
  const confirmed = trip.fragment.link_token
    ? await confirm(user, trip.fragment.link_token)
    : undefined;
  return { ...trip, confirmed };
}
const confirm = (user: { accessToken: string }, linkToken: string) =>
  ctx.request('POST', '/v1/me/identities/confirm', {
    token: user.accessToken,
    body: { link_token: linkToken },
  });
const unlink = (user: { accessToken: string }, identityId: string) =>
  ctx.request('DELETE', `/v1/me/identities/${identityId}`, { token: user.accessToken });

/** A user made by signing in with corp: no password, one identity. */
async function providerOnlyUser(): Promise<SignedIn> {
  const { email } = corpPerson();
  const trip = await signInVia(ctx, 'oidc:corp', { mode: 'token' });
  const tokens = await ctx.request('POST', '/v1/auth/oauth/exchange', {
    body: { login_token: trip.fragment.login_token },
  });
  const me = await ctx.request('GET', '/v1/me', { token: tokens.body.access_token });
  return {
    email,
    password: '',
    accessToken: tokens.body.access_token,
    refreshToken: tokens.body.refresh_token,
    sessionId: tokens.body.session_id,
    userId: me.body.id,
  };
}

describe('listing', () => {
  it('needs a signed-in caller', async () => {
    expectProblem(await ctx.request('GET', '/v1/me/identities'), 401, 'unauthenticated');
  });

  it('is empty for a password user', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('GET', '/v1/me/identities', { token: user.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], next_cursor: null });
  });
});

describe('linking while signed in', () => {
  it('answers the provider URL to send the browser to', async () => {
    const user = await ctx.signUp();
    const res = await startLink(user, 'github');
    expect(res.status).toBe(200);
    const url = new URL(res.body.authorization_url);
    expect(url.origin + url.pathname).toBe(`${github.url}/login/oauth/authorize`);
    expect(url.searchParams.get('redirect_uri')).toBe(callbackUrl('github'));
  });

  it('sends the browser back with a link token that the same user redeems', async () => {
    const user = await ctx.signUp();
    const { email } = githubUser();
    const trip = await link(user, 'github');
    expect(trip.location).toMatch(
      new RegExp(`^${APP_ORIGIN}/settings#link_token=[\\w-]+&provider=github$`),
    );
    expect(trip.confirmed?.status, trip.confirmed?.text).toBe(201);
    expect(trip.confirmed?.body).toMatchObject({ provider: 'github', email });
    expect(await identities(user)).toMatchObject([{ provider: 'github', email }]);
    // once only
    expectProblem(await confirm(user, trip.fragment.link_token!), 401, 'invalid_token');
  });

  it('links nothing until the link token is redeemed, and only by the user who started it', async () => {
    const attacker = await ctx.signUp();
    githubUser();
    const started = await startLink(attacker, 'github');
    // the victim's browser goes through the provider (lured by the attacker) ...
    const trip = await completeAtProvider(ctx, 'github', started.body.authorization_url);
    expect(await identities(attacker)).toEqual([]);
    // ... and the victim's own app, redeeming what landed in the victim's browser, is refused
    const victim = await ctx.signUp();
    expectProblem(await confirm(victim, trip.fragment.link_token!), 401, 'invalid_token');
    expect(await identities(attacker)).toEqual([]);
    expect(await identities(victim)).toEqual([]);
  });

  it('links an identity whose email is not the account’s and not verified', async () => {
    const user = await ctx.signUp();
    githubUser(uniqueEmail('elsewhere'), false);
    const trip = await link(user, 'github');
    expect(trip.confirmed?.status).toBe(201);
    expect(await identities(user)).toHaveLength(1);
  });

  it('lets the linked identity sign the user in afterwards', async () => {
    const user = await ctx.signUp();
    githubUser(uniqueEmail('elsewhere'), false);
    await link(user, 'github');
    const trip = await signInVia(ctx, 'github', { mode: 'token' });
    const tokens = await ctx.request('POST', '/v1/auth/oauth/exchange', {
      body: { login_token: trip.fragment.login_token },
    });
    const me = await ctx.request('GET', '/v1/me', { token: tokens.body.access_token });
    expect(me.body.id).toBe(user.userId);
  });

  it('records user.identity_linked with the provider and identity', async () => {
    const user = await ctx.signUp();
    corpPerson();
    await link(user, 'oidc:corp');
    const [identity] = await identities(user);
    const events = (await auditOf(ctx, user.userId)).filter(
      (e) => e.action === 'user.identity_linked',
    );
    expect(events).toEqual([
      {
        action: 'user.identity_linked',
        actor_id: user.userId,
        changes: expect.objectContaining({ provider: 'oidc:corp', identity_id: identity!.id }),
      },
    ]);
  });

  it('does nothing new when the identity is already the user’s', async () => {
    const user = await ctx.signUp();
    githubUser();
    await link(user, 'github');
    const again = await link(user, 'github');
    expect(again.confirmed?.status).toBe(201);
    expect(await identities(user)).toHaveLength(1);
  });

  it('refuses an identity that belongs to another user', async () => {
    const owner = await ctx.signUp();
    githubUser();
    await link(owner, 'github');
    const other = await ctx.signUp();
    const trip = await link(other, 'github');
    expect(trip.location).toBe(`${APP_ORIGIN}/settings#error=identity_linked_elsewhere`);
    expect(await identities(other)).toEqual([]);
    expect(await identities(owner)).toHaveLength(1);
  });

  it('refuses a return address that is not allowed', async () => {
    const user = await ctx.signUp();
    expectProblem(
      await startLink(user, 'github', 'https://evil.example/x'),
      400,
      'redirect_not_allowed',
    );
  });

  it('answers 404 for a provider that is not configured', async () => {
    const user = await ctx.signUp();
    expectProblem(await startLink(user, 'google'), 404, 'oauth_provider_unknown');
  });

  it('needs a recent sign-in', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(11 * 60 * 1000);
    const refreshed = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    expectProblem(
      await startLink({ ...user, accessToken: refreshed.body.access_token }, 'github'),
      401,
      'step_up_required',
    );
  });

  it('refuses to finish for a user suspended in the meantime', async () => {
    const user = await ctx.signUp();
    githubUser();
    const started = await startLink(user, 'github');
    await ctx.database.db
      .updateTable('users')
      .set({ status: 'suspended' })
      .where('id', '=', user.userId)
      .execute();
    const trip = await completeAtProvider(ctx, 'github', started.body.authorization_url);
    expect(trip.fragment).toEqual({ error: 'user_inactive' });
    const stored = await ctx.database.db
      .selectFrom('user_identities')
      .select('id')
      .where('user_id', '=', user.userId)
      .execute();
    expect(stored).toEqual([]);
  });
});

describe('unlinking', () => {
  it('removes the identity and records user.identity_unlinked', async () => {
    const user = await ctx.signUp();
    githubUser();
    await link(user, 'github');
    const [identity] = await identities(user);
    const res = await unlink(user, identity!.id);
    expect(res.status).toBe(204);
    expect(await identities(user)).toEqual([]);
    const events = await auditOf(ctx, user.userId);
    expect(events.at(-1)).toMatchObject({
      action: 'user.identity_unlinked',
      changes: { identity_id: identity!.id, provider: 'github' },
    });
  });

  it('stops the identity from signing in to the account', async () => {
    const user = await ctx.signUp();
    githubUser(uniqueEmail('elsewhere'), false);
    await link(user, 'github');
    await unlink(user, (await identities(user))[0]!.id);
    const trip = await signInVia(ctx, 'github');
    // unknown again, and its unverified email may not make or join an account
    expect(trip.fragment).toEqual({ error: 'oauth_email_unverified' });
  });

  it('refuses to remove the only way in of a user without a password', async () => {
    const user = await providerOnlyUser();
    const [identity] = await identities(user);
    expectProblem(await unlink(user, identity!.id), 409, 'last_sign_in_method');
    expect(await identities(user)).toHaveLength(1);
  });

  it('lets a user without a password remove one of two identities, not the second', async () => {
    const user = await providerOnlyUser();
    githubUser();
    await link(user, 'github');
    const [first, second] = await identities(user);
    expect((await unlink(user, first!.id)).status).toBe(204);
    expectProblem(await unlink(user, second!.id), 409, 'last_sign_in_method');
  });

  it('lets a user with a password remove their only identity', async () => {
    const user = await ctx.signUp();
    corpPerson();
    await link(user, 'oidc:corp');
    const [identity] = await identities(user);
    expect((await unlink(user, identity!.id)).status).toBe(204);
  });

  it('answers 404 for another user’s identity and leaves it alone', async () => {
    const owner = await ctx.signUp();
    githubUser();
    await link(owner, 'github');
    const [identity] = await identities(owner);
    const other = await ctx.signUp();
    expectProblem(await unlink(other, identity!.id), 404, 'not_found');
    expect(await identities(owner)).toHaveLength(1);
  });
});

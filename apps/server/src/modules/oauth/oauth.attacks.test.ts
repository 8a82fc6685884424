import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGithubServer, type TestGithubServer } from '../../../test/github-server';
import {
  createTestContext,
  expectProblem,
  setCookieOf,
  type TestContext,
  type TestResponse,
  uniqueEmail,
} from '../../../test/harness';
import {
  APP_ORIGIN,
  browseUntil,
  callbackUrl,
  completeAtProvider,
  cookiesOf,
  providerEnv,
  signInVia,
} from '../../../test/oauth-browser';
import { startOidcProvider, type TestOidcProvider } from '../../../test/oidc-provider';
import { platformAdmin } from '../../../test/seed';

/**
 * What an attacker can try against the provider sign-in: forged, replayed, expired and
 * cross-provider states; a callback URL sent to someone else's browser (login CSRF); a code
 * injected into another sign-in (PKCE, nonce); a forged issuer; foreign return addresses;
 * unknown providers; declined consent; suspended users.
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

let n = 0;
function corpPerson(email = uniqueEmail('corp')) {
  const sub = `attack-${n++}`;
  corp.accounts.set(sub, { email, email_verified: true, given_name: 'Eve', family_name: 'E' });
  corp.signInAs(sub);
  return { sub, email };
}
function githubUser(email = uniqueEmail('gh')) {
  const id = 9000 + n++;
  github.users.set(id, {
    id,
    login: `u${id}`,
    name: 'G H',
    emails: [{ email, primary: true, verified: true }],
  });
  github.signInAs(id);
  return { id, email };
}

/** GET /start as a fresh browser; answers the authorization URL and that browser's cookies. */
async function start(provider: string, query = '') {
  const res = await ctx.request('GET', `/v1/auth/oauth/${provider}/start${query}`);
  expect(res.status).toBe(302);
  return { res, url: new URL(String(res.headers.location)), cookies: cookiesOf(res) };
}
/** Takes a started sign-in through the provider, stopping before our callback. */
const throughProvider = async (provider: string, url: URL) => {
  const back = await browseUntil(url.href, callbackUrl(provider));
  return { back, path: back.pathname + back.search };
};
const callback = (path: string, cookies: Record<string, string>) =>
  ctx.request('GET', path, { cookies });
const sessionCookie = (res: TestResponse) => setCookieOf(res, 'gatehouse_session')?.value;

describe('what the authorization request carries', () => {
  it('sends PKCE (S256), state and nonce to an OpenID Connect provider', async () => {
    const { url } = await start('oidc:corp');
    const q = url.searchParams;
    expect(url.origin).toBe(corp.issuer);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe('corp-client');
    expect(q.get('redirect_uri')).toBe(callbackUrl('oidc:corp'));
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{32,}$/);
  });

  it('sends PKCE (S256) and state to GitHub', async () => {
    const { url } = await start('github');
    const q = url.searchParams;
    expect(url.origin + url.pathname).toBe(`${github.url}/login/oauth/authorize`);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{32,}$/);
  });

  it('uses a fresh state, nonce and challenge for every sign-in', async () => {
    const a = (await start('oidc:corp')).url.searchParams;
    const b = (await start('oidc:corp')).url.searchParams;
    for (const name of ['state', 'nonce', 'code_challenge'])
      expect(a.get(name)).not.toBe(b.get(name));
  });

  it('keeps the state only as a hash, and the verifier matching the challenge sent', async () => {
    const { url } = await start('oidc:corp');
    const state = url.searchParams.get('state')!;
    const rows = await ctx.database.db.selectFrom('oauth_states').selectAll().execute();
    expect(rows.some((r) => r.state_hash === state)).toBe(false);
    const row = rows.find((r) => r.state_hash === createHash('sha256').update(state).digest('hex'));
    expect(row).toBeDefined();
    expect(createHash('sha256').update(row!.code_verifier).digest('base64url')).toBe(
      url.searchParams.get('code_challenge'),
    );
    expect(row!.nonce).toBe(url.searchParams.get('nonce'));
  });

  it('binds the sign-in to the browser with an httpOnly cookie for the OAuth routes only', async () => {
    const { res, url } = await start('oidc:corp');
    const binding = res.headers['set-cookie'];
    const line = (Array.isArray(binding) ? binding : [String(binding)]).find((l) =>
      l.startsWith('gatehouse_oauth_'),
    );
    expect(line).toBeDefined();
    const name = line!.slice(0, line!.indexOf('='));
    const cookie = setCookieOf(res, name)!;
    expect(cookie.value).toBe(url.searchParams.get('state'));
    expect(cookie.attributes).toMatchObject({
      httponly: true,
      samesite: 'Lax',
      path: '/v1/auth/oauth/',
    });
  });
});

describe('states that are not ours', () => {
  it('refuses a forged state with 400 and no redirect', async () => {
    corpPerson();
    const { url, cookies } = await start('oidc:corp');
    const { back } = await throughProvider('oidc:corp', url);
    back.searchParams.set('state', 'forged-state-value-forged-state-value');
    const res = await callback(back.pathname + back.search, cookies);
    expectProblem(res, 400, 'oauth_state_invalid');
    expect(res.headers.location).toBeUndefined();
  });

  it('refuses a callback without a state', async () => {
    expectProblem(
      await ctx.request('GET', '/v1/auth/oauth/oidc:corp/callback?code=abc'),
      400,
      'oauth_state_invalid',
    );
  });

  it('refuses a state used a second time, even with the same browser', async () => {
    corpPerson();
    const { url, cookies } = await start('oidc:corp');
    const { path } = await throughProvider('oidc:corp', url);
    expect((await callback(path, cookies)).status).toBe(302);
    expectProblem(await callback(path, cookies), 400, 'oauth_state_invalid');
  });

  it('refuses a state started for one provider at another, and leaves it usable', async () => {
    corpPerson();
    const { url, cookies } = await start('oidc:corp');
    const { back, path } = await throughProvider('oidc:corp', url);
    const atGithub = `/v1/auth/oauth/github/callback${back.search}`;
    expectProblem(await callback(atGithub, cookies), 400, 'oauth_state_invalid');
    const res = await callback(path, cookies);
    expect(res.status).toBe(302);
    expect(sessionCookie(res)).toBeTruthy();
  });

  it('refuses a state older than ten minutes', async () => {
    corpPerson();
    const { url, cookies } = await start('oidc:corp');
    const { path } = await throughProvider('oidc:corp', url);
    ctx.clock.advance(10 * 60 * 1000 + 1000);
    expectProblem(await callback(path, cookies), 400, 'oauth_state_invalid');
  });
});

describe('login CSRF: a callback URL opened in another browser', () => {
  it('is refused without the binding cookie of the browser that started it', async () => {
    corpPerson(); // the attacker's own account at the provider
    const { url, cookies } = await start('oidc:corp');
    const { path } = await throughProvider('oidc:corp', url);
    // the victim's browser has no cookie from the attacker's /start
    const victim = await callback(path, {});
    expectProblem(victim, 400, 'oauth_state_invalid');
    expect(sessionCookie(victim)).toBeUndefined();
    // a binding cookie of another sign-in does not do either
    const other = await start('oidc:corp');
    expectProblem(await callback(path, other.cookies), 400, 'oauth_state_invalid');
    // and the browser that started it can still finish
    expect(sessionCookie(await callback(path, cookies))).toBeTruthy();
  });

  it('is refused in token mode too: no login_token for the other browser', async () => {
    corpPerson();
    const { url } = await start('oidc:corp', '?mode=token');
    const { path } = await throughProvider('oidc:corp', url);
    const res = await callback(path, {});
    expectProblem(res, 400, 'oauth_state_invalid');
  });

  it('clears the binding cookie on the way back', async () => {
    corpPerson();
    const { url, cookies } = await start('oidc:corp');
    const { path } = await throughProvider('oidc:corp', url);
    const res = await callback(path, cookies);
    const name = Object.keys(cookies).find((k) => k.startsWith('gatehouse_oauth_'))!;
    expect(setCookieOf(res, name)?.value).toBe('');
  });
});

describe('codes and tokens that are not this sign-in’s', () => {
  it('fails a code injected into another sign-in (PKCE and nonce do not match)', async () => {
    corpPerson();
    const victim = await start('oidc:corp', `?return_to=${encodeURIComponent(`${APP_ORIGIN}/cb`)}`);
    const attacker = await start('oidc:corp');
    const victimBack = (await throughProvider('oidc:corp', victim.url)).back;
    const attackerBack = (await throughProvider('oidc:corp', attacker.url)).back;
    victimBack.searchParams.set('code', attackerBack.searchParams.get('code')!);
    const res = await callback(victimBack.pathname + victimBack.search, victim.cookies);
    expect(res.headers.location).toBe(`${APP_ORIGIN}/cb#error=oauth_failed`);
    expect(sessionCookie(res)).toBeUndefined();
  });

  it('fails a GitHub code injected into another sign-in (PKCE does not match)', async () => {
    githubUser();
    const victim = await start('github');
    const attacker = await start('github');
    const victimBack = (await throughProvider('github', victim.url)).back;
    const attackerBack = (await throughProvider('github', attacker.url)).back;
    victimBack.searchParams.set('code', attackerBack.searchParams.get('code')!);
    const res = await callback(victimBack.pathname + victimBack.search, victim.cookies);
    expect(String(res.headers.location)).toMatch(/#error=oauth_failed$/);
  });

  it('fails a response whose iss is not the provider’s (mix-up)', async () => {
    corpPerson();
    const { url, cookies } = await start('oidc:corp');
    const { back } = await throughProvider('oidc:corp', url);
    expect(back.searchParams.get('iss')).toBe(corp.issuer);
    back.searchParams.set('iss', 'https://evil.example');
    const res = await callback(back.pathname + back.search, cookies);
    expect(String(res.headers.location)).toMatch(/#error=oauth_failed$/);
  });
});

describe('where the browser may be sent back to', () => {
  for (const target of [
    'https://evil.example/',
    '//evil.example/path',
    'https://app.example.com.evil.example/',
    'https://user@app.example.com/',
    'javascript:alert(1)',
    '/\\evil.example',
  ]) {
    it(`refuses to start with return_to=${target}`, async () => {
      const res = await ctx.request(
        'GET',
        `/v1/auth/oauth/oidc:corp/start?return_to=${encodeURIComponent(target)}`,
      );
      expectProblem(res, 400, 'redirect_not_allowed');
      const states = await ctx.database.db
        .selectFrom('oauth_states')
        .select('return_to')
        .where('return_to', '=', target)
        .execute();
      expect(states).toEqual([]);
    });
  }
});

describe('providers that do not exist', () => {
  it('answers 404 oauth_provider_unknown at start', async () => {
    expectProblem(
      await ctx.request('GET', '/v1/auth/oauth/oidc:nope/start'),
      404,
      'oauth_provider_unknown',
    );
  });

  it('answers 404 oauth_provider_unknown at the callback', async () => {
    expectProblem(
      await ctx.request('GET', '/v1/auth/oauth/facebook/callback?state=x&code=y'),
      404,
      'oauth_provider_unknown',
    );
  });
});

describe('the person declines at the provider', () => {
  it('sends the browser back with oauth_failed and no session', async () => {
    corp.denyNext();
    try {
      const trip = await signInVia(ctx, 'oidc:corp', { return_to: `${APP_ORIGIN}/cb` });
      expect(new URL(`http://x${trip.callbackPath}`).searchParams.get('error')).toBe(
        'access_denied',
      );
      expect(trip.location).toBe(`${APP_ORIGIN}/cb#error=oauth_failed`);
      expect(sessionCookie(trip.res)).toBeUndefined();
    } finally {
      corpPerson();
    }
  });
});

describe('suspended users', () => {
  async function suspend(userId: string) {
    const admin = await platformAdmin(ctx);
    const res = await ctx.request('POST', `/v1/admin/users/${userId}/suspend`, {
      token: admin.accessToken,
    });
    expect(res.status).toBe(200);
  }

  it('cannot sign in through their provider identity', async () => {
    corpPerson();
    const first = await signInVia(ctx, 'oidc:corp', { mode: 'token' });
    const tokens = await ctx.request('POST', '/v1/auth/oauth/exchange', {
      body: { login_token: first.fragment.login_token },
    });
    const me = await ctx.request('GET', '/v1/me', { token: tokens.body.access_token });
    await suspend(me.body.id);
    const again = await signInVia(ctx, 'oidc:corp', { mode: 'token' });
    expect(again.fragment).toEqual({ error: 'user_inactive' });
    const cookie = await signInVia(ctx, 'oidc:corp');
    expect(cookie.fragment).toEqual({ error: 'user_inactive' });
    expect(sessionCookie(cookie.res)).toBeUndefined();
  });

  it('cannot exchange a login token issued before the suspension', async () => {
    corpPerson();
    const first = await signInVia(ctx, 'oidc:corp', { mode: 'token' });
    const tokens = await ctx.request('POST', '/v1/auth/oauth/exchange', {
      body: { login_token: first.fragment.login_token },
    });
    const me = await ctx.request('GET', '/v1/me', { token: tokens.body.access_token });
    const pending = await signInVia(ctx, 'oidc:corp', { mode: 'token' });
    await suspend(me.body.id);
    expectProblem(
      await ctx.request('POST', '/v1/auth/oauth/exchange', {
        body: { login_token: pending.fragment.login_token },
      }),
      403,
      'user_inactive',
    );
  });

  it('gets no new identity linked through a provider with their email', async () => {
    const user = await ctx.signUp();
    await suspend(user.userId);
    corpPerson(user.email);
    const trip = await signInVia(ctx, 'oidc:corp');
    expect(trip.fragment).toEqual({ error: 'user_inactive' });
    const stored = await ctx.database.db
      .selectFrom('user_identities')
      .select('id')
      .where('user_id', '=', user.userId)
      .execute();
    expect(stored).toEqual([]);
  });
});

describe('a link flow', () => {
  it('cannot be finished as a sign-in: it opens no session', async () => {
    const user = await ctx.signUp();
    corpPerson();
    const started = await ctx.request('POST', '/v1/me/identities', {
      token: user.accessToken,
      body: { provider: 'oidc:corp' },
    });
    const trip = await completeAtProvider(ctx, 'oidc:corp', started.body.authorization_url);
    expect(Object.keys(trip.fragment).sort()).toEqual(['link_token', 'provider']);
    expect(sessionCookie(trip.res)).toBeUndefined();
  });
});

import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';

/** Sign-in, access and refresh tokens, logout. SPEC §4; issue 2, item 6. */

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const login = (email: string, password: string) =>
  ctx.request('POST', '/v1/auth/login', { body: { email, password } });
const refresh = (refreshToken: string) =>
  ctx.request('POST', '/v1/auth/token/refresh', { body: { refresh_token: refreshToken } });
const me = (token: string) => ctx.request('GET', '/v1/me', { token });

describe('login', () => {
  it('answers a bearer access token and a refresh token for the right password', async () => {
    const user = await ctx.signUp();
    const res = await login(user.email, user.password);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      token_type: 'Bearer',
      access_token: expect.any(String),
      expires_in: 600,
      refresh_token: expect.any(String),
      session_id: expect.stringMatching(/^ses_/),
    });
  });

  it('gives an access token that works on GET /v1/me', async () => {
    const user = await ctx.signUp();
    const res = await login(user.email, user.password);
    const profile = await me(res.body.access_token);
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ id: user.userId, email: user.email });
  });

  it('matches the email whatever its case', async () => {
    const user = await ctx.signUp();
    expect((await login(user.email.toUpperCase(), user.password)).status).toBe(200);
  });

  it('refuses a wrong password with invalid_credentials', async () => {
    const user = await ctx.signUp();
    expectProblem(await login(user.email, 'Wrong-passw0rd!'), 401, 'invalid_credentials');
  });

  it('answers an unknown email exactly like a wrong password', async () => {
    const user = await ctx.signUp();
    const wrong = await login(user.email, 'Wrong-passw0rd!');
    const unknown = await login(uniqueEmail('nobody'), 'Wrong-passw0rd!');
    expectProblem(unknown, 401, 'invalid_credentials');
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
    expect(strip(unknown.body)).toEqual(strip(wrong.body));
  });

  it('refuses a suspended user who knows the password with user_inactive', async () => {
    const user = await ctx.signUp();
    await ctx.database.db
      .updateTable('users')
      .set({ status: 'suspended' })
      .where('id', '=', user.userId)
      .execute();
    ctx.gatehouse.rt.bus.publish(`user:${user.userId}`);
    expectProblem(await login(user.email, user.password), 403, 'user_inactive');
  });

  it('opens a new session on every sign-in', async () => {
    const user = await ctx.signUp();
    const a = await login(user.email, user.password);
    const b = await login(user.email, user.password);
    expect(a.body.session_id).not.toBe(b.body.session_id);
  });
});

describe('access tokens', () => {
  it('are refused without credentials as unauthenticated', async () => {
    expectProblem(await ctx.request('GET', '/v1/me'), 401, 'unauthenticated');
  });

  it('are refused when tampered with', async () => {
    const user = await ctx.signUp();
    const [h, p, s] = user.accessToken.split('.');
    const forged = `${h}.${p}.${s!.slice(0, -4)}${s!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expectProblem(await me(forged), 401, 'invalid_token');
  });

  it('are refused in an Authorization header that is not "Bearer <token>"', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('GET', '/v1/me', {
      headers: { authorization: `Token ${user.accessToken}` },
    });
    expectProblem(res, 401, 'invalid_token');
  });

  it('expire after 10 minutes', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(10 * 60 * 1000 + 1000);
    expectProblem(await me(user.accessToken), 401, 'invalid_token');
  });

  it('can be renewed with the refresh token after they expire', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(10 * 60 * 1000 + 1000);
    const next = await refresh(user.refreshToken);
    expect(next.status).toBe(200);
    expect((await me(next.body.access_token)).status).toBe(200);
  });

  it('verify against the published JWKS without calling Gatehouse again', async () => {
    const user = await ctx.signUp();
    const jwks = await ctx.request('GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.body.keys[0].d).toBeUndefined();
    const { payload } = await jwtVerify(user.accessToken, createLocalJWKSet(jwks.body), {
      currentDate: new Date(ctx.clock.now()),
    });
    expect(payload).toMatchObject({ sub: user.userId, sid: user.sessionId });
  });
});

describe('refresh', () => {
  it('answers a new token pair', async () => {
    const user = await ctx.signUp();
    const res = await refresh(user.refreshToken);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', session_id: user.sessionId });
    expect(res.body.refresh_token).not.toBe(user.refreshToken);
  });

  it('gives an access token that works', async () => {
    const user = await ctx.signUp();
    const res = await refresh(user.refreshToken);
    expect((await me(res.body.access_token)).status).toBe(200);
  });

  it('accepts the rotated refresh token in turn', async () => {
    const user = await ctx.signUp();
    const first = await refresh(user.refreshToken);
    const second = await refresh(first.body.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
  });

  /** Past the refresh reuse grace window (issue 10 #14; sessions.grace.test.ts covers it). */
  const pastGrace = () => ctx.clock.advance(31_000);

  it('refuses a refresh token used a second time with refresh_token_reused', async () => {
    const user = await ctx.signUp();
    await refresh(user.refreshToken);
    pastGrace();
    expectProblem(await refresh(user.refreshToken), 401, 'refresh_token_reused');
  });

  it('revokes the session on reuse: its access token is refused on the next request', async () => {
    const user = await ctx.signUp();
    const rotated = await refresh(user.refreshToken);
    expect((await me(rotated.body.access_token)).status).toBe(200);
    pastGrace();
    await refresh(user.refreshToken);
    expectProblem(await me(rotated.body.access_token), 401, 'session_revoked');
  });

  it('revokes the session on reuse: the rotated refresh token is refused too', async () => {
    const user = await ctx.signUp();
    const rotated = await refresh(user.refreshToken);
    pastGrace();
    await refresh(user.refreshToken);
    expectProblem(await refresh(rotated.body.refresh_token), 401, 'session_revoked');
  });

  it('leaves the user other sessions alone on reuse', async () => {
    const user = await ctx.signUp();
    const other = await login(user.email, user.password);
    await refresh(user.refreshToken);
    pastGrace();
    await refresh(user.refreshToken);
    expect((await me(other.body.access_token)).status).toBe(200);
  });

  it('refuses an unknown refresh token with invalid_token', async () => {
    expectProblem(await refresh('not-a-refresh-token'), 401, 'invalid_token');
  });

  it('refuses an access token offered as a refresh token', async () => {
    const user = await ctx.signUp();
    expectProblem(await refresh(user.accessToken), 401, 'invalid_token');
  });
});

describe('logout', () => {
  it('answers 204', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('POST', '/v1/auth/logout', { token: user.accessToken });
    expect(res.status).toBe(204);
  });

  it('refuses the access token right after with session_revoked', async () => {
    const user = await ctx.signUp();
    expect((await me(user.accessToken)).status).toBe(200); // cached as valid first
    await ctx.request('POST', '/v1/auth/logout', { token: user.accessToken });
    expectProblem(await me(user.accessToken), 401, 'session_revoked');
  });

  it('refuses the session refresh token afterwards', async () => {
    const user = await ctx.signUp();
    await ctx.request('POST', '/v1/auth/logout', { token: user.accessToken });
    expectProblem(await refresh(user.refreshToken), 401, 'session_revoked');
  });

  it('refuses a second logout with the same token', async () => {
    const user = await ctx.signUp();
    await ctx.request('POST', '/v1/auth/logout', { token: user.accessToken });
    const again = await ctx.request('POST', '/v1/auth/logout', { token: user.accessToken });
    expectProblem(again, 401, 'session_revoked');
  });

  it('keeps the user other sessions signed in', async () => {
    const user = await ctx.signUp();
    const other = await login(user.email, user.password);
    await ctx.request('POST', '/v1/auth/logout', { token: user.accessToken });
    expect((await me(other.body.access_token)).status).toBe(200);
  });

  it('requires a signed-in caller', async () => {
    expectProblem(await ctx.request('POST', '/v1/auth/logout'), 401, 'unauthenticated');
  });
});

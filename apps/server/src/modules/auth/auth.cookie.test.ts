import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  lastCodeFor,
  registerOnly,
  setCookieOf,
  type TestContext,
  type TestResponse,
} from '../../../test/harness';

/**
 * Browser mode: an httpOnly session cookie plus a readable CSRF cookie whose value must come back
 * as X-CSRF-Token on state-changing requests (double submit). SPEC §4; issue 2, item 6.
 */

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

interface Browser {
  res: TestResponse;
  session: string;
  csrf: string;
  cookies: Record<string, string>;
}

const flipLast = (s: string) => `${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`;

async function cookieLogin(c: TestContext = ctx): Promise<Browser> {
  const user = await c.signUp();
  const res = await c.request('POST', '/v1/auth/login', {
    body: { email: user.email, password: user.password, mode: 'cookie' },
  });
  if (res.status !== 200) throw new Error(`cookie login failed: ${res.status} ${res.text}`);
  const session = setCookieOf(res, 'gatehouse_session')!.value;
  const csrf = setCookieOf(res, 'gatehouse_csrf')!.value;
  return { res, session, csrf, cookies: { gatehouse_session: session, gatehouse_csrf: csrf } };
}

describe('cookie sign-in', () => {
  it('answers the session id and CSRF token, and no bearer tokens', async () => {
    const { res } = await cookieLogin();
    expect(res.body).toEqual({
      session_id: expect.stringMatching(/^ses_/),
      csrf_token: expect.any(String),
    });
  });

  it('sets an httpOnly, SameSite session cookie for the whole site', async () => {
    const { res } = await cookieLogin();
    const cookie = setCookieOf(res, 'gatehouse_session');
    expect(cookie?.attributes).toMatchObject({ httponly: true, samesite: 'Lax', path: '/' });
  });

  it('sets a CSRF cookie that scripts can read, equal to the answered csrf_token', async () => {
    const { res } = await cookieLogin();
    const cookie = setCookieOf(res, 'gatehouse_csrf');
    expect(cookie?.attributes.httponly).toBeUndefined();
    expect(cookie?.value).toBe(res.body.csrf_token);
  });

  it('does not mark the cookies Secure when the public URL is plain http', async () => {
    const { res } = await cookieLogin();
    expect(setCookieOf(res, 'gatehouse_session')?.attributes.secure).toBeUndefined();
  });

  it('signs the browser in on email verification too', async () => {
    const { email } = await registerOnly(ctx);
    const res = await ctx.request('POST', '/v1/auth/verify-email', {
      body: { email, code: await lastCodeFor(ctx, email, 'verify_email'), mode: 'cookie' },
    });
    expect(res.status).toBe(200);
    const session = setCookieOf(res, 'gatehouse_session')!.value;
    const me = await ctx.request('GET', '/v1/me', { cookies: { gatehouse_session: session } });
    expect(me.body.email).toBe(email);
  });
});

describe('requests with the session cookie', () => {
  it('reads GET /v1/me with only the cookie', async () => {
    const browser = await cookieLogin();
    const me = await ctx.request('GET', '/v1/me', {
      cookies: { gatehouse_session: browser.session },
    });
    expect(me.status).toBe(200);
  });

  it('lists the cookie session as the current one', async () => {
    const browser = await cookieLogin();
    const res = await ctx.request('GET', '/v1/auth/sessions', { cookies: browser.cookies });
    const current = res.body.data.find((s: { current: boolean }) => s.current);
    expect(current.id).toBe(browser.res.body.session_id);
  });

  it('refuses a cookie whose secret was altered with invalid_token', async () => {
    const browser = await cookieLogin();
    const forged = flipLast(browser.session);
    const me = await ctx.request('GET', '/v1/me', { cookies: { gatehouse_session: forged } });
    expectProblem(me, 401, 'invalid_token');
  });

  it('refuses a cookie made up from a bearer session id', async () => {
    const user = await ctx.signUp();
    const me = await ctx.request('GET', '/v1/me', {
      cookies: { gatehouse_session: `${user.sessionId}.guess` },
    });
    expectProblem(me, 401, 'invalid_token');
  });

  it('refuses a cookie without the id part', async () => {
    const me = await ctx.request('GET', '/v1/me', { cookies: { gatehouse_session: 'garbage' } });
    expectProblem(me, 401, 'invalid_token');
  });
});

describe('CSRF protection', () => {
  it('refuses POST /v1/auth/logout without X-CSRF-Token', async () => {
    const browser = await cookieLogin();
    const res = await ctx.request('POST', '/v1/auth/logout', { cookies: browser.cookies });
    expectProblem(res, 403, 'csrf_failed');
  });

  it('refuses POST /v1/auth/logout with a wrong X-CSRF-Token', async () => {
    const browser = await cookieLogin();
    const res = await ctx.request('POST', '/v1/auth/logout', {
      cookies: browser.cookies,
      // Same length as the real one, so the refusal is not just a length check.
      headers: { 'x-csrf-token': flipLast(browser.csrf) },
    });
    expectProblem(res, 403, 'csrf_failed');
  });

  it('refuses the CSRF token of another session', async () => {
    const mine = await cookieLogin();
    const theirs = await cookieLogin();
    const res = await ctx.request('POST', '/v1/auth/logout', {
      cookies: mine.cookies,
      headers: { 'x-csrf-token': theirs.csrf },
    });
    expectProblem(res, 403, 'csrf_failed');
  });

  it('keeps the session signed in after a refused logout', async () => {
    const browser = await cookieLogin();
    await ctx.request('POST', '/v1/auth/logout', { cookies: browser.cookies });
    const me = await ctx.request('GET', '/v1/me', { cookies: browser.cookies });
    expect(me.status).toBe(200);
  });

  it('refuses PATCH /v1/me without X-CSRF-Token and changes nothing', async () => {
    const browser = await cookieLogin();
    const res = await ctx.request('PATCH', '/v1/me', {
      cookies: browser.cookies,
      body: { first_name: 'Mallory' },
    });
    expectProblem(res, 403, 'csrf_failed');
    const me = await ctx.request('GET', '/v1/me', { cookies: browser.cookies });
    expect(me.body.first_name).not.toBe('Mallory');
  });

  it('accepts PATCH /v1/me with the right X-CSRF-Token', async () => {
    const browser = await cookieLogin();
    const res = await ctx.request('PATCH', '/v1/me', {
      cookies: browser.cookies,
      headers: { 'x-csrf-token': browser.csrf },
      body: { first_name: 'Grace' },
    });
    expect(res.status).toBe(200);
    expect(res.body.first_name).toBe('Grace');
  });

  it('accepts POST /v1/auth/logout with the right X-CSRF-Token', async () => {
    const browser = await cookieLogin();
    const res = await ctx.request('POST', '/v1/auth/logout', {
      cookies: browser.cookies,
      headers: { 'x-csrf-token': browser.csrf },
    });
    expect(res.status).toBe(204);
  });

  it('refuses DELETE /v1/auth/sessions without X-CSRF-Token', async () => {
    const browser = await cookieLogin();
    const res = await ctx.request('DELETE', '/v1/auth/sessions', { cookies: browser.cookies });
    expectProblem(res, 403, 'csrf_failed');
  });
});

describe('cookie logout', () => {
  it('refuses the cookie right after with session_revoked', async () => {
    const browser = await cookieLogin();
    await ctx.request('POST', '/v1/auth/logout', {
      cookies: browser.cookies,
      headers: { 'x-csrf-token': browser.csrf },
    });
    const me = await ctx.request('GET', '/v1/me', { cookies: browser.cookies });
    expectProblem(me, 401, 'session_revoked');
  });

  it('clears both cookies', async () => {
    const browser = await cookieLogin();
    const res = await ctx.request('POST', '/v1/auth/logout', {
      cookies: browser.cookies,
      headers: { 'x-csrf-token': browser.csrf },
    });
    for (const name of ['gatehouse_session', 'gatehouse_csrf']) {
      const cleared = setCookieOf(res, name);
      expect(cleared?.value).toBe('');
      expect(new Date(String(cleared?.attributes.expires)).getTime()).toBeLessThan(Date.now());
    }
  });
});

describe('cookies behind https', () => {
  let secure: TestContext;
  beforeAll(async () => {
    secure = await createTestContext({ env: { PUBLIC_URL: 'https://id.example.com' } });
  });
  afterAll(async () => {
    await secure?.close();
  });

  it('marks both cookies Secure when the public URL is https', async () => {
    const { res } = await cookieLogin(secure);
    expect(setCookieOf(res, 'gatehouse_session')?.attributes.secure).toBe(true);
    expect(setCookieOf(res, 'gatehouse_csrf')?.attributes.secure).toBe(true);
  });
});

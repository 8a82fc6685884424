import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  lastCodeFor,
  type SignedIn,
  STRONG_PASSWORD,
  setCookieOf,
  type TestContext,
  type TestResponse,
  uniqueEmail,
} from '../harness';
import { addMember, createOrg, platformAdmin } from '../seed';

/**
 * Attacks on sign-in, each as an attacker would run it against the public API, and what they
 * must get: nothing to go on (the same answer for every account), nothing that lasts (a revoked
 * or cut session stays dead), and no way around the limits.
 */

let ctx: TestContext;
/** the real limits (rateLimitScale 1), for the attacks that the limits must stop */
let limited: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
  limited = await createTestContext({ rateLimitScale: 1 });
});
afterAll(async () => {
  await ctx?.close();
  await limited?.close();
});

let lastOctet = 0;
const newAddress = () => `198.51.100.${++lastOctet}`;
const WRONG = 'Wrong-passw0rd!';

/**
 * Registers and verifies a user from an address of its own: setting up the attacks on `limited`
 * must not spend the per-address allowances (10 registrations a minute) of 127.0.0.1.
 */
async function signUpFrom(c: TestContext): Promise<{ email: string; password: string }> {
  const email = uniqueEmail('victim');
  const remoteAddress = newAddress();
  const registered = await c.request('POST', '/v1/auth/register', {
    body: { email, password: STRONG_PASSWORD, first_name: 'Vic', last_name: 'Tim' },
    remoteAddress,
  });
  if (registered.status !== 202) throw new Error(`register: ${registered.status}`);
  const verified = await c.request('POST', '/v1/auth/verify-email', {
    body: { email, code: await c.lastCode(email) },
    remoteAddress,
  });
  if (verified.status !== 200) throw new Error(`verify: ${verified.status}`);
  return { email, password: STRONG_PASSWORD };
}

const login = (c: TestContext, email: string, password: string, remoteAddress?: string) =>
  c.request('POST', '/v1/auth/login', { body: { email, password }, remoteAddress });
const refresh = (c: TestContext, refreshToken: string) =>
  c.request('POST', '/v1/auth/token/refresh', { body: { refresh_token: refreshToken } });

/** What a client can tell two answers apart by: status, type and body (the request id aside). */
function answer(res: TestResponse) {
  const { request_id: _id, ...body } = (res.body ?? {}) as Record<string, unknown>;
  return {
    status: res.status,
    type: String(res.headers['content-type'] ?? ''),
    body,
    retryAfter: res.headers['retry-after'],
  };
}

function expectNoTokens(res: TestResponse) {
  expect(res.body?.access_token).toBeUndefined();
  expect(res.body?.refresh_token).toBeUndefined();
  expect(res.text).not.toMatch(/eyJ/); // no JWT anywhere in the answer
}

describe('password spraying: one password tried on many accounts from one address', () => {
  it('is stopped by the per-address limit before it gets far', async () => {
    const address = newAddress();
    const accounts = await Promise.all([1, 2, 3, 4, 5].map(() => signUpFrom(limited)));
    // 30 tries a minute, never twice at one account (so no account limit helps)
    for (let i = 0; i < 30; i++) {
      const email = accounts[i % 5]!.email.replace('@', `+${i}@`);
      expectProblem(await login(limited, email, WRONG, address), 401, 'invalid_credentials');
    }
    for (const account of accounts) {
      const res = await login(limited, account.email, WRONG, address);
      expectProblem(res, 429, 'rate_limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('learns nothing from the blocked address, even with a right password', async () => {
    const address = newAddress();
    for (let i = 0; i < 30; i++) await login(limited, uniqueEmail('spray'), WRONG, address);
    const victim = await signUpFrom(limited);
    const res = await login(limited, victim.email, victim.password, address);
    expectProblem(res, 429, 'rate_limited');
    expectNoTokens(res);
  });

  it('leaves the accounts it sprayed open to their owners elsewhere', async () => {
    const address = newAddress();
    const victim = await signUpFrom(limited);
    for (let i = 0; i < 31; i++) await login(limited, uniqueEmail('spray'), WRONG, address);
    expect((await login(limited, victim.email, victim.password, newAddress())).status).toBe(200);
  });
});

describe('X-Forwarded-For spoofing from an untrusted address', () => {
  it('does not reset the per-address count by rotating the header', async () => {
    const attacker = '203.0.113.9';
    const spoofed = (i: number) => ({ 'x-forwarded-for': `192.0.2.${i}, 10.0.0.${i}` });
    for (let i = 1; i <= 30; i++) {
      const res = await limited.request('POST', '/v1/auth/login', {
        body: { email: uniqueEmail('xff'), password: WRONG },
        headers: spoofed(i),
        remoteAddress: attacker,
      });
      expectProblem(res, 401, 'invalid_credentials');
    }
    const res = await limited.request('POST', '/v1/auth/login', {
      body: { email: uniqueEmail('xff'), password: WRONG },
      headers: spoofed(99),
      remoteAddress: attacker,
    });
    expectProblem(res, 429, 'rate_limited');
  });

  it('does not get the spoofed address recorded on the session', async () => {
    const user = await signUpFrom(limited);
    const res = await limited.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
      headers: { 'x-forwarded-for': '192.0.2.77' },
      remoteAddress: '203.0.113.10',
    });
    expect(res.status).toBe(200);
    const sessions = await limited.request('GET', '/v1/auth/sessions', {
      token: res.body.access_token,
    });
    const current = sessions.body.data.find((s: { current: boolean }) => s.current);
    expect(current.ip).toBe('203.0.113.10');
  });
});

describe('refreshing a revoked session', () => {
  it('is refused after a sign-out (401 session_revoked, no tokens)', async () => {
    const user = await ctx.signUp();
    expect((await ctx.request('POST', '/v1/auth/logout', { token: user.accessToken })).status).toBe(
      204,
    );
    const res = await refresh(ctx, user.refreshToken);
    expectProblem(res, 401, 'session_revoked');
    expectNoTokens(res);
  });

  it('is refused after the owner revoked the session from another device', async () => {
    const user = await ctx.signUp();
    const other = await ctx.login(user.email, user.password);
    const revoked = await ctx.request('DELETE', `/v1/auth/sessions/${user.sessionId}`, {
      token: other.accessToken,
    });
    expect(revoked.status).toBe(204);
    const res = await refresh(ctx, user.refreshToken);
    expectProblem(res, 401, 'session_revoked');
    expectNoTokens(res);
  });

  it('is refused after a password reset signed every session out', async () => {
    const user = await ctx.signUp();
    await ctx.request('POST', '/v1/auth/password/forgot', { body: { email: user.email } });
    const verified = await ctx.request('POST', '/v1/auth/password/forgot/verify', {
      body: { email: user.email, code: await lastCodeFor(ctx, user.email, 'password_reset') },
    });
    expect(verified.status).toBe(200);
    const reset = await ctx.request('POST', '/v1/auth/password/reset', {
      body: { reset_token: verified.body.reset_token, password: `${STRONG_PASSWORD}-new` },
    });
    expect(reset.status).toBe(204);
    const res = await refresh(ctx, user.refreshToken);
    expectProblem(res, 401, 'session_revoked');
    expectNoTokens(res);
  });

  it('does not bring the access token back either', async () => {
    const user = await ctx.signUp();
    await ctx.request('POST', '/v1/auth/logout', { token: user.accessToken });
    await refresh(ctx, user.refreshToken);
    expectProblem(
      await ctx.request('GET', '/v1/me', { token: user.accessToken }),
      401,
      'session_revoked',
    );
  });
});

describe('signing in as a suspended user', () => {
  let suspended: SignedIn;
  beforeAll(async () => {
    suspended = await ctx.signUp();
    const admin = await platformAdmin(ctx);
    const res = await ctx.request('POST', `/v1/admin/users/${suspended.userId}/suspend`, {
      token: admin.accessToken,
    });
    if (res.status !== 200) throw new Error(`suspend failed: ${res.status} ${res.text}`);
  });

  it('with the right password: 403 user_inactive and no session', async () => {
    const res = await login(ctx, suspended.email, suspended.password);
    expectProblem(res, 403, 'user_inactive');
    expectNoTokens(res);
  });

  it('with a wrong password: the same answer as for an unknown address', async () => {
    const wrong = await login(ctx, suspended.email, WRONG);
    expectProblem(wrong, 401, 'invalid_credentials');
    expect(answer(wrong)).toEqual(answer(await login(ctx, uniqueEmail('nobody'), WRONG)));
  });

  it('cannot use the sessions it had', async () => {
    expectProblem(await refresh(ctx, suspended.refreshToken), 401, 'session_revoked');
    expectProblem(
      await ctx.request('GET', '/v1/me', { token: suspended.accessToken }),
      401,
      'session_revoked',
    );
  });
});

describe('telling registered addresses from unknown ones', () => {
  let known: SignedIn;
  beforeAll(async () => {
    known = await ctx.signUp();
  });

  it('is not possible by a wrong password at sign-in', async () => {
    const a = await login(ctx, known.email, WRONG);
    const b = await login(ctx, uniqueEmail('unknown'), WRONG);
    expectProblem(a, 401, 'invalid_credentials');
    expect(answer(a)).toEqual(answer(b));
  });

  it('is not possible by asking for a password reset', async () => {
    const forgot = (email: string) =>
      ctx.request('POST', '/v1/auth/password/forgot', { body: { email } });
    const a = await forgot(known.email);
    const b = await forgot(uniqueEmail('unknown'));
    expect(a.status).toBe(202);
    expect(answer(a)).toEqual(answer(b));
  });

  it('is not possible by guessing a reset code', async () => {
    const verify = (email: string) =>
      ctx.request('POST', '/v1/auth/password/forgot/verify', { body: { email, code: '000000' } });
    // an account with no pending code, against an address with no account
    const fresh = await ctx.signUp();
    const a = await verify(fresh.email);
    const b = await verify(uniqueEmail('unknown'));
    expect(a.status).toBe(400);
    expect(answer(a)).toEqual(answer(b));
  });

  it('is not possible by registering the address again', async () => {
    const register = (email: string) =>
      ctx.request('POST', '/v1/auth/register', {
        body: { email, password: STRONG_PASSWORD, first_name: 'Eve', last_name: 'Probe' },
      });
    const a = await register(known.email);
    const b = await register(uniqueEmail('unknown'));
    expect(a.status).toBe(202);
    expect(answer(a)).toEqual(answer(b));
  });

  it('is not possible by guessing a verification code', async () => {
    const verify = (email: string) =>
      ctx.request('POST', '/v1/auth/verify-email', { body: { email, code: '000000' } });
    const a = await verify(known.email);
    const b = await verify(uniqueEmail('unknown'));
    expect(a.status).toBe(400);
    expect(answer(a)).toEqual(answer(b));
  });
});

describe('a session cut by an organization’s idle timeout', () => {
  const IDLE_MINUTES = 5; // the shortest allowed; less than the access token's 10 minutes
  const MINUTE = 60_000;

  /** A member of an organization with an idle timeout, in another organization too, gone idle and cut. */
  async function cutSession() {
    const owner = await ctx.signUp();
    const strict = await createOrg(ctx, owner);
    const member = await addMember(ctx, owner, strict.id, [{ role: 'admin', scope: strict.id }]);
    const own = await createOrg(ctx, member);
    const patched = await ctx.request('PATCH', `/v1/organizations/${strict.id}`, {
      token: owner.accessToken,
      body: { policies: { session_idle_timeout_minutes: IDLE_MINUTES } },
    });
    expect(patched.status).toBe(200);
    ctx.clock.advance((IDLE_MINUTES + 1) * MINUTE);
    const cut = await ctx.request('GET', `/v1/organizations/${strict.id}`, {
      token: member.accessToken,
    });
    expectProblem(cut, 401, 'session_idle_timeout');
    return { member, strict, own };
  }

  it('refuses the access token in the same organization afterwards', async () => {
    const { member, strict } = await cutSession();
    const res = await ctx.request('GET', `/v1/organizations/${strict.id}/members`, {
      token: member.accessToken,
    });
    expectProblem(res, 401, 'session_revoked');
  });

  it('refuses it outside any organization and in the user’s other organizations', async () => {
    const { member, own } = await cutSession();
    expectProblem(
      await ctx.request('GET', '/v1/me', { token: member.accessToken }),
      401,
      'session_revoked',
    );
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${own.id}`, { token: member.accessToken }),
      401,
      'session_revoked',
    );
    expectProblem(
      await ctx.request('POST', `/v1/organizations/${own.id}/switch`, {
        token: member.accessToken,
      }),
      401,
      'session_revoked',
    );
  });

  it('refuses it at the authorization API and reports it inactive to gateways', async () => {
    const { member, own } = await cutSession();
    expectProblem(
      await ctx.request('POST', '/v1/authz/check', {
        token: member.accessToken,
        body: { permission: 'members:read', scope: own.id },
      }),
      401,
      'session_revoked',
    );
    const introspected = await ctx.request('POST', '/v1/auth/api-access-check', {
      body: { token: member.accessToken },
    });
    expect(introspected.body).toEqual({ active: false, reason: 'session_revoked' });
  });

  it('cannot be revived by refreshing', async () => {
    const { member } = await cutSession();
    const res = await refresh(ctx, member.refreshToken);
    expectProblem(res, 401, 'session_revoked');
    expectNoTokens(res);
  });

  it('ends a browser (cookie) session the same way', async () => {
    const owner = await ctx.signUp();
    const strict = await createOrg(ctx, owner);
    const member = await addMember(ctx, owner, strict.id, [{ role: 'admin', scope: strict.id }]);
    const browser = await ctx.request('POST', '/v1/auth/login', {
      body: { email: member.email, password: member.password, mode: 'cookie' },
    });
    const cookies = { gatehouse_session: setCookieOf(browser, 'gatehouse_session')!.value };
    await ctx.request('PATCH', `/v1/organizations/${strict.id}`, {
      token: owner.accessToken,
      body: { policies: { session_idle_timeout_minutes: IDLE_MINUTES } },
    });
    ctx.clock.advance((IDLE_MINUTES + 1) * MINUTE);
    expectProblem(
      await ctx.request('GET', `/v1/organizations/${strict.id}`, { cookies }),
      401,
      'session_idle_timeout',
    );
    expectProblem(await ctx.request('GET', '/v1/me', { cookies }), 401, 'session_revoked');
  });
});

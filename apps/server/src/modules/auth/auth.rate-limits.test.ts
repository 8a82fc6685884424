import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  STRONG_PASSWORD,
  type TestContext,
  type TestResponse,
  uniqueEmail,
} from '../../../test/harness';

/**
 * Brute-force limits (SPEC §4: per account and per client address, with back-off) and the
 * account-exists check. These use the real limits (`rateLimitScale: 1`); every test sends from
 * its own address so that per-address counts never mix between tests.
 */

let ctx: TestContext;
let lastIp = 0;
const newIp = () => `192.0.2.${++lastIp}`;

beforeAll(async () => {
  ctx = await createTestContext({ rateLimitScale: 1 });
});
afterAll(async () => {
  await ctx?.close();
});

function expectRateLimited(res: TestResponse, code = 'rate_limited') {
  expectProblem(res, 429, code);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(res.body.retry_after).toBe(retryAfter);
}

const login = (email: string, password: string, remoteAddress: string) =>
  ctx.request('POST', '/v1/auth/login', { body: { email, password }, remoteAddress });
const accountExists = (email: string, remoteAddress: string) =>
  ctx.request('POST', '/v1/auth/account-exists', { body: { email }, remoteAddress });

describe('account-exists', () => {
  it('answers true for a registered address', async () => {
    const user = await ctx.signUp();
    const res = await accountExists(user.email, newIp());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ exists: true });
  });

  it('answers true whatever the case of the address', async () => {
    const user = await ctx.signUp();
    expect((await accountExists(user.email.toUpperCase(), newIp())).body).toEqual({ exists: true });
  });

  it('answers false for an unknown address', async () => {
    expect((await accountExists(uniqueEmail('ghost'), newIp())).body).toEqual({ exists: false });
  });

  it('refuses the eleventh check in a minute from one address with 429 and Retry-After', async () => {
    const ip = newIp();
    for (let i = 0; i < 10; i++) expect((await accountExists(uniqueEmail(), ip)).status).toBe(200);
    expectRateLimited(await accountExists(uniqueEmail(), ip));
  });

  it('keeps answering other client addresses while one is limited', async () => {
    const ip = newIp();
    for (let i = 0; i < 11; i++) await accountExists(uniqueEmail(), ip);
    expect((await accountExists(uniqueEmail(), newIp())).status).toBe(200);
  });

  it('backs off for longer than the window once the limit is hit', async () => {
    const ip = newIp();
    for (let i = 0; i < 10; i++) await accountExists(uniqueEmail(), ip);
    const res = await accountExists(uniqueEmail(), ip);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(60);
  });
});

describe('account-exists disabled (ACCOUNT_EXISTS_CHECK=off)', () => {
  let off: TestContext;
  beforeAll(async () => {
    off = await createTestContext({ env: { ACCOUNT_EXISTS_CHECK: 'off' } });
  });
  afterAll(async () => {
    await off?.close();
  });

  it('answers 404 feature_disabled for an unknown address', async () => {
    const res = await off.request('POST', '/v1/auth/account-exists', {
      body: { email: uniqueEmail('ghost') },
    });
    expectProblem(res, 404, 'feature_disabled');
  });

  it('answers 404 feature_disabled for a registered address too', async () => {
    const user = await off.signUp();
    const res = await off.request('POST', '/v1/auth/account-exists', {
      body: { email: user.email },
    });
    expectProblem(res, 404, 'feature_disabled');
  });
});

describe('sign-in limits', () => {
  // @see issue 10 #12: the lockout holds the address that guesses, not the account
  it('locks an account for an address after 10 failed sign-ins from it', async () => {
    const user = await ctx.signUp();
    const attacker = newIp();
    for (let i = 0; i < 10; i++) {
      expectProblem(
        await login(user.email, 'Wrong-passw0rd!', attacker),
        401,
        'invalid_credentials',
      );
    }
    expectRateLimited(await login(user.email, 'Wrong-passw0rd!', attacker));
  });

  it('refuses even the right password from that address while it is locked', async () => {
    const user = await ctx.signUp();
    const attacker = newIp();
    for (let i = 0; i < 11; i++) await login(user.email, 'Wrong-passw0rd!', attacker);
    expectRateLimited(await login(user.email, user.password, attacker));
  });

  // @see issue 10 #12
  it('lets the owner in from an address without failures while another is locked', async () => {
    const user = await ctx.signUp();
    const attacker = newIp();
    for (let i = 0; i < 11; i++) await login(user.email, 'Wrong-passw0rd!', attacker);
    expect((await login(user.email, user.password, newIp())).status).toBe(200);
  });

  it('backs off for the lock period (15 minutes), not just the next second', async () => {
    const user = await ctx.signUp();
    const attacker = newIp();
    for (let i = 0; i < 10; i++) await login(user.email, 'Wrong-passw0rd!', attacker);
    const res = await login(user.email, 'Wrong-passw0rd!', attacker);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(14 * 60);
  });

  it('limits unknown addresses the same way (no hint that they do not exist)', async () => {
    const email = uniqueEmail('ghost');
    const attacker = newIp();
    for (let i = 0; i < 10; i++) await login(email, 'Wrong-passw0rd!', attacker);
    expectRateLimited(await login(email, 'Wrong-passw0rd!', attacker));
  });

  it('forgets earlier failures after a successful sign-in', async () => {
    const user = await ctx.signUp();
    const ip = newIp();
    for (let i = 0; i < 9; i++) await login(user.email, 'Wrong-passw0rd!', ip);
    expect((await login(user.email, user.password, ip)).status).toBe(200);
    for (let i = 0; i < 9; i++) {
      expectProblem(await login(user.email, 'Wrong-passw0rd!', ip), 401, 'invalid_credentials');
    }
  });

  it('does not lock other accounts', async () => {
    const locked = await ctx.signUp();
    const other = await ctx.signUp();
    const attacker = newIp();
    for (let i = 0; i < 11; i++) await login(locked.email, 'Wrong-passw0rd!', attacker);
    expect((await login(other.email, other.password, attacker)).status).toBe(200);
  });

  it('refuses the 31st sign-in in a minute from one client address', async () => {
    const ip = newIp();
    for (let i = 0; i < 30; i++) {
      expectProblem(await login(uniqueEmail(), 'Wrong-passw0rd!', ip), 401, 'invalid_credentials');
    }
    expectRateLimited(await login(uniqueEmail(), 'Wrong-passw0rd!', ip));
  });
});

describe('code and token endpoint limits', () => {
  it('refuses the 11th code guess for one address in 10 minutes', async () => {
    const email = uniqueEmail('guess');
    for (let i = 0; i < 10; i++) {
      await ctx.request('POST', '/v1/auth/verify-email', {
        body: { email, code: '000000' },
        remoteAddress: newIp(),
      });
    }
    const res = await ctx.request('POST', '/v1/auth/verify-email', {
      body: { email, code: '000000' },
      remoteAddress: newIp(),
    });
    expectRateLimited(res);
  });

  it('refuses the 31st code guess in a minute from one client address', async () => {
    const ip = newIp();
    for (let i = 0; i < 30; i++) {
      await ctx.request('POST', '/v1/auth/password/forgot/verify', {
        body: { email: uniqueEmail(), code: '000000' },
        remoteAddress: ip,
      });
    }
    const res = await ctx.request('POST', '/v1/auth/password/forgot/verify', {
      body: { email: uniqueEmail(), code: '000000' },
      remoteAddress: ip,
    });
    expectRateLimited(res);
  });

  it('refuses the 11th registration in a minute from one client address', async () => {
    const ip = newIp();
    const register = () =>
      ctx.request('POST', '/v1/auth/register', {
        body: { email: uniqueEmail(), password: STRONG_PASSWORD, first_name: 'A', last_name: 'B' },
        remoteAddress: ip,
      });
    for (let i = 0; i < 10; i++) expect((await register()).status).toBe(202);
    expectRateLimited(await register());
  });

  it('refuses the 21st code request in an hour from one client address', async () => {
    const ip = newIp();
    const forgot = () =>
      ctx.request('POST', '/v1/auth/password/forgot', {
        body: { email: uniqueEmail() },
        remoteAddress: ip,
      });
    for (let i = 0; i < 20; i++) expect((await forgot()).status).toBe(202);
    expectRateLimited(await forgot());
  });

  it('applies the forgot-password cooldown per address, known or not', async () => {
    const email = uniqueEmail('ghost');
    const forgot = () =>
      ctx.request('POST', '/v1/auth/password/forgot', { body: { email }, remoteAddress: newIp() });
    expect((await forgot()).status).toBe(202);
    expectRateLimited(await forgot(), 'resend_cooldown');
  });

  it('refuses the 121st refresh in a minute from one client address', async () => {
    const ip = newIp();
    const refresh = () =>
      ctx.request('POST', '/v1/auth/token/refresh', {
        body: { refresh_token: 'unknown' },
        remoteAddress: ip,
      });
    for (let i = 0; i < 120; i++) expectProblem(await refresh(), 401, 'invalid_token');
    expectRateLimited(await refresh());
  });
});

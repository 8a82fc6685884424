import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

describe('register and verify email', () => {
  it('registers, mails a 6-digit code, and verifying it signs the user in', async () => {
    const email = uniqueEmail('reg');
    const res = await ctx.request('POST', '/v1/auth/register', {
      body: { email, password: STRONG_PASSWORD, first_name: 'Grace', last_name: 'Hopper' },
    });
    expect(res.status).toBe(202);
    const code = await ctx.lastCode(email);
    expect(code).toMatch(/^\d{6}$/);
    const verified = await ctx.request('POST', '/v1/auth/verify-email', { body: { email, code } });
    expect(verified.status).toBe(200);
    const me = await ctx.request('GET', '/v1/me', { token: verified.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      email,
      first_name: 'Grace',
      last_name: 'Hopper',
      email_verified: true,
      status: 'active',
    });
  });

  it('stores the code only as a hash', async () => {
    const email = uniqueEmail('hash');
    await ctx.request('POST', '/v1/auth/register', {
      body: { email, password: STRONG_PASSWORD, first_name: 'A', last_name: 'B' },
    });
    const code = await ctx.lastCode(email);
    const rows = await ctx.database.db.selectFrom('one_time_codes').select('code_hash').execute();
    expect(rows.some((r) => r.code_hash.includes(code))).toBe(false);
  });

  it('answers a registration of a taken email exactly like a new one', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('POST', '/v1/auth/register', {
      body: { email: user.email, password: STRONG_PASSWORD, first_name: 'X', last_name: 'Y' },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted', message: expect.any(String) });
  });

  it('refuses a weak password naming each failed rule', async () => {
    const res = await ctx.request('POST', '/v1/auth/register', {
      body: { email: uniqueEmail(), password: 'password', first_name: 'A', last_name: 'B' },
    });
    expectProblem(res, 400, 'password_policy');
    expect(res.body.failed_rules).toEqual(
      expect.arrayContaining(['min_length', 'uppercase', 'digit', 'special', 'not_common']),
    );
  });

  it('refuses a wrong code and counts the attempt', async () => {
    const email = uniqueEmail();
    await ctx.request('POST', '/v1/auth/register', {
      body: { email, password: STRONG_PASSWORD, first_name: 'A', last_name: 'B' },
    });
    const code = await ctx.lastCode(email);
    const wrong = code === '000000' ? '111111' : '000000';
    const res = await ctx.request('POST', '/v1/auth/verify-email', {
      body: { email, code: wrong },
    });
    expectProblem(res, 400, 'invalid_code');
    expect(res.body.attempts_left).toBe(4);
  });
});

describe('login and tokens', () => {
  it('signs in with the right password and refuses a wrong one with invalid_credentials', async () => {
    const user = await ctx.signUp();
    const ok = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.token_type).toBe('Bearer');
    const bad = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: 'Wrong-password-1' },
    });
    expectProblem(bad, 401, 'invalid_credentials');
    const unknown = await ctx.request('POST', '/v1/auth/login', {
      body: { email: uniqueEmail('nobody'), password: 'Wrong-password-1' },
    });
    expectProblem(unknown, 401, 'invalid_credentials');
  });

  it('publishes the signing key at /.well-known/jwks.json', async () => {
    const res = await ctx.request('GET', '/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(res.body.keys[0].d).toBeUndefined();
  });
});

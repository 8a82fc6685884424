import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  lastCodeFor,
  mailsTo,
  otherCode,
  registerOnly,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';

/** Sign-up: register → 6-digit code by mail → verify-email (signs in). SPEC §4; issue 2, item 6. */

const TEN_MINUTES = 10 * 60 * 1000;

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const verify = (email: string, code: string) =>
  ctx.request('POST', '/v1/auth/verify-email', { body: { email, code } });

describe('register', () => {
  // @see issue 10 #23: internationalized addresses are addresses
  it('registers, verifies and signs in an internationalized address', async () => {
    const email = `zoë-${Date.now().toString(36)}@bücher.example`;
    expect((await registerOnly(ctx, { email })).email).toBe(email);
    expect((await verify(email, await lastCodeFor(ctx, email, 'verify_email'))).status).toBe(200);
    const login = await ctx.request('POST', '/v1/auth/login', {
      body: { email: email.toUpperCase(), password: STRONG_PASSWORD },
    });
    expect(login.status).toBe(200);
  });

  it('refuses an address that smuggles a second one', async () => {
    for (const email of ['a@x.com, b@evil.com', 'Name <b@evil.com>', 'a@x.com\r\nBcc: b@evil.com'])
      expectProblem(
        await ctx.request('POST', '/v1/auth/register', {
          body: { email, password: STRONG_PASSWORD, first_name: 'A', last_name: 'B' },
        }),
        400,
        'validation_failed',
      );
  });

  it('answers 202 accepted', async () => {
    const res = await ctx.request('POST', '/v1/auth/register', {
      body: { email: uniqueEmail(), password: STRONG_PASSWORD, first_name: 'A', last_name: 'B' },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted', message: expect.any(String) });
  });

  it('mails a 6-digit verification code', async () => {
    const { email } = await registerOnly(ctx);
    const [mail] = await mailsTo(ctx, email);
    expect(mail?.subject).toMatch(/verification code/);
    expect(await lastCodeFor(ctx, email, 'verify_email')).toMatch(/^\d{6}$/);
  });

  it('signs the user in when the code is verified', async () => {
    const { email } = await registerOnly(ctx, { first_name: 'Grace', last_name: 'Hopper' });
    const res = await verify(email, await lastCodeFor(ctx, email, 'verify_email'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 600 });
    const me = await ctx.request('GET', '/v1/me', { token: res.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      email,
      first_name: 'Grace',
      last_name: 'Hopper',
      email_verified: true,
      status: 'active',
    });
  });

  it('lets the verified user sign in with the password they registered', async () => {
    const { email, password } = await registerOnly(ctx);
    await verify(email, await lastCodeFor(ctx, email, 'verify_email'));
    const res = await ctx.request('POST', '/v1/auth/login', { body: { email, password } });
    expect(res.status).toBe(200);
  });

  it('normalises the email: case and surrounding spaces do not make a second account', async () => {
    const email = uniqueEmail('mixed');
    await registerOnly(ctx, { email: `  ${email.toUpperCase()} ` });
    const res = await verify(email, await lastCodeFor(ctx, email, 'verify_email'));
    expect(res.status).toBe(200);
    const me = await ctx.request('GET', '/v1/me', { token: res.body.access_token });
    expect(me.body.email).toBe(email);
  });

  it('refuses a weak password naming each failed rule', async () => {
    const res = await ctx.request('POST', '/v1/auth/register', {
      body: { email: uniqueEmail(), password: 'password', first_name: 'A', last_name: 'B' },
    });
    expectProblem(res, 400, 'password_policy');
    expect(res.body.failed_rules).toEqual(
      expect.arrayContaining(['min_length', 'uppercase', 'digit', 'special', 'not_common']),
    );
    expect(res.body.failed_rules).not.toContain('lowercase');
  });

  it('refuses a password built from the email address (not_email)', async () => {
    const email = uniqueEmail('margaret');
    const res = await ctx.request('POST', '/v1/auth/register', {
      body: { email, password: `${email.split('@')[0]}-X1!`, first_name: 'A', last_name: 'B' },
    });
    expectProblem(res, 400, 'password_policy');
    expect(res.body.failed_rules).toContain('not_email');
  });

  it('creates nothing and mails nothing when the password fails the policy', async () => {
    const email = uniqueEmail('weak');
    await ctx.request('POST', '/v1/auth/register', {
      body: { email, password: 'short', first_name: 'A', last_name: 'B' },
    });
    expect(await mailsTo(ctx, email)).toEqual([]);
    const exists = await ctx.request('POST', '/v1/auth/account-exists', { body: { email } });
    expect(exists.body).toEqual({ exists: false });
  });
});

describe('register with an address that already has an account', () => {
  it('answers exactly like a new registration', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('POST', '/v1/auth/register', {
      body: { email: user.email, password: STRONG_PASSWORD, first_name: 'X', last_name: 'Y' },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted', message: expect.any(String) });
  });

  it('queues an "already have an account" mail to the owner, without a code', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(1000);
    await ctx.request('POST', '/v1/auth/register', {
      body: { email: user.email, password: STRONG_PASSWORD, first_name: 'X', last_name: 'Y' },
    });
    const [latest] = await mailsTo(ctx, user.email);
    expect(latest?.subject).toMatch(/already have .* account/i);
    expect(latest?.body).not.toMatch(/\b\d{6}\b/);
  });

  it('keeps the owner password: the newcomer password does not sign in', async () => {
    const user = await ctx.signUp();
    await ctx.request('POST', '/v1/auth/register', {
      body: { email: user.email, password: 'An0ther-Secret!', first_name: 'X', last_name: 'Y' },
    });
    const intruder = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: 'An0ther-Secret!' },
    });
    expectProblem(intruder, 401, 'invalid_credentials');
    const owner = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(owner.status).toBe(200);
  });

  // @see issue 10 #1: each registration's code binds the credentials submitted with it, so a
  // later registration (perhaps a stranger's) must not void the earlier one's code.
  it('mails a fresh code of its own to an unverified address; the earlier code stays valid', async () => {
    const { email } = await registerOnly(ctx);
    const first = await lastCodeFor(ctx, email, 'verify_email');
    ctx.clock.advance(1000);
    await registerOnly(ctx, { email });
    const second = await lastCodeFor(ctx, email, 'verify_email');
    expect(second).toMatch(/^\d{6}$/);
    expect((await verify(email, first)).status).toBe(200);
    // verified: every other pending registration of the address ended with it
    if (first !== second) expectProblem(await verify(email, second), 400, 'code_expired');
  });
});

describe('verify-email', () => {
  it('refuses a wrong code and says how many attempts are left', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    const res = await verify(email, otherCode(code));
    expectProblem(res, 400, 'invalid_code');
    expect(res.body.attempts_left).toBe(4);
  });

  it('counts every wrong code', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    const left: number[] = [];
    for (let i = 0; i < 4; i++)
      left.push((await verify(email, otherCode(code))).body.attempts_left);
    expect(left).toEqual([4, 3, 2, 1]);
  });

  it('answers too_many_attempts on the fifth wrong code', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    for (let i = 0; i < 4; i++) await verify(email, otherCode(code));
    expectProblem(await verify(email, otherCode(code)), 400, 'too_many_attempts');
  });

  it('refuses even the right code after five wrong ones', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    for (let i = 0; i < 5; i++) await verify(email, otherCode(code));
    expectProblem(await verify(email, code), 400, 'too_many_attempts');
  });

  it('accepts the right code after four wrong ones', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    for (let i = 0; i < 4; i++) await verify(email, otherCode(code));
    expect((await verify(email, code)).status).toBe(200);
  });

  it('accepts a code just before its 10 minutes are up', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    ctx.clock.advance(TEN_MINUTES - 1000);
    expect((await verify(email, code)).status).toBe(200);
  });

  it('refuses a code after 10 minutes as code_expired', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    ctx.clock.advance(TEN_MINUTES);
    expectProblem(await verify(email, code), 400, 'code_expired');
  });

  it('refuses a second use of the same code', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    expect((await verify(email, code)).status).toBe(200);
    expectProblem(await verify(email, code), 400, 'code_expired');
  });

  it('voids the old code when a new one is sent', async () => {
    const { email } = await registerOnly(ctx);
    const old = await lastCodeFor(ctx, email, 'verify_email');
    ctx.clock.advance(1000);
    const resent = await ctx.request('POST', '/v1/auth/resend-otp', { body: { email } });
    expect(resent.status).toBe(202);
    const fresh = await lastCodeFor(ctx, email, 'verify_email');
    // One chance in a million the new code equals the old; then only the second half applies.
    if (fresh !== old) expectProblem(await verify(email, old), 400, 'invalid_code');
    expect((await verify(email, fresh)).status).toBe(200);
  });

  it('gives a fresh code a fresh set of attempts', async () => {
    const { email } = await registerOnly(ctx);
    const old = await lastCodeFor(ctx, email, 'verify_email');
    for (let i = 0; i < 5; i++) await verify(email, otherCode(old));
    ctx.clock.advance(1000);
    await ctx.request('POST', '/v1/auth/resend-otp', { body: { email } });
    const fresh = await lastCodeFor(ctx, email, 'verify_email');
    expect((await verify(email, fresh)).status).toBe(200);
  });

  it('does not accept a password reset code as an email verification code', async () => {
    const { email } = await registerOnly(ctx);
    ctx.clock.advance(1000);
    await ctx.request('POST', '/v1/auth/password/forgot', { body: { email } });
    const resetCode = await lastCodeFor(ctx, email, 'password_reset');
    const verifyCode = await lastCodeFor(ctx, email, 'verify_email');
    if (resetCode === verifyCode) return; // one chance in a million; nothing to tell apart
    expectProblem(await verify(email, resetCode), 400, 'invalid_code');
  });

  it('refuses a code for an unknown address as code_expired (no live code)', async () => {
    expectProblem(await verify(uniqueEmail('nobody'), '123456'), 400, 'code_expired');
  });

  it('answers a verified address exactly like an unknown one', async () => {
    // Distinct answers (409 already_verified against invalid_code) would tell anyone which
    // addresses have an account, without a trace in the owner's mailbox.
    const user = await ctx.signUp();
    const verified = await verify(user.email, '123456');
    const unknown = await verify(uniqueEmail('nobody'), '123456');
    expectProblem(verified, 400, 'code_expired');
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
    expect(strip(verified.body)).toEqual(strip(unknown.body));
  });
});

describe('resend-otp', () => {
  it('mails a new code to an unverified address', async () => {
    const { email } = await registerOnly(ctx);
    ctx.clock.advance(1000);
    const res = await ctx.request('POST', '/v1/auth/resend-otp', { body: { email } });
    expect(res.status).toBe(202);
    expect(await mailsTo(ctx, email)).toHaveLength(2);
  });

  it('gives an unknown address the same answer and mails nothing', async () => {
    const email = uniqueEmail('ghost');
    const res = await ctx.request('POST', '/v1/auth/resend-otp', { body: { email } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted', message: expect.any(String) });
    expect(await mailsTo(ctx, email)).toEqual([]);
  });

  it('mails nothing to an address that is already verified', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('POST', '/v1/auth/resend-otp', { body: { email: user.email } });
    expect(res.status).toBe(202);
    expect(await mailsTo(ctx, user.email)).toHaveLength(1); // the original verification mail
  });
});

describe('sign-in before the email is verified', () => {
  it('answers email_not_verified to the right password', async () => {
    const { email, password } = await registerOnly(ctx);
    const res = await ctx.request('POST', '/v1/auth/login', { body: { email, password } });
    expectProblem(res, 403, 'email_not_verified');
  });

  it('answers invalid_credentials to a wrong password, revealing nothing about the account', async () => {
    const { email } = await registerOnly(ctx);
    const res = await ctx.request('POST', '/v1/auth/login', {
      body: { email, password: 'Wrong-passw0rd!' },
    });
    expectProblem(res, 401, 'invalid_credentials');
  });
});

/** The cooldown needs the real limits (the default context multiplies them by 100). */
describe('resend cooldown (real limits)', () => {
  let limited: TestContext;
  let ip = 0;
  // Each test comes from its own address so that per-address limits never mix between tests.
  const from = () => `198.51.100.${++ip}`;
  beforeAll(async () => {
    limited = await createTestContext({ rateLimitScale: 1 });
  });
  afterAll(async () => {
    await limited?.close();
  });

  const register = (email: string, remoteAddress: string) =>
    limited.request('POST', '/v1/auth/register', {
      body: { email, password: STRONG_PASSWORD, first_name: 'A', last_name: 'B' },
      remoteAddress,
    });
  const resend = (email: string, remoteAddress: string) =>
    limited.request('POST', '/v1/auth/resend-otp', { body: { email }, remoteAddress });
  /** Stands for the minute passing after sign-up (the limiter runs on real time, not the ManualClock). */
  const forgetSignUpCooldown = (email: string) =>
    limited.gatehouse.rt.limits.reset('otpSendPerEmail', email);

  it('refuses a resend right after registering with resend_cooldown and Retry-After', async () => {
    const email = uniqueEmail('cool');
    const ipAddr = from();
    await register(email, ipAddr);
    const res = await resend(email, ipAddr);
    expectProblem(res, 429, 'resend_cooldown');
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.body.retry_after).toBe(retryAfter);
  });

  it('applies the same cooldown to an unknown address', async () => {
    const email = uniqueEmail('ghost');
    const ipAddr = from();
    expect((await resend(email, ipAddr)).status).toBe(202);
    expectProblem(await resend(email, ipAddr), 429, 'resend_cooldown');
  });

  it('mails no second code during the cooldown', async () => {
    const email = uniqueEmail('cool');
    const ipAddr = from();
    await register(email, ipAddr);
    await resend(email, ipAddr);
    expect(await mailsTo(limited, email)).toHaveLength(1);
  });

  it('starts the same cooldown after registering an address that already has an account', async () => {
    // Otherwise register + resend tells a verified account (202) from a new one (429).
    const user = await limited.signUp();
    await forgetSignUpCooldown(user.email);
    const ipAddr = from();
    expect((await register(user.email, ipAddr)).status).toBe(202);
    expectProblem(await resend(user.email, ipAddr), 429, 'resend_cooldown');
  });

  it('queues one "already have an account" mail per cooldown, however often someone registers', async () => {
    const user = await limited.signUp();
    await forgetSignUpCooldown(user.email);
    for (let i = 0; i < 3; i++) expect((await register(user.email, from())).status).toBe(202);
    const notices = (await mailsTo(limited, user.email)).filter((m) =>
      /already have/i.test(m.subject ?? ''),
    );
    expect(notices).toHaveLength(1);
  });
});

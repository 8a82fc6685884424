import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  lastCodeFor,
  mailsTo,
  otherCode,
  registerOnly,
  type SignedIn,
  signUpWithoutPassword,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';

/** Forgot / reset, set and update password. SPEC §4; issue 2, item 6. */

const NEW_PASSWORD = 'Qz7!mountain-Lark';
const TEN_MINUTES = 10 * 60 * 1000;
const FIFTEEN_MINUTES = 15 * 60 * 1000;

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const login = (email: string, password: string) =>
  ctx.request('POST', '/v1/auth/login', { body: { email, password } });
const me = (token: string) => ctx.request('GET', '/v1/me', { token });
const forgot = (email: string) =>
  ctx.request('POST', '/v1/auth/password/forgot', { body: { email } });
const verifyReset = (email: string, code: string) =>
  ctx.request('POST', '/v1/auth/password/forgot/verify', { body: { email, code } });
const reset = (resetToken: string, password = NEW_PASSWORD) =>
  ctx.request('POST', '/v1/auth/password/reset', {
    body: { reset_token: resetToken, password },
  });

/** forgot → code → reset token, for a signed-up user. */
async function resetTokenFor(email: string): Promise<string> {
  // The sign-up mail and the reset mail would otherwise share one millisecond.
  ctx.clock.advance(1000);
  await forgot(email);
  const res = await verifyReset(email, await lastCodeFor(ctx, email, 'password_reset'));
  if (res.status !== 200) throw new Error(`forgot/verify failed: ${res.status} ${res.text}`);
  return res.body.reset_token;
}

describe('forgot password', () => {
  it('answers 202 for a registered address and mails a reset code', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(1000);
    const res = await forgot(user.email);
    expect(res.status).toBe(202);
    expect(await lastCodeFor(ctx, user.email, 'password_reset')).toMatch(/^\d{6}$/);
  });

  it('gives an unknown address the same answer', async () => {
    const user = await ctx.signUp();
    const known = await forgot(user.email);
    const unknown = await forgot(uniqueEmail('ghost'));
    expect(unknown.status).toBe(202);
    expect(unknown.body).toEqual(known.body);
  });

  it('mails nothing to an unknown address', async () => {
    const email = uniqueEmail('ghost');
    await forgot(email);
    expect(await mailsTo(ctx, email)).toEqual([]);
  });

  it('exchanges the right code for a reset token valid 15 minutes', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(1000);
    await forgot(user.email);
    const res = await verifyReset(user.email, await lastCodeFor(ctx, user.email, 'password_reset'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ reset_token: expect.any(String), expires_in: 900 });
  });

  it('refuses a wrong code and counts the attempt', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(1000);
    await forgot(user.email);
    const code = await lastCodeFor(ctx, user.email, 'password_reset');
    const res = await verifyReset(user.email, otherCode(code));
    expectProblem(res, 400, 'invalid_code');
    expect(res.body.attempts_left).toBe(4);
  });

  it('refuses the right code after five wrong ones', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(1000);
    await forgot(user.email);
    const code = await lastCodeFor(ctx, user.email, 'password_reset');
    for (let i = 0; i < 5; i++) await verifyReset(user.email, otherCode(code));
    expectProblem(await verifyReset(user.email, code), 400, 'too_many_attempts');
  });

  it('refuses a second use of the reset code', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(1000);
    await forgot(user.email);
    const code = await lastCodeFor(ctx, user.email, 'password_reset');
    expect((await verifyReset(user.email, code)).status).toBe(200);
    expectProblem(await verifyReset(user.email, code), 400, 'code_expired');
  });

  it('refuses the reset code after 10 minutes', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(1000);
    await forgot(user.email);
    const code = await lastCodeFor(ctx, user.email, 'password_reset');
    ctx.clock.advance(TEN_MINUTES);
    expectProblem(await verifyReset(user.email, code), 400, 'code_expired');
  });

  it('refuses an email verification code as a reset code', async () => {
    const { email } = await registerOnly(ctx);
    const verifyCode = await lastCodeFor(ctx, email, 'verify_email');
    ctx.clock.advance(1000);
    await forgot(email);
    if (verifyCode === (await lastCodeFor(ctx, email, 'password_reset'))) return; // 1 in 10^6
    expectProblem(await verifyReset(email, verifyCode), 400, 'invalid_code');
  });

  it('refuses a code for an unknown address as code_expired (no live code)', async () => {
    expectProblem(await verifyReset(uniqueEmail('ghost'), '123456'), 400, 'code_expired');
  });

  it('answers an unknown address exactly like a registered one with no code pending', async () => {
    // invalid_code (unknown) against code_expired (registered) would be a silent oracle.
    const user = await ctx.signUp();
    const known = await verifyReset(user.email, '123456');
    const unknown = await verifyReset(uniqueEmail('ghost'), '123456');
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
    expect(known.status).toBe(400);
    expect(strip(unknown.body)).toEqual(strip(known.body));
  });
});

describe('reset password', () => {
  it('answers 204 and the new password signs in', async () => {
    const user = await ctx.signUp();
    const res = await reset(await resetTokenFor(user.email));
    expect(res.status).toBe(204);
    expect((await login(user.email, NEW_PASSWORD)).status).toBe(200);
  });

  it('makes the old password fail', async () => {
    const user = await ctx.signUp();
    await reset(await resetTokenFor(user.email));
    expectProblem(await login(user.email, user.password), 401, 'invalid_credentials');
  });

  it('revokes every session of the user', async () => {
    const user = await ctx.signUp();
    const second = await ctx.login(user.email, user.password);
    await reset(await resetTokenFor(user.email));
    expectProblem(await me(user.accessToken), 401, 'session_revoked');
    expectProblem(await me(second.accessToken), 401, 'session_revoked');
  });

  it('makes the revoked sessions refresh tokens useless', async () => {
    const user = await ctx.signUp();
    await reset(await resetTokenFor(user.email));
    const res = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    expectProblem(res, 401, 'session_revoked');
  });

  it('refuses the reset token a second time', async () => {
    const user = await ctx.signUp();
    const token = await resetTokenFor(user.email);
    expect((await reset(token)).status).toBe(204);
    expectProblem(await reset(token, 'Yet-an0ther-pass!'), 401, 'invalid_token');
  });

  it('refuses the reset token after 15 minutes', async () => {
    const user = await ctx.signUp();
    const token = await resetTokenFor(user.email);
    ctx.clock.advance(FIFTEEN_MINUTES);
    expectProblem(await reset(token), 401, 'invalid_token');
  });

  it('accepts the reset token just before its 15 minutes are up', async () => {
    const user = await ctx.signUp();
    const token = await resetTokenFor(user.email);
    ctx.clock.advance(FIFTEEN_MINUTES - 1000);
    expect((await reset(token)).status).toBe(204);
  });

  it('refuses an unknown reset token', async () => {
    expectProblem(await reset('no-such-reset-token'), 401, 'invalid_token');
  });

  it('refuses a weak new password naming the failed rules', async () => {
    const user = await ctx.signUp();
    const res = await reset(await resetTokenFor(user.email), 'weakpassword');
    expectProblem(res, 400, 'password_policy');
    expect(res.body.failed_rules).toEqual(expect.arrayContaining(['uppercase', 'digit']));
  });

  it('does not spend the reset token on a password the policy refuses', async () => {
    const user = await ctx.signUp();
    const token = await resetTokenFor(user.email);
    await reset(token, 'weak');
    expect((await reset(token)).status).toBe(204);
  });

  it('mails the owner that the password changed', async () => {
    const user = await ctx.signUp();
    const token = await resetTokenFor(user.email);
    ctx.clock.advance(1000);
    await reset(token);
    const [latest] = await mailsTo(ctx, user.email);
    expect(latest?.subject).toMatch(/password was changed/i);
  });

  it('counts the email as verified: the code proved the mailbox', async () => {
    const { email } = await registerOnly(ctx);
    await reset(await resetTokenFor(email));
    expect((await login(email, NEW_PASSWORD)).status).toBe(200);
  });
});

describe('set password (users without one)', () => {
  const setPassword = (token: string, password = NEW_PASSWORD) =>
    ctx.request('POST', '/v1/auth/password/set', { token, body: { password } });

  it('answers 204 and the password then signs in', async () => {
    const user = await signUpWithoutPassword(ctx);
    expect((await setPassword(user.accessToken)).status).toBe(204);
    expect((await login(user.email, NEW_PASSWORD)).status).toBe(200);
  });

  it('refuses a user who already has a password with password_already_set', async () => {
    const user = await ctx.signUp();
    expectProblem(await setPassword(user.accessToken), 409, 'password_already_set');
  });

  it('refuses a second set', async () => {
    const user = await signUpWithoutPassword(ctx);
    await setPassword(user.accessToken);
    expectProblem(
      await setPassword(user.accessToken, 'Other-passw0rd!'),
      409,
      'password_already_set',
    );
  });

  it('applies the password policy', async () => {
    const user = await signUpWithoutPassword(ctx);
    const res = await setPassword(user.accessToken, 'alllowercase');
    expectProblem(res, 400, 'password_policy');
    expect(res.body.failed_rules).toEqual(
      expect.arrayContaining(['uppercase', 'digit', 'special']),
    );
  });

  it('requires a signed-in caller', async () => {
    const res = await ctx.request('POST', '/v1/auth/password/set', {
      body: { password: NEW_PASSWORD },
    });
    expectProblem(res, 401, 'unauthenticated');
  });

  it('leaves a user without a password unable to sign in with any password', async () => {
    const user = await signUpWithoutPassword(ctx);
    expectProblem(await login(user.email, user.password), 401, 'invalid_credentials');
  });
});

describe('update password', () => {
  const update = (user: SignedIn, current: string, next = NEW_PASSWORD) =>
    ctx.request('PUT', '/v1/auth/password', {
      token: user.accessToken,
      body: { current_password: current, new_password: next },
    });

  it('answers 204 and the new password signs in', async () => {
    const user = await ctx.signUp();
    expect((await update(user, user.password)).status).toBe(204);
    expect((await login(user.email, NEW_PASSWORD)).status).toBe(200);
  });

  it('makes the old password fail', async () => {
    const user = await ctx.signUp();
    await update(user, user.password);
    expectProblem(await login(user.email, user.password), 401, 'invalid_credentials');
  });

  it('refuses a wrong current password with invalid_credentials', async () => {
    const user = await ctx.signUp();
    expectProblem(await update(user, 'Not-the-passw0rd!'), 401, 'invalid_credentials');
  });

  it('keeps the password when the current one is wrong', async () => {
    const user = await ctx.signUp();
    await update(user, 'Not-the-passw0rd!');
    expect((await login(user.email, user.password)).status).toBe(200);
  });

  it('refuses a weak new password with password_policy and each failed rule', async () => {
    const user = await ctx.signUp();
    const res = await update(user, user.password, 'short');
    expectProblem(res, 400, 'password_policy');
    expect(res.body.failed_rules).toEqual(
      expect.arrayContaining(['min_length', 'uppercase', 'digit', 'special']),
    );
    expect(res.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ code: 'min_length' })]),
    );
  });

  it('refuses a new password equal to the email', async () => {
    const user = await ctx.signUp();
    const res = await update(user, user.password, user.email);
    expectProblem(res, 400, 'password_policy');
    expect(res.body.failed_rules).toContain('not_email');
  });

  it('keeps the current session signed in', async () => {
    const user = await ctx.signUp();
    await update(user, user.password);
    expect((await me(user.accessToken)).status).toBe(200);
  });

  it('signs out every other session at once', async () => {
    const user = await ctx.signUp();
    const other = await ctx.login(user.email, user.password);
    expect((await me(other.accessToken)).status).toBe(200); // cached as valid first
    await update(user, user.password);
    expectProblem(await me(other.accessToken), 401, 'session_revoked');
  });

  it('makes the other sessions refresh tokens useless', async () => {
    const user = await ctx.signUp();
    const other = await ctx.login(user.email, user.password);
    await update(user, user.password);
    const res = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: other.refreshToken },
    });
    expectProblem(res, 401, 'session_revoked');
  });

  it('keeps the current session refresh token working', async () => {
    const user = await ctx.signUp();
    await update(user, user.password);
    const res = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    expect(res.status).toBe(200);
  });

  it('refuses a user without a password with password_not_set', async () => {
    const user = await signUpWithoutPassword(ctx);
    expectProblem(await update(user, 'Anything-1!'), 409, 'password_not_set');
  });

  it('mails the owner that the password changed', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(1000);
    await update(user, user.password);
    const [latest] = await mailsTo(ctx, user.email);
    expect(latest?.subject).toMatch(/password was changed/i);
  });

  it('requires a signed-in caller', async () => {
    const res = await ctx.request('PUT', '/v1/auth/password', {
      body: { current_password: 'x', new_password: NEW_PASSWORD },
    });
    expectProblem(res, 401, 'unauthenticated');
  });
});

/**
 * Step-up: sensitive acts (API keys, ownership transfers, linking a provider, removing a factor,
 * new recovery codes, and a password change for users with a factor) need a sign-in or a fresh
 * proof within STEP_UP_MAX_AGE (600 s). POST /v1/auth/step-up refreshes it: with the password
 * for users without a second factor, with a factor for users who have one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  otherCode,
  type SignedIn,
  STRONG_PASSWORD,
  setCookieOf,
  signUpWithoutPassword,
  type TestContext,
} from '../../../test/harness';
import { addMember, createAccount, createOrg, decodeJwtPayload } from '../../../test/seed';
import { startSmsReceiver, type TestSmsReceiver } from '../../../test/sms-receiver';
import {
  enrolSms,
  enrolTotp,
  freshTotp,
  lastSmsCode,
  signUpWithTotp,
  stepUp,
} from './mfa.test-support';

let sms: TestSmsReceiver;
let ctx: TestContext;
beforeAll(async () => {
  sms = await startSmsReceiver();
  // An hour-long access token: the clock moves past the step-up age (10 minutes) and the same
  // token must keep authenticating, so only the session's auth_time decides.
  ctx = await createTestContext({ env: { SMS_WEBHOOK_URL: sms.url, ACCESS_TOKEN_TTL: '3600' } });
});
afterAll(async () => {
  await ctx?.close();
  await sms?.close();
});

const ELEVEN_MINUTES = 11 * 60 * 1000;
const NEW_PASSWORD = 'An0ther&Secret-pass';

const createKey = (orgId: string, token: string) =>
  ctx.request('POST', `/v1/organizations/${orgId}/api-keys`, {
    token,
    body: { name: 'video service', grants: [{ role: 'video-developer', scope: orgId }] },
  });
const changePassword = (user: SignedIn, token = user.accessToken) =>
  ctx.request('PUT', '/v1/auth/password', {
    token,
    body: { current_password: user.password, new_password: NEW_PASSWORD },
  });

describe('step-up of a user without a second factor (password)', () => {
  it('answers the new auth_time, the amr, how long it counts and a new access token', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(ELEVEN_MINUTES);
    const res = await stepUp(ctx, user.accessToken, {
      method: 'password',
      password: user.password,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      auth_time: new Date(ctx.clock.now()).toISOString(),
      amr: expect.arrayContaining(['pwd']),
      valid_for: 600,
      access_token: expect.any(String),
      expires_in: 3600,
    });
    const claims = decodeJwtPayload(res.body.access_token);
    expect(claims.amr).toEqual(res.body.amr);
    expect(claims.sid).toBe(user.sessionId);
    // A password is no second factor.
    expect(res.body.amr).not.toContain('mfa');
  });

  it('refuses a wrong password (401 invalid_credentials) and refreshes nothing', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    ctx.clock.advance(ELEVEN_MINUTES);
    const res = await stepUp(ctx, owner.accessToken, {
      method: 'password',
      password: `${owner.password}x`,
    });
    expectProblem(res, 401, 'invalid_credentials');
    expectProblem(await createKey(org.id, owner.accessToken), 401, 'step_up_required');
  });

  it('refuses a password step-up without the password (invalid_credentials)', async () => {
    const user = await ctx.signUp();
    expectProblem(
      await stepUp(ctx, user.accessToken, { method: 'password' }),
      401,
      'invalid_credentials',
    );
  });

  it('answers mfa_method_unavailable to a factor method, with the methods it accepts', async () => {
    const user = await ctx.signUp();
    const res = await stepUp(ctx, user.accessToken, { method: 'totp', code: '123456' });
    expectProblem(res, 400, 'mfa_method_unavailable');
    expect(res.body.methods).toEqual(['password']);
  });

  it('offers no method to a user without a password or factor (sign in again)', async () => {
    const user = await signUpWithoutPassword(ctx);
    const res = await stepUp(ctx, user.accessToken, {
      method: 'password',
      password: 'anything-at-all',
    });
    expectProblem(res, 400, 'mfa_method_unavailable');
    expect(res.body.methods).toEqual([]);
    const org = await createOrg(ctx, user);
    ctx.clock.advance(ELEVEN_MINUTES);
    const refused = await createKey(org.id, user.accessToken);
    expectProblem(refused, 401, 'step_up_required');
    expect(refused.body.methods).toEqual([]);
  });

  it('records an audit event', async () => {
    const user = await ctx.signUp();
    await stepUp(ctx, user.accessToken, { method: 'password', password: user.password });
    const events = await ctx.database.db
      .selectFrom('audit_events')
      .select('changes')
      .where('actor_id', '=', user.userId)
      .where('action', '=', 'session.step_up')
      .execute();
    expect(events.map((e) => JSON.parse(e.changes!))).toEqual([
      { method: 'password', session_id: user.sessionId },
    ]);
  });

  it('needs a signed-in user', async () => {
    const res = await ctx.request('POST', '/v1/auth/step-up', {
      body: { method: 'password', password: STRONG_PASSWORD },
    });
    expectProblem(res, 401, 'unauthenticated');
  });
});

describe('step-up of a user with a second factor', () => {
  it('refuses the password alone (mfa_method_unavailable) and names the factor methods', async () => {
    const { user } = await signUpWithTotp(ctx);
    const res = await stepUp(ctx, user.accessToken, {
      method: 'password',
      password: user.password,
    });
    expectProblem(res, 400, 'mfa_method_unavailable');
    expect(res.body.methods).toEqual(['totp', 'recovery_code']);
  });

  it('accepts an authenticator code: the amr says totp and mfa, in the answer and the JWT', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    ctx.clock.advance(ELEVEN_MINUTES);
    const res = await stepUp(ctx, user.accessToken, {
      method: 'totp',
      code: await freshTotp(ctx, totp.secret),
    });
    expect(res.status).toBe(200);
    // signUp's session began with the email code (otp); the authenticator adds totp and mfa.
    expect(res.body.amr).toEqual(['otp', 'totp', 'mfa']);
    expect(decodeJwtPayload(res.body.access_token).amr).toEqual(res.body.amr);
    expect(res.body.auth_time).toBe(new Date(ctx.clock.now()).toISOString());
  });

  it('refuses a wrong code (invalid_code)', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const res = await stepUp(ctx, user.accessToken, {
      method: 'totp',
      code: otherCode(await freshTotp(ctx, totp.secret)),
    });
    expectProblem(res, 400, 'invalid_code');
  });

  it('needs the code for a factor method (validation_failed)', async () => {
    const { user } = await signUpWithTotp(ctx);
    expectProblem(
      await stepUp(ctx, user.accessToken, { method: 'totp' }),
      400,
      'validation_failed',
    );
  });

  it('sends a step-up SMS to the confirmed number and accepts its code', async () => {
    const user = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, user);
    ctx.clock.advance(ELEVEN_MINUTES);
    const sent = await ctx.request('POST', '/v1/auth/step-up/sms', { token: user.accessToken });
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ status: 'sent', expires_in: 300 });
    const res = await stepUp(ctx, user.accessToken, {
      method: 'sms',
      code: await lastSmsCode(ctx, sms, phone),
    });
    expect(res.status).toBe(200);
    expect(res.body.amr).toEqual(expect.arrayContaining(['sms', 'mfa']));
  });

  it('refuses a step-up SMS code after 5 minutes (code_expired)', async () => {
    const user = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, user);
    await ctx.request('POST', '/v1/auth/step-up/sms', { token: user.accessToken });
    const code = await lastSmsCode(ctx, sms, phone);
    ctx.clock.advance(5 * 60 * 1000);
    expectProblem(
      await stepUp(ctx, user.accessToken, { method: 'sms', code }),
      400,
      'code_expired',
    );
  });

  it('answers mfa_method_unavailable to a step-up SMS request without a phone factor', async () => {
    const { user } = await signUpWithTotp(ctx);
    const res = await ctx.request('POST', '/v1/auth/step-up/sms', { token: user.accessToken });
    expectProblem(res, 400, 'mfa_method_unavailable');
  });
});

describe('API key creation (config.stepUp)', () => {
  it('is allowed right after sign-in', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    expect((await createKey(org.id, owner.accessToken)).status).toBe(201);
  });

  it('counts a sign-in exactly 10 minutes old as recent', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    ctx.clock.advance(600_000);
    expect((await createKey(org.id, owner.accessToken)).status).toBe(201);
  });

  it('is refused 11 minutes after sign-in with step_up_required, then allowed after a step-up', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    ctx.clock.advance(ELEVEN_MINUTES);
    const refused = await createKey(org.id, owner.accessToken);
    expectProblem(refused, 401, 'step_up_required');
    expect(refused.body).toMatchObject({ methods: ['password'], max_age: 600 });
    const keys = await ctx.request('GET', `/v1/organizations/${org.id}/api-keys`, {
      token: owner.accessToken,
    });
    expect(keys.body.data).toEqual([]);

    const proof = await stepUp(ctx, owner.accessToken, {
      method: 'password',
      password: owner.password,
    });
    expect(proof.status).toBe(200);
    // Both the old token and the new one: auth_time lives on the session, not in the token.
    expect((await createKey(org.id, owner.accessToken)).status).toBe(201);
    expect((await createKey(org.id, proof.body.access_token)).status).toBe(201);
  });

  it('needs a factor, not the password, from an owner with a second factor', async () => {
    const { user: owner, totp } = await signUpWithTotp(ctx);
    const org = await createOrg(ctx, owner);
    ctx.clock.advance(ELEVEN_MINUTES);
    const refused = await createKey(org.id, owner.accessToken);
    expectProblem(refused, 401, 'step_up_required');
    expect(refused.body.methods).toEqual(['totp', 'recovery_code']);
    expectProblem(
      await stepUp(ctx, owner.accessToken, { method: 'password', password: owner.password }),
      400,
      'mfa_method_unavailable',
    );
    expectProblem(await createKey(org.id, owner.accessToken), 401, 'step_up_required');
    await stepUp(ctx, owner.accessToken, {
      method: 'totp',
      code: await freshTotp(ctx, totp.secret),
    });
    expect((await createKey(org.id, owner.accessToken)).status).toBe(201);
  });

  it('lapses again 10 minutes after the step-up', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    ctx.clock.advance(ELEVEN_MINUTES);
    await stepUp(ctx, owner.accessToken, { method: 'password', password: owner.password });
    ctx.clock.advance(ELEVEN_MINUTES);
    expectProblem(await createKey(org.id, owner.accessToken), 401, 'step_up_required');
  });

  it('does not count a token refresh as a fresh proof', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    ctx.clock.advance(ELEVEN_MINUTES);
    const refreshed = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: owner.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    expectProblem(await createKey(org.id, refreshed.body.access_token), 401, 'step_up_required');
  });

  it('refreshes only the session that stepped up, not the user’s other sessions', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const other = await ctx.login(owner.email, owner.password);
    ctx.clock.advance(ELEVEN_MINUTES);
    await stepUp(ctx, owner.accessToken, { method: 'password', password: owner.password });
    expect((await createKey(org.id, owner.accessToken)).status).toBe(201);
    expectProblem(await createKey(org.id, other.accessToken), 401, 'step_up_required');
  });

  it('tells a caller without the permission 403 forbidden, not step_up_required', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner, 'media');
    const accountant = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    ctx.clock.advance(ELEVEN_MINUTES);
    expectProblem(await createKey(org.id, accountant.accessToken), 403, 'forbidden');
  });

  it('works the same for a cookie session (step-up with the CSRF token)', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const login = await ctx.request('POST', '/v1/auth/login', {
      body: { email: owner.email, password: owner.password, mode: 'cookie' },
    });
    const cookies = {
      gatehouse_session: setCookieOf(login, 'gatehouse_session')!.value,
      gatehouse_csrf: setCookieOf(login, 'gatehouse_csrf')!.value,
    };
    const headers = { 'x-csrf-token': login.body.csrf_token };
    const body = { name: 'cookie key', grants: [{ role: 'video-developer', scope: org.id }] };
    ctx.clock.advance(ELEVEN_MINUTES);
    const refused = await ctx.request('POST', `/v1/organizations/${org.id}/api-keys`, {
      cookies,
      headers,
      body,
    });
    expectProblem(refused, 401, 'step_up_required');
    const proof = await ctx.request('POST', '/v1/auth/step-up', {
      cookies,
      headers,
      body: { method: 'password', password: owner.password },
    });
    expect(proof.status).toBe(200);
    const created = await ctx.request('POST', `/v1/organizations/${org.id}/api-keys`, {
      cookies,
      headers,
      body,
    });
    expect(created.status).toBe(201);
  });
});

describe('a shorter STEP_UP_MAX_AGE', () => {
  it('refuses after the configured age', async () => {
    const short = await createTestContext({ env: { STEP_UP_MAX_AGE: '60' } });
    try {
      const owner = await short.signUp();
      const org = await createOrg(short, owner);
      short.clock.advance(61_000);
      const refused = await short.request('POST', `/v1/organizations/${org.id}/api-keys`, {
        token: owner.accessToken,
        body: { name: 'k', grants: [{ role: 'video-developer', scope: org.id }] },
      });
      expectProblem(refused, 401, 'step_up_required');
      expect(refused.body.max_age).toBe(60);
    } finally {
      await short.close();
    }
  });
});

describe('other routes that need a step-up', () => {
  it('organization ownership transfer', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const heir = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    ctx.clock.advance(ELEVEN_MINUTES);
    const offer = () =>
      ctx.request('POST', `/v1/organizations/${org.id}/transfer-ownership`, {
        token: owner.accessToken,
        body: { user_id: heir.userId },
      });
    expectProblem(await offer(), 401, 'step_up_required');
    await stepUp(ctx, owner.accessToken, { method: 'password', password: owner.password });
    expect((await offer()).status).toBe(201);
  });

  it('account ownership transfer', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    const account = await createAccount(ctx, owner, org.id);
    const heir = await addMember(ctx, owner, org.id, [{ role: 'accountant', scope: org.id }]);
    ctx.clock.advance(ELEVEN_MINUTES);
    const offer = () =>
      ctx.request('POST', `/v1/organizations/${org.id}/accounts/${account.id}/transfer-ownership`, {
        token: owner.accessToken,
        body: { user_id: heir.userId },
      });
    expectProblem(await offer(), 401, 'step_up_required');
    await stepUp(ctx, owner.accessToken, { method: 'password', password: owner.password });
    expect((await offer()).status).toBe(201);
  });

  it('linking a sign-in provider', async () => {
    const user = await ctx.signUp();
    const link = () =>
      ctx.request('POST', '/v1/me/identities', {
        token: user.accessToken,
        body: { provider: 'github' },
      });
    // Fresh: past the step-up check (no provider is configured in tests, so 404 after it).
    const fresh = await link();
    expect(fresh.body.code).not.toBe('step_up_required');
    ctx.clock.advance(ELEVEN_MINUTES);
    expectProblem(await link(), 401, 'step_up_required');
    await stepUp(ctx, user.accessToken, { method: 'password', password: user.password });
    expect((await link()).body.code).toBe(fresh.body.code);
  });
});

describe('changing the password (PUT /v1/auth/password)', () => {
  it('needs no step-up from a user without a factor: the current password is the proof', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(ELEVEN_MINUTES);
    expect((await changePassword(user)).status).toBe(204);
  });

  it('is allowed right after sign-in for a user with a factor', async () => {
    const { user } = await signUpWithTotp(ctx);
    expect((await changePassword(user)).status).toBe(204);
  });

  it('needs a step-up with the factor once the sign-in is older than 10 minutes', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    ctx.clock.advance(ELEVEN_MINUTES);
    const refused = await changePassword(user);
    expectProblem(refused, 401, 'step_up_required');
    expect(refused.body.methods).toEqual(['totp', 'recovery_code']);
    // The old password still signs in: nothing changed.
    const stillOld = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expectProblem(stillOld, 401, 'mfa_required');

    await stepUp(ctx, user.accessToken, {
      method: 'totp',
      code: await freshTotp(ctx, totp.secret),
    });
    expect((await changePassword(user)).status).toBe(204);
    const withNew = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: NEW_PASSWORD },
    });
    expectProblem(withNew, 401, 'mfa_required');
  });

  it('answers invalid_credentials to a wrong current password, step-up or not', async () => {
    const { user } = await signUpWithTotp(ctx);
    ctx.clock.advance(ELEVEN_MINUTES);
    const res = await ctx.request('PUT', '/v1/auth/password', {
      token: user.accessToken,
      body: { current_password: `${user.password}x`, new_password: NEW_PASSWORD },
    });
    expectProblem(res, 401, 'invalid_credentials');
  });
});

describe('enrolling a factor', () => {
  it('adds the factor to the session but does not make the session recent again', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    ctx.clock.advance(9 * 60 * 1000);
    await enrolTotp(ctx, owner);
    const sessions = await ctx.request('GET', '/v1/auth/sessions', { token: owner.accessToken });
    expect(sessions.body.data[0].amr).toEqual(expect.arrayContaining(['totp', 'mfa']));
    // Two minutes later the sign-in is 11 minutes old: enrolling did not renew it, so a
    // session could not keep itself "recent" by cycling factors.
    ctx.clock.advance(2 * 60 * 1000);
    expectProblem(await createKey(org.id, owner.accessToken), 401, 'step_up_required');
  });
});

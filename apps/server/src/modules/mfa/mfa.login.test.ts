/**
 * Signing in with a second factor: the password alone answers 401 mfa_required with a
 * challenge token; the challenge answered with a factor opens the session, in the mode (token
 * or cookie) the login asked for. The session's amr says how it was earned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  otherCode,
  setCookieOf,
  type TestContext,
} from '../../../test/harness';
import { decodeJwtPayload } from '../../../test/seed';
import { startSmsReceiver, type TestSmsReceiver } from '../../../test/sms-receiver';
import {
  enrolSms,
  freshTotp,
  loginChallenge,
  signUpWithTotp,
  totpNow,
  verifyChallenge,
} from './mfa.test-support';

let sms: TestSmsReceiver;
let ctx: TestContext;
beforeAll(async () => {
  sms = await startSmsReceiver();
  ctx = await createTestContext({ env: { SMS_WEBHOOK_URL: sms.url } });
});
afterAll(async () => {
  await ctx?.close();
  await sms?.close();
});

const sessionsOf = (userId: string) =>
  ctx.database.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).execute();

describe('password sign-in of a user with a second factor', () => {
  it('answers 401 mfa_required with a challenge token, the methods and 5 minutes', async () => {
    const { user } = await signUpWithTotp(ctx);
    const res = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expectProblem(res, 401, 'mfa_required');
    expect(res.body).toMatchObject({
      mfa_token: expect.stringMatching(/^[A-Za-z0-9_-]{32,}$/),
      methods: ['totp', 'recovery_code'],
      expires_in: 300,
    });
    expect(res.body.access_token).toBeUndefined();
    expect(res.body.refresh_token).toBeUndefined();
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('opens no session until the second factor is given', async () => {
    const { user } = await signUpWithTotp(ctx);
    const before = (await sessionsOf(user.userId)).length;
    await loginChallenge(ctx, user);
    expect(await sessionsOf(user.userId)).toHaveLength(before);
  });

  it('stores the challenge token hashed', async () => {
    const { user } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const rows = await ctx.database.db
      .selectFrom('pending_sign_ins')
      .selectAll()
      .where('user_id', '=', user.userId)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'mfa', mode: 'token', attempts: 0, consumed_at: null });
    expect(JSON.stringify(rows)).not.toContain(challenge.mfaToken);
  });

  it('still answers invalid_credentials to a wrong password (no challenge, no hint)', async () => {
    const { user } = await signUpWithTotp(ctx);
    const res = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: `${user.password}x` },
    });
    expectProblem(res, 401, 'invalid_credentials');
    expect(res.body.mfa_token).toBeUndefined();
    expect(res.body.methods).toBeUndefined();
  });

  it('lists every method the user has, strongest first', async () => {
    const { user } = await signUpWithTotp(ctx);
    await enrolSms(ctx, sms, user);
    expect((await loginChallenge(ctx, user)).methods).toEqual(['totp', 'sms', 'recovery_code']);
  });

  it('asks nothing more of a user without a confirmed factor', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(res.status).toBe(200);
    expect(decodeJwtPayload(res.body.access_token).amr).toEqual(['pwd']);
  });
});

describe('answering the challenge with an authenticator code (token mode)', () => {
  it('answers the tokens of a new session', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const res = await verifyChallenge(
      ctx,
      challenge.mfaToken,
      'totp',
      await freshTotp(ctx, totp.secret),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      token_type: 'Bearer',
      access_token: expect.any(String),
      expires_in: 600,
      refresh_token: expect.any(String),
      session_id: expect.stringMatching(/^ses_/),
    });
    const me = await ctx.request('GET', '/v1/me', { token: res.body.access_token });
    expect(me.body.id).toBe(user.userId);
  });

  it('puts pwd, totp and mfa in the JWT and in the session list', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const res = await verifyChallenge(
      ctx,
      challenge.mfaToken,
      'totp',
      await freshTotp(ctx, totp.secret),
    );
    const claims = decodeJwtPayload(res.body.access_token);
    expect(claims.amr).toEqual(['pwd', 'totp', 'mfa']);
    expect(claims.sub).toBe(user.userId);
    expect(claims.sid).toBe(res.body.session_id);
    const list = await ctx.request('GET', '/v1/auth/sessions', { token: res.body.access_token });
    const current = list.body.data.find((s: { current: boolean }) => s.current);
    expect(current.id).toBe(res.body.session_id);
    expect(current.amr).toEqual(['pwd', 'totp', 'mfa']);
  });

  it('keeps the amr through a token refresh', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const res = await verifyChallenge(
      ctx,
      challenge.mfaToken,
      'totp',
      await freshTotp(ctx, totp.secret),
    );
    const refreshed = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: res.body.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    expect(decodeJwtPayload(refreshed.body.access_token).amr).toEqual(['pwd', 'totp', 'mfa']);
  });

  it('records the new session in the audit trail with its amr', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const res = await verifyChallenge(
      ctx,
      challenge.mfaToken,
      'totp',
      await freshTotp(ctx, totp.secret),
    );
    const event = await ctx.database.db
      .selectFrom('audit_events')
      .select('changes')
      .where('action', '=', 'session.created')
      .where('target_id', '=', res.body.session_id)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(event.changes!)).toEqual({ amr: ['pwd', 'totp', 'mfa'] });
  });

  it('refuses a wrong code and tells how many attempts are left', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const res = await verifyChallenge(
      ctx,
      challenge.mfaToken,
      'totp',
      otherCode(await freshTotp(ctx, totp.secret)),
    );
    expectProblem(res, 400, 'invalid_code');
    expect(res.body.attempts_left).toBe(4);
    expect(res.body.access_token).toBeUndefined();
  });

  it('still accepts the right code after a wrong one', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const code = await freshTotp(ctx, totp.secret);
    await verifyChallenge(ctx, challenge.mfaToken, 'totp', otherCode(code));
    expect((await verifyChallenge(ctx, challenge.mfaToken, 'totp', code)).status).toBe(200);
  });

  it('accepts a code from the step before (a phone clock slightly behind)', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    ctx.clock.advance(60_000);
    const challenge = await loginChallenge(ctx, user);
    const behind = await totpNow(ctx, totp.secret, -1);
    expect((await verifyChallenge(ctx, challenge.mfaToken, 'totp', behind)).status).toBe(200);
  });

  it('records when the factor was last used', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const code = await freshTotp(ctx, totp.secret);
    const res = await verifyChallenge(ctx, challenge.mfaToken, 'totp', code);
    const status = await ctx.request('GET', '/v1/me/mfa', { token: res.body.access_token });
    expect(status.body.factors[0].last_used_at).toBe(new Date(ctx.clock.now()).toISOString());
  });

  it('refuses a suspended user even with the right code', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    await ctx.database.db
      .updateTable('users')
      .set({ status: 'suspended' })
      .where('id', '=', user.userId)
      .execute();
    ctx.gatehouse.rt.bus.publish(`user:${user.userId}`);
    const res = await verifyChallenge(
      ctx,
      challenge.mfaToken,
      'totp',
      await freshTotp(ctx, totp.secret),
    );
    expectProblem(res, 401, 'mfa_challenge_invalid');
  });
});

describe('answering the challenge in cookie mode', () => {
  it('sets the session and CSRF cookies, and answers no bearer tokens', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user, 'cookie');
    const res = await verifyChallenge(
      ctx,
      challenge.mfaToken,
      'totp',
      await freshTotp(ctx, totp.secret),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      session_id: expect.stringMatching(/^ses_/),
      csrf_token: expect.any(String),
    });
    const session = setCookieOf(res, 'gatehouse_session');
    const csrf = setCookieOf(res, 'gatehouse_csrf');
    expect(session?.attributes).toMatchObject({ httponly: true, path: '/' });
    expect(csrf?.value).toBe(res.body.csrf_token);

    const cookies = { gatehouse_session: session!.value, gatehouse_csrf: csrf!.value };
    const me = await ctx.request('GET', '/v1/me', { cookies });
    expect(me.body.id).toBe(user.userId);
    const list = await ctx.request('GET', '/v1/auth/sessions', { cookies });
    const current = list.body.data.find((s: { current: boolean }) => s.current);
    expect(current.amr).toEqual(['pwd', 'totp', 'mfa']);
  });

  it('sets no cookie on the mfa_required answer itself', async () => {
    const { user } = await signUpWithTotp(ctx);
    const res = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password, mode: 'cookie' },
    });
    expectProblem(res, 401, 'mfa_required');
    expect(setCookieOf(res, 'gatehouse_session')).toBeUndefined();
  });

  it('keeps the mode of the login: the verify body cannot switch it', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user, 'cookie');
    const res = await ctx.request('POST', '/v1/auth/mfa/verify', {
      body: {
        mfa_token: challenge.mfaToken,
        method: 'totp',
        code: await freshTotp(ctx, totp.secret),
        mode: 'token',
      },
    });
    expectProblem(res, 400, 'validation_failed');
  });
});

describe('a challenge whose factor went away', () => {
  it('answers mfa_method_unavailable when the factor was removed meanwhile', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    await ctx.request('DELETE', `/v1/me/mfa/factors/${totp.factorId}`, {
      token: user.accessToken,
    });
    const res = await verifyChallenge(
      ctx,
      challenge.mfaToken,
      'totp',
      await freshTotp(ctx, totp.secret),
    );
    expectProblem(res, 400, 'mfa_method_unavailable');
  });
});

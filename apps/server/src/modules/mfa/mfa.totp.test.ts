/**
 * Authenticator apps (TOTP, RFC 6238): enrol, confirm with a first code, remove. A factor only
 * counts once confirmed; removing a confirmed one needs a recent proof (step-up).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  mailsTo,
  otherCode,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import {
  enrolTotp,
  freshTotp,
  loginChallenge,
  recoveryRows,
  signUpWithTotp,
  stepUp,
  totpNow,
} from './mfa.test-support';
import { totpIssuer } from './totp';

let ctx: TestContext;
beforeAll(async () => {
  // An hour-long access token: these tests move the clock past the step-up age (10 minutes)
  // and want the same token to keep authenticating, so only auth_time decides.
  ctx = await createTestContext({ env: { ACCESS_TOKEN_TTL: '3600' } });
});
afterAll(async () => {
  await ctx?.close();
});

const ELEVEN_MINUTES = 11 * 60 * 1000;

const startTotp = (user: SignedIn) =>
  ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
const confirmTotp = (user: SignedIn, code: string) =>
  ctx.request('POST', '/v1/me/mfa/totp/confirm', { token: user.accessToken, body: { code } });
const mfaStatus = async (user: SignedIn) =>
  (await ctx.request('GET', '/v1/me/mfa', { token: user.accessToken })).body;
const removeFactor = (user: SignedIn, factorId: string, token = user.accessToken) =>
  ctx.request('DELETE', `/v1/me/mfa/factors/${factorId}`, { token });

// @see issue 10 #23: the otpauth label included the port's colon
describe('the otpauth URI of a server on a port', () => {
  it('names the host without its port, so the label has exactly one colon', async () => {
    const onPort = await createTestContext({ env: { PUBLIC_URL: 'http://localhost:3000' } });
    try {
      const user = await onPort.signUp();
      const res = await onPort.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
      expect(res.status).toBe(201);
      const uri = new URL(res.body.otpauth_uri);
      expect(uri.searchParams.get('issuer')).toBe('localhost');
      expect(decodeURIComponent(uri.pathname)).toBe(`/localhost:${user.email}`);
    } finally {
      await onPort.close();
    }
  });

  it.each([
    ['https://id.example.com', 'id.example.com'],
    ['https://id.example.com:8443/base', 'id.example.com'],
    ['http://[::1]:3000', '-1'],
    ['http://127.0.0.1:3000', '127.0.0.1'],
  ])('takes the issuer of %s as %s, never with a colon', (url, issuer) => {
    expect(totpIssuer(url)).toBe(issuer);
    expect(totpIssuer(url)).not.toContain(':');
  });
});

describe('starting a TOTP enrolment', () => {
  it('answers a base32 secret, an otpauth URI holding it and a PNG QR code', async () => {
    const user = await ctx.signUp();
    const res = await startTotp(user);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      factor_id: expect.stringMatching(/^mfa_/),
      secret: expect.stringMatching(/^[A-Z2-7]{32}$/),
      otpauth_uri: expect.any(String),
      qr_code: expect.stringMatching(/^data:image\/png;base64,/),
    });
    const uri = new URL(res.body.otpauth_uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(uri.searchParams.get('secret')).toBe(res.body.secret);
    expect(uri.searchParams.get('issuer')).toBe('gatehouse.test');
    expect(decodeURIComponent(uri.pathname)).toContain(user.email);
    const png = Buffer.from(res.body.qr_code.slice('data:image/png;base64,'.length), 'base64');
    // The PNG signature: a real image, not a placeholder.
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.length).toBeGreaterThan(200);
  });

  it('stores the secret sealed, never as typed into the app', async () => {
    const user = await ctx.signUp();
    const res = await startTotp(user);
    const row = await ctx.database.db
      .selectFrom('mfa_factors')
      .selectAll()
      .where('id', '=', res.body.factor_id)
      .executeTakeFirstOrThrow();
    expect(row.secret_sealed).toBeTruthy();
    expect(row.secret_sealed).not.toContain(res.body.secret);
    expect(row.secret_sealed).not.toContain(res.body.secret.toLowerCase());
  });

  it('lists the enrolment as unconfirmed, and it does not protect sign-in yet', async () => {
    const user = await ctx.signUp();
    await startTotp(user);
    const status = await mfaStatus(user);
    expect(status.factors).toEqual([
      expect.objectContaining({ type: 'totp', confirmed: false, phone: null }),
    ]);
    expect(status.recovery_codes_remaining).toBe(0);
    expect(status.step_up_methods).toEqual(['password']);
    const login = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(login.status).toBe(200);
    expect(login.body.access_token).toEqual(expect.any(String));
  });

  it('replaces an unconfirmed enrolment: the earlier secret no longer confirms', async () => {
    const user = await ctx.signUp();
    const first = await startTotp(user);
    const second = await startTotp(user);
    expect(second.body.secret).not.toBe(first.body.secret);
    expect((await mfaStatus(user)).factors).toHaveLength(1);
    const stale = await confirmTotp(user, await totpNow(ctx, first.body.secret));
    expectProblem(stale, 400, 'invalid_code');
    expect((await confirmTotp(user, await totpNow(ctx, second.body.secret))).status).toBe(200);
  });

  it('refuses a second authenticator while one is confirmed (409 factor_exists)', async () => {
    const { user } = await signUpWithTotp(ctx);
    expectProblem(await startTotp(user), 409, 'factor_exists');
    const status = await mfaStatus(user);
    expect(status.factors).toHaveLength(1);
    expect(status.factors[0].confirmed).toBe(true);
  });

  it('needs a signed-in user', async () => {
    expectProblem(await ctx.request('POST', '/v1/me/mfa/totp'), 401, 'unauthenticated');
    expectProblem(await ctx.request('GET', '/v1/me/mfa'), 401, 'unauthenticated');
  });
});

describe('confirming a TOTP enrolment', () => {
  it('refuses a wrong code and leaves the factor unconfirmed', async () => {
    const user = await ctx.signUp();
    const started = await startTotp(user);
    const wrong = await confirmTotp(user, otherCode(await totpNow(ctx, started.body.secret)));
    expectProblem(wrong, 400, 'invalid_code');
    expect((await mfaStatus(user)).factors[0].confirmed).toBe(false);
  });

  it('refuses a code of a step two away (outside the drift window)', async () => {
    const user = await ctx.signUp();
    const started = await startTotp(user);
    const later = await totpNow(ctx, started.body.secret, 2);
    expectProblem(await confirmTotp(user, later), 400, 'invalid_code');
  });

  it('accepts the code of the next step (clock drift of the phone)', async () => {
    const user = await ctx.signUp();
    const started = await startTotp(user);
    expect((await confirmTotp(user, await totpNow(ctx, started.body.secret, 1))).status).toBe(200);
  });

  it('confirms with the right code: the factor, and 10 recovery codes shown once', async () => {
    const user = await ctx.signUp();
    const started = await startTotp(user);
    const res = await confirmTotp(user, await totpNow(ctx, started.body.secret));
    expect(res.status).toBe(200);
    expect(res.body.factor).toMatchObject({
      id: started.body.factor_id,
      type: 'totp',
      confirmed: true,
      phone: null,
      last_used_at: expect.any(String),
    });
    expect(res.body.recovery_codes).toHaveLength(10);
    for (const code of res.body.recovery_codes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
    expect(new Set(res.body.recovery_codes).size).toBe(10);
    const status = await mfaStatus(user);
    expect(status.recovery_codes_remaining).toBe(10);
    expect(status.step_up_methods).toEqual(['totp', 'recovery_code']);
    expect(JSON.stringify(status)).not.toContain(res.body.recovery_codes[0]);
  });

  it('makes the password sign-in ask for the second factor', async () => {
    const { user } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    expect(challenge.methods).toEqual(['totp', 'recovery_code']);
  });

  it('counts the confirming code as a proof: the session now says totp and mfa', async () => {
    const { user } = await signUpWithTotp(ctx);
    const sessions = await ctx.request('GET', '/v1/auth/sessions', { token: user.accessToken });
    const current = sessions.body.data.find((s: { current: boolean }) => s.current);
    expect(current.amr).toEqual(expect.arrayContaining(['totp', 'mfa']));
  });

  it('tells the user by email and records an audit event', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const mails = await mailsTo(ctx, user.email);
    expect(mails[0]?.subject).toContain('security setting');
    expect(mails[0]?.body).toContain('authenticator app was added');
    const events = await ctx.database.db
      .selectFrom('audit_events')
      .select(['action', 'changes'])
      .where('actor_id', '=', user.userId)
      .where('action', '=', 'mfa.factor_added')
      .execute();
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.changes!)).toMatchObject({ factor_id: totp.factorId });
  });

  it('refuses to confirm when no enrolment is pending (code_expired)', async () => {
    const user = await ctx.signUp();
    expectProblem(await confirmTotp(user, '123456'), 400, 'code_expired');
  });

  it('refuses to confirm an enrolment twice', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    expectProblem(await confirmTotp(user, await freshTotp(ctx, totp.secret)), 400, 'code_expired');
  });

  it('drops an enrolment not confirmed within 15 minutes', async () => {
    const user = await ctx.signUp();
    const started = await startTotp(user);
    ctx.clock.advance(16 * 60 * 1000);
    // The sign-in went stale too: a step-up first, so only the enrolment's age decides.
    await stepUp(ctx, user.accessToken, { method: 'password', password: user.password });
    const res = await confirmTotp(user, await totpNow(ctx, started.body.secret));
    expectProblem(res, 400, 'code_expired');
  });

  it('refuses codes that are not 6 digits (400 validation_failed)', async () => {
    const user = await ctx.signUp();
    await startTotp(user);
    for (const code of ['12345', '1234567', 'abcdef', '12 456', '']) {
      expectProblem(await confirmTotp(user, code), 400, 'validation_failed');
    }
  });
});

describe('removing an authenticator', () => {
  it('removes it within 10 minutes of signing in, and sign-in no longer asks for it', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const res = await removeFactor(user, totp.factorId);
    expect(res.status).toBe(204);
    const status = await mfaStatus(user);
    expect(status.factors).toEqual([]);
    expect(status.step_up_methods).toEqual(['password']);
    const login = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(login.status).toBe(200);
  });

  it('takes the recovery codes with the last factor', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    expect(await recoveryRows(ctx, user.userId)).toHaveLength(10);
    await removeFactor(user, totp.factorId);
    expect(await recoveryRows(ctx, user.userId)).toHaveLength(0);
    expect((await mfaStatus(user)).recovery_codes_remaining).toBe(0);
  });

  it('needs a step-up once the sign-in is older than 10 minutes', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    ctx.clock.advance(ELEVEN_MINUTES);
    const refused = await removeFactor(user, totp.factorId);
    expectProblem(refused, 401, 'step_up_required');
    expect(refused.body.methods).toEqual(['totp', 'recovery_code']);
    expect(refused.body.max_age).toBe(600);
    expect((await mfaStatus(user)).factors).toHaveLength(1);

    const proof = await stepUp(ctx, user.accessToken, {
      method: 'totp',
      code: await freshTotp(ctx, totp.secret),
    });
    expect(proof.status).toBe(200);
    expect((await removeFactor(user, totp.factorId)).status).toBe(204);
    expect((await mfaStatus(user)).factors).toEqual([]);
  });

  it('removes an unconfirmed enrolment without a step-up', async () => {
    const user = await ctx.signUp();
    const started = await startTotp(user);
    ctx.clock.advance(ELEVEN_MINUTES);
    expect((await removeFactor(user, started.body.factor_id)).status).toBe(204);
    expect((await mfaStatus(user)).factors).toEqual([]);
  });

  it("answers 404 for another user's factor and leaves it in place", async () => {
    const { user: victim, totp } = await signUpWithTotp(ctx);
    const intruder = await ctx.signUp();
    expectProblem(await removeFactor(intruder, totp.factorId), 404, 'not_found');
    expect((await mfaStatus(victim)).factors).toHaveLength(1);
    await loginChallenge(ctx, victim);
  });

  it('answers 404 for an unknown factor', async () => {
    const user = await ctx.signUp();
    expectProblem(await removeFactor(user, 'mfa_nothing'), 404, 'not_found');
  });

  it('tells the user by email and lets them enrol a new authenticator afterwards', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    await removeFactor(user, totp.factorId);
    const mails = await mailsTo(ctx, user.email);
    expect(mails.some((m) => m.body?.includes('authenticator app was removed'))).toBe(true);
    const again = await enrolTotp(ctx, user);
    expect(again.secret).not.toBe(totp.secret);
    // A first factor again: a fresh set of recovery codes.
    expect(again.recoveryCodes).toHaveLength(10);
  });
});

/**
 * Phone numbers as a second factor: the number is confirmed by a code it received before it
 * counts; codes are 6 digits, live 5 minutes and allow 5 attempts. Every SMS goes through the
 * outbox and the real webhook to a local receiver, where the tests read it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  mailsTo,
  otherCode,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { decodeJwtPayload } from '../../../test/seed';
import { startSmsReceiver, type TestSmsReceiver } from '../../../test/sms-receiver';
import {
  enrolSms,
  enrolTotp,
  lastSmsCode,
  loginChallenge,
  recoveryRows,
  smsCountTo,
  uniquePhone,
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
beforeEach(() => {
  sms.respondWith(200);
});

const FIVE_MINUTES = 5 * 60 * 1000;

const startSms = (user: SignedIn, phone: unknown) =>
  ctx.request('POST', '/v1/me/mfa/sms', { token: user.accessToken, body: { phone } });
const confirmSms = (user: SignedIn, code: string) =>
  ctx.request('POST', '/v1/me/mfa/sms/confirm', { token: user.accessToken, body: { code } });
const mfaStatus = async (user: SignedIn) =>
  (await ctx.request('GET', '/v1/me/mfa', { token: user.accessToken })).body;

describe('starting an SMS enrolment', () => {
  it('answers 202 with the number masked and sends a 6-digit code to it', async () => {
    const user = await ctx.signUp();
    const phone = uniquePhone();
    const res = await startSms(user, phone);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      factor_id: expect.stringMatching(/^mfa_/),
      phone: `${'•'.repeat(phone.length - 2)}${phone.slice(-2)}`,
      expires_in: 300,
    });
    await ctx.gatehouse.outbox.drain();
    const received = sms.received.filter((r) => (r.body as { to: string }).to === phone);
    expect(received).toHaveLength(1);
    expect((received[0]!.body as { body: string }).body).toMatch(
      /^\d{6} is your Gatehouse code to confirm this number\. It expires in 5 minutes\.$/,
    );
  });

  it('stores the code hashed, for purpose sms_enrol', async () => {
    const user = await ctx.signUp();
    const phone = uniquePhone();
    await startSms(user, phone);
    const code = await lastSmsCode(ctx, sms, phone);
    const rows = await ctx.database.db
      .selectFrom('one_time_codes')
      .selectAll()
      .where('user_id', '=', user.userId)
      .where('purpose', '=', 'sms_enrol')
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.code_hash).not.toContain(code);
    expect(rows[0]!.expires_at - rows[0]!.created_at).toBe(FIVE_MINUTES);
  });

  it('is not a factor until the number is confirmed', async () => {
    const user = await ctx.signUp();
    await startSms(user, uniquePhone());
    const status = await mfaStatus(user);
    expect(status.factors).toEqual([expect.objectContaining({ type: 'sms', confirmed: false })]);
    expect(status.step_up_methods).toEqual(['password']);
    const login = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(login.status).toBe(200);
  });

  it.each([
    ['a national number', '015112345678'],
    ['a leading zero after the plus', '+0151123456'],
    ['spaces inside', '+49 151 1234 5678'],
    ['dashes', '+49-151-12345678'],
    ['too few digits', '+4915112'],
    ['too many digits', '+4915112345678901'],
    ['letters', '+49151ABCDEFG'],
    ['an empty string', ''],
    ['a number type', 4915112345678],
    ['null', null],
  ])('refuses %s as the number (400 validation_failed)', async (_name, phone) => {
    const user = await ctx.signUp();
    await ctx.gatehouse.outbox.drain();
    const before = sms.received.length;
    expectProblem(await startSms(user, phone), 400, 'validation_failed');
    await ctx.gatehouse.outbox.drain();
    expect(sms.received).toHaveLength(before);
    expect((await mfaStatus(user)).factors).toEqual([]);
  });

  it('refuses a body with unknown fields or no phone (400 validation_failed)', async () => {
    const user = await ctx.signUp();
    for (const body of [{}, { phone: uniquePhone(), extra: 1 }, { mobile: uniquePhone() }]) {
      const res = await ctx.request('POST', '/v1/me/mfa/sms', { token: user.accessToken, body });
      expectProblem(res, 400, 'validation_failed');
    }
  });

  it('refuses a second number while one is confirmed (409 factor_exists)', async () => {
    const user = await ctx.signUp();
    await enrolSms(ctx, sms, user);
    const other = uniquePhone();
    expectProblem(await startSms(user, other), 409, 'factor_exists');
    expect(await smsCountTo(ctx, sms, other)).toBe(0);
  });

  it('voids the first code when the enrolment is started again', async () => {
    const user = await ctx.signUp();
    const phone = uniquePhone();
    await startSms(user, phone);
    const first = await lastSmsCode(ctx, sms, phone);
    ctx.clock.advance(1000);
    await startSms(user, phone);
    const second = await lastSmsCode(ctx, sms, phone);
    if (first !== second) expectProblem(await confirmSms(user, first), 400, 'invalid_code');
    expect((await confirmSms(user, second)).status).toBe(200);
  });
});

describe('confirming a phone number', () => {
  it('confirms it with the code it received: a factor, and 10 recovery codes', async () => {
    const user = await ctx.signUp();
    const phone = uniquePhone();
    const started = await startSms(user, phone);
    const res = await confirmSms(user, await lastSmsCode(ctx, sms, phone));
    expect(res.status).toBe(200);
    expect(res.body.factor).toMatchObject({
      id: started.body.factor_id,
      type: 'sms',
      confirmed: true,
      phone: started.body.phone,
    });
    expect(res.body.recovery_codes).toHaveLength(10);
    const status = await mfaStatus(user);
    expect(status.step_up_methods).toEqual(['sms', 'recovery_code']);
    // The full number is never shown back.
    expect(JSON.stringify(status)).not.toContain(phone);
  });

  it('makes the confirmed number the user’s mobile', async () => {
    const user = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, user);
    const me = await ctx.request('GET', '/v1/me', { token: user.accessToken });
    expect(me.body.mobile).toBe(phone);
  });

  it('refuses a wrong code and tells how many attempts are left', async () => {
    const user = await ctx.signUp();
    const phone = uniquePhone();
    await startSms(user, phone);
    const res = await confirmSms(user, otherCode(await lastSmsCode(ctx, sms, phone)));
    expectProblem(res, 400, 'invalid_code');
    expect(res.body.attempts_left).toBe(4);
    expect((await mfaStatus(user)).factors[0].confirmed).toBe(false);
  });

  it('allows 5 attempts: then too_many_attempts, even for the right code', async () => {
    const user = await ctx.signUp();
    const phone = uniquePhone();
    await startSms(user, phone);
    const code = await lastSmsCode(ctx, sms, phone);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await confirmSms(user, otherCode(code)));
    expect(answers.map((a) => a.body.code)).toEqual([
      'invalid_code',
      'invalid_code',
      'invalid_code',
      'invalid_code',
      'too_many_attempts',
    ]);
    expectProblem(await confirmSms(user, code), 400, 'too_many_attempts');
    expect((await mfaStatus(user)).factors[0].confirmed).toBe(false);
  });

  it('accepts the code just before it expires', async () => {
    const user = await ctx.signUp();
    const phone = uniquePhone();
    await startSms(user, phone);
    const code = await lastSmsCode(ctx, sms, phone);
    ctx.clock.advance(FIVE_MINUTES - 1000);
    expect((await confirmSms(user, code)).status).toBe(200);
  });

  it('refuses the code after 5 minutes (code_expired)', async () => {
    const user = await ctx.signUp();
    const phone = uniquePhone();
    await startSms(user, phone);
    const code = await lastSmsCode(ctx, sms, phone);
    ctx.clock.advance(FIVE_MINUTES);
    expectProblem(await confirmSms(user, code), 400, 'code_expired');
    expect((await mfaStatus(user)).factors[0].confirmed).toBe(false);
  });

  it('refuses the code a second time', async () => {
    const user = await ctx.signUp();
    const phone = uniquePhone();
    await startSms(user, phone);
    const code = await lastSmsCode(ctx, sms, phone);
    expect((await confirmSms(user, code)).status).toBe(200);
    expectProblem(await confirmSms(user, code), 400, 'code_expired');
  });

  it('refuses to confirm when no enrolment is pending', async () => {
    const user = await ctx.signUp();
    expectProblem(await confirmSms(user, '123456'), 400, 'code_expired');
  });

  it('refuses codes that are not 6 digits (400 validation_failed)', async () => {
    const user = await ctx.signUp();
    await startSms(user, uniquePhone());
    for (const code of ['12345', '1234567', '12345a', 123456]) {
      const res = await ctx.request('POST', '/v1/me/mfa/sms/confirm', {
        token: user.accessToken,
        body: { code },
      });
      expectProblem(res, 400, 'validation_failed');
    }
  });

  it('brings no new recovery codes when it is not the first factor', async () => {
    const user = await ctx.signUp();
    const totp = await enrolTotp(ctx, user);
    const before = (await recoveryRows(ctx, user.userId)).map((r) => r.code_hash).sort();
    const phone = uniquePhone();
    await startSms(user, phone);
    const res = await confirmSms(user, await lastSmsCode(ctx, sms, phone));
    expect(res.status).toBe(200);
    expect(res.body.recovery_codes).toBeNull();
    const after = (await recoveryRows(ctx, user.userId)).map((r) => r.code_hash).sort();
    expect(after).toEqual(before);
    expect(totp.recoveryCodes).toHaveLength(10);
    expect((await mfaStatus(user)).step_up_methods).toEqual(['totp', 'sms', 'recovery_code']);
  });

  it('tells the user by email, with the number masked', async () => {
    const user = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, user);
    const notice = (await mailsTo(ctx, user.email)).find((m) => m.body?.includes('phone number'));
    expect(notice?.body).toContain(phone.slice(-2));
    expect(notice?.body).not.toContain(phone);
  });
});

describe('signing in with an SMS code', () => {
  it('offers sms, sends the sign-in code on request and signs in with it', async () => {
    const user = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, user);
    const challenge = await loginChallenge(ctx, user);
    expect(challenge.methods).toEqual(['sms', 'recovery_code']);
    // Nothing is sent until the client asks: the user may prefer a recovery code.
    const before = await smsCountTo(ctx, sms, phone);
    const sent = await ctx.request('POST', '/v1/auth/mfa/sms', {
      body: { mfa_token: challenge.mfaToken },
    });
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ status: 'sent', expires_in: 300 });
    expect(await smsCountTo(ctx, sms, phone)).toBe(before + 1);
    const text = (sms.received.at(-1)!.body as { body: string }).body;
    expect(text).toMatch(/^\d{6} is your Gatehouse sign-in code\./);
    const res = await verifyChallenge(
      ctx,
      challenge.mfaToken,
      'sms',
      await lastSmsCode(ctx, sms, phone),
    );
    expect(res.status).toBe(200);
    expect(decodeJwtPayload(res.body.access_token).amr).toEqual(['pwd', 'sms', 'mfa']);
  });

  it('stores the sign-in code hashed with purpose mfa_sms', async () => {
    const user = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, user);
    const challenge = await loginChallenge(ctx, user);
    await ctx.request('POST', '/v1/auth/mfa/sms', { body: { mfa_token: challenge.mfaToken } });
    const code = await lastSmsCode(ctx, sms, phone);
    const row = await ctx.database.db
      .selectFrom('one_time_codes')
      .selectAll()
      .where('user_id', '=', user.userId)
      .where('purpose', '=', 'mfa_sms')
      .where('consumed_at', 'is', null)
      .executeTakeFirstOrThrow();
    expect(row.code_hash).not.toContain(code);
    expect(row.expires_at - row.created_at).toBe(FIVE_MINUTES);
  });

  it('refuses the enrolment code as a sign-in code', async () => {
    const user = await ctx.signUp();
    const phone = uniquePhone();
    await startSms(user, phone);
    const enrolCode = await lastSmsCode(ctx, sms, phone);
    await confirmSms(user, enrolCode);
    const challenge = await loginChallenge(ctx, user);
    const res = await verifyChallenge(ctx, challenge.mfaToken, 'sms', enrolCode);
    expect(res.status).toBe(400);
    expect(['invalid_code', 'code_expired']).toContain(res.body.code);
  });

  it('answers mfa_method_unavailable when the user has no phone factor', async () => {
    const user = await ctx.signUp();
    await enrolTotp(ctx, user);
    const challenge = await loginChallenge(ctx, user);
    const res = await ctx.request('POST', '/v1/auth/mfa/sms', {
      body: { mfa_token: challenge.mfaToken },
    });
    expectProblem(res, 400, 'mfa_method_unavailable');
  });

  it('answers mfa_challenge_invalid for an unknown challenge token, sending nothing', async () => {
    await ctx.gatehouse.outbox.drain();
    const before = sms.received.length;
    const res = await ctx.request('POST', '/v1/auth/mfa/sms', {
      body: { mfa_token: 'not-a-challenge' },
    });
    expectProblem(res, 401, 'mfa_challenge_invalid');
    await ctx.gatehouse.outbox.drain();
    expect(sms.received).toHaveLength(before);
  });

  it('refuses an SMS code that was never sent for the challenge', async () => {
    const user = await ctx.signUp();
    await enrolSms(ctx, sms, user);
    const challenge = await loginChallenge(ctx, user);
    const res = await verifyChallenge(ctx, challenge.mfaToken, 'sms', '123456');
    expectProblem(res, 400, 'code_expired');
  });
});

describe('removing a phone number', () => {
  it('removes it and sign-in asks for no second factor any more', async () => {
    const user = await ctx.signUp();
    const { factorId } = await enrolSms(ctx, sms, user);
    const res = await ctx.request('DELETE', `/v1/me/mfa/factors/${factorId}`, {
      token: user.accessToken,
    });
    expect(res.status).toBe(204);
    expect((await mfaStatus(user)).factors).toEqual([]);
    const login = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(login.status).toBe(200);
  });

  it('lets another number be enrolled afterwards', async () => {
    const user = await ctx.signUp();
    const { factorId } = await enrolSms(ctx, sms, user);
    await ctx.request('DELETE', `/v1/me/mfa/factors/${factorId}`, { token: user.accessToken });
    const next = await enrolSms(ctx, sms, user);
    expect((await mfaStatus(user)).factors).toEqual([
      expect.objectContaining({ id: next.factorId, confirmed: true }),
    ]);
  });
});

describe('SMS cost limits', () => {
  it('refuses a sixth SMS to one account within 15 minutes (rate_limited)', async () => {
    // Real limits here (the shared context raises them 100x).
    const strict = await createTestContext({
      env: { SMS_WEBHOOK_URL: sms.url },
      rateLimitScale: 1,
    });
    try {
      const user = await strict.signUp();
      const phone = uniquePhone();
      for (let i = 0; i < 5; i++) {
        const res = await strict.request('POST', '/v1/me/mfa/sms', {
          token: user.accessToken,
          body: { phone },
        });
        expect(res.status).toBe(202);
      }
      const sixth = await strict.request('POST', '/v1/me/mfa/sms', {
        token: user.accessToken,
        body: { phone },
      });
      expectProblem(sixth, 429, 'rate_limited');
      expect(await smsCountTo(strict, sms, phone)).toBe(5);
    } finally {
      await strict.close();
    }
  });
});

describe('sign-in and step-up codes', () => {
  it('are separate: a step-up code does not finish a sign-in, and a sign-in code does not step up', async () => {
    const user = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, user);
    const challenge = await loginChallenge(ctx, user);
    await ctx.request('POST', '/v1/auth/mfa/sms', { body: { mfa_token: challenge.mfaToken } });
    const signInCode = await lastSmsCode(ctx, sms, phone);
    // Two different codes (a new step-up code voids only the previous step-up code).
    let stepUpCode = signInCode;
    while (stepUpCode === signInCode) {
      const asked = await ctx.request('POST', '/v1/auth/step-up/sms', { token: user.accessToken });
      expect(asked.status, asked.text).toBe(202);
      stepUpCode = await lastSmsCode(ctx, sms, phone);
    }
    expectProblem(
      await ctx.request('POST', '/v1/auth/step-up', {
        token: user.accessToken,
        body: { method: 'sms', code: signInCode },
      }),
      400,
      'invalid_code',
    );
    expectProblem(
      await verifyChallenge(ctx, challenge.mfaToken, 'sms', stepUpCode),
      400,
      'invalid_code',
    );
    expect((await verifyChallenge(ctx, challenge.mfaToken, 'sms', signInCode)).status).toBe(200);
    const stepped = await ctx.request('POST', '/v1/auth/step-up', {
      token: user.accessToken,
      body: { method: 'sms', code: stepUpCode },
    });
    expect(stepped.status, stepped.text).toBe(200);
  });
});

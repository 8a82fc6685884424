/**
 * Attacks on the second factor, each tried and each expected to fail: guessing codes past the
 * limits, replaying a code (one after the other and at the same moment), reusing a recovery
 * code, answering one user's challenge with another user's factor, using a challenge after it
 * expired or was used, and getting a session from the challenge token by another door. On
 * SQLite concurrent requests are serialised by the single writer; on PostgreSQL they overlap,
 * which is where the guarded UPDATEs must hold.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  engine,
  expectProblem,
  otherCode,
  type TestContext,
  type TestResponse,
} from '../../../test/harness';
import { createOrg } from '../../../test/seed';
import { startSmsReceiver, type TestSmsReceiver } from '../../../test/sms-receiver';
import { normalizeRecoveryCode } from './mfa.service';
import {
  enrolSms,
  freshTotp,
  lastSmsCode,
  loginChallenge,
  recoveryRows,
  signUpWithTotp,
  stepUp,
  totpNow,
  verifyChallenge,
} from './mfa.test-support';

let sms: TestSmsReceiver;
let ctx: TestContext;
beforeAll(async () => {
  sms = await startSmsReceiver();
  ctx = await createTestContext({ env: { SMS_WEBHOOK_URL: sms.url, ACCESS_TOKEN_TTL: '3600' } });
});
afterAll(async () => {
  await ctx?.close();
  await sms?.close();
});

const FIVE_MINUTES = 5 * 60 * 1000;

const sessionCount = async (userId: string) =>
  (
    await ctx.database.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', userId)
      .execute()
  ).length;
const ok = (responses: TestResponse[]) => responses.filter((r) => r.status === 200);
const sendChallengeSms = (mfaToken: string) =>
  ctx.request('POST', '/v1/auth/mfa/sms', { body: { mfa_token: mfaToken } });

describe('guessing codes', () => {
  it('kills a challenge after 5 wrong TOTP codes: the right code then fails too', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const before = await sessionCount(user.userId);
    const challenge = await loginChallenge(ctx, user);
    const code = await freshTotp(ctx, totp.secret);
    const answers: TestResponse[] = [];
    for (let i = 0; i < 5; i++)
      answers.push(await verifyChallenge(ctx, challenge.mfaToken, 'totp', otherCode(code)));
    expect(answers.map((a) => [a.body.code, a.body.attempts_left])).toEqual([
      ['invalid_code', 4],
      ['invalid_code', 3],
      ['invalid_code', 2],
      ['invalid_code', 1],
      ['mfa_challenge_invalid', undefined],
    ]);
    expectProblem(
      await verifyChallenge(ctx, challenge.mfaToken, 'totp', code),
      401,
      'mfa_challenge_invalid',
    );
    expect(await sessionCount(user.userId)).toBe(before);
  });

  it('counts a burst of parallel guesses against the same 5 attempts', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const code = await freshTotp(ctx, totp.secret);
    const wrong = Array.from({ length: 10 }, (_, i) =>
      String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'),
    );
    const answers = await Promise.all(
      wrong.map((guess) => verifyChallenge(ctx, challenge.mfaToken, 'totp', guess)),
    );
    expect(ok(answers)).toHaveLength(0);
    for (const a of answers) expect(a.status).toBeLessThan(500);
    const row = await ctx.database.db
      .selectFrom('pending_sign_ins')
      .select('attempts')
      .where('user_id', '=', user.userId)
      .executeTakeFirstOrThrow();
    expect(Number(row.attempts)).toBe(5);
    expectProblem(
      await verifyChallenge(ctx, challenge.mfaToken, 'totp', code),
      401,
      'mfa_challenge_invalid',
    );
  });

  it('stops SMS code guessing at 5 per code, even across fresh challenges', async () => {
    const user = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, user);
    const first = await loginChallenge(ctx, user);
    await sendChallengeSms(first.mfaToken);
    const code = await lastSmsCode(ctx, sms, phone);
    for (let i = 0; i < 4; i++)
      expectProblem(
        await verifyChallenge(ctx, first.mfaToken, 'sms', otherCode(code)),
        400,
        'invalid_code',
      );
    // A new sign-in gives a new challenge, not new guesses at the same code.
    const second = await loginChallenge(ctx, user);
    expectProblem(
      await verifyChallenge(ctx, second.mfaToken, 'sms', otherCode(code)),
      400,
      'too_many_attempts',
    );
    expectProblem(
      await verifyChallenge(ctx, second.mfaToken, 'sms', code),
      400,
      'too_many_attempts',
    );
    // The real user asks for a new code, and it works.
    ctx.clock.advance(1000);
    await sendChallengeSms(second.mfaToken);
    const fresh = await lastSmsCode(ctx, sms, phone);
    expect((await verifyChallenge(ctx, second.mfaToken, 'sms', fresh)).status).toBe(200);
  });

  it('stops step-up SMS guessing at 5 attempts, leaving the session unproven', async () => {
    const owner = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, owner);
    const org = await createOrg(ctx, owner);
    ctx.clock.advance(11 * 60 * 1000);
    await ctx.request('POST', '/v1/auth/step-up/sms', { token: owner.accessToken });
    const code = await lastSmsCode(ctx, sms, phone);
    const answers: string[] = [];
    for (let i = 0; i < 5; i++)
      answers.push(
        (await stepUp(ctx, owner.accessToken, { method: 'sms', code: otherCode(code) })).body.code,
      );
    expect(answers).toEqual([
      'invalid_code',
      'invalid_code',
      'invalid_code',
      'invalid_code',
      'too_many_attempts',
    ]);
    expectProblem(
      await stepUp(ctx, owner.accessToken, { method: 'sms', code }),
      400,
      'too_many_attempts',
    );
    const key = await ctx.request('POST', `/v1/organizations/${org.id}/api-keys`, {
      token: owner.accessToken,
      body: { name: 'k', grants: [{ role: 'video-developer', scope: org.id }] },
    });
    expectProblem(key, 401, 'step_up_required');
  });

  it('rate-limits second-factor attempts per account across fresh challenges', async () => {
    // Real limits: 10 attempts per account in 10 minutes, whatever the challenge.
    const strict = await createTestContext({ rateLimitScale: 1 });
    try {
      const user = await strict.signUp();
      const started = await strict.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
      const secret: string = started.body.secret;
      await strict.request('POST', '/v1/me/mfa/totp/confirm', {
        token: user.accessToken,
        body: { code: await totpNow(strict, secret) },
      });
      strict.clock.advance(30_000);
      const code = await totpNow(strict, secret);
      const statuses: number[] = [];
      // The confirmation spent one attempt of the account's 10; 9 wrong guesses spend the rest.
      for (let round = 0; round < 3; round++) {
        const challenge = await loginChallenge(strict, user);
        for (let i = 0; i < 3; i++)
          statuses.push(
            (await verifyChallenge(strict, challenge.mfaToken, 'totp', otherCode(code))).status,
          );
      }
      expect(statuses).toEqual(Array(9).fill(400));
      const last = await loginChallenge(strict, user);
      const refused = await verifyChallenge(strict, last.mfaToken, 'totp', code);
      expectProblem(refused, 429, 'rate_limited');
      expect(refused.headers['retry-after']).toBeDefined();
    } finally {
      await strict.close();
    }
  });
});

describe('replaying codes', () => {
  it('refuses a TOTP code that already signed in, on a new challenge', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const code = await freshTotp(ctx, totp.secret);
    const first = await loginChallenge(ctx, user);
    expect((await verifyChallenge(ctx, first.mfaToken, 'totp', code)).status).toBe(200);
    const second = await loginChallenge(ctx, user);
    expectProblem(await verifyChallenge(ctx, second.mfaToken, 'totp', code), 400, 'invalid_code');
  });

  it('refuses the code that confirmed the enrolment (seen over the shoulder)', async () => {
    const user = await ctx.signUp();
    const started = await ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
    const code = await totpNow(ctx, started.body.secret);
    await ctx.request('POST', '/v1/me/mfa/totp/confirm', {
      token: user.accessToken,
      body: { code },
    });
    const challenge = await loginChallenge(ctx, user);
    expectProblem(
      await verifyChallenge(ctx, challenge.mfaToken, 'totp', code),
      400,
      'invalid_code',
    );
  });

  it('refuses a code of an earlier step once a later one was accepted', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    ctx.clock.advance(90_000);
    const earlier = await totpNow(ctx, totp.secret, -1);
    const current = await totpNow(ctx, totp.secret);
    const first = await loginChallenge(ctx, user);
    expect((await verifyChallenge(ctx, first.mfaToken, 'totp', current)).status).toBe(200);
    const second = await loginChallenge(ctx, user);
    expectProblem(
      await verifyChallenge(ctx, second.mfaToken, 'totp', earlier),
      400,
      'invalid_code',
    );
  });

  it('refuses a TOTP code used for a step-up as a sign-in code', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const code = await freshTotp(ctx, totp.secret);
    expect((await stepUp(ctx, user.accessToken, { method: 'totp', code })).status).toBe(200);
    const challenge = await loginChallenge(ctx, user);
    expectProblem(
      await verifyChallenge(ctx, challenge.mfaToken, 'totp', code),
      400,
      'invalid_code',
    );
  });

  it(`lets one of two simultaneous sign-ins with one TOTP code win (${engine})`, async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const before = await sessionCount(user.userId);
    const a = await loginChallenge(ctx, user);
    const b = await loginChallenge(ctx, user);
    const code = await freshTotp(ctx, totp.secret);
    const answers = await Promise.all([
      verifyChallenge(ctx, a.mfaToken, 'totp', code),
      verifyChallenge(ctx, b.mfaToken, 'totp', code),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(answers.find((r) => r.status === 400)!.body.code).toBe('invalid_code');
    expect(await sessionCount(user.userId)).toBe(before + 1);
  });

  it('lets one of five simultaneous sign-ins with one TOTP code win', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenges = [];
    for (let i = 0; i < 5; i++) challenges.push(await loginChallenge(ctx, user));
    const code = await freshTotp(ctx, totp.secret);
    const answers = await Promise.all(
      challenges.map((c) => verifyChallenge(ctx, c.mfaToken, 'totp', code)),
    );
    expect(ok(answers)).toHaveLength(1);
    for (const a of answers) if (a.status !== 200) expectProblem(a, 400, 'invalid_code');
  });

  it('lets one of two simultaneous answers to one challenge win', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const before = await sessionCount(user.userId);
    const challenge = await loginChallenge(ctx, user);
    const code = await freshTotp(ctx, totp.secret);
    const answers = await Promise.all([
      verifyChallenge(ctx, challenge.mfaToken, 'totp', code),
      verifyChallenge(ctx, challenge.mfaToken, 'totp', code),
    ]);
    expect(ok(answers)).toHaveLength(1);
    const loser = answers.find((r) => r.status !== 200)!;
    expect(['mfa_challenge_invalid', 'invalid_code']).toContain(loser.body.code);
    expect(await sessionCount(user.userId)).toBe(before + 1);
  });

  it('lets one of a simultaneous step-up and sign-in with one TOTP code win', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const code = await freshTotp(ctx, totp.secret);
    const answers = await Promise.all([
      stepUp(ctx, user.accessToken, { method: 'totp', code }),
      verifyChallenge(ctx, challenge.mfaToken, 'totp', code),
    ]);
    expect(ok(answers)).toHaveLength(1);
  });

  it('lets one of two simultaneous sign-ins with one SMS code win', async () => {
    const user = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, user);
    const a = await loginChallenge(ctx, user);
    const b = await loginChallenge(ctx, user);
    await sendChallengeSms(a.mfaToken);
    const code = await lastSmsCode(ctx, sms, phone);
    const answers = await Promise.all([
      verifyChallenge(ctx, a.mfaToken, 'sms', code),
      verifyChallenge(ctx, b.mfaToken, 'sms', code),
    ]);
    expect(ok(answers)).toHaveLength(1);
    expectProblem(answers.find((r) => r.status !== 200)!, 400, 'code_expired');
  });
});

describe('reusing a recovery code', () => {
  it('refuses a used recovery code for a sign-in and for a step-up', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const code = totp.recoveryCodes![0]!;
    const first = await loginChallenge(ctx, user);
    expect((await verifyChallenge(ctx, first.mfaToken, 'recovery_code', code)).status).toBe(200);
    const second = await loginChallenge(ctx, user);
    expectProblem(
      await verifyChallenge(ctx, second.mfaToken, 'recovery_code', code),
      400,
      'invalid_code',
    );
    expectProblem(
      await stepUp(ctx, user.accessToken, { method: 'recovery_code', code }),
      400,
      'invalid_code',
    );
  });

  it('refuses a used code typed differently (case, no dash)', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const code = totp.recoveryCodes![1]!;
    const first = await loginChallenge(ctx, user);
    await verifyChallenge(ctx, first.mfaToken, 'recovery_code', code);
    const second = await loginChallenge(ctx, user);
    const disguised = code.replace('-', '').toUpperCase();
    expectProblem(
      await verifyChallenge(ctx, second.mfaToken, 'recovery_code', disguised),
      400,
      'invalid_code',
    );
  });

  it(`lets one of three simultaneous sign-ins with one recovery code win (${engine})`, async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const code = totp.recoveryCodes![2]!;
    const challenges = [];
    for (let i = 0; i < 3; i++) challenges.push(await loginChallenge(ctx, user));
    const answers = await Promise.all(
      challenges.map((c) => verifyChallenge(ctx, c.mfaToken, 'recovery_code', code)),
    );
    expect(ok(answers)).toHaveLength(1);
    for (const a of answers) if (a.status !== 200) expectProblem(a, 400, 'invalid_code');
    const used = (await recoveryRows(ctx, user.userId)).filter((r) => r.used_at !== null);
    expect(used).toHaveLength(1);
  });
});

describe('using a challenge out of bounds', () => {
  it("refuses user A's challenge answered with user B's valid TOTP code", async () => {
    const { user: alice, totp: aliceTotp } = await signUpWithTotp(ctx);
    const { user: bob, totp: bobTotp } = await signUpWithTotp(ctx);
    const aliceSessions = await sessionCount(alice.userId);
    const bobSessions = await sessionCount(bob.userId);
    const challenge = await loginChallenge(ctx, alice);
    ctx.clock.advance(30_000);
    const bobCode = await totpNow(ctx, bobTotp.secret);
    const aliceCode = await totpNow(ctx, aliceTotp.secret);
    if (bobCode === aliceCode) return; // one in a million: the same digits prove nothing here
    expectProblem(
      await verifyChallenge(ctx, challenge.mfaToken, 'totp', bobCode),
      400,
      'invalid_code',
    );
    expect(await sessionCount(alice.userId)).toBe(aliceSessions);
    expect(await sessionCount(bob.userId)).toBe(bobSessions);
    // Bob's code was not spent on Alice's challenge: Bob can still sign in with it.
    const bobChallenge = await loginChallenge(ctx, bob);
    expect((await verifyChallenge(ctx, bobChallenge.mfaToken, 'totp', bobCode)).status).toBe(200);
  });

  it("refuses user A's challenge answered with user B's recovery code", async () => {
    const { user: alice } = await signUpWithTotp(ctx);
    const { totp: bobTotp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, alice);
    expectProblem(
      await verifyChallenge(ctx, challenge.mfaToken, 'recovery_code', bobTotp.recoveryCodes![0]!),
      400,
      'invalid_code',
    );
  });

  it('accepts the right code just before the challenge expires', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    ctx.clock.advance(FIVE_MINUTES - 1000);
    const code = await totpNow(ctx, totp.secret);
    expect((await verifyChallenge(ctx, challenge.mfaToken, 'totp', code)).status).toBe(200);
  });

  it('refuses the right code once the challenge is 5 minutes old', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    ctx.clock.advance(FIVE_MINUTES);
    const code = await totpNow(ctx, totp.secret);
    expectProblem(
      await verifyChallenge(ctx, challenge.mfaToken, 'totp', code),
      401,
      'mfa_challenge_invalid',
    );
    expectProblem(await sendChallengeSms(challenge.mfaToken), 401, 'mfa_challenge_invalid');
  });

  it('refuses a challenge token a second time, even with a fresh code', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const first = await verifyChallenge(
      ctx,
      challenge.mfaToken,
      'totp',
      await freshTotp(ctx, totp.secret),
    );
    expect(first.status).toBe(200);
    const again = await verifyChallenge(
      ctx,
      challenge.mfaToken,
      'totp',
      await freshTotp(ctx, totp.secret),
    );
    expectProblem(again, 401, 'mfa_challenge_invalid');
  });

  it('answers mfa_method_unavailable to a method the user lacks', async () => {
    const { user } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    const res = await verifyChallenge(ctx, challenge.mfaToken, 'sms', '123456');
    expectProblem(res, 400, 'mfa_method_unavailable');

    const smsUser = await ctx.signUp();
    await enrolSms(ctx, sms, smsUser);
    const smsChallenge = await loginChallenge(ctx, smsUser);
    expectProblem(
      await verifyChallenge(ctx, smsChallenge.mfaToken, 'totp', '123456'),
      400,
      'mfa_method_unavailable',
    );
  });

  it('answers mfa_challenge_invalid to a made-up challenge token', async () => {
    const res = await verifyChallenge(ctx, 'x'.repeat(43), 'totp', '123456');
    expectProblem(res, 401, 'mfa_challenge_invalid');
  });

  it('does not take the challenge token as an access token', async () => {
    const { user } = await signUpWithTotp(ctx);
    const challenge = await loginChallenge(ctx, user);
    expectProblem(
      await ctx.request('GET', '/v1/me', { token: challenge.mfaToken }),
      401,
      'invalid_token',
    );
  });

  it('does not exchange the challenge token for a session at the OAuth hand-off', async () => {
    const { user } = await signUpWithTotp(ctx);
    const before = await sessionCount(user.userId);
    const challenge = await loginChallenge(ctx, user);
    const res = await ctx.request('POST', '/v1/auth/oauth/exchange', {
      body: { login_token: challenge.mfaToken },
    });
    expectProblem(res, 401, 'invalid_token');
    expect(await sessionCount(user.userId)).toBe(before);
  });

  it('does not take an access token as a challenge token', async () => {
    const { user } = await signUpWithTotp(ctx);
    const res = await ctx.request('POST', '/v1/auth/mfa/verify', {
      body: { mfa_token: user.accessToken.slice(0, 200), method: 'totp', code: '123456' },
    });
    expectProblem(res, 401, 'mfa_challenge_invalid');
  });
});

describe('a stale (perhaps stolen) session', () => {
  const ELEVEN_MINUTES = 11 * 60 * 1000;

  it('cannot earn a step-up by enrolling an authenticator of its own', async () => {
    const owner = await ctx.signUp();
    const org = await createOrg(ctx, owner);
    ctx.clock.advance(ELEVEN_MINUTES);
    const started = await ctx.request('POST', '/v1/me/mfa/totp', { token: owner.accessToken });
    if (started.status === 201) {
      await ctx.request('POST', '/v1/me/mfa/totp/confirm', {
        token: owner.accessToken,
        body: { code: await totpNow(ctx, started.body.secret) },
      });
    }
    const key = await ctx.request('POST', `/v1/organizations/${org.id}/api-keys`, {
      token: owner.accessToken,
      body: { name: 'k', grants: [{ role: 'video-developer', scope: org.id }] },
    });
    expectProblem(key, 401, 'step_up_required');
  });

  it('cannot add an authenticator that would lock the owner out', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(ELEVEN_MINUTES);
    const started = await ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
    expectProblem(started, 401, 'step_up_required');
    expect(started.body.methods).toEqual(['password']);
    // The owner still signs in with the password alone.
    const login = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(login.status).toBe(200);
  });

  it('cannot add a phone number beside the owner’s authenticator, then remove the authenticator', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    ctx.clock.advance(ELEVEN_MINUTES);
    const phone = '+4915199990000';
    const started = await ctx.request('POST', '/v1/me/mfa/sms', {
      token: user.accessToken,
      body: { phone },
    });
    expectProblem(started, 401, 'step_up_required');
    expect(started.body.methods).toEqual(['totp', 'recovery_code']);
    expectProblem(
      await ctx.request('DELETE', `/v1/me/mfa/factors/${totp.factorId}`, {
        token: user.accessToken,
      }),
      401,
      'step_up_required',
    );
    const status = await ctx.request('GET', '/v1/me/mfa', { token: user.accessToken });
    expect(status.body.factors).toEqual([
      expect.objectContaining({ id: totp.factorId, confirmed: true }),
    ]);
  });

  it('may enrol after a step-up with the password', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(ELEVEN_MINUTES);
    await stepUp(ctx, user.accessToken, { method: 'password', password: user.password });
    const started = await ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
    expect(started.status).toBe(201);
  });

  it('cannot confirm an enrolment once the sign-in has gone stale', async () => {
    const user = await ctx.signUp();
    const started = await ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
    ctx.clock.advance(ELEVEN_MINUTES);
    const confirm = await ctx.request('POST', '/v1/me/mfa/totp/confirm', {
      token: user.accessToken,
      body: { code: await totpNow(ctx, started.body.secret) },
    });
    expectProblem(confirm, 401, 'step_up_required');
  });
});

describe(`enrolling twice at once (${engine})`, () => {
  it('leaves one authenticator after two simultaneous enrolments (a double click)', async () => {
    const user = await ctx.signUp();
    const [a, b] = await Promise.all([
      ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken }),
      ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken }),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    const confirmA = await ctx.request('POST', '/v1/me/mfa/totp/confirm', {
      token: user.accessToken,
      body: { code: await totpNow(ctx, a.body.secret) },
    });
    const confirmB = await ctx.request('POST', '/v1/me/mfa/totp/confirm', {
      token: user.accessToken,
      body: { code: await totpNow(ctx, b.body.secret) },
    });
    // The later enrolment replaced the earlier one: exactly one secret confirms.
    expect(ok([confirmA, confirmB])).toHaveLength(1);
    const status = await ctx.request('GET', '/v1/me/mfa', { token: user.accessToken });
    expect(status.body.factors).toEqual([
      expect.objectContaining({ type: 'totp', confirmed: true }),
    ]);
  });

  it('confirms exactly one authenticator when two enrolments are confirmed at once', async () => {
    const user = await ctx.signUp();
    const [a, b] = await Promise.all([
      ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken }),
      ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken }),
    ]);
    const answers = await Promise.all(
      [a, b].map(async (started) =>
        ctx.request('POST', '/v1/me/mfa/totp/confirm', {
          token: user.accessToken,
          body: { code: await totpNow(ctx, started.body.secret) },
        }),
      ),
    );
    expect(ok(answers)).toHaveLength(1);
    const confirmed = await ctx.database.db
      .selectFrom('mfa_factors')
      .select('id')
      .where('user_id', '=', user.userId)
      .where('confirmed_at', 'is not', null)
      .execute();
    expect(confirmed).toHaveLength(1);
  });

  it('leaves one pending phone number after two simultaneous SMS enrolments', async () => {
    const user = await ctx.signUp();
    const phones = ['+4915177770011', '+4915177770022'];
    const started = await Promise.all(
      phones.map((phone) =>
        ctx.request('POST', '/v1/me/mfa/sms', { token: user.accessToken, body: { phone } }),
      ),
    );
    expect(started.map((r) => r.status)).toEqual([202, 202]);
    const status = await ctx.request('GET', '/v1/me/mfa', { token: user.accessToken });
    expect(status.body.factors).toHaveLength(1);
    // The number that stayed is the one holding the live code.
    const kept = phones.find((p) => status.body.factors[0].phone.endsWith(p.slice(-2)))!;
    const res = await ctx.request('POST', '/v1/me/mfa/sms/confirm', {
      token: user.accessToken,
      body: { code: await lastSmsCode(ctx, sms, kept) },
    });
    expect(res.status).toBe(200);
    expect(res.body.factor.phone.endsWith(kept.slice(-2))).toBe(true);
  });
});

describe('properties', () => {
  it('never accepts a 6-digit code other than those of the current step and its neighbours', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    ctx.clock.advance(60_000);
    const valid = new Set(
      await Promise.all([-1, 0, 1].map((steps) => totpNow(ctx, totp.secret, steps))),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^\d{6}$/).filter((c) => !valid.has(c)),
        async (code) => {
          const res = await stepUp(ctx, user.accessToken, { method: 'totp', code });
          expectProblem(res, 400, 'invalid_code');
        },
      ),
      { numRuns: 60 },
    );
    // The right code still works afterwards: guessing did not consume the step.
    const right = await stepUp(ctx, user.accessToken, {
      method: 'totp',
      code: await totpNow(ctx, totp.secret),
    });
    expect(right.status).toBe(200);
  });

  it('never signs in with any string as the code of a challenge', async () => {
    const { user } = await signUpWithTotp(ctx);
    let challenge = await loginChallenge(ctx, user);
    let used = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('totp', 'recovery_code'),
        fc.oneof(
          fc.string({ minLength: 6, maxLength: 32 }),
          fc.stringMatching(/^[0-9a-z]{5}-[0-9a-z]{5}$/),
        ),
        async (method, code) => {
          if (used === 4) {
            challenge = await loginChallenge(ctx, user);
            used = 0;
          }
          used++;
          const res = await verifyChallenge(ctx, challenge.mfaToken, method, code);
          expect(res.status, res.text).toBe(400);
          expect(['invalid_code', 'validation_failed']).toContain(res.body.code);
        },
      ),
      { numRuns: 40 },
    );
  });

  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'.split('');
  const generatedCode = fc
    .array(fc.constantFrom(...alphabet), { minLength: 10, maxLength: 10 })
    .map((cs) => `${cs.slice(0, 5).join('')}-${cs.slice(5).join('')}`);
  /** How a person might type a code: any case, dash kept, dropped or spaced, spaces around. */
  const typed = (code: string) =>
    fc
      .tuple(
        fc.array(fc.boolean(), { minLength: 11, maxLength: 11 }),
        fc.constantFrom('-', '', ' ', ' - ', '--'),
        fc.constantFrom('', ' ', '  '),
      )
      .map(([upper, sep, pad]) => {
        const cased = [...code].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch)).join('');
        return `${pad}${cased.slice(0, 5)}${sep}${cased.slice(6)}${pad}`;
      });

  it('normalizes every way of typing a generated recovery code to the same value', () => {
    fc.assert(
      fc.property(
        generatedCode.chain((code) => fc.tuple(fc.constant(code), typed(code))),
        ([code, variant]) => {
          expect(normalizeRecoveryCode(variant)).toBe(normalizeRecoveryCode(code));
          expect(normalizeRecoveryCode(code)).toBe(code.replace('-', ''));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never maps two different generated recovery codes to the same value', () => {
    fc.assert(
      fc.property(generatedCode, generatedCode, (a, b) => {
        fc.pre(a !== b);
        expect(normalizeRecoveryCode(a)).not.toBe(normalizeRecoveryCode(b));
      }),
      { numRuns: 1000 },
    );
  });

  it('reads o as 0 and i or l as 1, as Crockford base32 does', () => {
    expect(normalizeRecoveryCode('O1I2L-3o4i5')).toBe('0112130415');
  });

  it('issues codes that stay distinct after normalization', async () => {
    const { totp } = await signUpWithTotp(ctx);
    const normalized = totp.recoveryCodes!.map(normalizeRecoveryCode);
    expect(new Set(normalized).size).toBe(10);
    for (const code of totp.recoveryCodes!)
      expect(normalizeRecoveryCode(code)).toMatch(/^[0-9a-z]{10}$/);
  });

  it('never accepts a random recovery-shaped code, and spends none of the real ones', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const real = new Set(totp.recoveryCodes!.map(normalizeRecoveryCode));
    await fc.assert(
      fc.asyncProperty(
        generatedCode.filter((c) => !real.has(normalizeRecoveryCode(c))),
        async (code) => {
          const res = await stepUp(ctx, user.accessToken, { method: 'recovery_code', code });
          expectProblem(res, 400, 'invalid_code');
        },
      ),
      { numRuns: 40 },
    );
    const status = await ctx.request('GET', '/v1/me/mfa', { token: user.accessToken });
    expect(status.body.recovery_codes_remaining).toBe(10);
  });
});

/**
 * Helpers shared by the mfa/*.test.ts files: enrolling factors through the public API, reading
 * the SMS the local receiver got, answering sign-in challenges. Everything a real client would
 * do; nothing reaches into the services.
 */
import { expect } from 'vitest';
import { expectProblem, type SignedIn, type TestContext } from '../../../test/harness';
import type { TestSmsReceiver } from '../../../test/sms-receiver';
import { generateTotp } from './totp';

/** One TOTP step. */
export const STEP_MS = 30_000;

/**
 * The code an authenticator app shows now for `secret` (as the test clock tells the time), or
 * `steps` steps from now (a phone whose clock runs ahead or behind).
 */
export const totpNow = (ctx: TestContext, secret: string, steps = 0) =>
  generateTotp({ secret, epoch: Math.floor(ctx.clock.now() / 1000) + steps * (STEP_MS / 1000) });

/**
 * A code of a step no earlier code was accepted in: moves the clock one step on first, because
 * the server refuses a second code from a step it already accepted (replay).
 */
export async function freshTotp(ctx: TestContext, secret: string) {
  ctx.clock.advance(STEP_MS);
  return totpNow(ctx, secret);
}

export interface EnrolledTotp {
  factorId: string;
  secret: string;
  /** null unless this was the user's first confirmed factor */
  recoveryCodes: string[] | null;
}

/** Enrols and confirms an authenticator app for a signed-in user. */
export async function enrolTotp(ctx: TestContext, user: SignedIn): Promise<EnrolledTotp> {
  const started = await ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
  if (started.status !== 201) throw new Error(`totp enrol: ${started.status} ${started.text}`);
  const secret: string = started.body.secret;
  const confirmed = await ctx.request('POST', '/v1/me/mfa/totp/confirm', {
    token: user.accessToken,
    body: { code: await totpNow(ctx, secret) },
  });
  if (confirmed.status !== 200)
    throw new Error(`totp confirm: ${confirmed.status} ${confirmed.text}`);
  return {
    factorId: started.body.factor_id,
    secret,
    recoveryCodes: confirmed.body.recovery_codes,
  };
}

let phoneCounter = 0;
/** A fresh, valid E.164 number (German mobile range). */
export const uniquePhone = () =>
  `+49151${String(Date.now() % 100_000).padStart(5, '0')}${String(phoneCounter++ % 1000).padStart(3, '0')}`;

/**
 * Delivers what the outbox holds, then reads the code of the newest SMS the receiver got for
 * `phone`: the real path, webhook and all.
 */
export async function lastSmsCode(
  ctx: TestContext,
  sms: TestSmsReceiver,
  phone: string,
): Promise<string> {
  await ctx.gatehouse.outbox.drain();
  const texts = sms.received
    .map((r) => r.body as { to?: string; body?: string })
    .filter((b) => b.to === phone);
  const match = texts.at(-1)?.body?.match(/\b(\d{6})\b/);
  if (!match) throw new Error(`no SMS code reached ${phone}`);
  return match[1]!;
}

/** How many SMS the receiver got for `phone` (after delivering what is due). */
export async function smsCountTo(ctx: TestContext, sms: TestSmsReceiver, phone: string) {
  await ctx.gatehouse.outbox.drain();
  return sms.received.filter((r) => (r.body as { to?: string }).to === phone).length;
}

export interface EnrolledSms {
  factorId: string;
  phone: string;
  recoveryCodes: string[] | null;
}

/** Enrols and confirms a phone number with the code it received. */
export async function enrolSms(
  ctx: TestContext,
  sms: TestSmsReceiver,
  user: SignedIn,
  phone = uniquePhone(),
): Promise<EnrolledSms> {
  const started = await ctx.request('POST', '/v1/me/mfa/sms', {
    token: user.accessToken,
    body: { phone },
  });
  if (started.status !== 202) throw new Error(`sms enrol: ${started.status} ${started.text}`);
  const confirmed = await ctx.request('POST', '/v1/me/mfa/sms/confirm', {
    token: user.accessToken,
    body: { code: await lastSmsCode(ctx, sms, phone) },
  });
  if (confirmed.status !== 200)
    throw new Error(`sms confirm: ${confirmed.status} ${confirmed.text}`);
  return { factorId: started.body.factor_id, phone, recoveryCodes: confirmed.body.recovery_codes };
}

export interface Challenge {
  mfaToken: string;
  methods: string[];
  expiresIn: number;
}

/** Signs in with the password of a user who has a factor: expects the challenge, returns it. */
export async function loginChallenge(
  ctx: TestContext,
  user: { email: string; password: string },
  mode: 'token' | 'cookie' = 'token',
): Promise<Challenge> {
  const res = await ctx.request('POST', '/v1/auth/login', {
    body: { email: user.email, password: user.password, mode },
  });
  expectProblem(res, 401, 'mfa_required');
  expect(res.body.mfa_token).toEqual(expect.any(String));
  return {
    mfaToken: res.body.mfa_token,
    methods: res.body.methods,
    expiresIn: res.body.expires_in,
  };
}

export const verifyChallenge = (ctx: TestContext, mfaToken: string, method: string, code: string) =>
  ctx.request('POST', '/v1/auth/mfa/verify', { body: { mfa_token: mfaToken, method, code } });

/** A signed-in user (token mode) with a confirmed authenticator app. */
export async function signUpWithTotp(ctx: TestContext) {
  const user = await ctx.signUp();
  const totp = await enrolTotp(ctx, user);
  return { user, totp };
}

export const stepUp = (
  ctx: TestContext,
  token: string,
  body: { method: string; password?: string; code?: string },
) => ctx.request('POST', '/v1/auth/step-up', { token, body });

/** The rows of the recovery_codes table for a user. */
export const recoveryRows = (ctx: TestContext, userId: string) =>
  ctx.database.db.selectFrom('recovery_codes').selectAll().where('user_id', '=', userId).execute();

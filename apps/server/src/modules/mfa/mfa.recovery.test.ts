/**
 * Recovery codes: 10 of them come with the first confirmed factor, each works once, only their
 * keyed hashes are stored, and regenerating (after a step-up) replaces them all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { decodeJwtPayload } from '../../../test/seed';
import {
  enrolTotp,
  freshTotp,
  loginChallenge,
  recoveryRows,
  signUpWithTotp,
  stepUp,
  verifyChallenge,
} from './mfa.test-support';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ env: { ACCESS_TOKEN_TTL: '3600' } });
});
afterAll(async () => {
  await ctx?.close();
});

const ELEVEN_MINUTES = 11 * 60 * 1000;

const remaining = async (user: SignedIn) =>
  (await ctx.request('GET', '/v1/me/mfa', { token: user.accessToken })).body
    .recovery_codes_remaining as number;
const regenerate = (user: SignedIn, token = user.accessToken) =>
  ctx.request('POST', '/v1/me/mfa/recovery-codes', { token });

/** Signs in with the password and a recovery code; the response of the verify. */
async function signInWithRecovery(user: { email: string; password: string }, code: string) {
  const challenge = await loginChallenge(ctx, user);
  return verifyChallenge(ctx, challenge.mfaToken, 'recovery_code', code);
}

describe('issuing recovery codes', () => {
  it('gives 10 distinct codes of the form xxxxx-xxxxx in Crockford base32', async () => {
    const { totp } = await signUpWithTotp(ctx);
    const codes = totp.recoveryCodes!;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    // No i, l, o or u: nothing to misread from paper.
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
  });

  it('stores only keyed hashes: no code appears anywhere in the database', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const rows = await recoveryRows(ctx, user.userId);
    expect(rows).toHaveLength(10);
    const stored = JSON.stringify(rows);
    for (const code of totp.recoveryCodes!) {
      expect(stored).not.toContain(code);
      expect(stored).not.toContain(code.replace('-', ''));
      expect(stored.toLowerCase()).not.toContain(code.replace('-', '').toLowerCase());
    }
    for (const row of rows) {
      expect(row.code_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.used_at).toBeNull();
    }
    // Nor in the audit trail or the outbox (the codes are shown once, on the screen).
    const audit = JSON.stringify(
      await ctx.database.db
        .selectFrom('audit_events')
        .select('changes')
        .where('actor_id', '=', user.userId)
        .execute(),
    );
    const outbox = JSON.stringify(
      await ctx.database.db.selectFrom('outbox').select(['body', 'subject']).execute(),
    );
    for (const code of totp.recoveryCodes!) {
      expect(audit).not.toContain(code);
      expect(outbox).not.toContain(code);
    }
  });

  it('reports 10 remaining and offers recovery_code at sign-in', async () => {
    const { user } = await signUpWithTotp(ctx);
    expect(await remaining(user)).toBe(10);
    expect((await loginChallenge(ctx, user)).methods).toContain('recovery_code');
  });

  it('gives none to a user without a confirmed factor', async () => {
    const user = await ctx.signUp();
    await ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
    expect(await remaining(user)).toBe(0);
    expect(await recoveryRows(ctx, user.userId)).toHaveLength(0);
  });
});

describe('signing in with a recovery code', () => {
  it('signs in, with recovery_code and mfa in the amr, and leaves 9', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const res = await signInWithRecovery(user, totp.recoveryCodes![0]!);
    expect(res.status).toBe(200);
    expect(decodeJwtPayload(res.body.access_token).amr).toEqual(['pwd', 'recovery_code', 'mfa']);
    expect(await remaining(user)).toBe(9);
    const rows = await recoveryRows(ctx, user.userId);
    expect(rows.filter((r) => r.used_at !== null)).toHaveLength(1);
  });

  it('accepts a code once only', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    const code = totp.recoveryCodes![3]!;
    expect((await signInWithRecovery(user, code)).status).toBe(200);
    expectProblem(await signInWithRecovery(user, code), 400, 'invalid_code');
    expect(await remaining(user)).toBe(9);
  });

  it.each([
    ['upper case', (c: string) => c.toUpperCase()],
    ['without the dash', (c: string) => c.replace('-', '')],
    ['a space for the dash', (c: string) => c.replace('-', ' ')],
    ['spaces around and between', (c: string) => `  ${c.slice(0, 5)}  ${c.slice(6)} `],
    ['upper case, no dash', (c: string) => c.replace('-', '').toUpperCase()],
  ])('accepts a code typed in %s', async (_name, typed) => {
    const { user, totp } = await signUpWithTotp(ctx);
    const res = await signInWithRecovery(user, typed(totp.recoveryCodes![0]!));
    expect(res.status).toBe(200);
  });

  it("refuses another user's recovery code", async () => {
    const { totp: other } = await signUpWithTotp(ctx);
    const { user } = await signUpWithTotp(ctx);
    expectProblem(await signInWithRecovery(user, other.recoveryCodes![0]!), 400, 'invalid_code');
  });

  it('drops recovery_code from the methods once every code is used', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    for (const code of totp.recoveryCodes!)
      expect((await signInWithRecovery(user, code)).status).toBe(200);
    expect(await remaining(user)).toBe(0);
    expect((await loginChallenge(ctx, user)).methods).toEqual(['totp']);
  });
});

describe('regenerating recovery codes', () => {
  it('replaces every code: 10 new ones work, the old ones no longer do', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    await signInWithRecovery(user, totp.recoveryCodes![0]!);
    expect(await remaining(user)).toBe(9);
    const res = await regenerate(user);
    expect(res.status).toBe(200);
    const fresh: string[] = res.body.recovery_codes;
    expect(fresh).toHaveLength(10);
    expect(fresh.filter((c) => totp.recoveryCodes!.includes(c))).toEqual([]);
    expect(await remaining(user)).toBe(10);
    expect(await recoveryRows(ctx, user.userId)).toHaveLength(10);
    expectProblem(await signInWithRecovery(user, totp.recoveryCodes![1]!), 400, 'invalid_code');
    expect((await signInWithRecovery(user, fresh[0]!)).status).toBe(200);
  });

  it('records an audit event without the codes', async () => {
    const { user } = await signUpWithTotp(ctx);
    const res = await regenerate(user);
    const events = await ctx.database.db
      .selectFrom('audit_events')
      .select('changes')
      .where('actor_id', '=', user.userId)
      .where('action', '=', 'mfa.recovery_codes_regenerated')
      .execute();
    expect(events).toHaveLength(1);
    for (const code of res.body.recovery_codes) expect(JSON.stringify(events)).not.toContain(code);
  });

  it('needs a step-up once the sign-in is older than 10 minutes', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    ctx.clock.advance(ELEVEN_MINUTES);
    const refused = await regenerate(user);
    expectProblem(refused, 401, 'step_up_required');
    expect(refused.body.methods).toEqual(['totp', 'recovery_code']);
    // Nothing changed: the old codes still work.
    expect(await remaining(user)).toBe(10);
    const proof = await stepUp(ctx, user.accessToken, {
      method: 'totp',
      code: await freshTotp(ctx, totp.secret),
    });
    expect(proof.status).toBe(200);
    expect((await regenerate(user)).status).toBe(200);
  });

  it('can be stepped up with a recovery code, which is then spent', async () => {
    const { user, totp } = await signUpWithTotp(ctx);
    ctx.clock.advance(ELEVEN_MINUTES);
    const proof = await stepUp(ctx, user.accessToken, {
      method: 'recovery_code',
      code: totp.recoveryCodes![0]!,
    });
    expect(proof.status).toBe(200);
    expect(proof.body.amr).toEqual(expect.arrayContaining(['recovery_code', 'mfa']));
    expect(await remaining(user)).toBe(9);
    expectProblem(
      await stepUp(ctx, user.accessToken, {
        method: 'recovery_code',
        code: totp.recoveryCodes![0]!,
      }),
      400,
      'invalid_code',
    );
  });

  it('answers mfa_method_unavailable to a user without a factor', async () => {
    const user = await ctx.signUp();
    expectProblem(await regenerate(user), 400, 'mfa_method_unavailable');
    expect(await recoveryRows(ctx, user.userId)).toHaveLength(0);
  });

  it('keeps the codes when a second factor is added, and drops them with the last one', async () => {
    const user = await ctx.signUp();
    const totp = await enrolTotp(ctx, user);
    const started = await ctx.request('POST', '/v1/me/mfa/totp', { token: user.accessToken });
    expectProblem(started, 409, 'factor_exists');
    expect(await remaining(user)).toBe(10);
    await ctx.request('DELETE', `/v1/me/mfa/factors/${totp.factorId}`, {
      token: user.accessToken,
    });
    expect(await remaining(user)).toBe(0);
    // A login now opens a session: the old codes protect nothing and are gone.
    const login = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(login.status).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  engine,
  lastCodeFor,
  otherCode,
  registerOnly,
  signUpWithoutPassword,
  type TestContext,
  type TestResponse,
} from '../../../test/harness';

/**
 * Single-use secrets under concurrency: refresh tokens, OTPs, reset tokens. On SQLite the
 * requests are serialised by the one writer; on PostgreSQL they truly overlap, which is where
 * the guarded UPDATE ... WHERE ... RETURNING statements earn their keep. Issue 2, item 7.
 */

let ctx: TestContext;
beforeAll(async () => {
  // Without the refresh reuse grace (issue 10 #14), so a refresh token is strictly single-use
  // here; sessions.grace.test.ts covers the grace window.
  ctx = await createTestContext({ env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
});
afterAll(async () => {
  await ctx?.close();
});

const statuses = (responses: TestResponse[]) => responses.map((r) => r.status).sort();
const codes = (responses: TestResponse[]) =>
  responses.filter((r) => r.status >= 400).map((r) => r.body?.code as string);
const ok = (responses: TestResponse[]) => responses.filter((r) => r.status === 200);

describe(`simultaneous use of one secret (${engine})`, () => {
  it('lets exactly one of two simultaneous refreshes with one refresh token succeed', async () => {
    const user = await ctx.signUp();
    const body = { refresh_token: user.refreshToken };
    const results = await Promise.all([
      ctx.request('POST', '/v1/auth/token/refresh', { body }),
      ctx.request('POST', '/v1/auth/token/refresh', { body }),
    ]);
    expect(statuses(results)).toEqual([200, 401]);
    expect(codes(results)).toEqual(['refresh_token_reused']);
  });

  it('lets exactly one of five simultaneous refreshes succeed', async () => {
    const user = await ctx.signUp();
    const body = { refresh_token: user.refreshToken };
    const results = await Promise.all(
      Array.from({ length: 5 }, () => ctx.request('POST', '/v1/auth/token/refresh', { body })),
    );
    expect(ok(results)).toHaveLength(1);
    for (const code of codes(results)) expect(code).toBe('refresh_token_reused');
  });

  it('lets at most one of two simultaneous verify-email with the right code sign in', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    const results = await Promise.all([
      ctx.request('POST', '/v1/auth/verify-email', { body: { email, code } }),
      ctx.request('POST', '/v1/auth/verify-email', { body: { email, code } }),
    ]);
    expect(ok(results)).toHaveLength(1);
    // The loser is told the code was used, not "too many attempts".
    expect(codes(results)).toEqual(['code_expired']);
  });

  it('opens exactly one session when two verify-email with the right code race', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    await Promise.all([
      ctx.request('POST', '/v1/auth/verify-email', { body: { email, code } }),
      ctx.request('POST', '/v1/auth/verify-email', { body: { email, code } }),
    ]);
    const sessions = await ctx.database.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select('sessions.id')
      .where('users.email', '=', email)
      .execute();
    expect(sessions).toHaveLength(1);
  });

  it('holds the 5-attempt limit against 10 parallel wrong guesses and the right code', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    const guesses = [
      ...Array.from({ length: 10 }, (_, i) => otherCode(String((Number(code) + i) % 1_000_000))),
      code,
    ];
    const results = await Promise.all(
      guesses.map((guess) =>
        ctx.request('POST', '/v1/auth/verify-email', { body: { email, code: guess } }),
      ),
    );
    const compared = results.filter((r) => r.status === 200 || r.body?.code === 'invalid_code');
    expect(compared.length).toBeLessThanOrEqual(5);
    expect(ok(results).length).toBeLessThanOrEqual(1);
    for (const r of results) expect(r.status).toBeLessThan(500);
    const row = await ctx.database.db
      .selectFrom('one_time_codes')
      .innerJoin('users', 'users.id', 'one_time_codes.user_id')
      .select('one_time_codes.attempts')
      .where('users.email', '=', email)
      .executeTakeFirstOrThrow();
    expect(row.attempts).toBeLessThanOrEqual(5);
  });

  it('gives at most one reset token for two simultaneous uses of one reset code', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(1000);
    await ctx.request('POST', '/v1/auth/password/forgot', { body: { email: user.email } });
    const code = await lastCodeFor(ctx, user.email, 'password_reset');
    const body = { email: user.email, code };
    const results = await Promise.all([
      ctx.request('POST', '/v1/auth/password/forgot/verify', { body }),
      ctx.request('POST', '/v1/auth/password/forgot/verify', { body }),
    ]);
    expect(ok(results)).toHaveLength(1);
    expect(codes(results)).toEqual(['code_expired']);
  });

  it('lets exactly one of two simultaneous resets with one reset token succeed', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(1000);
    await ctx.request('POST', '/v1/auth/password/forgot', { body: { email: user.email } });
    const verified = await ctx.request('POST', '/v1/auth/password/forgot/verify', {
      body: { email: user.email, code: await lastCodeFor(ctx, user.email, 'password_reset') },
    });
    const token = verified.body.reset_token;
    const results = await Promise.all(
      ['First-n3w-pass!', 'Second-n3w-pass!'].map((password) =>
        ctx.request('POST', '/v1/auth/password/reset', { body: { reset_token: token, password } }),
      ),
    );
    expect(statuses(results)).toEqual([204, 401]);
    expect(codes(results)).toEqual(['invalid_token']);
  });

  it('lets exactly one of two simultaneous first passwords be set', async () => {
    const user = await signUpWithoutPassword(ctx);
    const results = await Promise.all(
      ['First-n3w-pass!', 'Second-n3w-pass!'].map((password) =>
        ctx.request('POST', '/v1/auth/password/set', {
          token: user.accessToken,
          body: { password },
        }),
      ),
    );
    expect(statuses(results)).toEqual([204, 409]);
    expect(codes(results)).toEqual(['password_already_set']);
  });

  it('revokes a session once when two requests revoke it at the same time', async () => {
    const user = await ctx.signUp();
    const other = await ctx.login(user.email, user.password);
    const results = await Promise.all([
      ctx.request('DELETE', `/v1/auth/sessions/${other.sessionId}`, { token: user.accessToken }),
      ctx.request('DELETE', `/v1/auth/sessions/${other.sessionId}`, { token: user.accessToken }),
    ]);
    expect(statuses(results)).toEqual([204, 404]);
  });
});

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  lastCodeFor,
  registerOnly,
  setCookieOf,
  type TestContext,
} from '../../../test/harness';

/**
 * Secrets are stored only as hashes (SPEC §4, STYLE "single-use secrets"): a copy of the database
 * must not let anyone sign in. The outbox is the one exception by design: it holds a mail with its
 * code until delivery, then the body is purged (delivery/worker.ts).
 */

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Every table that holds identity state, as text: a secret must appear in none of them. */
async function databaseText(): Promise<string> {
  const { db } = ctx.database;
  const tables = [
    await db.selectFrom('users').selectAll().execute(),
    await db.selectFrom('sessions').selectAll().execute(),
    await db.selectFrom('refresh_tokens').selectAll().execute(),
    await db.selectFrom('password_resets').selectAll().execute(),
    await db.selectFrom('one_time_codes').selectAll().execute(),
    await db.selectFrom('audit_events').selectAll().execute(),
  ];
  return JSON.stringify(tables);
}

describe('stored secrets', () => {
  it('keeps a refresh token only as its hash', async () => {
    const user = await ctx.signUp();
    const rows = await ctx.database.db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('session_id', '=', user.sessionId)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).not.toBe(user.refreshToken);
    expect(rows[0]!.token_hash).toBe(sha256(user.refreshToken));
    expect(await databaseText()).not.toContain(user.refreshToken);
  });

  it('keeps a rotated refresh token only as its hash', async () => {
    const user = await ctx.signUp();
    const next = await ctx.request('POST', '/v1/auth/token/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    expect(await databaseText()).not.toContain(next.body.refresh_token);
  });

  it('keeps a password reset token only as its hash', async () => {
    const user = await ctx.signUp();
    ctx.clock.advance(1000);
    await ctx.request('POST', '/v1/auth/password/forgot', { body: { email: user.email } });
    const res = await ctx.request('POST', '/v1/auth/password/forgot/verify', {
      body: { email: user.email, code: await lastCodeFor(ctx, user.email, 'password_reset') },
    });
    const token: string = res.body.reset_token;
    const rows = await ctx.database.db
      .selectFrom('password_resets')
      .select('token_hash')
      .where('user_id', '=', user.userId)
      .execute();
    expect(rows.map((r) => r.token_hash)).toEqual([sha256(token)]);
    expect(await databaseText()).not.toContain(token);
  });

  it('keeps a one-time code only as a keyed hash, not a plain digest a thief could reverse', async () => {
    const { email } = await registerOnly(ctx);
    const code = await lastCodeFor(ctx, email, 'verify_email');
    const row = await ctx.database.db
      .selectFrom('one_time_codes')
      .innerJoin('users', 'users.id', 'one_time_codes.user_id')
      .selectAll('one_time_codes')
      .where('users.email', '=', email)
      .executeTakeFirstOrThrow();
    expect(Object.values(row).map(String)).not.toContain(code);
    expect(row.code_hash).not.toContain(code);
    // A million codes: an unkeyed digest would be reversed by trying them all.
    expect(row.code_hash).not.toBe(sha256(code));
  });

  it('keeps the browser cookie secret only as its hash', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password, mode: 'cookie' },
    });
    const cookie = setCookieOf(res, 'gatehouse_session')!.value;
    const secret = cookie.slice(cookie.indexOf('.') + 1);
    expect(await databaseText()).not.toContain(secret);
  });

  it('keeps passwords only as argon2id hashes', async () => {
    const user = await ctx.signUp();
    const row = await ctx.database.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', user.userId)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(await databaseText()).not.toContain(user.password);
  });

  it('never sends a hash back: profile and session list carry none', async () => {
    const user = await ctx.signUp();
    const me = await ctx.request('GET', '/v1/me', { token: user.accessToken });
    const sessions = await ctx.request('GET', '/v1/auth/sessions', { token: user.accessToken });
    for (const text of [me.text, sessions.text]) {
      expect(text).not.toMatch(/password_hash|cookie_secret_hash|token_hash|code_hash|\$argon2/);
    }
  });
});

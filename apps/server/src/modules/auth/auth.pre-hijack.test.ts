import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  engine,
  expectProblem,
  lastCodeFor,
  mailsTo,
  registerOnly,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';

/**
 * Pre-account hijacking (issue 10 #1): a password chosen before the address was proven must not
 * survive the proof by someone else. And one new address registered many times at once (#7).
 */

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const STRANGER = { password: 'Str4nger-Danger!9', first_name: 'Mallory', last_name: 'Stranger' };
const OWNER = { password: STRONG_PASSWORD, first_name: 'Ada', last_name: 'Lovelace' };

const register = (email: string, who: typeof OWNER, remoteAddress?: string) =>
  ctx.request('POST', '/v1/auth/register', {
    body: { email, ...who },
    ...(remoteAddress ? { remoteAddress } : {}),
  });
const verify = (email: string, code: string) =>
  ctx.request('POST', '/v1/auth/verify-email', { body: { email, code } });
const login = (email: string, password: string) =>
  ctx.request('POST', '/v1/auth/login', { body: { email, password } });

// @see issue 10 #1
describe(`pre-account hijacking (${engine})`, () => {
  it("the stranger registered first: the owner's verified registration decides password and names", async () => {
    const email = uniqueEmail('victim');
    expect((await register(email, STRANGER)).status).toBe(202);
    // nobody signs in with a password before the address is proven
    expectProblem(await login(email, STRANGER.password), 403, 'email_not_verified');
    ctx.clock.advance(61_000); // past the per-address mail cooldown
    expect((await register(email, OWNER)).status).toBe(202);
    const [ownerMail] = await mailsTo(ctx, email);
    expect(ownerMail!.body).toContain('Hello Ada');
    const verified = await verify(email, await lastCodeFor(ctx, email, 'verify_email'));
    expect(verified.status).toBe(200);

    expectProblem(await login(email, STRANGER.password), 401, 'invalid_credentials');
    const owner = await login(email, OWNER.password);
    expect(owner.status).toBe(200);
    const me = await ctx.request('GET', '/v1/me', { token: owner.body.access_token });
    expect(me.body).toMatchObject({ first_name: 'Ada', last_name: 'Lovelace', has_password: true });
  });

  it("the stranger registered after the owner: the owner's code still binds the owner's password", async () => {
    const email = uniqueEmail('victim');
    await register(email, OWNER);
    const ownerCode = await lastCodeFor(ctx, email, 'verify_email');
    ctx.clock.advance(61_000);
    await register(email, STRANGER);
    const strangerMail = (await mailsTo(ctx, email))[0]!;
    expect(strangerMail.body).toContain('Hello Mallory');

    expect((await verify(email, ownerCode)).status).toBe(200);
    expectProblem(await login(email, STRANGER.password), 401, 'invalid_credentials');
    const owner = await login(email, OWNER.password);
    expect(owner.status).toBe(200);
    const me = await ctx.request('GET', '/v1/me', { token: owner.body.access_token });
    expect(me.body).toMatchObject({ first_name: 'Ada', last_name: 'Lovelace' });
  });

  it('a code sent by resend-otp proves the mailbox but keeps no earlier password', async () => {
    const email = uniqueEmail('victim');
    await register(email, STRANGER);
    ctx.clock.advance(61_000);
    expect((await ctx.request('POST', '/v1/auth/resend-otp', { body: { email } })).status).toBe(
      202,
    );
    const verified = await verify(email, await lastCodeFor(ctx, email, 'verify_email'));
    expect(verified.status).toBe(200);
    expectProblem(await login(email, STRANGER.password), 401, 'invalid_credentials');
    // the verifier is signed in and chooses a password
    const me = await ctx.request('GET', '/v1/me', { token: verified.body.access_token });
    expect(me.body.has_password).toBe(false);
    const set = await ctx.request('POST', '/v1/auth/password/set', {
      token: verified.body.access_token,
      body: { password: OWNER.password },
    });
    expect(set.status).toBe(204);
    expect((await login(email, OWNER.password)).status).toBe(200);
  });

  it('keeps no pending credentials once the address is verified', async () => {
    const email = uniqueEmail('victim');
    await register(email, STRANGER);
    ctx.clock.advance(61_000);
    await register(email, OWNER);
    await verify(email, await lastCodeFor(ctx, email, 'verify_email'));
    const user = await ctx.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .executeTakeFirstOrThrow();
    const pending = await ctx.database.db
      .selectFrom('one_time_codes')
      .select(['password_hash', 'first_name', 'last_name', 'consumed_at'])
      .where('user_id', '=', user.id)
      .execute();
    for (const row of pending) {
      expect(row).toMatchObject({ password_hash: null, first_name: null, last_name: null });
      expect(row.consumed_at).not.toBeNull();
    }
  });

  it('answers a registration of an unverified, a verified and a new address alike', async () => {
    const unverified = (await registerOnly(ctx)).email;
    const verified = (await ctx.signUp()).email;
    ctx.clock.advance(61_000);
    const answers = await Promise.all(
      [unverified, verified, uniqueEmail('new')].map((e) => register(e, STRANGER)),
    );
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
    for (const a of answers) {
      expect(a.status).toBe(202);
      expect(strip(a.body)).toEqual(strip(answers[0]!.body));
    }
  });
});

// @see issue 10 #7
describe(`simultaneous registrations of one new address (${engine})`, () => {
  it('answers all twenty alike and creates exactly one user', async () => {
    const email = uniqueEmail('race');
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => register(email, OWNER, `198.51.100.${i + 1}`)),
    );
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
    for (const a of answers) {
      expect(a.status).toBe(202);
      expect(strip(a.body)).toEqual(strip(answers[0]!.body));
    }
    const rows = await ctx.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .execute();
    expect(rows).toHaveLength(1);
    // and the account works: its code verifies with the password registered
    expect((await verify(email, await lastCodeFor(ctx, email, 'verify_email'))).status).toBe(200);
    expect((await login(email, OWNER.password)).status).toBe(200);
  });
});

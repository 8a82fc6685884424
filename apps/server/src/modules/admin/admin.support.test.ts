/**
 * What a platform support desk needs beyond suspend/reactivate: resetting a user's second
 * factors (all factors and recovery codes in one transaction, audited, the user mailed, their
 * sessions untouched, step-up required), and listing and revoking a user's sessions (audited,
 * a revoked session refused on its next request). Platform admins only.
 * @see issue 12, item 9
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  mailsTo,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { platformAdmin } from '../../../test/seed';
import { enrolTotp, loginChallenge, recoveryRows, stepUp } from '../mfa/mfa.test-support';

let ctx: TestContext;
let admin: SignedIn;

beforeAll(async () => {
  // Tokens outlive the step-up test's eleven minutes: it is the proof's age that is refused.
  ctx = await createTestContext({ env: { ACCESS_TOKEN_TTL: '3600' } });
  admin = await platformAdmin(ctx);
});
afterAll(async () => {
  await ctx?.close();
});

const as = (who: SignedIn) => ({ token: who.accessToken });
const resetMfa = (userId: string, who: SignedIn = admin) =>
  ctx.request('POST', `/v1/admin/users/${userId}/mfa/reset`, as(who));
const listSessions = (userId: string, who: SignedIn = admin) =>
  ctx.request('GET', `/v1/admin/users/${userId}/sessions`, as(who));
const revokeSession = (userId: string, sessionId: string, who: SignedIn = admin) =>
  ctx.request('DELETE', `/v1/admin/users/${userId}/sessions/${sessionId}`, as(who));
const factorRows = (userId: string) =>
  ctx.database.db.selectFrom('mfa_factors').selectAll().where('user_id', '=', userId).execute();
const eventsOf = (action: string, targetId: string) =>
  ctx.database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('action', '=', action)
    .where('target_id', '=', targetId)
    .execute();

describe('only platform admins', () => {
  const routes: [string, string][] = [
    ['POST', '/v1/admin/users/usr_00000000000000000000000000/mfa/reset'],
    ['GET', '/v1/admin/users/usr_00000000000000000000000000/sessions'],
    [
      'DELETE',
      '/v1/admin/users/usr_00000000000000000000000000/sessions/ses_0000000000000000000000',
    ],
  ];

  it.each(routes)(
    '%s %s refuses a signed-in user (403 platform_admin_required)',
    async (m, url) => {
      const user = await ctx.signUp();
      expectProblem(await ctx.request(m, url, as(user)), 403, 'platform_admin_required');
    },
  );

  it.each(routes)('%s %s refuses an anonymous caller (401)', async (m, url) => {
    expectProblem(await ctx.request(m, url), 401, 'unauthenticated');
  });

  it('a refused reset removes nothing', async () => {
    const user = await ctx.signUp();
    await enrolTotp(ctx, user);
    const other = await ctx.signUp();
    expectProblem(await resetMfa(user.userId, other), 403, 'platform_admin_required');
    expect(await factorRows(user.userId)).toHaveLength(1);
    expect(await recoveryRows(ctx, user.userId)).not.toHaveLength(0);
  });
});

describe('POST /v1/admin/users/{userId}/mfa/reset', () => {
  it('removes every factor and recovery code; the user signs in with the password alone', async () => {
    const user = await ctx.signUp();
    await enrolTotp(ctx, user);
    const codes = (await recoveryRows(ctx, user.userId)).length;
    expect(codes).toBeGreaterThan(0);
    // Before: the password alone is not enough.
    await loginChallenge(ctx, user);

    const res = await resetMfa(user.userId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ factors_removed: 1, recovery_codes_removed: codes });
    expect(await factorRows(user.userId)).toEqual([]);
    expect(await recoveryRows(ctx, user.userId)).toEqual([]);

    // Their session keeps working: a reset is not a sign-out.
    expect((await ctx.request('GET', '/v1/me', as(user))).status).toBe(200);
    const login = await ctx.request('POST', '/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(login.status).toBe(200);
    expect(login.body.access_token).toEqual(expect.any(String));
  });

  it('mails the user, in words, and records who did it', async () => {
    const user = await ctx.signUp();
    await enrolTotp(ctx, user);
    expect((await resetMfa(user.userId)).status).toBe(200);
    const [mail] = await mailsTo(ctx, user.email);
    expect(mail?.subject).toBe('A security setting of your Gatehouse account changed');
    expect(mail?.body).toContain('administrator removed all second factors');
    const [event] = await eventsOf('user.mfa_reset', user.userId);
    expect(event).toMatchObject({ actor_type: 'platform_admin', actor_id: admin.userId });
    expect(JSON.parse(String(event!.changes))).toMatchObject({
      factors_removed: [{ type: 'totp' }],
      recovery_codes_removed: 10,
    });
  });

  it('answers zeros for a user without factors, mails nothing, still records the act', async () => {
    const user = await ctx.signUp();
    const before = (await mailsTo(ctx, user.email)).length;
    const res = await resetMfa(user.userId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ factors_removed: 0, recovery_codes_removed: 0 });
    expect(await mailsTo(ctx, user.email)).toHaveLength(before);
    expect(await eventsOf('user.mfa_reset', user.userId)).toHaveLength(1);
  });

  it('refuses an unknown user (404) and the admin themself (403: their own settings)', async () => {
    expectProblem(await resetMfa('usr_00000000000000000000000000'), 404, 'not_found');
    expectProblem(await resetMfa(admin.userId), 403, 'forbidden');
  });

  it('needs a recent sign-in (step_up_required), and then works', async () => {
    const user = await ctx.signUp();
    await enrolTotp(ctx, user);
    const fresh = await ctx.login(admin.email, admin.password);
    ctx.clock.advance(11 * 60 * 1000);
    const refused = await resetMfa(user.userId, fresh);
    expectProblem(refused, 401, 'step_up_required');
    expect(await factorRows(user.userId)).toHaveLength(1);
    expect(
      (await stepUp(ctx, fresh.accessToken, { method: 'password', password: fresh.password }))
        .status,
    ).toBe(200);
    expect((await resetMfa(user.userId, fresh)).status).toBe(200);
    expect(await factorRows(user.userId)).toEqual([]);
  });
});

describe('a user’s sessions', () => {
  it('lists the active sessions of a user, and revoking one refuses it at once', async () => {
    const user = await ctx.signUp();
    const second = await ctx.login(user.email, user.password);
    const listed = await listSessions(user.userId);
    expect(listed.status).toBe(200);
    const ids = listed.body.data.map((s: { id: string }) => s.id);
    expect(ids).toEqual(expect.arrayContaining([user.sessionId, second.sessionId]));
    expect(listed.body.data.every((s: { current: boolean }) => !s.current)).toBe(true);

    expect((await revokeSession(user.userId, second.sessionId)).status).toBe(204);
    expectProblem(await ctx.request('GET', '/v1/me', as(second)), 401, 'session_revoked');
    expect((await ctx.request('GET', '/v1/me', as(user))).status).toBe(200);
    const after = (await listSessions(user.userId)).body.data.map((s: { id: string }) => s.id);
    expect(after).toContain(user.sessionId);
    expect(after).not.toContain(second.sessionId);

    const [event] = await eventsOf('session.revoked', second.sessionId);
    expect(event).toMatchObject({ actor_type: 'platform_admin', actor_id: admin.userId });
  });

  it('answers 404 for a session already revoked, or one of another user', async () => {
    const user = await ctx.signUp();
    const other = await ctx.signUp();
    expectProblem(await revokeSession(user.userId, other.sessionId), 404, 'not_found');
    expect((await ctx.request('GET', '/v1/me', as(other))).status).toBe(200);
    expect((await revokeSession(user.userId, user.sessionId)).status).toBe(204);
    expectProblem(await revokeSession(user.userId, user.sessionId), 404, 'not_found');
    expect(await eventsOf('session.revoked', user.sessionId)).toHaveLength(1);
  });

  it('answers 404 for an unknown user', async () => {
    expectProblem(await listSessions('usr_00000000000000000000000000'), 404, 'not_found');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../test/harness';
import { mailTime } from './templates';

/**
 * Dates in the mails we send are in the recipient's time zone (seed 003: the time zone "affects
 * how dates and times are displayed in reports and messages"), naming the zone (issue 11).
 */
describe('mailTime', () => {
  const at = Date.UTC(2026, 11, 2, 0, 20); // 2 Dec 2026, 00:20 UTC

  it('writes the moment in the given zone and names it', () => {
    expect(mailTime(at, 'Europe/Berlin')).toBe('2 Dec 2026, 01:20 (Europe/Berlin)');
    expect(mailTime(at, 'America/New_York')).toBe('1 Dec 2026, 19:20 (America/New_York)');
  });

  it('uses UTC for a user without a zone, or with one the runtime does not know', () => {
    expect(mailTime(at, null)).toBe('2 Dec 2026, 00:20 (UTC)');
    expect(mailTime(at, 'Mars/Olympus_Mons')).toBe('2 Dec 2026, 00:20 (UTC)');
  });
});

describe('security mails', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const lastMailTo = (email: string) =>
    ctx.database.db
      .selectFrom('outbox')
      .select(['subject', 'body'])
      .where('recipient', '=', email)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();

  it('tell when the password changed in the user’s own time zone', async () => {
    const user = await ctx.signUp();
    const zone = await ctx.request('PATCH', '/v1/me', {
      token: user.accessToken,
      body: { timezone: 'Asia/Tokyo' },
    });
    expect(zone.status).toBe(200);
    const changed = await ctx.request('PUT', '/v1/auth/password', {
      token: user.accessToken,
      body: { current_password: user.password, new_password: 'Another-Str0ng-pass!' },
    });
    expect(changed.status).toBe(204);
    const mail = await lastMailTo(user.email);
    expect(mail.subject).toBe('Your Gatehouse password was changed');
    expect(mail.body).toContain(`changed on ${mailTime(ctx.clock.now(), 'Asia/Tokyo')}`);
    expect(mail.body).toContain('(Asia/Tokyo)');
  });

  it('tell when a security setting changed, in UTC for a user who chose no zone', async () => {
    const user = await ctx.signUp();
    const res = await ctx.request('PATCH', '/v1/me', {
      token: user.accessToken,
      body: { mobile: '+14155550199' },
    });
    expect(res.status).toBe(200);
    const mail = await lastMailTo(user.email);
    expect(mail.subject).toBe('A security setting of your Gatehouse account changed');
    expect(mail.body).toContain(`When: ${mailTime(ctx.clock.now(), null)}.`);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestContext,
  engine,
  expectProblem,
  mailsTo,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { startSmsReceiver, type TestSmsReceiver } from '../../../test/sms-receiver';
import { enrolSms, loginChallenge, smsCountTo, uniquePhone } from '../mfa/mfa.test-support';

/**
 * The mobile number in the profile and the number SMS sign-in codes go to are one number
 * (issue 10 #23: a PATCH of `mobile` left codes going to the old confirmed number while the
 * profile showed the new one). With an SMS factor, the number changes only by enrolling the new
 * one; without, a change is told to the user by mail.
 */

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

const patch = (user: SignedIn, body: unknown) =>
  ctx.request('PATCH', '/v1/me', { token: user.accessToken, body });
const profile = async (user: SignedIn) =>
  (await ctx.request('GET', '/v1/me', { token: user.accessToken })).body;

// @see issue 10 #23 (PATCH mobile vs. the SMS factor's number)
describe(`the mobile number and the SMS factor (${engine})`, () => {
  it('refuses to change the mobile of a user whose SMS factor uses it; codes and profile agree', async () => {
    const user = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, user);
    expect((await profile(user)).mobile).toBe(phone);

    const other = uniquePhone();
    expectProblem(await patch(user, { mobile: other }), 409, 'mobile_is_sms_factor');
    expectProblem(await patch(user, { mobile: null }), 409, 'mobile_is_sms_factor');
    expect((await profile(user)).mobile).toBe(phone);

    // the sign-in code goes to the number the profile shows, and nothing to the other one
    const before = await smsCountTo(ctx, sms, phone);
    const challenge = await loginChallenge(ctx, user);
    const sent = await ctx.request('POST', '/v1/auth/mfa/sms', {
      body: { mfa_token: challenge.mfaToken },
    });
    expect(sent.status).toBe(202);
    expect(await smsCountTo(ctx, sms, phone)).toBe(before + 1);
    expect(await smsCountTo(ctx, sms, other)).toBe(0);
  });

  it('accepts a PATCH that keeps the factor number', async () => {
    const user = await ctx.signUp();
    const { phone } = await enrolSms(ctx, sms, user);
    const res = await patch(user, { mobile: phone, first_name: 'Grace' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mobile: phone, first_name: 'Grace' });
  });

  it('changes the mobile of a user without an SMS factor, and says so by mail', async () => {
    const user = await ctx.signUp();
    const phone = uniquePhone();
    const res = await patch(user, { mobile: phone });
    expect(res.status).toBe(200);
    expect(res.body.mobile).toBe(phone);
    const [mail] = await mailsTo(ctx, user.email);
    expect(mail!.subject).toBe('A security setting of your Gatehouse account changed');
    expect(mail!.body).toContain(
      `changed from none to ${'•'.repeat(phone.length - 2)}${phone.slice(-2)}`,
    );
  });
});

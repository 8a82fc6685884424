/**
 * The owner of a customer created by a platform admin gets their mail through a real SMTP
 * server started by the test: a set-password link when the owner is new, a plain notice when
 * they already have an account.
 * @see issue 4, item 7
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestContext,
  type SignedIn,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';
import { allowed, platformAdmin } from '../../../test/seed';
import { startSmtpServer, type TestSmtpServer } from '../../../test/smtp';

let smtp: TestSmtpServer;
let ctx: TestContext;
let admin: SignedIn;

beforeAll(async () => {
  smtp = await startSmtpServer();
  ctx = await createTestContext({ env: { SMTP_URL: smtp.url } });
  admin = await platformAdmin(ctx);
});
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});
beforeEach(async () => {
  await ctx.gatehouse.outbox.drain();
  smtp.messages.length = 0;
});

const createCustomer = (
  name: string,
  owner: { email: string; first_name: string; last_name: string },
) =>
  ctx.request('POST', '/v1/admin/customers', {
    token: admin.accessToken,
    body: { name, template: 'reseller', owner },
  });

describe('customer owner mail over SMTP', () => {
  it('a new owner receives a set-password link that works, and then owns the customer', async () => {
    const email = uniqueEmail('smtp-owner');
    const res = await createCustomer('Mailed Customer', {
      email,
      first_name: 'Mo',
      last_name: 'Owner',
    });
    await ctx.gatehouse.outbox.drain();
    const [mail] = await smtp.waitFor(1);
    expect(mail!.to).toEqual([email]);
    expect(mail!.subject).toBe('Mailed Customer is ready for you on Gatehouse');
    const token = mail!.text.match(/set-password\?token=([A-Za-z0-9_-]+)/)?.[1];
    expect(token).toBeTruthy();
    expect(
      (
        await ctx.request('POST', '/v1/auth/password/reset', {
          body: { reset_token: token, password: STRONG_PASSWORD },
        })
      ).status,
    ).toBe(204);
    const owner = await ctx.login(email, STRONG_PASSWORD);
    expect(await allowed(ctx, owner, 'members:invite', res.body.id)).toBe(true);
  });

  it('an existing user receives a plain notice, without any link', async () => {
    const existing = await ctx.signUp();
    await ctx.gatehouse.outbox.drain();
    smtp.messages.length = 0;
    await createCustomer('Known Owner Co', {
      email: existing.email,
      first_name: 'K',
      last_name: 'O',
    });
    await ctx.gatehouse.outbox.drain();
    const [mail] = await smtp.waitFor(1);
    expect(mail!.to).toEqual([existing.email]);
    expect(mail!.text).not.toContain('token=');
    expect(mail!.text).toContain('with your existing account');
  });
});

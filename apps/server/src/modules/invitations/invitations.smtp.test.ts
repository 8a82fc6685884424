/**
 * The mails arrive: a real SMTP server started by the test receives the invitation (and the
 * resent one, and the set-password mail of a user added directly), and the link in what it
 * received is the one that works.
 * @see issue 4, items 1, 3, 6 and 9
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestContext,
  type SignedIn,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../../../test/harness';
import { createAccount, createOrg, invite } from '../../../test/seed';
import { startSmtpServer, type TestSmtpServer } from '../../../test/smtp';

let smtp: TestSmtpServer;
let ctx: TestContext;
let owner: SignedIn;
let org: { id: string };
let video: { id: string };

beforeAll(async () => {
  smtp = await startSmtpServer();
  ctx = await createTestContext({
    env: { SMTP_URL: smtp.url, MAIL_FROM: 'Gatehouse <id@example.com>' },
  });
  owner = await ctx.signUp({ first_name: 'Olga', last_name: 'Owner' });
  org = await createOrg(ctx, owner, 'media', 'Mailed Media');
  video = await createAccount(ctx, owner, org.id, 'video', 'Clips');
  // The sign-up code mail of the owner is not what these tests look at.
  await ctx.gatehouse.outbox.drain();
});
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});
beforeEach(async () => {
  await ctx.gatehouse.outbox.drain();
  smtp.messages.length = 0;
});

const linkIn = (text: string) =>
  text.match(/http:\/\/gatehouse\.test\/invitations\/([A-Za-z0-9_-]+)/)?.[1];

describe('invitation mail over SMTP', () => {
  it('arrives at the invited address with the link, the inviter, the organization and the grants', async () => {
    const email = uniqueEmail('smtp-inv');
    await invite(ctx, owner, org.id, {
      emails: [email],
      grants: [{ role: 'video-developer', scope: video.id }],
      message: 'See you there',
    });
    expect(await ctx.gatehouse.outbox.drain()).toBe(1);
    const [mail] = await smtp.waitFor(1);
    expect(mail!.to).toEqual([email]);
    expect(mail!.from).toBe('id@example.com');
    expect(mail!.subject).toBe('Olga Owner invited you to Mailed Media');
    expect(mail!.text).toContain('Video developer on Clips');
    expect(mail!.text).toContain('See you there');
    expect(linkIn(mail!.text)).toBeTruthy();
  });

  it('carries a link that opens the invitation and accepts it', async () => {
    const email = uniqueEmail('smtp-accept');
    await invite(ctx, owner, org.id, { emails: [email] });
    await ctx.gatehouse.outbox.drain();
    const [mail] = await smtp.waitFor(1);
    const token = linkIn(mail!.text)!;
    expect((await ctx.request('GET', `/v1/invitations/${token}`)).body.email).toBe(email);
    const accepted = await ctx.request('POST', `/v1/invitations/${token}/accept`, {
      body: { first_name: 'Mai', last_name: 'Led', password: STRONG_PASSWORD },
    });
    expect(accepted.status).toBe(200);
  });

  it('sends one mail per invited address in a batch, none to invalid or duplicate ones', async () => {
    const a = uniqueEmail('smtp-a');
    const b = uniqueEmail('smtp-b');
    await invite(ctx, owner, org.id, { emails: [a, 'broken', b, a.toUpperCase()] });
    expect(await ctx.gatehouse.outbox.drain()).toBe(2);
    const mails = await smtp.waitFor(2);
    expect(mails.flatMap((m) => m.to).sort()).toEqual([a, b].sort());
  });

  it('the resent mail carries a new link, and only that one works', async () => {
    const email = uniqueEmail('smtp-resend');
    const sent = await invite(ctx, owner, org.id, { emails: [email] });
    await ctx.request(
      'POST',
      `/v1/organizations/${org.id}/invitations/${sent.body.results[0].invitation_id}/resend`,
      { token: owner.accessToken },
    );
    await ctx.gatehouse.outbox.drain();
    const mails = await smtp.waitFor(2);
    const tokens = mails.map((m) => linkIn(m.text)!);
    expect(new Set(tokens).size).toBe(2);
    const answers = await Promise.all(
      tokens.map((t) => ctx.request('GET', `/v1/invitations/${t}`)),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 404]);
  });
});

describe('added directly, with send_invite, over SMTP', () => {
  it('the set-password mail arrives, and its token sets the password', async () => {
    const email = uniqueEmail('smtp-direct');
    await ctx.request('POST', `/v1/organizations/${org.id}/members`, {
      token: owner.accessToken,
      body: { email, send_invite: true, grants: [{ role: 'accountant', scope: org.id }] },
    });
    await ctx.gatehouse.outbox.drain();
    const [mail] = await smtp.waitFor(1);
    expect(mail!.to).toEqual([email]);
    const token = mail!.text.match(/set-password\?token=([A-Za-z0-9_-]+)/)?.[1];
    expect(token).toBeTruthy();
    const reset = await ctx.request('POST', '/v1/auth/password/reset', {
      body: { reset_token: token, password: STRONG_PASSWORD },
    });
    expect(reset.status).toBe(204);
    await ctx.login(email, STRONG_PASSWORD);
  });
});

import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  engine,
  lastCodeFor,
  type SignedIn,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../../test/harness';
import { createOrg, invite } from '../../test/seed';
import { startSmsReceiver, type TestSmsReceiver } from '../../test/sms-receiver';
import { startSmtpServer, type TestSmtpServer } from '../../test/smtp';
import { enqueueSms } from './outbox';
import { backoffMs, MAX_ATTEMPTS, redactSecrets } from './worker';

/**
 * No one-time code, token or link stays readable in the database once its message is delivered
 * or given up (issue 10 #9): not in the outbox's subject, body or error, nor anywhere else.
 */

let smtp: TestSmtpServer;
let sms: TestSmsReceiver;
let ctx: TestContext;
beforeAll(async () => {
  smtp = await startSmtpServer();
  sms = await startSmsReceiver();
  ctx = await createTestContext({ env: { SMTP_URL: smtp.url, SMS_WEBHOOK_URL: sms.url } });
});
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
  await sms?.close();
});

/** Every text value of every row of every table. */
async function everythingAtRest(c: TestContext): Promise<string[]> {
  // biome-ignore lint/suspicious/noExplicitAny: every table, whatever its columns
  const db = c.database.db as unknown as Kysely<any>;
  const tables =
    engine === 'postgres'
      ? (
          await sql<{ name: string }>`select table_name as name from information_schema.tables
            where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(db)
        ).rows
      : (
          await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(
            db,
          )
        ).rows;
  const values: string[] = [];
  for (const { name } of tables) {
    for (const row of await db.selectFrom(name).selectAll().execute())
      for (const value of Object.values(row as Record<string, unknown>)) {
        if (typeof value === 'string') values.push(value);
        else if (Buffer.isBuffer(value)) values.push(value.toString('latin1'));
      }
  }
  return values;
}

/** Where `secret` appears as a whole word (a code inside a longer hash is not the code). */
function findAtRest(values: string[], secret: string): string[] {
  const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const word = new RegExp(`(?<![A-Za-z0-9_-])${escaped}(?![A-Za-z0-9_-])`);
  return values.filter((v) => word.test(v));
}

const register = (c: TestContext, email: string) =>
  c.request('POST', '/v1/auth/register', {
    body: { email, password: STRONG_PASSWORD, first_name: 'Ada', last_name: 'Lovelace' },
  });

// @see issue 10 #9
describe(`secrets at rest after delivery (${engine})`, () => {
  it('keeps no code, token or link of a delivered mail or SMS anywhere in the database', async () => {
    const email = uniqueEmail('at-rest');
    expect((await register(ctx, email)).status).toBe(202);
    ctx.clock.advance(61_000);
    // a second account asks for a password reset, and invites the first one to an organization
    const owner: SignedIn = await ctx.signUp();
    ctx.clock.advance(61_000);
    await ctx.request('POST', '/v1/auth/password/forgot', { body: { email: owner.email } });
    const org = await createOrg(ctx, owner);
    expect((await invite(ctx, owner, org.id, { emails: [email] })).status).toBe(200);
    await ctx.database.db
      .transaction()
      .execute((trx) =>
        enqueueSms(trx, { to: '+4915100000001', body: '482913 is your code' }, ctx.clock.now()),
      );
    smtp.messages.length = 0;
    sms.received.length = 0;
    await ctx.gatehouse.outbox.drain();

    const secrets: string[] = [];
    for (const mail of smtp.messages) {
      for (const m of `${mail.subject}\n${mail.text}`.matchAll(/\b\d{6}\b/g)) secrets.push(m[0]);
      for (const m of mail.text.matchAll(/https?:\/\/\S+/g)) {
        secrets.push(m[0]);
        const token = m[0].match(/([A-Za-z0-9_-]{20,})/)?.[1];
        if (token) secrets.push(token);
      }
    }
    secrets.push('482913');
    // the verification and reset codes, and the invitation link, were mailed
    const verify = smtp.messages.find(
      (m) => m.to.includes(email) && /verification/.test(m.subject),
    );
    expect(verify!.subject).toMatch(/^\d{6} is your Gatehouse verification code$/);
    expect(
      smtp.messages.some((m) => /^\d{6} is your Gatehouse password reset code$/.test(m.subject)),
    ).toBe(true);
    expect(secrets.some((s) => s.includes('/invitations/'))).toBe(true);
    expect(sms.received).toHaveLength(1);

    const atRest = await everythingAtRest(ctx);
    for (const secret of secrets) expect(findAtRest(atRest, secret), secret).toEqual([]);
    // the rows are kept, without their secrets
    const row = await ctx.database.db
      .selectFrom('outbox')
      .selectAll()
      .where('recipient', '=', email)
      .where('subject', '=', 'Your Gatehouse verification code')
      .executeTakeFirst();
    expect(row).toMatchObject({ status: 'sent', body: null });
  });

  it('keeps no code of a mail given up after its last attempt', async () => {
    const down = await startSmtpServer();
    await down.close(); // nobody listens there any more
    const c = await createTestContext({ env: { SMTP_URL: down.url } });
    try {
      const email = uniqueEmail('dead-letter');
      expect((await register(c, email)).status).toBe(202);
      const code = await lastCodeFor(c, email, 'verify_email');
      expect(findAtRest(await everythingAtRest(c), code)).not.toEqual([]); // pending: still there
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        await c.gatehouse.outbox.drain();
        c.clock.advance(backoffMs(attempt));
      }
      const row = await c.database.db
        .selectFrom('outbox')
        .selectAll()
        .where('recipient', '=', email)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'failed', body: null });
      expect(row.subject).toBe('Your Gatehouse verification code');
      expect(row.last_error).toBeTruthy();
      expect(findAtRest(await everythingAtRest(c), code)).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('cuts codes, tokens and links out of a delivery error', () => {
    const said = redactSecrets(
      '550 rejected "123456 is your code" see https://id.example.com/invitations/abc?x=1 tok_abcdefghijklmnopqrstuvwx',
    );
    expect(said).not.toMatch(/123456|abcdefghijklmnopqrstuvwx|invitations/);
    expect(said).toContain('550 rejected');
  });
});

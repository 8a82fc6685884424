import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createTestContext,
  STRONG_PASSWORD,
  type TestContext,
  uniqueEmail,
} from '../../test/harness';
import { startSmsReceiver, type TestSmsReceiver } from '../../test/sms-receiver';
import { startSmtpServer, type TestSmtpServer } from '../../test/smtp';
import { enqueueEmail, enqueueSms } from './outbox';
import { backoffMs, createOutboxWorker, MAX_ATTEMPTS } from './worker';

let smtp: TestSmtpServer;
let sms: TestSmsReceiver;
let ctx: TestContext;

beforeAll(async () => {
  smtp = await startSmtpServer();
  sms = await startSmsReceiver();
  ctx = await createTestContext({
    env: { SMTP_URL: smtp.url, SMS_WEBHOOK_URL: sms.url, MAIL_FROM: 'Gatehouse <id@example.com>' },
  });
});
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
  await sms?.close();
});
beforeEach(() => {
  smtp.messages.length = 0;
  sms.received.length = 0;
  sms.respondWith(200);
});

const register = (c: TestContext, email: string) =>
  c.request('POST', '/v1/auth/register', {
    body: { email, password: STRONG_PASSWORD, first_name: 'Ada', last_name: 'Lovelace' },
  });

const queueSms = (c: TestContext, to: string, body: string) =>
  c.database.db.transaction().execute((trx) => enqueueSms(trx, { to, body }, c.clock.now()));

const queueEmail = (c: TestContext, to: string, text: string) =>
  c.database.db
    .transaction()
    .execute((trx) => enqueueEmail(trx, { to, subject: 'Hello', text }, c.clock.now()));

const outboxRow = (c: TestContext, id: string) =>
  c.database.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

const outboxRowsTo = (c: TestContext, recipient: string) =>
  c.database.db
    .selectFrom('outbox')
    .selectAll()
    .where('recipient', '=', recipient)
    .orderBy('id')
    .execute();

describe('mail through SMTP', () => {
  it('delivers the verification code of a registration to the SMTP server', async () => {
    const email = uniqueEmail('smtp');
    expect((await register(ctx, email)).status).toBe(202);
    expect(await ctx.gatehouse.outbox.drain()).toBe(1);

    const [mail] = await smtp.waitFor(1);
    expect(mail!.to).toEqual([email]);
    expect(mail!.from).toBe('id@example.com');
    expect(mail!.headers.from).toContain('Gatehouse');
    expect(mail!.subject).toMatch(/^\d{6} is your Gatehouse verification code$/);
    const code = mail!.text.match(/verification code is (\d{6})\./)?.[1];
    expect(code).toMatch(/^\d{6}$/);
    expect(mail!.subject.slice(0, 6)).toBe(code);
  });

  it('sends a code that verifies the email', async () => {
    const email = uniqueEmail('smtp-verify');
    await register(ctx, email);
    await ctx.gatehouse.outbox.drain();
    const [mail] = await smtp.waitFor(1);
    const code = mail!.text.match(/\b(\d{6})\b/)![1];
    const res = await ctx.request('POST', '/v1/auth/verify-email', { body: { email, code } });
    expect(res.status).toBe(200);
  });

  it('purges the body from the outbox once the mail is sent', async () => {
    const email = uniqueEmail('purge');
    await register(ctx, email);
    await ctx.gatehouse.outbox.drain();
    const [row] = await outboxRowsTo(ctx, email);
    expect(row).toMatchObject({
      status: 'sent',
      body: null,
      attempts: 1,
      last_error: null,
      sent_at: ctx.clock.now(),
    });
  });

  it('delivers after commit without a drain when the worker runs', async () => {
    const running = await createTestContext({
      env: { SMTP_URL: smtp.url },
      startWorker: true,
    });
    try {
      const email = uniqueEmail('background');
      await register(running, email);
      const [mail] = await smtp.waitFor(1);
      expect(mail!.to).toEqual([email]);
    } finally {
      await running.close();
    }
  });

  it('delivers nothing when no message is due', async () => {
    expect(await ctx.gatehouse.outbox.drain()).toBe(0);
    expect(smtp.messages).toHaveLength(0);
  });
});

describe('SMS through the webhook', () => {
  it('POSTs {to, body} as JSON to SMS_WEBHOOK_URL', async () => {
    const id = await queueSms(ctx, '+4915112345678', 'Your Gatehouse code is 123456');
    expect(await ctx.gatehouse.outbox.drain()).toBe(1);
    expect(sms.received).toEqual([
      {
        path: '/sms',
        contentType: 'application/json',
        body: { to: '+4915112345678', body: 'Your Gatehouse code is 123456' },
      },
    ]);
    expect(await outboxRow(ctx, id)).toMatchObject({ status: 'sent', body: null });
  });

  it('sends nothing for a message whose transaction rolled back', async () => {
    await expect(
      ctx.database.db.transaction().execute(async (trx) => {
        await enqueueSms(trx, { to: '+4915100000000', body: 'never' }, ctx.clock.now());
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await ctx.gatehouse.outbox.drain()).toBe(0);
    expect(sms.received).toHaveLength(0);
  });
});

describe('failures and retries', () => {
  it('keeps a message pending with the error and a backed-off next attempt', async () => {
    sms.respondWith(500);
    const id = await queueSms(ctx, '+4915111111111', 'retry me');
    const before = ctx.clock.now();
    expect(await ctx.gatehouse.outbox.drain()).toBe(0);
    const row = await outboxRow(ctx, id);
    expect(row).toMatchObject({
      status: 'pending',
      attempts: 1,
      body: 'retry me',
      locked_until: null,
      next_attempt_at: before + backoffMs(1),
    });
    expect(row.last_error).toContain('500');
    expect(sms.received).toHaveLength(1);

    // clean up: deliver it so later tests start from an empty queue
    sms.respondWith(200);
    ctx.clock.advance(backoffMs(1));
    await ctx.gatehouse.outbox.drain();
  });

  it('does not retry before the back-off has passed', async () => {
    sms.respondWith(500);
    const id = await queueSms(ctx, '+4915122222222', 'not yet');
    await ctx.gatehouse.outbox.drain();
    sms.respondWith(200);
    ctx.clock.advance(backoffMs(1) - 1);
    expect(await ctx.gatehouse.outbox.drain()).toBe(0);
    expect((await outboxRow(ctx, id)).status).toBe('pending');

    ctx.clock.advance(1);
    expect(await ctx.gatehouse.outbox.drain()).toBe(1);
  });

  it('delivers on retry once the clock passes the back-off', async () => {
    sms.respondWith(500);
    const id = await queueSms(ctx, '+4915133333333', 'second time lucky');
    await ctx.gatehouse.outbox.drain();
    sms.respondWith(200);
    ctx.clock.advance(backoffMs(1));
    expect(await ctx.gatehouse.outbox.drain()).toBe(1);
    expect(sms.received.map((r) => r.body)).toEqual([
      { to: '+4915133333333', body: 'second time lucky' },
      { to: '+4915133333333', body: 'second time lucky' },
    ]);
    expect(await outboxRow(ctx, id)).toMatchObject({
      status: 'sent',
      attempts: 2,
      body: null,
      last_error: null,
    });
  });

  it('counts deliveries, retries and failures in /metrics', async () => {
    sms.respondWith(500);
    await queueSms(ctx, '+4915177777777', 'counted');
    await ctx.gatehouse.outbox.drain();
    sms.respondWith(200);
    ctx.clock.advance(backoffMs(1));
    await ctx.gatehouse.outbox.drain();
    const text = (await ctx.request('GET', '/metrics')).text;
    expect(text).toMatch(
      /^gatehouse_outbox_deliveries_total\{channel="sms",result="retry"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(
      /^gatehouse_outbox_deliveries_total\{channel="sms",result="sent"\} [1-9]\d*$/m,
    );
  });

  it('backs off exponentially, capped at an hour', () => {
    expect([1, 2, 3, 4].map(backoffMs)).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(backoffMs(20)).toBe(3_600_000);
  });

  it(`gives up after ${MAX_ATTEMPTS} attempts and marks the message failed`, async () => {
    sms.respondWith(503);
    const id = await queueSms(ctx, '+4915144444444', 'doomed 654321');
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      await ctx.gatehouse.outbox.drain();
      ctx.clock.advance(backoffMs(attempt));
    }
    const row = await outboxRow(ctx, id);
    expect(row).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, body: null });
    expect(row.last_error).toContain('503');
    expect(sms.received).toHaveLength(MAX_ATTEMPTS);

    sms.respondWith(200);
    ctx.clock.advance(24 * 3600_000);
    expect(await ctx.gatehouse.outbox.drain()).toBe(0);
    expect(sms.received).toHaveLength(MAX_ATTEMPTS);
  });

  it('retries mail when the SMTP server is unreachable', async () => {
    const down = await startSmtpServer();
    await down.close(); // a port nobody listens on any more
    const offline = await createTestContext({ env: { SMTP_URL: down.url } });
    try {
      const email = uniqueEmail('offline');
      await register(offline, email);
      expect(await offline.gatehouse.outbox.drain()).toBe(0);
      const [row] = await outboxRowsTo(offline, email);
      expect(row).toMatchObject({ status: 'pending', attempts: 1 });
      expect(row!.last_error).toBeTruthy();
      expect(row!.body).toMatch(/\d{6}/);
    } finally {
      await offline.close();
    }
  });
});

describe('a stalled SMTP server', () => {
  it('fails the attempt within the send timeout instead of holding the queue', async () => {
    // Greets like an SMTP server, then never answers: nodemailer alone would wait an hour.
    const sockets = new Set<net.Socket>();
    const stalled = net.createServer((socket) => {
      sockets.add(socket);
      socket.write('220 stalled.example ESMTP\r\n');
    });
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    const { port } = stalled.address() as net.AddressInfo;
    const c = await createTestContext({ env: { SMTP_URL: `smtp://127.0.0.1:${port}` } });
    try {
      const worker = createOutboxWorker(c.gatehouse.rt, { sendTimeoutMs: 300 });
      const email = uniqueEmail('stalled');
      await register(c, email);
      const started = Date.now();
      expect(await worker.drain()).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
      const [row] = await outboxRowsTo(c, email);
      expect(row).toMatchObject({ status: 'pending', attempts: 1, locked_until: null });
      expect(row!.last_error).toMatch(/time/i);
      await worker.stop();
    } finally {
      await c.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => stalled.close(resolve));
    }
  });
});

describe('several workers', () => {
  it('deliver each message exactly once when draining at the same time', async () => {
    const second = createOutboxWorker(ctx.gatehouse.rt);
    const third = createOutboxWorker(ctx.gatehouse.rt);
    try {
      const texts = Array.from({ length: 30 }, (_, i) => `message ${i}`);
      for (const [i, text] of texts.entries()) {
        if (i % 3 === 0) await queueEmail(ctx, `crowd-${i}@example.com`, text);
        else await queueSms(ctx, `+49151000000${String(i).padStart(2, '0')}`, text);
      }
      const counts = await Promise.all([
        ctx.gatehouse.outbox.drain(),
        second.drain(),
        third.drain(),
      ]);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(30);

      await smtp.waitFor(10);
      const delivered = [
        ...sms.received.map((r) => (r.body as { body: string }).body),
        ...smtp.messages.map((m) => m.text.trim()),
      ];
      expect(delivered.sort()).toEqual([...texts].sort());
      const pending = await ctx.database.db
        .selectFrom('outbox')
        .select('id')
        .where('status', '!=', 'sent')
        .where('status', '!=', 'failed')
        .execute();
      expect(pending).toEqual([]);
    } finally {
      await second.stop();
      await third.stop();
    }
  });
});

describe('without SMTP_URL or SMS_WEBHOOK_URL', () => {
  let bare: TestContext;
  beforeAll(async () => {
    bare = await createTestContext();
  });
  afterAll(async () => {
    await bare?.close();
  });

  it('keeps messages pending in the outbox, untouched', async () => {
    const email = uniqueEmail('bare');
    await register(bare, email);
    await queueSms(bare, '+4915155555555', 'kept');
    expect(await bare.gatehouse.outbox.drain()).toBe(0);
    const [mail] = await outboxRowsTo(bare, email);
    expect(mail).toMatchObject({ status: 'pending', attempts: 0, last_error: null });
    expect(mail!.body).toMatch(/\d{6}/);
    const [text] = await outboxRowsTo(bare, '+4915155555555');
    expect(text).toMatchObject({ status: 'pending', attempts: 0, body: 'kept' });
  });

  it('delivers the configured channel and keeps the other pending', async () => {
    const smsOnly = await createTestContext({ env: { SMS_WEBHOOK_URL: sms.url } });
    try {
      const email = uniqueEmail('sms-only');
      await register(smsOnly, email);
      await queueSms(smsOnly, '+4915166666666', 'goes out');
      expect(await smsOnly.gatehouse.outbox.drain()).toBe(1);
      expect(sms.received).toHaveLength(1);
      expect((await outboxRowsTo(smsOnly, email))[0]?.status).toBe('pending');
    } finally {
      await smsOnly.close();
    }
  });
});

describe('the development outbox route', () => {
  it('lists queued messages, with their codes, in development mode', async () => {
    const dev = await createTestContext({ env: { GATEHOUSE_ENV: 'development' } });
    try {
      const email = uniqueEmail('dev');
      await register(dev, email);
      const res = await dev.request('GET', `/v1/dev/outbox?to=${encodeURIComponent(email)}`);
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual([
        expect.objectContaining({
          channel: 'email',
          to: email,
          status: 'pending',
          subject: expect.stringMatching(/^\d{6} is your Gatehouse verification code$/),
          body: expect.stringContaining(await dev.lastCode(email)),
        }),
      ]);
    } finally {
      await dev.close();
    }
  });

  it('lists the newest message first and honours limit', async () => {
    const dev = await createTestContext({ env: { GATEHOUSE_ENV: 'development' } });
    try {
      const first = uniqueEmail('dev-a');
      const second = uniqueEmail('dev-b');
      await register(dev, first);
      dev.clock.advance(1);
      await register(dev, second);
      const res = await dev.request('GET', '/v1/dev/outbox?limit=1');
      expect(res.body.data.map((m: { to: string }) => m.to)).toEqual([second]);
    } finally {
      await dev.close();
    }
  });

  it('prints undeliverable messages to the console in development mode', async () => {
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    const dev = await createTestContext({
      env: { GATEHOUSE_ENV: 'development' },
      startWorker: true,
    });
    try {
      const email = uniqueEmail('dev-print');
      await register(dev, email);
      await vi.waitFor(() => expect(printed.join('')).toContain(email), { timeout: 5000 });
      expect(printed.join('')).toContain(await dev.lastCode(email));
    } finally {
      await dev.close();
      spy.mockRestore();
    }
  });

  it('prints nothing outside development mode', async () => {
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    const quiet = await createTestContext({ startWorker: true, env: { OUTBOX_POLL_MS: '50' } });
    try {
      const email = uniqueEmail('quiet');
      await register(quiet, email);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(printed.join('')).not.toContain(email);
    } finally {
      await quiet.close();
      spy.mockRestore();
    }
  });

  it('does not exist in test mode', async () => {
    const res = await ctx.request('GET', '/v1/dev/outbox');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
  });

  it('does not exist in production mode', async () => {
    const prod = await createTestContext({ env: { GATEHOUSE_ENV: 'production' } });
    try {
      await register(prod, uniqueEmail('prod'));
      const res = await prod.request('GET', '/v1/dev/outbox');
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
      // no code in the answer (the request id is random and may hold six digits: left out)
      expect(JSON.stringify({ ...res.body, request_id: undefined })).not.toMatch(/\d{6}/);
    } finally {
      await prod.close();
    }
  });
});

import nodemailer, { type Transporter } from 'nodemailer';
import type { OutboxTable } from '../db/schema';
import { newId } from '../lib/ids';
import type { Runtime } from '../runtime';

/** the time part of an id made now: every message queued later sorts after it */
const newIdTime = (now: number) => newId('msg', now).slice(4, 14);

/**
 * Delivers what services queued in the outbox (delivery/outbox.ts), after their transactions
 * committed. Several nodes may run a worker: a row is claimed with a guarded UPDATE of
 * `locked_until`, so each message goes out once per attempt. Failures retry with exponential
 * back-off (30 s, 1 min, 2 min, ... capped at 1 h) up to MAX_ATTEMPTS, then the row is
 * `failed` and kept for inspection.
 *
 * Without SMTP_URL (or SMS_WEBHOOK_URL) a channel is not delivered: its messages stay pending
 * in the outbox, where development mode prints them and lists them at /v1/dev/outbox.
 */
export const MAX_ATTEMPTS = 8;
const CLAIM_MS = 60_000;
const BATCH = 20;
/**
 * One delivery attempt must end well inside its claim: past CLAIM_MS another worker may claim
 * the row again and send it twice, and a stalled server would hold up the whole queue
 * (nodemailer's own idle timeout is an hour).
 */
const SEND_TIMEOUT_MS = 20_000;

export interface OutboxWorkerOptions {
  /** how long one delivery attempt may take before it counts as failed (tests shorten it) */
  sendTimeoutMs?: number;
}

export interface OutboxWorker {
  start(): void;
  stop(): Promise<void>;
  /** wake up now (a transaction just queued something) */
  notify(): void;
  /** deliver everything due now; returns how many were sent (tests and the CLI use it) */
  drain(): Promise<number>;
}

export const backoffMs = (attempts: number) =>
  Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);

/** The error's message, with the network cause (ECONNREFUSED, ...) that fetch hides in `cause`. */
function describeError(error: unknown): string {
  const e = error as {
    message?: string;
    code?: string;
    cause?: { code?: string; message?: string };
  };
  const cause = e?.cause ? `: ${e.cause.code ?? e.cause.message ?? ''}` : '';
  return `${e?.message ?? String(error)}${cause}`.slice(0, 500);
}

/**
 * What may stay in `last_error`: a transport's message can echo what it was given (an SMTP
 * server quoting the subject, a webhook URL with a token), and the row outlives the code.
 * Digit runs of a code's length and token-like strings are cut out.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/https?:\/\/\S+/gi, '[link]')
    .replace(/\d{6,}/g, '[redacted]')
    .replace(/[A-Za-z0-9_-]{20,}/g, '[redacted]');
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function createOutboxWorker(rt: Runtime, options: OutboxWorkerOptions = {}): OutboxWorker {
  const { db, clock, config, logger } = rt;
  const sendTimeoutMs = options.sendTimeoutMs ?? SEND_TIMEOUT_MS;
  let mailer: Transporter | undefined;
  const smtp = config.smtpUrl;
  const getMailer = () => {
    mailer ??= nodemailer.createTransport({
      url: smtp!,
      connectionTimeout: sendTimeoutMs,
      greetingTimeout: sendTimeoutMs,
      socketTimeout: sendTimeoutMs,
    });
    return mailer;
  };
  const enabled = { email: Boolean(smtp), sms: Boolean(config.smsWebhookUrl) };
  /** the right-hand side of our Message-IDs: the host we are known by */
  const messageIdDomain = new URL(config.publicUrl).hostname || 'gatehouse.invalid';

  async function send(row: OutboxTable) {
    if (row.channel === 'email') {
      // The socket timeouts bound each wait; the deadline bounds a server that trickles.
      await withDeadline(
        getMailer().sendMail({
          from: config.mailFrom,
          to: row.recipient,
          subject: row.subject ?? '',
          text: row.body ?? '',
          // Delivery is at least once (a crash between the SMTP server's acceptance and the
          // row's update sends it again): a Message-ID fixed per outbox row lets receivers drop
          // the repeat.
          messageId: `<${row.id}@${messageIdDomain}>`,
        }),
        sendTimeoutMs,
        'SMTP delivery',
      );
      return;
    }
    const res = await fetch(config.smsWebhookUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: row.recipient, body: row.body }),
      signal: AbortSignal.timeout(sendTimeoutMs),
    });
    // Drain the answer so the connection is released; its content does not matter.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`SMS webhook answered ${res.status}`);
  }

  async function deliverOne(row: OutboxTable): Promise<boolean> {
    const now = clock.now();
    // Claim: of several workers, one wins the row for CLAIM_MS.
    const claimed = await db
      .updateTable('outbox')
      .set({ locked_until: now + CLAIM_MS, attempts: row.attempts + 1 })
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .where('attempts', '=', row.attempts)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return false;
    try {
      await send(row);
      // Delivered: the body (and a subject naming a code) may hold a one-time code, a token or a
      // link, so neither is kept (issue 10 #9).
      await db
        .updateTable('outbox')
        .set({
          status: 'sent',
          sent_at: clock.now(),
          body: null,
          subject: row.subject_at_rest ?? row.subject,
          locked_until: null,
          last_error: null,
        })
        .where('id', '=', row.id)
        .execute();
      rt.metrics.outboxDeliveries.inc({ channel: row.channel, result: 'sent' });
      return true;
    } catch (error) {
      const attempts = row.attempts + 1;
      const failed = attempts >= MAX_ATTEMPTS;
      const message = redactSecrets(describeError(error));
      await db
        .updateTable('outbox')
        .set({
          status: failed ? 'failed' : 'pending',
          last_error: message,
          locked_until: null,
          next_attempt_at: clock.now() + backoffMs(attempts),
          // Given up: the message will never be sent, so its secrets are erased now, as after
          // a delivery (issue 10 #9); the row stays for inspection (recipient, error, times).
          ...(failed ? { body: null, subject: row.subject_at_rest ?? row.subject } : {}),
        })
        .where('id', '=', row.id)
        .execute();
      rt.metrics.outboxDeliveries.inc({
        channel: row.channel,
        result: failed ? 'failed' : 'retry',
      });
      logger.warn(
        { messageId: row.id, channel: row.channel, attempts, err: message },
        failed ? 'outbox message failed for good' : 'outbox delivery failed; will retry',
      );
      return false;
    }
  }

  async function drain(): Promise<number> {
    const channels = (['email', 'sms'] as const).filter((c) => enabled[c]);
    if (channels.length === 0) return 0;
    let sent = 0;
    for (;;) {
      const now = clock.now();
      const due = await db
        .selectFrom('outbox')
        .selectAll()
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where('channel', 'in', channels)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
        .orderBy('next_attempt_at')
        .limit(BATCH)
        .execute();
      if (due.length === 0) return sent;
      let progressed = false;
      for (const row of due) {
        if (await deliverOne(row)) {
          sent++;
          progressed = true;
        }
      }
      if (!progressed) return sent;
    }
  }

  // Development without SMTP/SMS: print new messages once, so their codes can be read.
  // (Never in production: messages carry one-time codes, and logs must not.)
  let printedAfter = `msg_${'0'.repeat(10)}`;
  async function printUndeliverable() {
    const channels = (['email', 'sms'] as const).filter((c) => !enabled[c]);
    if (config.env !== 'development' || channels.length === 0) return;
    const rows = await db
      .selectFrom('outbox')
      .selectAll()
      .where('id', '>', printedAfter)
      .where('channel', 'in', channels)
      .orderBy('id')
      .limit(50)
      .execute();
    for (const row of rows) {
      printedAfter = row.id;
      process.stdout.write(
        `\n--- outbox (${row.channel}, development: not sent) to ${row.recipient}\n${row.subject ? `Subject: ${row.subject}\n` : ''}${row.body ?? ''}\n---\n`,
      );
    }
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  let again = false;

  const tick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = Promise.all([drain(), printUndeliverable()])
      .catch((err: Error) => logger.error({ err: err.message }, 'outbox worker error'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          setImmediate(tick);
        }
      });
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      printedAfter = `msg_${newIdTime(clock.now())}`;
      timer = setInterval(tick, config.outboxPollMs);
      timer.unref();
      tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
      mailer?.close();
    },
    notify() {
      if (!stopped) setImmediate(tick);
    },
    drain,
  };
}

import type { Transaction } from 'kysely';
import type { DB } from '../db/schema';
import { newId } from '../lib/ids';

/**
 * Messages are written to the outbox in the same transaction as the change that causes them,
 * and delivered after commit by the worker (delivery/worker.ts): a slow SMTP server never holds
 * a database lock, and a crash between commit and delivery loses nothing.
 */
export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  /**
   * The subject to keep after delivery when `subject` carries a one-time code: a mail client
   * shows the code in its notification, so the mail as sent keeps it, but the row must not
   * (issue 10 #9: no code, token or link readable at rest once delivered).
   */
  subjectAtRest?: string;
}
export interface SmsMessage {
  to: string;
  body: string;
}

export async function enqueueEmail(
  trx: Transaction<DB>,
  message: EmailMessage,
  now: number,
): Promise<string> {
  const id = newId('msg', now);
  await trx
    .insertInto('outbox')
    .values({
      id,
      channel: 'email',
      recipient: message.to,
      subject: message.subject,
      subject_at_rest: message.subjectAtRest ?? null,
      body: message.text,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      locked_until: null,
      last_error: null,
      created_at: now,
      sent_at: null,
    })
    .execute();
  return id;
}

export async function enqueueSms(
  trx: Transaction<DB>,
  message: SmsMessage,
  now: number,
): Promise<string> {
  const id = newId('msg', now);
  await trx
    .insertInto('outbox')
    .values({
      id,
      channel: 'sms',
      recipient: message.to,
      subject: null,
      body: message.body,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      locked_until: null,
      last_error: null,
      created_at: now,
      sent_at: null,
    })
    .execute();
  return id;
}

import type { Transaction } from 'kysely';
import type { DB, OneTimeCodesTable } from '../../db/schema';
import { newId } from '../../lib/ids';
import { hmacCode, randomOtp, safeEqualHex } from '../../lib/secrets';

/** SPEC §4: single use, 10 minutes, 5 attempts, stored hashed. SMS codes live 5 minutes. */
export const OTP_TTL_MS = 10 * 60 * 1000;
export const OTP_MAX_ATTEMPTS = 5;
export const SMS_CODE_TTL_MS = 5 * 60 * 1000;

type Purpose = OneTimeCodesTable['purpose'];

/**
 * The credentials submitted with a registration, kept with the verify_email code issued for it:
 * verifying that code applies them (issue 10 #1), so only the registration whose code reached
 * the mailbox decides the password and names.
 */
export interface PendingCredentials {
  password_hash: string;
  first_name: string;
  last_name: string;
}

/** At most this many live codes of one purpose are compared (registrations, each its own code). */
const MAX_LIVE_CODES = 10;

/**
 * Issues a fresh code and returns it (to send). By default it voids any earlier unused code for
 * the same purpose; `keepEarlier` leaves them live (a second registration of an unverified
 * address must not void the first one's code: each binds its own credentials).
 */
export async function issueCode(
  trx: Transaction<DB>,
  secretKey: string,
  userId: string,
  purpose: Purpose,
  now: number,
  ttlMs: number = OTP_TTL_MS,
  options: { credentials?: PendingCredentials; keepEarlier?: boolean } = {},
) {
  if (!options.keepEarlier)
    await trx
      .updateTable('one_time_codes')
      .set({ consumed_at: now })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('consumed_at', 'is', null)
      .execute();
  const code = randomOtp();
  await trx
    .insertInto('one_time_codes')
    .values({
      id: newId('otp', now),
      user_id: userId,
      purpose,
      code_hash: hmacCode(secretKey, `${purpose}:${userId}`, code),
      attempts: 0,
      max_attempts: OTP_MAX_ATTEMPTS,
      expires_at: now + ttlMs,
      consumed_at: null,
      created_at: now,
      password_hash: options.credentials?.password_hash ?? null,
      first_name: options.credentials?.first_name ?? null,
      last_name: options.credentials?.last_name ?? null,
    })
    .execute();
  return code;
}

export type CodeCheck =
  | { ok: true; credentials: PendingCredentials | null }
  | {
      ok: false;
      reason: 'invalid_code' | 'code_expired' | 'too_many_attempts';
      attemptsLeft?: number;
    };

/**
 * Checks a code against every live code of the purpose (usually one; a verify_email may have one
 * per registration). Every check first spends an attempt on each with one guarded UPDATE, *then*
 * compares: so a burst of parallel guesses gets no more than the allowed number of comparisons.
 * The right code is consumed by a second guarded UPDATE, so two concurrent correct submissions
 * cannot both win. The caller commits even on failure (the spent attempt must stick).
 */
export async function checkCode(
  trx: Transaction<DB>,
  secretKey: string,
  userId: string,
  purpose: Purpose,
  code: string,
  now: number,
): Promise<CodeCheck> {
  const rows = await trx
    .selectFrom('one_time_codes')
    .selectAll()
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now)
    // Newest first, ids breaking ties (codes issued in the same millisecond): beyond the limit it
    // is the oldest codes that no longer count, never the one just mailed.
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(MAX_LIVE_CODES)
    .execute();
  if (rows.length === 0) return { ok: false, reason: 'code_expired' };
  const spent = await trx
    .updateTable('one_time_codes')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where(
      'id',
      'in',
      rows.map((r) => r.id),
    )
    .whereRef('attempts', '<', 'max_attempts')
    .where('consumed_at', 'is', null)
    .returning(['id', 'attempts'])
    .execute();
  if (spent.length === 0) {
    // Either the attempts ran out, or another request consumed (or a new code voided) these
    // between our read and this update: on PostgreSQL the UPDATE re-checks its WHERE after the
    // other transaction commits. Tell them apart, so the loser of two simultaneous right answers
    // hears "used" (code_expired), not a misleading too_many_attempts.
    const current = await trx
      .selectFrom('one_time_codes')
      .select('consumed_at')
      .where(
        'id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
    return current.every((c) => c.consumed_at != null)
      ? { ok: false, reason: 'code_expired' }
      : { ok: false, reason: 'too_many_attempts' };
  }
  const expected = hmacCode(secretKey, `${purpose}:${userId}`, code);
  let matched: (typeof rows)[number] | undefined;
  let attemptsLeft = 0;
  for (const s of spent) {
    const row = rows.find((r) => r.id === s.id)!;
    // Every candidate is compared (no early exit), each in constant time.
    if (safeEqualHex(expected, row.code_hash) && !matched) matched = row;
    attemptsLeft = Math.max(attemptsLeft, row.max_attempts - Number(s.attempts));
  }
  if (!matched)
    return attemptsLeft > 0
      ? { ok: false, reason: 'invalid_code', attemptsLeft }
      : { ok: false, reason: 'too_many_attempts' };
  const consumed = await trx
    .updateTable('one_time_codes')
    .set({ consumed_at: now })
    .where('id', '=', matched.id)
    .where('consumed_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (!consumed) return { ok: false, reason: 'code_expired' };
  return {
    ok: true,
    credentials:
      matched.password_hash != null
        ? {
            password_hash: matched.password_hash,
            first_name: matched.first_name ?? '',
            last_name: matched.last_name ?? '',
          }
        : null,
  };
}

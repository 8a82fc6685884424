import type { Transaction } from 'kysely';
import type { DB, OneTimeCodesTable } from '../../db/schema';
import { newId } from '../../lib/ids';
import { hmacCode, randomOtp, safeEqualHex } from '../../lib/secrets';

/** SPEC §4: single use, 10 minutes, 5 attempts, stored hashed. SMS codes live 5 minutes. */
export const OTP_TTL_MS = 10 * 60 * 1000;
export const OTP_MAX_ATTEMPTS = 5;
export const SMS_CODE_TTL_MS = 5 * 60 * 1000;

type Purpose = OneTimeCodesTable['purpose'];

/** Issues a fresh code, voiding any earlier unused code for the same purpose. Returns the code to send. */
export async function issueCode(
  trx: Transaction<DB>,
  secretKey: string,
  userId: string,
  purpose: Purpose,
  now: number,
  ttlMs: number = OTP_TTL_MS,
) {
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
    })
    .execute();
  return code;
}

export type CodeCheck =
  | { ok: true }
  | {
      ok: false;
      reason: 'invalid_code' | 'code_expired' | 'too_many_attempts';
      attemptsLeft?: number;
    };

/**
 * Checks a code. Every check first spends an attempt with a guarded UPDATE, *then* compares:
 * so a burst of parallel guesses gets no more than the allowed number of comparisons. The
 * right code is consumed by a second guarded UPDATE, so two concurrent correct submissions
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
  const row = await trx
    .selectFrom('one_time_codes')
    .selectAll()
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('consumed_at', 'is', null)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row || row.expires_at <= now) return { ok: false, reason: 'code_expired' };
  const spent = await trx
    .updateTable('one_time_codes')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('id', '=', row.id)
    .where('attempts', '<', row.max_attempts)
    .where('consumed_at', 'is', null)
    .returning('attempts')
    .executeTakeFirst();
  if (!spent) {
    // Either the attempts ran out, or another request consumed (or a new code voided) this one
    // between our read and this update: on PostgreSQL the UPDATE re-checks its WHERE after the
    // other transaction commits. Tell them apart, so the loser of two simultaneous right answers
    // hears "used" (code_expired), not a misleading too_many_attempts.
    const current = await trx
      .selectFrom('one_time_codes')
      .select('consumed_at')
      .where('id', '=', row.id)
      .executeTakeFirst();
    return current?.consumed_at != null
      ? { ok: false, reason: 'code_expired' }
      : { ok: false, reason: 'too_many_attempts' };
  }
  if (!safeEqualHex(hmacCode(secretKey, `${purpose}:${userId}`, code), row.code_hash)) {
    const attemptsLeft = row.max_attempts - Number(spent.attempts);
    return attemptsLeft > 0
      ? { ok: false, reason: 'invalid_code', attemptsLeft }
      : { ok: false, reason: 'too_many_attempts' };
  }
  const consumed = await trx
    .updateTable('one_time_codes')
    .set({ consumed_at: now })
    .where('id', '=', row.id)
    .where('consumed_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return consumed ? { ok: true } : { ok: false, reason: 'code_expired' };
}

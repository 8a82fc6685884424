import type { Kysely, Transaction } from 'kysely';
import type { DB, SessionsTable } from '../../db/schema';

type Executor = Kysely<DB> | Transaction<DB>;
export type SessionRow = SessionsTable;

export const findSessionById = (db: Executor, id: string) =>
  db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();

export const insertSession = (db: Executor, row: SessionRow) =>
  db.insertInto('sessions').values(row).execute();

export const insertRefreshToken = (
  db: Executor,
  tokenHash: string,
  sessionId: string,
  now: number,
) =>
  db
    .insertInto('refresh_tokens')
    .values({ token_hash: tokenHash, session_id: sessionId, created_at: now, used_at: null })
    .execute();

/** The one guarded statement that spends a refresh token: of two concurrent callers, one wins. */
export const consumeRefreshToken = (db: Executor, tokenHash: string, now: number) =>
  db
    .updateTable('refresh_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .returning('session_id')
    .executeTakeFirst();

export const findRefreshToken = (db: Executor, tokenHash: string) =>
  db
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();

/** Keeps the pair a rotation answered, sealed, on the spent token until `until` (grace window). */
export const sealSuccessor = (db: Executor, tokenHash: string, sealed: string, until: number) =>
  db
    .updateTable('refresh_tokens')
    .set({ successor_sealed: sealed, successor_until: until })
    .where('token_hash', '=', tokenHash)
    .execute();

/** Erases every sealed pair of a session (its newest token was just used). */
export const eraseSealedSuccessors = (db: Executor, sessionId: string) =>
  db
    .updateTable('refresh_tokens')
    .set({ successor_sealed: null, successor_until: null })
    .where('session_id', '=', sessionId)
    .where('successor_until', 'is not', null)
    .execute();

/** Erases sealed pairs whose grace window has passed (indexed by successor_until). */
export const eraseExpiredSealedSuccessors = (db: Executor, now: number) =>
  db
    .updateTable('refresh_tokens')
    .set({ successor_sealed: null, successor_until: null })
    .where('successor_until', '<=', now)
    .execute();

/** Revokes sessions of a user (all, or all but one); returns the ids it revoked. */
export async function revokeUserSessions(
  db: Executor,
  userId: string,
  reason: string,
  now: number,
  exceptSessionId?: string,
): Promise<string[]> {
  let q = db
    .updateTable('sessions')
    .set({ revoked_at: now, revoke_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (exceptSessionId) q = q.where('id', '!=', exceptSessionId);
  const rows = await q.returning('id').execute();
  return rows.map((r) => r.id);
}

export const revokeSession = (db: Executor, sessionId: string, reason: string, now: number) =>
  db
    .updateTable('sessions')
    .set({ revoked_at: now, revoke_reason: reason })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();

export function listActiveSessions(
  db: Executor,
  userId: string,
  now: number,
  limit: number,
  cursor?: string,
) {
  let q = db
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now);
  if (cursor) q = q.where('id', '<', cursor);
  return q
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
}

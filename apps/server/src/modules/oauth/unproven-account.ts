import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema';
import { revokeUserSessions } from '../sessions/sessions.repo';

/**
 * The mailbox owner has just proved an address whose account nobody had proved before (through
 * a provider that verified it, or an emailed code): the account becomes theirs, and nothing set
 * up before the proof survives it. Whoever registered the address first may have been a
 * stranger squatting it (pre-account takeover): their password, names, profile, pending codes
 * and reset links, any session, second factor, provider identity or invitation sent in the
 * account's name would otherwise open, describe or act for the account the real owner now fills.
 *
 * Kept: memberships, grants and invitations addressed to the email. Those were given to the
 * address by an organization (directly, or by an org creating the user), and the address is
 * exactly what was just proved.
 *
 * Today an unproven account cannot sign in (password sign-in answers email_not_verified and
 * only the emailed code opens a session), so it holds no session, factor or identity and sends
 * no invitation; they are cleared here anyway, so that no future path that lets one in can
 * leave a squatter's foothold behind. Returns the ids of the sessions revoked: publish them, and
 * `user:<id>`, after the commit.
 */
export async function claimUnprovenAccount(
  trx: Transaction<DB>,
  userId: string,
  owner: { firstName: string; lastName: string },
  now: number,
): Promise<string[]> {
  await trx
    .updateTable('users')
    .set({
      password_hash: null,
      first_name: owner.firstName,
      last_name: owner.lastName,
      mobile: null,
      timezone: null,
      user_settings: '{}',
      user_metadata: '{}',
      avatar_id: null,
      email_verified_at: now,
      updated_at: now,
    })
    .where('id', '=', userId)
    .execute();
  await trx.deleteFrom('avatars').where('user_id', '=', userId).execute();
  await trx
    .updateTable('one_time_codes')
    .set({ consumed_at: now })
    .where('user_id', '=', userId)
    .where('consumed_at', 'is', null)
    .execute();
  await trx
    .updateTable('password_resets')
    .set({ consumed_at: now })
    .where('user_id', '=', userId)
    .where('consumed_at', 'is', null)
    .execute();
  await trx
    .updateTable('pending_sign_ins')
    .set({ consumed_at: now })
    .where('user_id', '=', userId)
    .where('consumed_at', 'is', null)
    .execute();
  await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await trx.deleteFrom('mfa_factors').where('user_id', '=', userId).execute();
  await trx.deleteFrom('user_identities').where('user_id', '=', userId).execute();
  await trx
    .updateTable('invitations')
    .set({ status: 'revoked', resolved_at: now, updated_at: now })
    .where('invited_by', '=', userId)
    .where('status', '=', 'pending')
    .execute();
  return revokeUserSessions(trx, userId, 'account_claimed', now);
}

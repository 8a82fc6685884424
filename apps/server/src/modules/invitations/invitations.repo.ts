import { type Kysely, sql, type Transaction } from 'kysely';
import type { Grant } from '../../authz';
import { escapeLike } from '../../db/dialect';
import type { DB } from '../../db/schema';

type Executor = Kysely<DB> | Transaction<DB>;

/**
 * Revokes, in the caller's transaction, the pending invitations of an organization whose grants
 * name one of `scopes` or the role `role`, and answers their ids (issue 10 #3). Deleting an
 * account, a resource or a custom role calls it in its own transaction: an invitation must not
 * hand out a grant on a scope that is gone, nor a grant of a deleted role that a new role of the
 * same key would bring back to life. Revoked rather than trimmed: the invitee was offered those
 * grants, and silently joining with fewer is not what either side agreed to.
 *
 * Called before the deleting transaction removes the grants: an acceptance in flight holds its
 * invitation row, so this waits for it, and the grant deletion that follows sees its grants.
 */
export async function revokeInvitationsNaming(
  trx: Executor,
  orgId: string,
  what: { scopes?: readonly string[]; role?: string },
  now: number,
): Promise<string[]> {
  const scopes = new Set(what.scopes ?? []);
  const needles = [...scopes, ...(what.role !== undefined ? [what.role] : [])];
  if (needles.length === 0) return [];
  // The LIKE narrows the rows to parse; the parse below decides (a role key may also be a
  // substring of another key, a name or a scope id).
  const rows = await trx
    .selectFrom('invitations')
    .select(['id', 'grants'])
    .where('organization_id', '=', orgId)
    .where('status', '=', 'pending')
    .where((eb) =>
      eb.or(needles.map((n) => sql<boolean>`grants like ${`%${escapeLike(n)}%`} escape '\\'`)),
    )
    .execute();
  const ids = rows
    .filter((r) =>
      (JSON.parse(r.grants) as Grant[]).some(
        (g) => scopes.has(g.scope) || (what.role !== undefined && g.role === what.role),
      ),
    )
    .map((r) => r.id)
    .sort();
  if (ids.length === 0) return [];
  // Guarded: an acceptance that committed meanwhile keeps its row (and its grants are then
  // removed with the others by the caller).
  const done = await trx
    .updateTable('invitations')
    .set({ status: 'revoked', resolved_at: now, updated_at: now })
    .where('organization_id', '=', orgId)
    .where('id', 'in', ids)
    .where('status', '=', 'pending')
    .returning('id')
    .execute();
  return done.map((r) => r.id).sort();
}

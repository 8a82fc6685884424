import type { Kysely, Transaction } from 'kysely';
import {
  type CompiledRole,
  checkRoleDefinition,
  type Grant,
  type RoleDefinition,
  type ScopeLevel,
} from '../../authz';
import { isUniqueViolation } from '../../db/dialect';
import type { DB } from '../../db/schema';
import type { RequestMeta, UserPrincipal } from '../../http/context';
import { AppError, assertThat } from '../../http/errors';
import { newId } from '../../lib/ids';
import type { Runtime } from '../../runtime';
import type { AccessService } from '../access/access.service';
import { insertAuditEvent } from '../audit/audit.repo';
import { revokeInvitationsNaming } from '../invitations/invitations.repo';

export const toRole = (role: CompiledRole | RoleDefinition, builtIn: boolean) => {
  const def = 'definition' in role ? role.definition : role;
  return {
    key: def.key,
    name: def.name,
    description: def.description,
    permissions: [...def.permissions],
    product: def.product,
    grantable_at: [...def.grantableAt],
    built_in: builtIn,
    grantable: def.grantableAt.length > 0,
  };
};

/**
 * Custom roles: an organization's own named permission sets. Built-in roles (the template's)
 * are read-only. Nobody may create or edit a role to give what they do not hold themselves at
 * organization scope (`checkRoleDefinition`), since the role can then be granted anywhere.
 */
export function createRoleService(rt: Runtime, access: AccessService) {
  const { db, clock, bus } = rt;

  async function assertDefinable(
    actor: UserPrincipal,
    orgId: string,
    role: RoleDefinition,
    editing?: string,
  ) {
    const facts = await access.loadOrg(orgId);
    assertThat(facts, 'not_found');
    const result = checkRoleDefinition(
      access.catalog,
      facts.roles,
      await access.principalOf(orgId, actor.userId),
      role,
      orgId,
      editing,
    );
    if (result.issues.length > 0) {
      const taken = result.issues.some((i) => /taken|exists|already|collid/i.test(i));
      throw new AppError(taken ? 'conflict' : 'validation_failed', result.issues.join('; '), {
        errors: result.issues.map((m) => ({ path: 'body', message: m })),
      });
    }
    if (!result.allowed)
      throw new AppError('forbidden', 'The role would give permissions you do not hold', {
        missing: result.missing,
      });
  }

  /**
   * Who holds the role. Takes the executor: called inside a transaction it must use that
   * transaction, since on SQLite (one connection) a query through `db` waits for the
   * transaction that waits for it — `PATCH /roles/{key}` hung forever (roles.test.ts).
   */
  const usage = async (executor: Kysely<DB> | Transaction<DB>, orgId: string, key: string) =>
    (
      await executor
        .selectFrom('grants')
        .select('user_id')
        .where('organization_id', '=', orgId)
        .where('role', '=', key)
        .execute()
    ).map((r) => r.user_id);

  return {
    async list(orgId: string) {
      const facts = await access.loadOrg(orgId);
      assertThat(facts, 'not_found');
      return { data: [...facts.roles.roles.values()].map((r) => toRole(r, r.builtIn)) };
    },

    async get(orgId: string, key: string) {
      const facts = await access.loadOrg(orgId);
      const role = facts?.roles.roles.get(key);
      assertThat(role, 'not_found', 'No such role');
      return toRole(role, role.builtIn);
    },

    async create(
      actor: UserPrincipal,
      orgId: string,
      input: {
        key: string;
        name: string;
        description: string;
        permissions: string[];
        product: string | null;
        grantable_at: ScopeLevel[];
      },
      meta: RequestMeta,
    ) {
      const role: RoleDefinition = {
        key: input.key,
        name: input.name,
        description: input.description,
        permissions: input.permissions,
        product: input.product,
        grantableAt: [...new Set(input.grantable_at)],
      };
      await assertDefinable(actor, orgId, role);
      const now = clock.now();
      const insert = () =>
        db.transaction().execute(async (trx) => {
          const clash = await trx
            .selectFrom('roles')
            .select('id')
            .where('organization_id', '=', orgId)
            .where('key', '=', role.key)
            .executeTakeFirst();
          if (clash) throw new AppError('conflict', `A role "${role.key}" exists`);
          await trx
            .insertInto('roles')
            .values({
              id: newId('rol', now),
              organization_id: orgId,
              key: role.key,
              name: role.name,
              description: role.description,
              permissions: JSON.stringify(role.permissions),
              product: role.product,
              grantable_at: JSON.stringify(role.grantableAt),
              created_at: now,
              updated_at: now,
            })
            .execute();
          await insertAuditEvent(
            trx,
            meta,
            {
              organizationId: orgId,
              actor: { type: 'user', id: actor.userId },
              action: 'role.created',
              target: { type: 'role', id: role.key },
              changes: { after: toRole(role, false) },
            },
            now,
          );
        });
      try {
        await insert();
      } catch (error) {
        // Two concurrent creates both pass the clash check on PostgreSQL; the loser hits the
        // unique (organization_id, key) constraint, which used to answer 500 (roles.test.ts).
        if (isUniqueViolation(error)) throw new AppError('conflict', `A role "${role.key}" exists`);
        throw error;
      }
      bus.publish(`org:${orgId}`);
      return toRole(role, false);
    },

    /** Changing a role changes every grant of it at once: the editor must hold all it gives. */
    async update(
      actor: UserPrincipal,
      orgId: string,
      key: string,
      input: {
        name?: string;
        description?: string;
        permissions?: string[];
        product?: string | null;
        grantable_at?: ScopeLevel[];
      },
      meta: RequestMeta,
    ) {
      const facts = await access.loadOrg(orgId);
      const current = facts?.roles.roles.get(key);
      assertThat(current, 'not_found', 'No such role');
      if (current.builtIn) throw new AppError('forbidden', 'Built-in roles are read-only');
      const def = current.definition;
      const next: RoleDefinition = {
        key,
        name: input.name ?? def.name,
        description: input.description ?? def.description,
        permissions: input.permissions ?? def.permissions,
        product: input.product !== undefined ? input.product : def.product,
        grantableAt: input.grantable_at ? [...new Set(input.grantable_at)] : def.grantableAt,
      };
      await assertDefinable(actor, orgId, next, key);
      const now = clock.now();
      const holders = await db.transaction().execute(async (trx) => {
        const res = await trx
          .updateTable('roles')
          .set({
            name: next.name,
            description: next.description,
            permissions: JSON.stringify(next.permissions),
            product: next.product,
            grantable_at: JSON.stringify(next.grantableAt),
            updated_at: now,
          })
          .where('organization_id', '=', orgId)
          .where('key', '=', key)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 0) throw new AppError('not_found', 'No such role');
        await insertAuditEvent(
          trx,
          meta,
          {
            organizationId: orgId,
            actor: { type: 'user', id: actor.userId },
            action: 'role.updated',
            target: { type: 'role', id: key },
            changes: { before: toRole(def, false), after: toRole(next, false) },
          },
          now,
        );
        return usage(trx, orgId, key);
      });
      bus.publish(`org:${orgId}`);
      for (const u of holders) bus.publish(`member:${orgId}:${u}`);
      return toRole(next, false);
    },

    /**
     * A role still granted cannot vanish silently: the caller names the role that replaces it
     * in those grants (`replace_with`), which they must be allowed to grant, or is refused.
     */
    async remove(
      actor: UserPrincipal,
      orgId: string,
      key: string,
      replaceWith: string | undefined,
      meta: RequestMeta,
    ) {
      const facts = await access.loadOrg(orgId);
      const current = facts?.roles.roles.get(key);
      assertThat(facts && current, 'not_found', 'No such role');
      if (current.builtIn) throw new AppError('forbidden', 'Built-in roles cannot be deleted');
      const grants = await db
        .selectFrom('grants')
        .select(['id', 'user_id', 'scope_id'])
        .where('organization_id', '=', orgId)
        .where('role', '=', key)
        .execute();
      // API keys hold grants too (on the key row): a key's grant of a deleted role would come
      // back to life with a new role of the same key, exactly like a member's (issue 10 #3).
      const keys = await keysGranting(db, orgId, key);
      const keyScopes = keys.flatMap((k) =>
        k.grants.filter((g) => g.role === key).map((g) => g.scope),
      );
      if (grants.length + keyScopes.length > 0) {
        if (!replaceWith)
          throw new AppError(
            'conflict',
            `The role is granted ${grants.length} time(s) to members and ${keyScopes.length} time(s) to API keys; name a replacement with ?replace_with=`,
            { grants: grants.length, api_key_grants: keyScopes.length },
          );
        if (replaceWith === key)
          throw new AppError('validation_failed', 'A role cannot replace itself');
        // The replacement must be grantable by the actor wherever the old role was granted.
        await access.assertCanGrant(
          actor,
          orgId,
          [...grants.map((g) => g.scope_id), ...keyScopes].map((scope) => ({
            role: replaceWith,
            scope,
          })),
        );
      }
      const now = clock.now();
      const { holders, keysNow } = await db.transaction().execute(async (trx) => {
        // Pending invitations offering the role go first (issue 10 #3): otherwise accepting one
        // later would write a grant of a role that no longer exists — and a new role created
        // with the same key would silently give it meaning again. An acceptance in flight holds
        // its invitation row, so this waits for it to commit.
        const revoked = await revokeInvitationsNaming(trx, orgId, { role: key }, now);
        // Read again under the transaction: a grant of it made since the read above (an
        // acceptance that just committed) must not survive the role either.
        const holders = await trx
          .selectFrom('grants')
          .select('user_id')
          .where('organization_id', '=', orgId)
          .where('role', '=', key)
          .execute();
        // (the replacement was checked against the grants read before: new ones are unchecked)
        const keysNow = await keysGranting(trx, orgId, key);
        if (
          holders.length !== grants.length ||
          keysNow.map((k) => k.id).join() !== keys.map((k) => k.id).join()
        )
          throw new AppError('conflict', 'The role was granted meanwhile; try again', {
            grants: holders.length,
          });
        for (const k of keysNow)
          await trx
            .updateTable('api_keys')
            .set({
              grants: JSON.stringify(
                k.grants.map((g) => (g.role === key ? { ...g, role: replaceWith! } : g)),
              ),
            })
            .where('organization_id', '=', orgId)
            .where('id', '=', k.id)
            .execute();
        if (holders.length > 0)
          await trx
            .updateTable('grants')
            .set({ role: replaceWith! })
            .where('organization_id', '=', orgId)
            .where('role', '=', key)
            .execute();
        await trx
          .deleteFrom('roles')
          .where('organization_id', '=', orgId)
          .where('key', '=', key)
          .execute();
        await insertAuditEvent(
          trx,
          meta,
          {
            organizationId: orgId,
            actor: { type: 'user', id: actor.userId },
            action: 'role.deleted',
            target: { type: 'role', id: key },
            changes: {
              before: toRole(current.definition, false),
              replaced_with: replaceWith ?? null,
              grants_moved: holders.length,
              api_keys_moved: keysNow.map((k) => k.id),
              invitations_revoked: revoked,
            },
          },
          now,
        );
        return { holders, keysNow };
      });
      for (const k of keysNow) bus.publish(`apikey:${k.secret_hash}`);
      bus.publish(`org:${orgId}`);
      for (const u of new Set([...grants, ...holders].map((g) => g.user_id)))
        bus.publish(`member:${orgId}:${u}`);
    },
  };
}

/** The organization's live API keys holding a grant of `role`, with their grants parsed. */
async function keysGranting(db: Kysely<DB> | Transaction<DB>, orgId: string, role: string) {
  const rows = await db
    .selectFrom('api_keys')
    .select(['id', 'grants', 'secret_hash'])
    .where('organization_id', '=', orgId)
    .where('revoked_at', 'is', null)
    .orderBy('id')
    .execute();
  return rows
    .map((r) => ({ ...r, grants: JSON.parse(r.grants) as Grant[] }))
    .filter((r) => r.grants.some((g) => g.role === role));
}

export type RoleService = ReturnType<typeof createRoleService>;

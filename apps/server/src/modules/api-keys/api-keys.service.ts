import type { Grant } from '../../authz';
import type { ApiKeysTable } from '../../db/schema';
import type { KeyPrincipal, RequestMeta, UserPrincipal } from '../../http/context';
import { AppError, assertThat } from '../../http/errors';
import { InvalidatingCache } from '../../lib/cache';
import { toIso, toIsoOrNull } from '../../lib/clock';
import { newId } from '../../lib/ids';
import { hashToken, randomToken } from '../../lib/secrets';
import type { Runtime } from '../../runtime';
import type { AccessService } from '../access/access.service';
import { insertAuditEvent } from '../audit/audit.repo';
import { toGrantInput } from './api-keys.presenter';

/** Secrets look like `gh_` + 43 base64url characters (256 random bits): recognisable in logs and by secret scanners. */
export const KEY_PREFIX = 'gh_';
export const isApiKeySecret = (s: string) =>
  s.startsWith(KEY_PREFIX) && s.length >= 40 && s.length <= 100;
/** How long a used key waits before its last_used_at is written (one batched write, not one per request). */
const USAGE_FLUSH_MS = 30_000;

export function toApiKey(row: ApiKeysTable, now: number) {
  return {
    id: row.id,
    organization_id: row.organization_id,
    name: row.name,
    prefix: row.prefix,
    grants: (JSON.parse(row.grants) as Grant[]).map(toGrantInput),
    created_by: row.created_by,
    created_at: toIso(row.created_at),
    expires_at: toIsoOrNull(row.expires_at),
    revoked_at: toIsoOrNull(row.revoked_at),
    last_used_at: toIsoOrNull(row.last_used_at),
    status:
      row.revoked_at !== null
        ? ('revoked' as const)
        : row.expires_at !== null && row.expires_at <= now
          ? ('expired' as const)
          : ('active' as const),
  };
}

const toPrincipal = (row: ApiKeysTable): KeyPrincipal => ({
  kind: 'api_key',
  keyId: row.id,
  organizationId: row.organization_id,
  grants: JSON.parse(row.grants) as Grant[],
  createdBy: row.created_by,
  name: row.name,
  prefix: row.prefix,
  expiresAt: row.expires_at,
});

export function createApiKeyService(rt: Runtime, access: AccessService) {
  const { db, clock, bus } = rt;
  const byHash = new InvalidatingCache<ApiKeysTable | null>(50_000, 60_000, () => clock.now());
  const usage = new Map<string, number>();
  bus.subscribe((topic) => {
    if (topic.startsWith('apikey:')) byHash.invalidate(topic.slice(7));
  });
  bus.onReset(() => byHash.clear());

  async function flushUsage() {
    if (usage.size === 0) return;
    const batch = [...usage.entries()];
    usage.clear();
    await db.transaction().execute(async (trx) => {
      for (const [id, at] of batch) {
        await trx
          .updateTable('api_keys')
          .set({ last_used_at: at })
          .where('id', '=', id)
          .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
          .execute();
      }
    });
  }
  const timer = setInterval(
    () =>
      void flushUsage().catch((err: Error) =>
        rt.logger.warn({ err: err.message }, 'could not record API key usage'),
      ),
    USAGE_FLUSH_MS,
  );
  timer.unref();

  return {
    flushUsage,
    async close() {
      clearInterval(timer);
      await flushUsage().catch(() => {});
    },

    /**
     * The hot path for a key: one cached lookup by the secret's hash. Revoked or expired keys
     * and keys of a suspended organization are refused at once (revocation invalidates the
     * cache entry on every node).
     */
    async authenticate(secret: string): Promise<KeyPrincipal> {
      const hash = hashToken(secret);
      const row = await byHash.get(
        hash,
        async () =>
          (await db
            .selectFrom('api_keys')
            .selectAll()
            .where('secret_hash', '=', hash)
            .executeTakeFirst()) ?? null,
      );
      const now = clock.now();
      if (!row) throw new AppError('invalid_token', 'The API key is not valid');
      if (row.revoked_at !== null) throw new AppError('invalid_token', 'The API key was revoked');
      if (row.expires_at !== null && row.expires_at <= now)
        throw new AppError('invalid_token', 'The API key has expired');
      const org = await access.loadOrg(row.organization_id);
      if (org?.org.status !== 'active')
        throw new AppError('invalid_token', 'The organization of this API key is suspended');
      usage.set(row.id, now);
      return toPrincipal(row);
    },

    /** A key as a subject of `/v1/authz/check` (asked about by someone else); null when unusable. */
    async principalById(orgId: string, keyId: string): Promise<KeyPrincipal | null> {
      const row = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('organization_id', '=', orgId)
        .where('id', '=', keyId)
        .executeTakeFirst();
      if (
        !row ||
        row.revoked_at !== null ||
        (row.expires_at !== null && row.expires_at <= clock.now())
      )
        return null;
      return toPrincipal(row);
    },

    /** The secret is in this answer only; the database keeps its SHA-256. Grants never exceed the creator's. */
    async create(
      actor: UserPrincipal,
      orgId: string,
      input: { name: string; grants: Grant[]; expires_at?: string | null },
      meta: RequestMeta,
    ) {
      const now = clock.now();
      const expiresAt = input.expires_at ? Date.parse(input.expires_at) : null;
      if (expiresAt !== null && (Number.isNaN(expiresAt) || expiresAt <= now))
        throw new AppError('validation_failed', 'expires_at must be a future ISO 8601 time', {
          errors: [{ path: 'body.expires_at', message: 'must be in the future' }],
        });
      if (input.grants.length === 0)
        throw new AppError('validation_failed', 'A key needs at least one grant', {
          errors: [{ path: 'body.grants', message: 'empty' }],
        });
      await access.assertCanGrant(actor, orgId, input.grants);
      const secret = `${KEY_PREFIX}${randomToken(32)}`;
      const row: ApiKeysTable = {
        id: newId('key', now),
        organization_id: orgId,
        name: input.name,
        prefix: secret.slice(0, 11),
        secret_hash: hashToken(secret),
        grants: JSON.stringify(input.grants),
        created_by: actor.userId,
        created_at: now,
        expires_at: expiresAt,
        revoked_at: null,
        last_used_at: null,
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('api_keys').values(row).execute();
        await insertAuditEvent(
          trx,
          meta,
          {
            organizationId: orgId,
            actor: { type: 'user', id: actor.userId },
            action: 'api_key.created',
            target: { type: 'api_key', id: row.id },
            changes: {
              after: {
                name: row.name,
                prefix: row.prefix,
                grants: input.grants,
                expires_at: expiresAt,
              },
            },
          },
          now,
        );
      });
      return { ...toApiKey(row, now), secret };
    },

    async list(orgId: string, limit: number, cursor?: string) {
      let q = db.selectFrom('api_keys').selectAll().where('organization_id', '=', orgId);
      if (cursor) q = q.where('id', '<', cursor);
      const rows = await q
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const page = rows.slice(0, limit);
      const now = clock.now();
      return {
        data: page.map((r) =>
          toApiKey({ ...r, last_used_at: usage.get(r.id) ?? r.last_used_at }, now),
        ),
        next_cursor: rows.length > limit ? page[page.length - 1]!.id : null,
      };
    },

    async get(orgId: string, keyId: string) {
      const row = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('organization_id', '=', orgId)
        .where('id', '=', keyId)
        .executeTakeFirst();
      assertThat(row, 'not_found', 'No such API key');
      return toApiKey({ ...row, last_used_at: usage.get(row.id) ?? row.last_used_at }, clock.now());
    },

    async revoke(actor: UserPrincipal, orgId: string, keyId: string, meta: RequestMeta) {
      const now = clock.now();
      const row = await db.transaction().execute(async (trx) => {
        const done = await trx
          .updateTable('api_keys')
          .set({ revoked_at: now })
          .where('organization_id', '=', orgId)
          .where('id', '=', keyId)
          .where('revoked_at', 'is', null)
          .returningAll()
          .executeTakeFirst();
        if (!done) {
          const exists = await trx
            .selectFrom('api_keys')
            .select('id')
            .where('organization_id', '=', orgId)
            .where('id', '=', keyId)
            .executeTakeFirst();
          throw exists
            ? new AppError('conflict', 'The key is already revoked')
            : new AppError('not_found', 'No such API key');
        }
        await insertAuditEvent(
          trx,
          meta,
          {
            organizationId: orgId,
            actor: { type: 'user', id: actor.userId },
            action: 'api_key.revoked',
            target: { type: 'api_key', id: keyId },
            changes: { before: { name: done.name, prefix: done.prefix } },
          },
          now,
        );
        return done;
      });
      bus.publish(`apikey:${row.secret_hash}`);
      return toApiKey(row, now);
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

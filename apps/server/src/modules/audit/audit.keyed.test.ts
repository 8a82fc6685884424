import { randomBytes } from 'node:crypto';
import { type Migration, Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  expectProblem,
  type SignedIn,
  type TestContext,
} from '../../../test/harness';
import { createAccount, createOrg, platformAdmin } from '../../../test/seed';
import { createApp } from '../../app';
import { migrations } from '../../db/migrations/index';
import { newId } from '../../lib/ids';
import {
  auditKeyOf,
  deriveAuditKey,
  eventHash,
  type HashedFields,
  legacyEventHash,
} from './audit.repo';

/**
 * Issue 10 #19: the chain is keyed (HMAC under a key derived from SECRET_KEY), so a database
 * writer cannot recompute it; truncation of the newest events is caught by a signed head the
 * operator kept; chains written before the upgrade stay verifiable, sealed by a keyed event.
 */
let ctx: TestContext;
let owner: SignedIn;
beforeAll(async () => {
  ctx = await createTestContext();
  owner = await ctx.signUp();
});
afterAll(async () => {
  await ctx?.close();
});

type Verify = {
  valid: boolean;
  checked: number;
  first_broken: { id: string; seq: number; reason: string } | null;
  anchor?: { sequence: number; found: boolean; reason: string | null };
};
const verify = async (orgId: string, anchor?: string): Promise<Verify> => {
  const q = anchor ? `?anchor=${encodeURIComponent(anchor)}` : '';
  const res = await ctx.request('GET', `/v1/organizations/${orgId}/audit-logs/verify${q}`, {
    token: owner.accessToken,
  });
  expect(res.status).toBe(200);
  return res.body;
};
const head = async (orgId: string) => {
  const res = await ctx.request('GET', `/v1/organizations/${orgId}/audit-logs/head`, {
    token: owner.accessToken,
  });
  expect(res.status).toBe(200);
  return res.body as {
    organization: string;
    sequence: number;
    hash: string;
    at: string;
    checkpoint: string;
  };
};
const rowsOf = (orgId: string) =>
  ctx.database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('organization_id', '=', orgId)
    .orderBy('seq')
    .execute();
async function chainOf(accounts: number) {
  const orgId = (await createOrg(ctx, owner, 'media')).id;
  for (let i = 0; i < accounts; i++) await createAccount(ctx, owner, orgId, 'video', `v${i}`);
  return { orgId, rows: await rowsOf(orgId) };
}

/** Rewrites every event of a chain with `hash`, as a database writer would. */
async function recompute(
  orgId: string,
  hash: (prev: string | null, e: HashedFields) => string,
  edit: (e: HashedFields) => HashedFields = (e) => e,
) {
  let prev: string | null = null;
  for (const row of await rowsOf(orgId)) {
    const e = edit(row);
    const h = hash(prev, e);
    await ctx.database.db
      .updateTable('audit_events')
      .set({ ...e, prev_hash: prev, hash: h })
      .where('seq', '=', row.seq)
      .execute();
    prev = h;
  }
}

describe('a keyed chain (issue 10 #19)', () => {
  // @see issue 10 #19
  it('stores HMAC hashes: the unkeyed SHA-256 of an event is not its hash', async () => {
    const { rows } = await chainOf(2);
    for (const row of rows) {
      expect(row.hash).toBe(eventHash(auditKeyOf(ctx.database.db), row.prev_hash, row));
      expect(row.hash).not.toBe(legacyEventHash(row.prev_hash, row));
    }
  });

  // @see issue 10 #19
  it('detects a tampered row', async () => {
    const { orgId, rows } = await chainOf(3);
    await ctx.database.db
      .updateTable('audit_events')
      .set({ actor_id: 'usr_forged' })
      .where('seq', '=', rows[2]!.seq)
      .execute();
    expect((await verify(orgId)).first_broken).toMatchObject({
      id: rows[2]!.id,
      reason: 'the event was changed after it was written',
    });
  });

  // @see issue 10 #19
  it('detects the whole chain recomputed with the unkeyed rule', async () => {
    const { orgId, rows } = await chainOf(3);
    await recompute(orgId, legacyEventHash, (e) =>
      e.id === rows[1]!.id ? { ...e, action: 'account.deleted' } : e,
    );
    const result = await verify(orgId);
    expect(result.valid).toBe(false);
    expect(result.first_broken).toMatchObject({ id: rows[0]!.id });
    expect(result.first_broken?.reason).toMatch(/without the audit key/);
  });

  // @see issue 10 #19
  it('detects the whole chain recomputed with a key other than the server’s', async () => {
    const { orgId } = await chainOf(3);
    const guessed = deriveAuditKey(randomBytes(32).toString('hex'));
    await recompute(orgId, (prev, e) => eventHash(guessed, prev, e));
    expect((await verify(orgId)).valid).toBe(false);
  });

  // @see issue 10 #19
  it('detects deleted newest events against a kept head, and says so', async () => {
    const { orgId, rows } = await chainOf(3);
    const kept = await head(orgId);
    expect(kept).toMatchObject({
      organization: orgId,
      sequence: rows[3]!.seq,
      hash: rows[3]!.hash,
    });
    expect(await verify(orgId, kept.checkpoint)).toMatchObject({
      valid: true,
      anchor: { sequence: rows[3]!.seq, found: true },
    });
    await createAccount(ctx, owner, orgId, 'image');
    expect((await verify(orgId, kept.checkpoint)).valid).toBe(true);

    // The newest two events (the kept head among them) are deleted.
    await ctx.database.db
      .deleteFrom('audit_events')
      .where('organization_id', '=', orgId)
      .where('seq', '>=', rows[3]!.seq)
      .execute();
    // Without the kept head the shorter chain still verifies: this is what cannot be seen.
    expect((await verify(orgId)).valid).toBe(true);
    expect(await verify(orgId, kept.checkpoint)).toMatchObject({
      valid: false,
      anchor: { sequence: rows[3]!.seq, found: false },
    });
  });

  // @see issue 10 #19
  it('refuses a head that was not signed by this server, or is of another chain', async () => {
    const { orgId } = await chainOf(1);
    const other = await chainOf(1);
    const kept = await head(orgId);
    const [h, p, sig] = kept.checkpoint.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sequence: 1 }),
    ).toString('base64url');
    for (const bad of [`${h}.${forgedPayload}.${sig}`, 'not-a-jws']) {
      const res = await ctx.request(
        'GET',
        `/v1/organizations/${orgId}/audit-logs/verify?anchor=${encodeURIComponent(bad)}`,
        { token: owner.accessToken },
      );
      expectProblem(res, 400, 'validation_failed');
    }
    const res = await ctx.request(
      'GET',
      `/v1/organizations/${other.orgId}/audit-logs/verify?anchor=${encodeURIComponent(kept.checkpoint)}`,
      { token: owner.accessToken },
    );
    expectProblem(res, 400, 'validation_failed');
  });

  // @see issue 10 #19
  it('accepts a head signed before a key rotation', async () => {
    const { orgId } = await chainOf(1);
    const kept = await head(orgId);
    await ctx.gatehouse.rt.keys.rotate(undefined, { immediate: true });
    ctx.clock.advance(24 * 3600 * 1000);
    owner = await ctx.login(owner.email, owner.password);
    expect((await verify(orgId, kept.checkpoint)).anchor?.found).toBe(true);
  });

  // @see issue 10 #19
  it('detects a moved retention checkpoint (the oldest events dropped with it)', async () => {
    const { orgId, rows } = await chainOf(3);
    await ctx.database.db
      .deleteFrom('audit_events')
      .where('seq', '<=', rows[1]!.seq)
      .where('organization_id', '=', orgId)
      .execute();
    await ctx.database.db
      .insertInto('audit_checkpoints')
      .values({
        chain: orgId,
        seq: rows[1]!.seq,
        hash: rows[1]!.hash!,
        removed: 2,
        created_at: ctx.clock.now(),
        mac: 'f'.repeat(64),
      })
      .execute();
    expect((await verify(orgId)).first_broken?.reason).toMatch(/checkpoint was changed/);
  });

  // @see issue 10 #19
  it('signs the platform chain head for platform admins', async () => {
    const admin = await platformAdmin(ctx);
    const res = await ctx.request('GET', '/v1/admin/audit-logs/head?organization_id=platform', {
      token: admin.accessToken,
    });
    expect(res.status).toBe(200);
    expect(res.body.organization).toBe('platform');
    const v = await ctx.request(
      'GET',
      `/v1/admin/audit-logs/verify?organization_id=platform&anchor=${encodeURIComponent(res.body.checkpoint)}`,
      { token: admin.accessToken },
    );
    expect(v.body).toMatchObject({ valid: true, anchor: { found: true } });
  });
});

describe('chains written before the chain was keyed (issue 10 #19, the upgrade)', () => {
  let old: TestContext;
  let orgId: string;
  let legacyIds: string[];

  /**
   * Unkeyed chains as the old server wrote them, then the upgrade migration run over them (its
   * record and columns removed first, so that it runs again on this database).
   */
  beforeAll(async () => {
    old = await createTestContext();
    const db = old.database.db;
    const upgrade = '20261202_0010_audit_keys_and_key_publication';
    await db.deleteFrom('audit_events').execute();
    await db.deleteFrom('audit_checkpoints').execute();
    orgId = 'org_legacy';
    let prev: string | null = null;
    legacyIds = [];
    for (let i = 0; i < 3; i++) {
      const e: HashedFields = {
        id: newId('evt', old.clock.now()),
        organization_id: orgId,
        actor_type: 'system',
        actor_id: null,
        action: `legacy.${i}`,
        target_type: null,
        target_id: null,
        ip: null,
        user_agent: null,
        request_id: null,
        changes: null,
        created_at: old.clock.now(),
      };
      const hash = legacyEventHash(prev, e);
      await db
        .insertInto('audit_events')
        .values({ ...e, prev_hash: prev, hash })
        .execute();
      legacyIds.push(e.id);
      prev = hash;
    }
    await sql`delete from kysely_migration where name = ${upgrade}`.execute(db);
    await db.schema.alterTable('audit_checkpoints').dropColumn('mac').execute();
    await db.schema.alterTable('signing_keys').dropColumn('signs_from').execute();
    const provider = {
      async getMigrations(): Promise<Record<string, Migration>> {
        return Object.fromEntries(
          Object.entries(migrations).map(([name, m]) => [
            name,
            { up: (k) => m.up(k, old.database.dialect) } satisfies Migration,
          ]),
        );
      },
    };
    const { error } = await new Migrator({
      db,
      provider,
      allowUnorderedMigrations: true,
    }).migrateToLatest();
    if (error) throw error;
  });
  afterAll(async () => {
    await old?.close();
  });

  const verifyOld = async (anchor?: string): Promise<Verify> => {
    const admin = await platformAdmin(old);
    const q = anchor ? `&anchor=${encodeURIComponent(anchor)}` : '';
    const res = await old.request(
      'GET',
      `/v1/admin/audit-logs/verify?organization_id=${orgId}${q}`,
      {
        token: admin.accessToken,
      },
    );
    expect(res.status).toBe(200);
    return res.body;
  };
  const legacyRows = () =>
    old.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('organization_id', '=', orgId)
      .orderBy('seq')
      .execute();

  // @see issue 10 #19
  it('seals each unkeyed chain with one keyed event, and the chain verifies', async () => {
    const rows = await legacyRows();
    expect(rows.map((r) => r.action)).toEqual([
      'legacy.0',
      'legacy.1',
      'legacy.2',
      'audit.chain_keyed',
    ]);
    expect(rows[3]!.prev_hash).toBe(rows[2]!.hash);
    expect(rows[3]!.hash).toBe(
      eventHash(auditKeyOf(old.database.db), rows[3]!.prev_hash, rows[3]!),
    );
    expect(await verifyOld()).toMatchObject({ valid: true, checked: 4, first_broken: null });
  });

  // @see issue 10 #19
  it('keeps the old chain keyed once restarted (the seal is not written again)', async () => {
    const again = await createApp({
      config: old.gatehouse.rt.config,
      database: old.database,
      clock: old.clock,
      startWorker: false,
    });
    await again.close();
    expect((await legacyRows()).filter((r) => r.action === 'audit.chain_keyed')).toHaveLength(1);
  });

  // @see issue 10 #19
  it('detects the unkeyed part recomputed after the upgrade (its seal no longer links)', async () => {
    const rows = await legacyRows();
    let prev: string | null = null;
    for (const row of rows.slice(0, 3)) {
      const e = row.id === legacyIds[1] ? { ...row, action: 'legacy.forged' } : row;
      const h = legacyEventHash(prev, e);
      await old.database.db
        .updateTable('audit_events')
        .set({ action: e.action, prev_hash: prev, hash: h })
        .where('seq', '=', row.seq)
        .execute();
      prev = h;
    }
    expect((await verifyOld()).first_broken).toMatchObject({ id: rows[3]!.id });
  });
});
